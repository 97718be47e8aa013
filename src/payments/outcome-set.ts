// A batch of outcomes as one set-based statement: the guarded writes of outcome-writes.ts for N
// payments at once, one round trip instead of N. Each row of the input is one outcome; the guard
// keeps the rows whose payment and attempt still carry the versions their plan read (locking
// them in payment id order, so two batches cannot deadlock on each other), and every write joins
// the guard, so an outcome whose guard did not hold writes nothing, exactly as alone.
//
// Only for the common shape: no failover attempt and no late-success refund in any outcome, and
// no payment or attempt twice in the batch (two outcomes of one payment must be decided one
// after the other). Anything else is written statement by statement (`fitsOneStatement`).
import type { Queryable } from '../db/database.ts';
import { StatementBuilder } from '../db/statement.ts';
import { transitionOrder } from '../orders/domain/order-state.ts';
import { outboxSetInsertSql } from '../outbox/outbox.ts';
import type { GuardedWrite } from './outcome-writes.ts';
import { rowsAfter } from './record-outcome.ts';
import type { AttemptRow, PaymentRow } from './repository.ts';

/** Whether these outcomes can be written by one statement (see above). */
export function fitsOneStatement(writes: readonly GuardedWrite[]): boolean {
  if (writes.some((write) => write.plan.nextAttempt !== null || write.plan.lateSuccessRefund !== null)) return false;
  const payments = new Set(writes.map((write) => write.plan.payment.id));
  const attempts = new Set(writes.map((write) => write.plan.attempt.id));
  return payments.size === writes.length && attempts.size === writes.length;
}

/** An outcome with the rows it leaves behind. */
interface Item {
  readonly write: GuardedWrite;
  readonly payment: PaymentRow;
  readonly attempt: AttemptRow;
}

function orderStatusAfter(write: GuardedWrite): string | null {
  if (write.plan.orderEvent === null) return null;
  const next = transitionOrder('paying', write.plan.orderEvent);
  if (!next.ok) throw new Error(`assertion failed: ${next.rejection}`);
  return next.state;
}

/**
 * Writes the outcomes that still hold, all in one statement (without their captures: the caller
 * posts those, as for a batch written statement by statement). Says, per outcome, whether its
 * guard held.
 */
