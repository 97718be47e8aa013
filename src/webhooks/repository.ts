// Webhook endpoints, deliveries and their attempt log in the database. Every read takes the
// merchant id: another merchant's endpoint or delivery is simply not found.
import type { DeliveryStatus } from './domain/delivery-state.ts';
import type { Queryable } from '../db/database.ts';
import { assert } from '../kernel/errors.ts';

export interface EndpointRow {
  readonly id: string;
  readonly merchant_id: string;
  readonly url: string;
  readonly events: string[];
  readonly description: string | null;
  readonly secret: string;
  readonly status: 'enabled' | 'disabled';
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface DeliveryRow {
  readonly id: string;
  readonly merchant_id: string;
  readonly endpoint_id: string;
  readonly event_id: string;
  readonly event_seq: bigint;
  readonly event_type: string;
  readonly body: string;
  readonly status: DeliveryStatus;
  readonly attempt_count: number;
  readonly next_attempt_at: Date;
  readonly locked_until: Date | null;
  readonly retry_until: Date;
  readonly last_status_code: number | null;
  readonly last_error: string | null;
  readonly delivered_at: Date | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface AttemptLogRow {
  readonly delivery_id: string;
  readonly attempt: number;
  readonly merchant_id: string;
  readonly started_at: Date;
  readonly duration_ms: number;
  readonly status_code: number | null;
  readonly error: string | null;
  readonly outcome: 'delivered' | 'retry' | 'failed';
  readonly next_attempt_at: Date | null;
}

export async function insertEndpoint(db: Queryable, row: EndpointRow): Promise<void> {
  await db.query(
    `INSERT INTO webhook_endpoints (id, merchant_id, url, events, description, secret, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, $9)`,
    [row.id, row.merchant_id, row.url, row.events, row.description, row.secret, row.status, row.created_at, row.updated_at],
  );
}

export async function countEnabledEndpoints(db: Queryable, merchantId: string): Promise<number> {
  const { rows } = await db.query<{ count: string | number }>("SELECT count(*) AS count FROM webhook_endpoints WHERE merchant_id = $1 AND status = 'enabled'", [merchantId]);
  return Number(rows[0]?.count ?? 0);
}

export async function findEndpoint(db: Queryable, merchantId: string, id: string, lock = false): Promise<EndpointRow | null> {
  const { rows } = await db.query<EndpointRow>(`SELECT * FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2${lock ? ' FOR UPDATE' : ''}`, [id, merchantId]);
  return rows[0] ?? null;
}

export async function findDelivery(db: Queryable, merchantId: string, id: string, lock = false): Promise<DeliveryRow | null> {
  const { rows } = await db.query<DeliveryRow>(`SELECT * FROM webhook_deliveries WHERE id = $1 AND merchant_id = $2${lock ? ' FOR UPDATE' : ''}`, [id, merchantId]);
  return rows[0] ?? null;
}

/** The attempt log of some deliveries, oldest attempt first, grouped by delivery. */
export async function attemptsOf(db: Queryable, merchantId: string, deliveryIds: readonly string[]): Promise<Map<string, AttemptLogRow[]>> {
  const byDelivery = new Map<string, AttemptLogRow[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const { rows } = await db.query<AttemptLogRow>(
    'SELECT * FROM webhook_delivery_attempts WHERE delivery_id = ANY($1::text[]) AND merchant_id = $2 ORDER BY delivery_id, attempt',
    [deliveryIds, merchantId],
  );
  for (const row of rows) {
    const list = byDelivery.get(row.delivery_id) ?? [];
    list.push(row);
    byDelivery.set(row.delivery_id, list);
  }
  for (const [, list] of byDelivery) assert(list.every((row, index) => index === 0 || row.attempt > list[index - 1]!.attempt), 'attempts are ordered');
  return byDelivery;
}
