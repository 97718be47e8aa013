// What a merchant reads of the ledger: its balances (pending, available, in transit, per currency)
// and an account's statement, entry by entry, newest first. Amounts are shown in the merchant's
// direction: positive means the platform owes the merchant (the accounts are credit-normal).
import type { Queryable } from '../db/database.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { chartOfAccounts, parseAccountId, slotAccountId, type AccountType } from './domain/accounts.ts';

export const merchantAccountTypes = ['merchant_pending', 'merchant_available', 'payout_in_transit'] as const satisfies readonly AccountType[];
export type MerchantAccountType = (typeof merchantAccountTypes)[number];


export interface MerchantBalance {
  readonly type: MerchantAccountType;
  readonly currency: string;
  /** In the merchant's direction: what the platform owes it on this account. */
  readonly amount: bigint;
}

/** Every merchant account with its balance (the sum of its slots), ordered by type then currency. */
export async function merchantBalances(db: Queryable, merchantId: string): Promise<MerchantBalance[]> {
  const { rows } = await db.query<{ type: MerchantAccountType; currency: string; balance: bigint }>(
    `SELECT type, currency, sum(balance)::bigint AS balance FROM ledger_accounts
      WHERE owner = $1 AND type = ANY ($2::text[]) GROUP BY type, currency ORDER BY type, currency`,
    [merchantId, merchantAccountTypes],
  );
  // Credit-normal: the signed balance (debits minus credits) is negated to read as owed.
  return rows.map((row) => ({ type: row.type, currency: row.currency, amount: -BigInt(row.balance) }));
}

export interface StatementLine {
  readonly entry_id: string;
  readonly event_id: string;
  readonly kind: string;
  readonly amount: bigint;
  readonly created_at: Date;
}

/**
 * One merchant account's lines (its postings, summed per entry), newest first, a page at a time:
 * `starting_after` is the last entry id of the previous page.
 */
export async function accountStatement(
  db: Queryable, merchantId: string, type: MerchantAccountType, currency: string, page: { limit: number; starting_after?: string },
): Promise<{ lines: StatementLine[]; hasMore: boolean }> {
  const logical = `${type}:${merchantId}:${currency}`;
  const { account: ref } = parseAccountId(logical); // asserts a well-formed account id
  // Every physical row of the account (merchant_pending is split into slots), read by the postings index.
  const physical = Array.from({ length: chartOfAccounts[type].slots }, (_, slot) => slotAccountId(ref, slot));
  const params: unknown[] = [physical, page.limit + 1, merchantId];
  let cursor = '';
  if (page.starting_after !== undefined) {
    const { rows } = await db.query<{ created_at: Date }>('SELECT created_at FROM journal_entries WHERE id = $1 AND merchant_id = $2', [page.starting_after, merchantId]);
    if (!rows[0]) throw new ClearwayError('invalid_param', `No entry ${page.starting_after} to start after.`, { param: 'starting_after' });
    params.push(rows[0].created_at, page.starting_after);
    cursor = 'AND (e.created_at, e.id) < ($4, $5)';
  }
  const { rows } = await db.query<{ entry_id: string; event_id: string; kind: string; amount: bigint; created_at: Date }>(
    `SELECT e.id AS entry_id, e.event_id, e.kind, -sum(p.amount)::bigint AS amount, e.created_at
       FROM postings p JOIN journal_entries e ON e.id = p.entry_id
      WHERE p.account_id = ANY ($1::text[]) AND e.merchant_id = $3 ${cursor}
      GROUP BY e.id, e.event_id, e.kind, e.created_at
      ORDER BY e.created_at DESC, e.id DESC LIMIT $2`,
    params,
  );
  return { lines: rows.slice(0, page.limit).map((r) => ({ ...r, amount: BigInt(r.amount) })), hasMore: rows.length > page.limit };
}
