// Payout rows: settings, payouts, attempts, the file banks' cursors. SQL only; no decisions.
import type { Queryable } from '../db/database.ts';
import type { BankAccount } from './banks/contract.ts';
import type { PayoutAttemptStatus, PayoutStatus } from './domain/payout-state.ts';
import type { PayoutSchedule } from './domain/schedule.ts';

export interface PayoutSettingsRow {
  merchant_id: string;
  schedule: PayoutSchedule;
  weekly_day: number | null;
  minimum_amount: bigint;
  currency: string;
  bank_account: BankAccount;
  created_at: Date;
  updated_at: Date;
}

export interface PayoutRow {
  id: string;
  merchant_id: string;
  amount: bigint;
  currency: string;
  status: PayoutStatus;
  method: 'manual' | 'daily' | 'weekly';
  schedule_key: string | null;
  bank_account: BankAccount;
  bank: string | null;
  failure_code: string | null;
  failure_message: string | null;
  return_reason: string | null;
  next_action_at: Date;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface PayoutAttemptRow {
  id: string;
  payout_id: string;
  merchant_id: string;
  bank: string;
  status: PayoutAttemptStatus;
  amount: bigint;
  currency: string;
  sends: number;
  bank_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function readPayoutSettings(db: Queryable, merchantId: string): Promise<PayoutSettingsRow | null> {
  const { rows } = await db.query<PayoutSettingsRow>('SELECT * FROM payout_settings WHERE merchant_id = $1', [merchantId]);
  return rows[0] ?? null;
}

export async function writePayoutSettings(db: Queryable, s: Omit<PayoutSettingsRow, 'created_at' | 'updated_at'>, now: Date): Promise<PayoutSettingsRow> {
  const { rows } = await db.query<PayoutSettingsRow>(
    `INSERT INTO payout_settings (merchant_id, schedule, weekly_day, minimum_amount, currency, bank_account, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)
     ON CONFLICT (merchant_id) DO UPDATE SET schedule = EXCLUDED.schedule, weekly_day = EXCLUDED.weekly_day, minimum_amount = EXCLUDED.minimum_amount,
       currency = EXCLUDED.currency, bank_account = EXCLUDED.bank_account, updated_at = EXCLUDED.updated_at
     RETURNING *`,
    [s.merchant_id, s.schedule, s.weekly_day, s.minimum_amount, s.currency, JSON.stringify(s.bank_account), now],
  );
  return rows[0]!;
}

/** Scheduled settings after `afterMerchantId`, in merchant order (the scheduler pages through them). */
export async function scheduledSettings(db: Queryable, afterMerchantId: string, limit: number): Promise<PayoutSettingsRow[]> {
  const { rows } = await db.query<PayoutSettingsRow>("SELECT * FROM payout_settings WHERE schedule <> 'manual' AND merchant_id > $1 ORDER BY merchant_id LIMIT $2", [afterMerchantId, limit]);
  return rows;
}

/** Inserts a payout; null when a payout with its schedule key exists already (another scheduler made it). */
export async function insertPayout(tx: Queryable, p: Pick<PayoutRow, 'id' | 'merchant_id' | 'amount' | 'currency' | 'method' | 'schedule_key' | 'bank_account'>, now: Date): Promise<PayoutRow | null> {
  const { rows } = await tx.query<PayoutRow>(
    `INSERT INTO payouts (id, merchant_id, amount, currency, status, method, schedule_key, bank_account, next_action_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'created', $5, $6, $7::jsonb, $8, $8, $8)
     ON CONFLICT (merchant_id, schedule_key) DO NOTHING RETURNING *`,
    [p.id, p.merchant_id, p.amount, p.currency, p.method, p.schedule_key, JSON.stringify(p.bank_account), now],
  );
  return rows[0] ?? null;
}

export async function findPayout(db: Queryable, merchantId: string, id: string): Promise<PayoutRow | null> {
  const { rows } = await db.query<PayoutRow>('SELECT * FROM payouts WHERE id = $1 AND merchant_id = $2', [id, merchantId]);
  return rows[0] ?? null;
}

export async function lockPayout(tx: Queryable, id: string): Promise<PayoutRow | null> {
  const { rows } = await tx.query<PayoutRow>('SELECT * FROM payouts WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ?? null;
}

export async function updatePayout(tx: Queryable, payout: PayoutRow, change: Partial<Pick<PayoutRow, 'status' | 'bank' | 'failure_code' | 'failure_message' | 'return_reason' | 'next_action_at'>>, now: Date): Promise<PayoutRow> {
  const next = { ...payout, ...change };
  const { rows } = await tx.query<PayoutRow>(
    `UPDATE payouts SET status = $2, bank = $3, failure_code = $4, failure_message = $5, return_reason = $6, next_action_at = $7, version = version + 1, updated_at = $8
     WHERE id = $1 AND version = $9 RETURNING *`,
    [payout.id, next.status, next.bank, next.failure_code, next.failure_message, next.return_reason, next.next_action_at, now, payout.version],
  );
  if (rows[0] === undefined) throw new Error(`assertion failed: payout ${payout.id} changed under its row lock`);
  return rows[0];
}

export async function attemptsOfPayouts(db: Queryable, payoutIds: readonly string[]): Promise<Map<string, PayoutAttemptRow[]>> {
  const byPayout = new Map<string, PayoutAttemptRow[]>();
  if (payoutIds.length === 0) return byPayout;
  const { rows } = await db.query<PayoutAttemptRow>('SELECT * FROM payout_attempts WHERE payout_id = ANY($1::text[]) ORDER BY created_at, id', [payoutIds]);
  for (const row of rows) byPayout.set(row.payout_id, [...(byPayout.get(row.payout_id) ?? []), row]);
  return byPayout;
}

export async function findPayoutAttempt(db: Queryable, id: string, lock = false): Promise<PayoutAttemptRow | null> {
  const { rows } = await db.query<PayoutAttemptRow>(`SELECT * FROM payout_attempts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** Inserts an attempt; null when the payout has a live attempt or one at this bank already (a concurrent worker made it). */
export async function insertPayoutAttempt(tx: Queryable, a: Pick<PayoutAttemptRow, 'id' | 'payout_id' | 'merchant_id' | 'bank' | 'amount' | 'currency'>, now: Date): Promise<PayoutAttemptRow | null> {
  const { rows } = await tx.query<PayoutAttemptRow>(
    `INSERT INTO payout_attempts (id, payout_id, merchant_id, bank, status, amount, currency, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'created', $5, $6, $7, $7) ON CONFLICT DO NOTHING RETURNING *`,
    [a.id, a.payout_id, a.merchant_id, a.bank, a.amount, a.currency, now],
  );
  return rows[0] ?? null;
}

export async function updatePayoutAttempt(tx: Queryable, id: string, change: Partial<Pick<PayoutAttemptRow, 'status' | 'bank_reference' | 'failure_code' | 'failure_message'>> & { sendsAdded?: number }, now: Date): Promise<void> {
  await tx.query(
    `UPDATE payout_attempts SET status = coalesce($2, status), bank_reference = coalesce($3, bank_reference), failure_code = coalesce($4, failure_code),
       failure_message = coalesce($5, failure_message), sends = sends + $6, updated_at = $7 WHERE id = $1`,
    [id, change.status ?? null, change.bank_reference ?? null, change.failure_code ?? null, change.failure_message ?? null, change.sendsAdded ?? 0, now],
  );
}
