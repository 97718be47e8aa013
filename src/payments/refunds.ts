// Refunds: reserve the amount on the payment (so concurrent refunds can never exceed what was
// captured), call the channel with no transaction open, then settle the reservation; a refund that
// succeeded is booked in the ledger in that same transaction (refund-booking.ts).
import type { ChannelRefundOutcome } from '../channels/contract.ts';
import type { Queryable } from '../db/database.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import type { AppContext } from '../http/context.ts';
import { appendEvents } from '../outbox/outbox.ts';
import { transitionRefund, type RefundEvent } from './domain/refund-state.ts';
import { findPayment, findPaymentById, type AttemptRow, type RefundRow } from './repository.ts';
import { bookRefund } from './refund-booking.ts';

async function reserveRefund(ctx: AppContext, merchantId: string, paymentId: string, amount: bigint | undefined): Promise<{ refund: RefundRow; attempt: AttemptRow }> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const payment = await findPayment(tx, merchantId, paymentId, true);
    if (!payment) throw new ClearwayError('not_found', `No payment ${paymentId}.`, { param: 'id' });
    if (payment.status !== 'succeeded') throw new ClearwayError('payment_not_refundable', `Payment ${paymentId} is ${payment.status}.`);
    const refundable = payment.amount_captured - payment.amount_refunded - payment.amount_refund_pending;
    const wanted = amount ?? refundable;
    if (wanted <= 0n || wanted > refundable) {
      throw new ClearwayError('refund_exceeds_captured', `At most ${refundable} can still be refunded.`, { param: 'amount' });
    }
    const { rows: counted } = await tx.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM refunds WHERE payment_id = $1', [paymentId]);
    if ((counted[0]?.n ?? 0n) >= BigInt(limits.payment_refunds_max)) throw new ClearwayError('refund_limit_reached');
    // The attempt that captured the payment: a late success on another attempt of it is not part of
    // amount_captured and is given back on its own (late-success.ts), never refunded from here.
    const { rows: attempts } = await tx.query<AttemptRow>(
      `SELECT * FROM attempts a WHERE a.payment_id = $1 AND a.status = 'succeeded'
         AND NOT EXISTS (SELECT 1 FROM late_success_refunds l WHERE l.attempt_id = a.id)
       ORDER BY a.created_at LIMIT 1`,
      [paymentId],
    );
    const attempt = attempts[0];
    if (!attempt) throw new Error(`assertion failed: succeeded payment ${paymentId} has a succeeded attempt`);
    await tx.query('UPDATE payments SET amount_refund_pending = amount_refund_pending + $2, updated_at = $3 WHERE id = $1', [paymentId, wanted, now]);
    const refund: RefundRow = {
      id: newId('refund'), merchant_id: merchantId, payment_id: paymentId, attempt_id: attempt.id, amount: wanted, currency: payment.currency,
      status: 'pending', channel_refund_id: null, fee_returned: null, failure_code: null, version: 1, created_at: now, updated_at: now,
    };
    await tx.query(
      `INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,'pending',$7,$7)`,
      [refund.id, merchantId, paymentId, attempt.id, wanted, payment.currency, now],
    );
    await appendEvents(tx, [{ merchantId, type: 'refund.created', objectId: refund.id, payload: { refund_id: refund.id, payment_id: paymentId, amount: String(wanted) } }], now);
    return { refund, attempt };
  });
}

function refundEventOf(outcome: ChannelRefundOutcome): RefundEvent {
  if (outcome.kind === 'not_sent') return 'channel_failed';
  if (outcome.kind === 'unknown') return 'channel_pending';
  return outcome.status === 'succeeded' ? 'channel_succeeded' : outcome.status === 'failed' ? 'channel_failed' : 'channel_pending';
}

/** Applies a channel's answer about a refund: moves the reservation to refunded, or releases it. */
export async function recordRefundOutcome(ctx: AppContext, refundId: string, outcome: ChannelRefundOutcome): Promise<RefundRow> {
  return ctx.db.transaction(async (tx: Queryable) => {
    const now = ctx.clock.now();
    const { rows } = await tx.query<RefundRow>('SELECT * FROM refunds WHERE id = $1', [refundId]);
    const unlocked = rows[0];
    if (!unlocked) throw new Error(`assertion failed: refund ${refundId} exists`);
    const payment = await findPaymentById(tx, unlocked.payment_id, true);
    if (!payment) throw new Error(`assertion failed: payment ${unlocked.payment_id} of refund ${refundId} exists`);
    const { rows: locked } = await tx.query<RefundRow>('SELECT * FROM refunds WHERE id = $1 FOR UPDATE', [refundId]);
    const refund = locked[0]!;
    const next = transitionRefund(refund.status, refundEventOf(outcome));
    if (!next.ok || next.state === refund.status) return refund;
    const failureCode = outcome.kind === 'not_sent' ? 'channel_not_reached' : outcome.kind === 'result' ? outcome.failure_code : null;
    const booked = next.state === 'succeeded' ? await bookRefund(ctx, tx, payment, refund) : null;
    await tx.query(
      'UPDATE refunds SET status = $2, channel_refund_id = $3, failure_code = $4, fee_returned = $6, version = version + 1, updated_at = $5 WHERE id = $1',
      [refund.id, next.state, outcome.kind === 'result' ? outcome.channel_refund_id : null, next.state === 'failed' ? failureCode : null, now, booked?.feeReturned ?? null],
    );
    if (next.state === 'succeeded') {
      await tx.query('UPDATE payments SET amount_refund_pending = amount_refund_pending - $2, amount_refunded = amount_refunded + $2, version = version + 1, updated_at = $3 WHERE id = $1', [refund.payment_id, refund.amount, now]);
      await tx.query('UPDATE orders SET amount_refunded = amount_refunded + $2, version = version + 1, updated_at = $3 WHERE id = (SELECT order_id FROM payments WHERE id = $1)', [refund.payment_id, refund.amount, now]);
    } else {
      await tx.query('UPDATE payments SET amount_refund_pending = amount_refund_pending - $2, updated_at = $3 WHERE id = $1', [refund.payment_id, refund.amount, now]);
    }
    const bookedPayload = booked ? { fee_returned: String(booked.feeReturned), journal_entry_id: booked.entryId } : {};
    await appendEvents(tx, [{ merchantId: refund.merchant_id, type: next.state === 'succeeded' ? 'refund.succeeded' : 'refund.failed', objectId: refund.id, payload: { refund_id: refund.id, payment_id: refund.payment_id, amount: String(refund.amount), currency: refund.currency, ...bookedPayload } }], now);
    return { ...refund, status: next.state, fee_returned: booked?.feeReturned ?? null, updated_at: now };
  });
}

export async function createRefund(ctx: AppContext, merchantId: string, paymentId: string, amount: bigint | undefined): Promise<RefundRow> {
  const { refund, attempt } = await reserveRefund(ctx, merchantId, paymentId, amount);
  const channel = ctx.channels.get(attempt.channel);
  if (!channel) throw new Error(`assertion failed: channel ${attempt.channel} of attempt ${attempt.id} is configured`);
  const outcome = await channel.connector.refund({
    out_trade_no: attempt.out_trade_no, channel_txn_id: attempt.channel_txn_id, out_refund_no: refund.id, amount: refund.amount, currency: refund.currency,
  });
  return recordRefundOutcome(ctx, refund.id, outcome);
}
