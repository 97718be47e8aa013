// Late successes: money a channel captured on an attempt whose payment was already final
// (failed, canceled, or succeeded through another attempt). That money is not part of the
// payment's amount_captured, so it is no merchant refund: it goes straight back to the payer.
//
// 1. record-outcome.ts writes a `late_success_refunds` row in the same statement (or transaction)
//    that records the late success; the attempt id is its unique key, so there is one per attempt.
// 2. `refundLateSuccesses` (the `late_success_refund` worker) claims due rows with FOR UPDATE SKIP
//    LOCKED and a lease (locked_until, send_count + 1 as the lease token), calls the channel's
//    refund with no transaction open and the row's own id as out_refund_no (the channel's
//    idempotency key: a repeat is answered with the first result, never a second refund), then
//    records the answer under the lease token: succeeded or failed (final, with an outbox event),
//    or still pending (sent again later with the same key, after a doubling delay).
// Safe in several processes at once: a row is sent by one worker at a time, and a worker whose
// lease ran out records nothing (the next one sends the same key again).
// 3. The ledger: before a row is first sent, the late capture is booked (Dr channel_receivable /
//    Cr late_success_payable, event `late_capture:{id}`, dated when the late success was
//    recorded; a replay posts nothing); the refund's success books the way back (event
//    `late_refund:{id}`) in the transaction that records it. A refund the channel refused leaves
//    the money owed to the payer on late_success_payable, for a person to settle.
import type { ChannelRefundOutcome } from '../channels/contract.ts';
import type { Queryable } from '../db/database.ts';
import type { StatementBuilder } from '../db/statement.ts';
import type { AppContext } from '../http/context.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { appendEvents } from '../outbox/outbox.ts';
import { money } from '../kernel/money.ts';
import { lateCaptureEntry, lateRefundEntry, type LateSuccessInput } from '../ledger/domain/entries.ts';
import { postEntry } from '../ledger/journal.ts';
import { transitionRefund, type RefundEvent, type RefundStatus } from './domain/refund-state.ts';
import type { AttemptRow, PaymentRow } from './repository.ts';