export async function applyGuardedSet(db: Queryable, writes: readonly GuardedWrite[]): Promise<boolean[]> {
  const s = new StatementBuilder();
  const items: Item[] = writes.map((write) => ({ write, ...rowsAfter(write.plan, write.now) }));
  const input = [
    s.column(items, 'text', (i) => i.write.plan.payment.id), s.column(items, 'integer', (i) => i.write.plan.payment.version),
    s.column(items, 'text', (i) => i.write.plan.attempt.id), s.column(items, 'integer', (i) => i.write.plan.attempt.version),
    s.column(items, 'text', (i) => i.attempt.status), s.column(items, 'text', (i) => i.attempt.channel_txn_id),
    s.column(items, 'text', (i) => i.attempt.failure_code), s.column(items, 'text', (i) => i.attempt.failure_message),
    s.column(items, 'boolean', (i) => i.write.plan.paymentChange !== null), s.column(items, 'text', (i) => i.payment.status),
    s.column(items, 'text', (i) => i.payment.channel), s.column(items, 'bigint', (i) => i.payment.amount_captured),
    s.column(items, 'bigint', (i) => i.payment.fee_amount), s.column(items, 'bigint', (i) => i.payment.channel_fee_amount),
    s.column(items, 'text', (i) => i.payment.refund_fee_policy ?? null), s.column(items, 'text', (i) => i.payment.failure_code),
    s.column(items, 'text', (i) => i.payment.failure_message),
    s.column(items, 'text', (i) => (i.payment.next_action === null ? null : JSON.stringify(i.payment.next_action))),
    s.column(items, 'text', (i) => (i.write.plan.orderEvent === null ? null : i.write.plan.payment.order_id)), s.column(items, 'text', (i) => orderStatusAfter(i.write)),
    s.column(items, 'text', (i) => i.write.response?.owner ?? null), s.column(items, 'text', (i) => i.write.response?.key ?? null),
    s.column(items, 'integer', (i) => i.write.response?.status ?? null), s.column(items, 'text', (i) => i.write.response?.body ?? null),
    s.column(items, 'timestamptz', (i) => i.write.now),
  ];
  const events = writes.flatMap((write) => write.plan.events.map((event) => ({ event, now: write.now, key: write.plan.payment.id })));
  const sql = `WITH input AS (
      SELECT * FROM unnest(${input.join(', ')}) AS i(payment_id, payment_version, attempt_id, attempt_version, a_status, a_txn, a_failure_code, a_failure_message,
        p_change, p_status, p_channel, p_captured, p_fee, p_channel_fee, p_refund_fee_policy, p_failure_code, p_failure_message, p_next_action,
        order_id, order_status, r_owner, r_key, r_status, r_body, now)),
    guard AS (
      SELECT i.* FROM input i
        JOIN payments p ON p.id = i.payment_id AND p.version = i.payment_version
        JOIN attempts a ON a.id = i.attempt_id AND a.version = i.attempt_version AND a.payment_id = p.id
      ORDER BY i.payment_id FOR UPDATE OF p, a),
    attempt_update AS (
      UPDATE attempts a SET status = g.a_status, channel_txn_id = g.a_txn, failure_code = g.a_failure_code, failure_message = g.a_failure_message,
        version = a.version + 1, updated_at = g.now
      FROM guard g WHERE a.id = g.attempt_id RETURNING a.id),
    payment_update AS (
      UPDATE payments p SET status = g.p_status, channel = g.p_channel, amount_captured = g.p_captured, fee_amount = g.p_fee, channel_fee_amount = g.p_channel_fee,
        refund_fee_policy = g.p_refund_fee_policy, failure_code = g.p_failure_code, failure_message = g.p_failure_message, next_action = g.p_next_action::jsonb,
        version = p.version + 1, updated_at = g.now
      FROM guard g WHERE p.id = g.payment_id AND g.p_change RETURNING p.id),
    order_update AS (
      UPDATE orders o SET status = g.order_status, version = o.version + 1, updated_at = g.now
      FROM guard g WHERE o.id = g.order_id AND o.status = 'paying' RETURNING o.id),
    outbox AS (${outboxSetInsertSql(s, events, 'guard', 'payment_id')}),
    response_store AS (
      UPDATE idempotency_keys k SET state = 'done', response_status = g.r_status, response_body = g.r_body
      FROM guard g WHERE g.r_owner IS NOT NULL AND k.owner = g.r_owner AND k.key = g.r_key AND k.state = 'in_flight' RETURNING 1)
    SELECT (SELECT coalesce(array_agg(payment_id), '{}') FROM guard) AS guarded,
      clearway_assert((SELECT count(*) FROM attempt_update) = (SELECT count(*) FROM guard), ${s.bind('every guarded attempt is updated')}),
      clearway_assert((SELECT count(*) FROM payment_update) = (SELECT count(*) FROM guard WHERE p_change), ${s.bind('every guarded payment change is written')}),
      clearway_assert((SELECT count(*) FROM order_update) = (SELECT count(*) FROM guard WHERE order_id IS NOT NULL), ${s.bind('every order of a live payment is paying')}),
      (SELECT count(*) FROM outbox) + (SELECT count(*) FROM response_store) AS written`;
  // Rows found by key only: one cached plan on the keyed lane (Database.keyed), per call elsewhere.
  const { rows } = await db.query<{ guarded: string[] }>(sql, s.params, { plan: 'keyed' });
  const held = new Set(rows[0]?.guarded ?? []);
  return writes.map((write) => held.has(write.plan.payment.id));
}
