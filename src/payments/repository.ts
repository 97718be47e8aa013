import type { Queryable } from '../db/database.ts';
import { StatementBuilder } from '../db/statement.ts';
import { outboxInsertSql, type OutboxEvent } from '../outbox/outbox.ts';
import { ClearwayError } from '../kernel/errors.ts';
import type { ChannelMethod } from '../channels/contract.ts';
import type { AttemptStatus } from './domain/attempt-state.ts';
import type { PaymentStatus } from './domain/payment-state.ts';
import type { RefundStatus } from './domain/refund-state.ts';

export interface RiskAssessment {
  decision: 'approve' | 'review' | 'decline';
  score: number;
  reasons: string[];
}

export interface PaymentRow {
  id: string;
  merchant_id: string;
  order_id: string;
  status: PaymentStatus;
  amount: bigint;
  currency: string;
  method: ChannelMethod;
  channel: string | null;
  amount_captured: bigint;
  amount_refunded: bigint;
  amount_refund_pending: bigint;
  /** Our fee and the channel's, fixed when the capture was booked; null until the payment succeeds. */
  fee_amount: bigint | null;
  channel_fee_amount: bigint | null;
  /** The refund fee policy of the pricing the capture was booked under (null before it is booked, or for captures older than 0015). */
  refund_fee_policy?: 'proportional' | 'retained' | null;
  failure_code: string | null;
  failure_message: string | null;
  next_action: { type: 'qr_code' | 'redirect'; url: string } | null;
  risk: RiskAssessment;
  payment_method_data: Record<string, string>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  id: string;
  payment_id: string;
  merchant_id: string;
  channel: string;
  status: AttemptStatus;
  out_trade_no: string;
  channel_txn_id: string | null;
  amount: bigint;
  currency: string;
  routing_reason: string;
  failure_code: string | null;
  failure_message: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface RefundRow {
  id: string;
  merchant_id: string;
  payment_id: string;
  attempt_id: string;
  amount: bigint;
  currency: string;
  status: RefundStatus;
  channel_refund_id: string | null;
  /** The part of the capture's fee given back to the merchant; set when the refund succeeds. */
  fee_returned: bigint | null;
  failure_code: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export async function insertPayment(tx: Queryable, p: Omit<PaymentRow, 'version' | 'updated_at' | 'amount_captured' | 'amount_refunded' | 'amount_refund_pending' | 'fee_amount' | 'channel_fee_amount' | 'failure_code' | 'failure_message' | 'next_action'>): Promise<void> {
  await tx.query(
    `INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, risk, payment_method_data, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9::jsonb,$10::jsonb,$11,$11)`,
    [p.id, p.merchant_id, p.order_id, p.status, p.amount, p.currency, p.method, p.channel, JSON.stringify(p.risk), JSON.stringify(p.payment_method_data), p.created_at],
  );
}

export async function insertAttempt(tx: Queryable, a: Omit<AttemptRow, 'version' | 'updated_at' | 'channel_txn_id' | 'failure_code' | 'failure_message'>): Promise<void> {
  await tx.query(
    `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, out_trade_no, amount, currency, routing_reason, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)`,
    [a.id, a.payment_id, a.merchant_id, a.channel, a.status, a.out_trade_no, a.amount, a.currency, a.routing_reason, a.created_at],
  );
}

export async function findPayment(db: Queryable, merchantId: string, id: string, lock = false): Promise<PaymentRow | null> {
  const { rows } = await db.query<PaymentRow>(`SELECT * FROM payments WHERE id = $1 AND merchant_id = $2${lock ? ' FOR UPDATE' : ''}`, [id, merchantId]);
  return rows[0] ?? null;
}

export async function findPaymentById(db: Queryable, id: string, lock = false): Promise<PaymentRow | null> {
  const { rows } = await db.query<PaymentRow>(`SELECT * FROM payments WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function findAttempt(db: Queryable, id: string, lock = false): Promise<AttemptRow | null> {
  const { rows } = await db.query<AttemptRow>(`SELECT * FROM attempts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function findAttemptByTradeNo(db: Queryable, outTradeNo: string): Promise<AttemptRow | null> {
  const { rows } = await db.query<AttemptRow>('SELECT * FROM attempts WHERE out_trade_no = $1', [outTradeNo]);
  return rows[0] ?? null;
}

export async function attemptsOf(db: Queryable, paymentIds: readonly string[]): Promise<Map<string, AttemptRow[]>> {
  const byPayment = new Map<string, AttemptRow[]>();
  if (paymentIds.length === 0) return byPayment;
  const { rows } = await db.query<AttemptRow>('SELECT * FROM attempts WHERE payment_id = ANY($1::text[]) ORDER BY created_at, id', [paymentIds]);
  for (const row of rows) byPayment.set(row.payment_id, [...(byPayment.get(row.payment_id) ?? []), row]);
  return byPayment;
}

export interface PaymentChange {
  status: PaymentStatus;
  channel?: string;
  amount_captured?: bigint;
  /** Set together with amount_captured, when the payment succeeds and its capture is booked. */
  fees?: { readonly fee_amount: bigint; readonly channel_fee_amount: bigint; readonly refund_fee_policy: 'proportional' | 'retained' };
  failure_code?: string | null;
  failure_message?: string | null;
  next_action?: PaymentRow['next_action'];
}

/** Writes a payment's next state with a version check (the caller holds the row lock). */
export async function updatePayment(tx: Queryable, payment: PaymentRow, change: PaymentChange, now: Date): Promise<PaymentRow> {
  const { fees, ...rest } = change;
  const next: PaymentRow = {
    ...payment,
    ...rest,
    channel: change.channel ?? payment.channel,
    amount_captured: change.amount_captured ?? payment.amount_captured,
    fee_amount: fees?.fee_amount ?? payment.fee_amount,
    channel_fee_amount: fees?.channel_fee_amount ?? payment.channel_fee_amount,
    refund_fee_policy: fees?.refund_fee_policy ?? payment.refund_fee_policy ?? null,
    failure_code: change.failure_code === undefined ? payment.failure_code : change.failure_code,
    failure_message: change.failure_message === undefined ? payment.failure_message : change.failure_message,
    next_action: change.next_action === undefined ? payment.next_action : change.next_action,
    version: payment.version + 1,
    updated_at: now,
  };
  const result = await tx.query(
    `UPDATE payments SET status = $3, channel = $4, amount_captured = $5, failure_code = $6, failure_message = $7, next_action = $8::jsonb,
       fee_amount = $10, channel_fee_amount = $11, refund_fee_policy = $12, version = version + 1, updated_at = $9
     WHERE id = $1 AND version = $2`,
    [payment.id, payment.version, next.status, next.channel, next.amount_captured, next.failure_code, next.failure_message,
      next.next_action === null ? null : JSON.stringify(next.next_action), now, next.fee_amount, next.channel_fee_amount, next.refund_fee_policy],
  );
  if (result.rowCount !== 1) throw new ClearwayError('concurrent_update', `Payment ${payment.id} changed meanwhile.`);
  return next;
}

export interface AttemptChange {
  status: AttemptStatus;
  channel_txn_id?: string | null;
  failure_code?: string | null;
  failure_message?: string | null;
}

export async function updateAttempt(tx: Queryable, attempt: AttemptRow, change: AttemptChange, now: Date): Promise<AttemptRow> {
  const next: AttemptRow = {
    ...attempt,
    status: change.status,
    channel_txn_id: change.channel_txn_id ?? attempt.channel_txn_id,
    failure_code: change.failure_code === undefined ? attempt.failure_code : change.failure_code,
    failure_message: change.failure_message === undefined ? attempt.failure_message : change.failure_message,
    version: attempt.version + 1,
    updated_at: now,
  };
  const result = await tx.query(
    `UPDATE attempts SET status = $3, channel_txn_id = $4, failure_code = $5, failure_message = $6, version = version + 1, updated_at = $7
     WHERE id = $1 AND version = $2`,
    [attempt.id, attempt.version, next.status, next.channel_txn_id, next.failure_code, next.failure_message, now],
  );
  if (result.rowCount !== 1) throw new ClearwayError('concurrent_update', `Attempt ${attempt.id} changed meanwhile.`);
  return next;
}

/** What a guarded start wrote: the payment (started), and the request's idempotency key (claimed). */
export interface StartOutcome {
  readonly started: boolean;
  /**
   * The key was free and is now written, in flight, whether or not the payment started (a
   * statement's data-modifying CTEs all run): false without a claim.
   */
  readonly claimed: boolean;
}

/**
 * Transaction 1 of a payment as one guarded statement: the order moves to paying only if it is
 * pending_payment (the one precondition of that transition), and the payment, its first attempt
 * and the outbox event are written only if it did. Says whether it did (if not, the caller reads
 * the order to say why) and whether the request's key was written.
 */
export async function startPaymentGuarded(
  db: Queryable,
  order: { id: string; merchant_id: string },
  payment: PaymentRow,
  attempt: AttemptRow,
  events: readonly OutboxEvent[],
  now: Date,
  routing: { policy_version: number | null; arm: 'a' | 'b' | null } = { policy_version: null, arm: null },
  claim?: (s: StatementBuilder) => string,
): Promise<StartOutcome> {
  const s = new StatementBuilder();
  const t = (value: unknown, cast = '') => s.bind(value, cast);
  // With `claim` (the CTE idempotency_claim), the request's idempotency key is written first and
  // nothing else unless the key was free.
  const claimed = claim ? `${claim(s)},\n    ` : '';
  const outbox = outboxInsertSql(s, events, now, 'payment_insert');
  const sql = `WITH ${claimed}order_update AS (
      UPDATE orders SET status = 'paying', version = version + 1, updated_at = ${t(now)}
      WHERE id = ${t(order.id)} AND merchant_id = ${t(order.merchant_id)} AND status = 'pending_payment'${claim ? ' AND EXISTS (SELECT 1 FROM idempotency_claim)' : ''} RETURNING id),
    payment_insert AS (
      INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, risk, payment_method_data, routing_policy_version, routing_arm, created_at, updated_at)
      SELECT ${t(payment.id)}, ${t(payment.merchant_id)}, id, 'processing', ${t(payment.amount, '::bigint')}, ${t(payment.currency)}, ${t(payment.method)}, ${t(payment.channel)},
        ${t(JSON.stringify(payment.risk), '::jsonb')}, ${t(JSON.stringify(payment.payment_method_data), '::jsonb')}, ${t(routing.policy_version, '::integer')}, ${t(routing.arm, '::text')},
        ${t(now, '::timestamptz')}, ${t(now, '::timestamptz')}
      FROM order_update RETURNING id),
    attempt_insert AS (
      INSERT INTO attempts (id, payment_id, merchant_id, channel, status, out_trade_no, amount, currency, routing_reason, created_at, updated_at)
      SELECT ${t(attempt.id)}, id, ${t(attempt.merchant_id)}, ${t(attempt.channel)}, 'created', ${t(attempt.out_trade_no)}, ${t(attempt.amount, '::bigint')},
        ${t(attempt.currency)}, ${t(attempt.routing_reason)}, ${t(now, '::timestamptz')}, ${t(now, '::timestamptz')}
      FROM payment_insert RETURNING 1)${outbox ? `,\n    outbox AS (${outbox})` : ''}
    SELECT (SELECT count(*) FROM order_update) AS guarded, (SELECT count(*) FROM attempt_insert) AS attempts${claim ? ', (SELECT count(*) FROM idempotency_claim) AS claimed' : ''}`;
  const { rows } = await db.query<{ guarded: bigint; attempts: bigint; claimed?: bigint }>(sql, s.params);
  const row = rows[0];
  if (row && row.guarded === 1n && row.attempts !== 1n) throw new Error(`assertion failed: payment ${payment.id} started without its attempt`);
  return { started: row?.guarded === 1n, claimed: row?.claimed === 1n };
}