export interface LateSuccessRefundRow {
  readonly id: string;
  readonly merchant_id: string;
  readonly payment_id: string;
  readonly attempt_id: string;
  readonly channel: string;
  readonly out_trade_no: string;
  readonly channel_txn_id: string | null;
  readonly amount: bigint;
  readonly currency: string;
  readonly status: RefundStatus;
  readonly channel_refund_id: string | null;
  readonly failure_code: string | null;
  readonly send_count: number;
  readonly next_attempt_at: Date;
  readonly locked_until: Date | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

/** The refund owed for a late success on `attempt` (as it is once the success is recorded). Pure. */
export function planLateSuccessRefund(payment: PaymentRow, attempt: AttemptRow, now: Date): LateSuccessRefundRow {
  if (attempt.payment_id !== payment.id) throw new Error(`assertion failed: attempt ${attempt.id} belongs to payment ${payment.id}`);
  if (attempt.amount <= 0n) throw new Error(`assertion failed: attempt ${attempt.id} has a positive amount`);
  return {
    id: newId('late_success_refund'), merchant_id: payment.merchant_id, payment_id: payment.id, attempt_id: attempt.id, channel: attempt.channel,
    out_trade_no: attempt.out_trade_no, channel_txn_id: attempt.channel_txn_id, amount: attempt.amount, currency: attempt.currency,
    status: 'pending', channel_refund_id: null, failure_code: null, send_count: 0, next_attempt_at: now, locked_until: null, created_at: now, updated_at: now,
  };
}

const columns = 'id, merchant_id, payment_id, attempt_id, channel, out_trade_no, channel_txn_id, amount, currency, status, next_attempt_at, created_at, updated_at';

/** The insert as a data-modifying CTE body for a guarded statement: written only when `guard` returned a row, once per attempt. */
export function lateSuccessRefundInsertSql(s: StatementBuilder, row: LateSuccessRefundRow, guard: string): string {
  return `INSERT INTO late_success_refunds (${columns})
    SELECT ${s.bind(row.id)}, ${s.bind(row.merchant_id)}, ${s.bind(row.payment_id)}, ${s.bind(row.attempt_id)}, ${s.bind(row.channel)}, ${s.bind(row.out_trade_no)},
      ${s.bind(row.channel_txn_id)}::text, ${s.bind(row.amount)}::bigint, ${s.bind(row.currency)}, 'pending', ${s.bind(row.next_attempt_at)}::timestamptz,
      ${s.bind(row.created_at)}::timestamptz, ${s.bind(row.updated_at)}::timestamptz
    WHERE EXISTS (SELECT 1 FROM ${guard}) ON CONFLICT (attempt_id) DO NOTHING RETURNING 1`;
}

export async function insertLateSuccessRefund(tx: Queryable, row: LateSuccessRefundRow): Promise<void> {
  await tx.query(
    `INSERT INTO late_success_refunds (${columns}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'pending',$10,$11,$11) ON CONFLICT (attempt_id) DO NOTHING`,
    [row.id, row.merchant_id, row.payment_id, row.attempt_id, row.channel, row.out_trade_no, row.channel_txn_id, row.amount, row.currency, row.next_attempt_at, row.created_at],
  );
}

export async function lateSuccessRefundsOf(db: Queryable, paymentId: string): Promise<LateSuccessRefundRow[]> {
  const { rows } = await db.query<LateSuccessRefundRow>('SELECT * FROM late_success_refunds WHERE payment_id = $1 ORDER BY created_at, id', [paymentId]);
  return rows;
}

/** Due pending rows, locked with SKIP LOCKED and leased in the same statement; send_count + 1 is each one's lease token. */
async function claimDue(ctx: AppContext): Promise<LateSuccessRefundRow[]> {
  const now = ctx.clock.now();
  const { rows } = await ctx.db.query<LateSuccessRefundRow>(
    `UPDATE late_success_refunds SET send_count = send_count + 1, locked_until = $2, updated_at = $1
     WHERE id IN (
       SELECT id FROM late_success_refunds
       WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
       ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now, new Date(now.getTime() + limits.late_success_refund_lease_ms), limits.late_success_refund_batch_max],
  );
  return rows;
}

function eventOf(outcome: ChannelRefundOutcome): RefundEvent {
  // `not_sent` moved no money: like `unknown`, it is sent again with the same key.
  if (outcome.kind !== 'result') return 'channel_pending';
  return outcome.status === 'succeeded' ? 'channel_succeeded' : outcome.status === 'failed' ? 'channel_failed' : 'channel_pending';
}

/** Delay before sending a pending row again: doubles with each send, capped. Pure. */
export function retryDelayMs(sendCount: number): number {
  const exponent = Math.min(Math.max(sendCount - 1, 0), 20);
  return Math.min(limits.late_success_refund_retry_delay_ms_first * 2 ** exponent, limits.late_success_refund_retry_delay_ms_max);
}

type Recorded = 'succeeded' | 'failed' | 'retry' | 'lease_lost';

/** Records the channel's answer, only while this worker still holds the lease (status pending, same send_count). */
async function recordOutcome(ctx: AppContext, claimed: LateSuccessRefundRow, outcome: ChannelRefundOutcome): Promise<Recorded> {
  const next = transitionRefund('pending', eventOf(outcome));
  if (!next.ok) throw new Error(`assertion failed: ${next.rejection}`);
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    if (next.state === 'pending') {
      const retryAt = new Date(now.getTime() + retryDelayMs(claimed.send_count));
      const result = await tx.query(
        `UPDATE late_success_refunds SET next_attempt_at = $3, locked_until = NULL, updated_at = $4 WHERE id = $1 AND status = 'pending' AND send_count = $2`,
        [claimed.id, claimed.send_count, retryAt, now],
      );
      return result.rowCount === 1 ? 'retry' : 'lease_lost';
    }
    const result = outcome.kind === 'result'
      ? await tx.query(
          `UPDATE late_success_refunds SET status = $3, channel_refund_id = $4, failure_code = $5, locked_until = NULL, updated_at = $6
           WHERE id = $1 AND status = 'pending' AND send_count = $2`,
          [claimed.id, claimed.send_count, next.state, outcome.channel_refund_id, outcome.failure_code, now],
        )
      : null;
    if (result?.rowCount !== 1) return 'lease_lost';
    if (next.state === 'succeeded') {
      const booked = await postEntry(tx, lateRefundEntry(lateSuccessOf(claimed)), { clock: ctx.clock });
      if (!booked.ok) throw new Error(`assertion failed: the late refund of ${claimed.id} is booked (${booked.rejection})`);
    }
    const payload = {
      payment_id: claimed.payment_id, attempt_id: claimed.attempt_id, late_success_refund_id: claimed.id, channel: claimed.channel,
      amount: String(claimed.amount), currency: claimed.currency, ...(next.state === 'failed' ? { failure_code: outcome.kind === 'result' ? outcome.failure_code : null } : {}),
    };
    const type = next.state === 'succeeded' ? 'payment.late_success_refunded' : 'payment.late_success_refund_failed';
    await appendEvents(tx, [{ merchantId: claimed.merchant_id, type, objectId: claimed.payment_id, payload }], now);
    return next.state;
  });
}

function lateSuccessOf(row: LateSuccessRefundRow): LateSuccessInput {
  return { lateSuccessRefundId: row.id, channel: row.channel, amount: money(BigInt(row.amount), row.currency) };
}

/** Books the late capture, dated when the late success was recorded; a second call posts nothing. */
async function bookLateCapture(ctx: AppContext, row: LateSuccessRefundRow): Promise<void> {
  const booked = await ctx.db.transaction((tx) => postEntry(tx, lateCaptureEntry(lateSuccessOf(row)), { clock: { now: () => new Date(row.created_at) } }));
  if (!booked.ok) throw new Error(`assertion failed: the late capture of ${row.id} is booked (${booked.rejection})`);
}

/** One sweep of the `late_success_refund` worker. Returns how many rows it sent. */
export async function refundLateSuccesses(ctx: AppContext): Promise<number> {
  const claimed = await claimDue(ctx);
  for (const row of claimed) {
    if (row.status !== 'pending' || row.send_count < 1) throw new Error(`assertion failed: claimed late-success refund ${row.id} is pending and leased`);
    const channel = ctx.channels.get(row.channel);
    if (!channel) {
      ctx.logger.error({ late_success_refund_id: row.id, channel: row.channel }, 'late-success refund for a channel not configured: left pending');
      continue;
    }
    await bookLateCapture(ctx, row);
    const outcome = await channel.connector.refund({
      out_trade_no: row.out_trade_no, channel_txn_id: row.channel_txn_id, out_refund_no: row.id, amount: row.amount, currency: row.currency,
    });
    if (outcome.kind === 'result' && (outcome.amount !== row.amount || outcome.currency !== row.currency)) {
      throw new Error(`assertion failed: connector passed a refund outcome for ${row.id} that does not match it`);
    }
    const recorded = await recordOutcome(ctx, row, outcome);
    if (recorded !== 'lease_lost') ctx.metrics.lateSuccessRefunds.inc({ channel: row.channel, outcome: recorded });
    const fields = { late_success_refund_id: row.id, payment_id: row.payment_id, attempt_id: row.attempt_id, channel: row.channel, amount: String(row.amount), currency: row.currency, send_count: row.send_count };
    if (recorded === 'succeeded') ctx.logger.warn(fields, 'late success refunded to the payer');
    else if (recorded === 'failed') ctx.logger.error({ ...fields, failure_code: outcome.kind === 'result' ? outcome.failure_code : null }, 'late-success refund refused by the channel: needs a person');
    else ctx.logger.info({ ...fields, outcome: recorded, reason: outcome.kind === 'result' ? outcome.status : outcome.reason }, 'late-success refund not final yet');
  }
  return claimed.length;
}
