// Risk's reads and writes: the merchant's rules, the velocity counts, and the record of a
// declined payment. Velocity counts come from the payments table (each payment stores the signals
// it was screened on in risk->'signals'), so they hold across processes.
import type { Queryable } from '../db/database.ts';
import { StatementBuilder } from '../db/statement.ts';
import { limits } from '../kernel/limits.ts';
import { outboxInsertSql, type OutboxEvent } from '../outbox/outbox.ts';
import type { PaymentRow } from '../payments/repository.ts';
import { completeRules, type RiskRules, type SignalKey } from './domain/rules.ts';

/** SQL for each signal: constants matching the indexes of migration 0007, never caller text. */
const signalColumn: Readonly<Record<SignalKey, string>> = {
  customer_id: "(risk->'signals'->>'customer_id')",
  email: "(risk->'signals'->>'email')",
  ip: "(risk->'signals'->>'ip')",
  card_fingerprint: "(risk->'signals'->>'card_fingerprint')",
};

export interface StoredRules {
  readonly rules: RiskRules;
  /** 0 while the merchant runs on the defaults. */
  readonly version: number;
  readonly updated_at: Date | null;
}

function storedRules(row: { rules: Partial<RiskRules>; version: number; updated_at: Date } | undefined): StoredRules {
  if (!row) return { rules: completeRules({}), version: 0, updated_at: null };
  return { rules: completeRules(row.rules), version: Number(row.version), updated_at: row.updated_at };
}

export async function readRiskRules(db: Queryable, merchantId: string): Promise<StoredRules> {
  const { rows } = await db.query<{ rules: Partial<RiskRules>; version: number; updated_at: Date }>('SELECT rules, version, updated_at FROM risk_rules WHERE merchant_id = $1', [merchantId]);
  return storedRules(rows[0]);
}

/** Replaces the merchant's rules, bumping their version. */
export async function writeRiskRules(db: Queryable, merchantId: string, rules: RiskRules, now: Date): Promise<StoredRules> {
  const { rows } = await db.query<{ rules: Partial<RiskRules>; version: number; updated_at: Date }>(
    `INSERT INTO risk_rules (merchant_id, rules, version, updated_at) VALUES ($1, $2::jsonb, 1, $3)
     ON CONFLICT (merchant_id) DO UPDATE SET rules = EXCLUDED.rules, version = risk_rules.version + 1, updated_at = EXCLUDED.updated_at
     RETURNING rules, version, updated_at`,
    [merchantId, JSON.stringify(rules), now],
  );
  if (rows.length !== 1) throw new Error(`assertion failed: risk rules of ${merchantId} not written`);
  return storedRules(rows[0]);
}

/** The merchant's rules and the order's customer, in one round trip. */
export async function readScreeningInputs(db: Queryable, merchantId: string, orderId: string): Promise<{ rules: RiskRules; orderCustomer: { id?: string; email?: string } | null }> {
  const { rows } = await db.query<{ rules: Partial<RiskRules> | null; customer: { id?: string; email?: string } | null }>(
    `SELECT (SELECT rules FROM risk_rules WHERE merchant_id = $1) AS rules,
            (SELECT customer FROM orders WHERE id = $2 AND merchant_id = $1) AS customer`,
    [merchantId, orderId],
  );
  const row = rows[0];
  return { rules: completeRules(row?.rules ?? {}), orderCustomer: row?.customer ?? null };
}

/** The merchant's payments carrying this signal created after `since`, counted up to `count_max`. */
export async function countRecentPayments(db: Queryable, merchantId: string, key: SignalKey, value: string, since: Date, count_max: number): Promise<number> {
  if (!(count_max >= 1 && count_max <= limits.risk_velocity_count_max)) throw new Error(`assertion failed: velocity count_max ${count_max} out of range`);
  const { rows } = await db.query<{ count: bigint | number | string }>(
    `SELECT count(*) AS count FROM (SELECT 1 FROM payments WHERE merchant_id = $1 AND ${signalColumn[key]} = $2 AND created_at > $3 LIMIT $4) AS recent`,
    [merchantId, value, since, count_max],
  );
  const count = Number(rows[0]?.count ?? 0);
  if (!(count >= 0 && count <= count_max)) throw new Error(`assertion failed: velocity count ${count} out of 0..${count_max}`);
  return count;
}

/** Whether the customer (by id or email) already has a succeeded payment at this merchant. */
export async function hasSucceededPayment(db: Queryable, merchantId: string, key: 'customer_id' | 'email', value: string): Promise<boolean> {
  const { rows } = await db.query<{ paid: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM payments WHERE merchant_id = $1 AND ${signalColumn[key]} = $2 AND status = 'succeeded') AS paid`,
    [merchantId, value],
  );
  return rows[0]?.paid === true;
}

/**
 * Records a payment the risk engine declined, as `failed` with no attempt, in one guarded
 * statement: written only while its order is pending_payment (which it stays: no channel was
 * involved, the customer may pay again). Returns false when the order was not payable.
 */
export async function insertDeclinedPaymentGuarded(db: Queryable, payment: PaymentRow, events: readonly OutboxEvent[], now: Date): Promise<boolean> {
  if (payment.status !== 'failed' || payment.channel !== null) throw new Error(`assertion failed: declined payment ${payment.id} must be failed with no channel`);
  const s = new StatementBuilder();
  const t = (value: unknown, cast = '') => s.bind(value, cast);
  const outbox = outboxInsertSql(s, events, now, 'payment_insert');
  const sql = `WITH payable AS (
      SELECT id FROM orders WHERE id = ${t(payment.order_id)} AND merchant_id = ${t(payment.merchant_id)} AND status = 'pending_payment'),
    payment_insert AS (
      INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, failure_code, failure_message, risk, payment_method_data, created_at, updated_at)
      SELECT ${t(payment.id)}, ${t(payment.merchant_id)}, id, 'failed', ${t(payment.amount, '::bigint')}, ${t(payment.currency)}, ${t(payment.method)}, NULL,
        ${t(payment.failure_code)}, ${t(payment.failure_message)}, ${t(JSON.stringify(payment.risk), '::jsonb')}, ${t(JSON.stringify(payment.payment_method_data), '::jsonb')},
        ${t(now, '::timestamptz')}, ${t(now, '::timestamptz')}
      FROM payable RETURNING id)${outbox ? `,\n    outbox AS (${outbox})` : ''}
    SELECT (SELECT count(*) FROM payment_insert) AS inserted`;
  const { rows } = await db.query<{ inserted: bigint | number | string }>(sql, s.params);
  return Number(rows[0]?.inserted ?? 0) === 1;
}
