import type { Queryable } from '../db/database.ts';
import { ClearwayError } from '../kernel/errors.ts';

const pageableTables = new Set(['orders', 'payments', 'coupons', 'refunds', 'webhook_endpoints', 'webhook_deliveries', 'payouts']);

/**
 * Cursor pagination, newest first: `starting_after` is the id of the last object of the previous
 * page. The cursor must belong to the same merchant (another merchant's id answers 400 exactly
 * like an id that does not exist).
 */
export async function paginate<Row>(
  db: Queryable,
  table: string,
  merchantId: string,
  query: { limit: number; starting_after?: string },
  extraWhere = '',
  extraParams: readonly unknown[] = [],
): Promise<{ rows: Row[]; hasMore: boolean }> {
  if (!pageableTables.has(table)) throw new Error(`assertion failed: ${table} is not pageable`);
  const params: unknown[] = [merchantId, query.limit + 1, ...extraParams];
  let cursor = '';
  if (query.starting_after !== undefined) {
    const { rows } = await db.query<{ created_at: Date }>(`SELECT created_at FROM ${table} WHERE id = $1 AND merchant_id = $2`, [query.starting_after, merchantId]);
    if (!rows[0]) throw new ClearwayError('invalid_param', `No object ${query.starting_after} to start after.`, { param: 'starting_after' });
    params.push(rows[0].created_at, query.starting_after);
    cursor = `AND (created_at, id) < ($${params.length - 1}, $${params.length})`;
  }
  const { rows } = await db.query<Row>(
    `SELECT * FROM ${table} WHERE merchant_id = $1 ${extraWhere} ${cursor} ORDER BY created_at DESC, id DESC LIMIT $2`,
    params,
  );
  return { rows: rows.slice(0, query.limit), hasMore: rows.length > query.limit };
}
