// Records what a channel said about one attempt, in one transaction: attempt, payment, order
// and outbox events together. Every source of news (the synchronous call, the query after an
// ambiguous call, notifications, the repair job) comes through here.
import type { Queryable } from '../db/database.ts';
import type { ChannelPaymentOutcome } from '../channels/contract.ts';
import { newId } from '../kernel/ids.ts';
import type { AppContext } from '../http/context.ts';
import { applyOrderEventFrom } from '../orders/repository.ts';
import { appendEvents, type OutboxEvent } from '../outbox/outbox.ts';
import { decideOutcome } from './domain/outcome.ts';
import { findAttempt, findPaymentById, insertAttempt, updateAttempt, updatePayment, type AttemptRow, type PaymentRow } from './repository.ts';

export interface RecordedOutcome {
  readonly payment: PaymentRow;
  readonly attempt: AttemptRow;
  /** The attempt to call next when the decision was to fail over. */
  readonly nextAttempt: AttemptRow | null;
  readonly lateSuccess: boolean;
  readonly changed: boolean;
}

export interface NextChannel {
  readonly channel: string;
  readonly routing_reason: string;
}

function failureOf(outcome: ChannelPaymentOutcome): { code: string | null; message: string | null } {
  if (outcome.kind !== 'result') return { code: outcome.kind === 'not_sent' ? 'channel_not_reached' : 'channel_outcome_unknown', message: outcome.reason };
  return { code: outcome.failure_code, message: outcome.failure_message };
}

/** Names the attempt and its payment (the payment's row lock is taken first). */
export interface AttemptRef {
  readonly id: string;
  readonly payment_id: string;
}

export async function recordAttemptOutcome(
  ctx: AppContext,
  attemptRef: AttemptRef,
  outcome: ChannelPaymentOutcome,
  nextChannel: NextChannel | null,
): Promise<RecordedOutcome> {
  const recorded = await ctx.db.transaction((tx) => recordInTransaction(ctx, tx, attemptRef, outcome, nextChannel));
  if (recorded.changed && recorded.payment.status !== 'processing') {
    ctx.metrics.payments.inc({ status: recorded.payment.status, channel: recorded.attempt.channel, method: recorded.payment.method });
  }
  if (recorded.lateSuccess) {
    ctx.logger.error({ payment_id: recorded.payment.id, attempt_id: recorded.attempt.id }, 'late success on a payment already final: refund required');
  }
  return recorded;
}

async function recordInTransaction(
  ctx: AppContext,
  tx: Queryable,
  attemptRef: AttemptRef,
  outcome: ChannelPaymentOutcome,
  nextChannel: NextChannel | null,
): Promise<RecordedOutcome> {
  const now = ctx.clock.now();
  // Lock order: payment, then attempt, then order — the same everywhere.
  const payment = await findPaymentById(tx, attemptRef.payment_id, true);
  const attempt = await findAttempt(tx, attemptRef.id, true);
  if (!payment || !attempt || attempt.payment_id !== payment.id) throw new Error(`assertion failed: attempt ${attemptRef.id} of payment ${attemptRef.payment_id} exists`);
  if (outcome.kind === 'result' && (outcome.amount !== attempt.amount || outcome.currency !== attempt.currency)) {
    throw new Error(`assertion failed: connector passed an outcome for ${attempt.out_trade_no} that does not match the attempt`);
  }
  const decision = decideOutcome({ attemptStatus: attempt.status, paymentStatus: payment.status, outcome, nextChannelAvailable: nextChannel !== null });
  if (decision.kind !== 'apply') {
    if (decision.kind === 'conflict') ctx.logger.warn({ attempt_id: attempt.id, reason: decision.reason }, 'channel news contradicts a final state; nothing changed');
    return { payment, attempt, nextAttempt: null, lateSuccess: false, changed: false };
  }
  const failure = decision.attemptStatus === 'failed' ? failureOf(outcome) : { code: null, message: null };
  const channelTxnId = outcome.kind === 'result' ? outcome.channel_txn_id : null;
  const nextAttemptRow = await updateAttempt(tx, attempt, { status: decision.attemptStatus, channel_txn_id: channelTxnId, failure_code: failure.code, failure_message: failure.message }, now);
  const events: OutboxEvent[] = [];
  let nextPayment = payment;
  if (decision.paymentEvent !== null) {
    const nextAction = outcome.kind === 'result' ? outcome.next_action : null;
    nextPayment = await updatePayment(tx, payment, {
      status: decision.paymentStatus,
      channel: attempt.channel,
      ...(decision.paymentStatus === 'succeeded' ? { amount_captured: payment.amount } : {}),
      ...(decision.paymentStatus === 'failed' ? { failure_code: failure.code, failure_message: failure.message } : {}),
      ...(nextAction ? { next_action: nextAction } : {}),
    }, now);
    events.push({ merchantId: payment.merchant_id, type: `payment.${decision.paymentStatus}` as OutboxEvent['type'], objectId: payment.id, payload: { payment_id: payment.id, order_id: payment.order_id, channel: attempt.channel, amount: String(payment.amount), currency: payment.currency } });
  }
  if (decision.orderEvent !== null) {
    // A payment that is not final belongs to an order that is paying (the unique live-payment
    // index and the order's transition table keep it so).
    await applyOrderEventFrom(tx, payment.order_id, 'paying', decision.orderEvent, now);
    if (decision.orderEvent === 'payment_succeeded') events.push({ merchantId: payment.merchant_id, type: 'order.paid', objectId: payment.order_id, payload: { order_id: payment.order_id, payment_id: payment.id } });
  }
  if (decision.lateSuccess) {
    events.push({ merchantId: payment.merchant_id, type: 'payment.late_success', objectId: payment.id, payload: { payment_id: payment.id, attempt_id: attempt.id, channel: attempt.channel, amount: String(attempt.amount), currency: attempt.currency } });
  }
  let nextAttempt: AttemptRow | null = null;
  if (decision.failOver && nextChannel !== null) {
    const id = newId('attempt');
    nextAttempt = { id, payment_id: payment.id, merchant_id: payment.merchant_id, channel: nextChannel.channel, status: 'created', out_trade_no: id, channel_txn_id: null, amount: payment.amount, currency: payment.currency, routing_reason: nextChannel.routing_reason, failure_code: null, failure_message: null, version: 1, created_at: now, updated_at: now };
    await insertAttempt(tx, nextAttempt);
  }
  await appendEvents(tx, events, now);
  return { payment: nextPayment, attempt: nextAttemptRow, nextAttempt, lateSuccess: decision.lateSuccess, changed: true };
}
