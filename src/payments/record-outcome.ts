// Records what a channel said about one attempt, atomically: attempt, payment, order, the capture's
// journal entry (when the payment succeeds) and outbox events together. Every source of news (the synchronous call, the query after an ambiguous
// call, notifications, the repair job) comes through here.
//
// Two ways to write the same changes:
// - guarded: when the caller holds the rows it last wrote (the synchronous flow), one statement
//   applies everything only if both rows still carry the versions it knows (one round trip);
// - locked: otherwise, or when a guard found the rows changed, a transaction locks the payment
//   and the attempt, re-reads them and decides again from what it read.
//
// A late success (the channel captured money on an attempt whose payment is already final) writes,
// in the same statement or transaction, the late-success refund that will give that money back
// (late-success.ts); the attempt id is its unique key, so it is written once.
import type { Queryable } from '../db/database.ts';
import type { ChannelPaymentOutcome } from '../channels/contract.ts';
import { newId } from '../kernel/ids.ts';
import type { AppContext } from '../http/context.ts';
import type { OrderEvent } from '../orders/domain/order-state.ts';
import { applyOrderEventFrom } from '../orders/repository.ts';
import { appendEvents, type OutboxEvent } from '../outbox/outbox.ts';
import { decideOutcome } from './domain/outcome.ts';
import { captureBookingFor, planCapture, type CaptureBooking, type PlannedCapture } from './capture.ts';
import { postEntry } from '../ledger/journal.ts';
import { writeGuarded } from './outcome-writes.ts';
import { insertLateSuccessRefund, planLateSuccessRefund, type LateSuccessRefundRow } from './late-success.ts';
import { observeAttemptOutcome } from '../routing/success-window.ts';
import {
  findAttempt, findPaymentById, insertAttempt, updateAttempt, updatePayment, type AttemptChange, type AttemptRow, type PaymentChange, type PaymentRow,
} from './repository.ts';

export interface RecordedOutcome {
  readonly payment: PaymentRow;
  readonly attempt: AttemptRow;
  /** The attempt to call next when the decision was to fail over. */
  readonly nextAttempt: AttemptRow | null;
  readonly lateSuccess: boolean;
  /** The refund of a late success, written with it (when `lateSuccess`). */
  readonly lateSuccessRefund?: LateSuccessRefundRow;
  readonly changed: boolean;
  /** The response stored under the request's idempotency key by the same statement, if any. */
  readonly storedResponse?: StoredResponse;
}

export interface NextChannel {
  readonly channel: string;
  readonly routing_reason: string;
}

/** Names the attempt and its payment (the payment's row lock is taken first). */
export interface AttemptRef {
  readonly id: string;
  readonly payment_id: string;
}

/** The rows as the caller last wrote them: lets the guarded single statement be tried first. */
export interface KnownRows {
  readonly payment: PaymentRow;
  readonly attempt: AttemptRow;
  /**
   * The request's stored response, written by the same statement when this outcome ends the
   * request (no further attempt): the idempotency record then costs no write of its own.
   */
  readonly finish?: (payment: PaymentRow, attempt: AttemptRow) => StoredResponse;
}

/** An idempotency key's response, stored with the state change that produced it. */
export interface StoredResponse {
  readonly owner: string;
  readonly key: string;
  readonly status: number;
  readonly body: string;
}

/** Everything one outcome changes, computed from the rows as they are. Pure. */
export interface PlannedChanges {
  readonly changed: boolean;
  readonly lateSuccess: boolean;
  readonly attempt: AttemptRow;
  readonly attemptChange: AttemptChange | null;
  readonly payment: PaymentRow;
  readonly paymentChange: PaymentChange | null;
  readonly orderEvent: OrderEvent | null;
  readonly nextAttempt: AttemptRow | null;
  readonly events: OutboxEvent[];
  readonly conflict: string | null;
  readonly lateSuccessRefund: LateSuccessRefundRow | null;
  /** The capture's journal entry, when the payment succeeds. */
  readonly capture: PlannedCapture | null;
}

function failureOf(outcome: ChannelPaymentOutcome): { code: string | null; message: string | null } {
  if (outcome.kind !== 'result') return { code: outcome.kind === 'not_sent' ? 'channel_not_reached' : 'channel_outcome_unknown', message: outcome.reason };
  return { code: outcome.failure_code, message: outcome.failure_message };
}

function planChanges(
  payment: PaymentRow, attempt: AttemptRow, outcome: ChannelPaymentOutcome, nextChannel: NextChannel | null, now: Date, booking: CaptureBooking | null,
): PlannedChanges {
  if (outcome.kind === 'result' && (outcome.amount !== attempt.amount || outcome.currency !== attempt.currency)) {
    throw new Error(`assertion failed: connector passed an outcome for ${attempt.out_trade_no} that does not match the attempt`);
  }
  const unchanged = { lateSuccess: false, attempt, attemptChange: null, payment, paymentChange: null, orderEvent: null, nextAttempt: null, events: [], lateSuccessRefund: null, capture: null };
  const decision = decideOutcome({ attemptStatus: attempt.status, paymentStatus: payment.status, outcome, nextChannelAvailable: nextChannel !== null });
  if (decision.kind !== 'apply') return { ...unchanged, changed: false, conflict: decision.kind === 'conflict' ? decision.reason : null };
  const failure = decision.attemptStatus === 'failed' ? failureOf(outcome) : { code: null, message: null };
  const attemptChange: AttemptChange = {
    status: decision.attemptStatus,
    channel_txn_id: outcome.kind === 'result' ? outcome.channel_txn_id : null,
    failure_code: failure.code,
    failure_message: failure.message,
  };
  const events: OutboxEvent[] = [];
  let paymentChange: PaymentChange | null = null;
  let capture: PlannedCapture | null = null;
  if (decision.paymentEvent !== null) {
    const nextAction = outcome.kind === 'result' ? outcome.next_action : null;
    if (decision.paymentStatus === 'succeeded') {
      if (booking === null) throw new Error(`assertion failed: the success of ${payment.id} comes with its capture booking`);
      capture = planCapture(payment, attempt.channel, booking);
    }
    paymentChange = {
      status: decision.paymentStatus,
      channel: attempt.channel,
      ...(capture ? { amount_captured: payment.amount, fees: { fee_amount: capture.fee, channel_fee_amount: capture.channelFee, refund_fee_policy: capture.refundFeePolicy } } : {}),
      ...(decision.paymentStatus === 'failed' ? { failure_code: failure.code, failure_message: failure.message } : {}),
      ...(nextAction ? { next_action: nextAction } : {}),
    };
    const booked = capture ? { fee_amount: String(capture.fee), channel_fee_amount: String(capture.channelFee), journal_entry_id: capture.entryId } : {};
    events.push({ merchantId: payment.merchant_id, type: `payment.${decision.paymentStatus}` as OutboxEvent['type'], objectId: payment.id, payload: { payment_id: payment.id, order_id: payment.order_id, channel: attempt.channel, amount: String(payment.amount), currency: payment.currency, ...booked } });
  }
  if (decision.orderEvent === 'payment_succeeded') {
    events.push({ merchantId: payment.merchant_id, type: 'order.paid', objectId: payment.order_id, payload: { order_id: payment.order_id, payment_id: payment.id } });
  }
  let lateSuccessRefund: LateSuccessRefundRow | null = null;
  if (decision.lateSuccess) {
    lateSuccessRefund = planLateSuccessRefund(payment, { ...attempt, channel_txn_id: attemptChange.channel_txn_id ?? attempt.channel_txn_id }, now);
    events.push({
      merchantId: payment.merchant_id, type: 'payment.late_success', objectId: payment.id,
      payload: { payment_id: payment.id, attempt_id: attempt.id, channel: attempt.channel, amount: String(attempt.amount), currency: attempt.currency, late_success_refund_id: lateSuccessRefund.id },
    });
  }
  let nextAttempt: AttemptRow | null = null;
  if (decision.failOver && nextChannel !== null) {
    const id = newId('attempt');
    nextAttempt = { id, payment_id: payment.id, merchant_id: payment.merchant_id, channel: nextChannel.channel, status: 'created', out_trade_no: id, channel_txn_id: null, amount: payment.amount, currency: payment.currency, routing_reason: nextChannel.routing_reason, failure_code: null, failure_message: null, version: 1, created_at: now, updated_at: now };
  }
  return {
    changed: true, conflict: null, lateSuccess: decision.lateSuccess, attempt, attemptChange, payment, paymentChange,
    orderEvent: decision.orderEvent, nextAttempt, events, lateSuccessRefund, capture,
  };
}

/** The rows after the planned changes, as the database now holds them. */
export function rowsAfter(plan: PlannedChanges, now: Date): { payment: PaymentRow; attempt: AttemptRow } {
  const attempt: AttemptRow = plan.attemptChange
    ? { ...plan.attempt, ...plan.attemptChange, channel_txn_id: plan.attemptChange.channel_txn_id ?? plan.attempt.channel_txn_id, version: plan.attempt.version + 1, updated_at: now } as AttemptRow
    : plan.attempt;
  const change = plan.paymentChange;
  const payment: PaymentRow = change
    ? {
        ...plan.payment,
        status: change.status,
        channel: change.channel ?? plan.payment.channel,
        amount_captured: change.amount_captured ?? plan.payment.amount_captured,
        fee_amount: change.fees?.fee_amount ?? plan.payment.fee_amount,
        channel_fee_amount: change.fees?.channel_fee_amount ?? plan.payment.channel_fee_amount,
        refund_fee_policy: change.fees?.refund_fee_policy ?? plan.payment.refund_fee_policy ?? null,
        failure_code: change.failure_code === undefined ? plan.payment.failure_code : change.failure_code,
        failure_message: change.failure_message === undefined ? plan.payment.failure_message : change.failure_message,
        next_action: change.next_action === undefined ? plan.payment.next_action : change.next_action,
        version: plan.payment.version + 1,
        updated_at: now,
      }
    : plan.payment;
  return { payment, attempt };
}

/** Locks the payment and the attempt, re-reads them, decides from what it read, writes. */
async function applyLocked(ctx: AppContext, tx: Queryable, ref: AttemptRef, outcome: ChannelPaymentOutcome, nextChannel: NextChannel | null): Promise<RecordedOutcome> {
  const now = ctx.clock.now();
  // Lock order: payment, then attempt, then order — the same everywhere.
  const payment = await findPaymentById(tx, ref.payment_id, true);
  const attempt = await findAttempt(tx, ref.id, true);
  if (!payment || !attempt || attempt.payment_id !== payment.id) throw new Error(`assertion failed: attempt ${ref.id} of payment ${ref.payment_id} exists`);
  const plan = planChanges(payment, attempt, outcome, nextChannel, now, await captureBookingFor(ctx, tx, payment, attempt.channel, outcome));
  if (!plan.changed) {
    if (plan.conflict) ctx.logger.warn({ attempt_id: attempt.id, reason: plan.conflict }, 'channel news contradicts a final state; nothing changed');
    return { payment, attempt, nextAttempt: null, lateSuccess: false, changed: false };
  }
  const attemptAfter = await updateAttempt(tx, attempt, plan.attemptChange!, now);
  const paymentAfter = plan.paymentChange ? await updatePayment(tx, payment, plan.paymentChange, now) : payment;
  // A payment that is not final belongs to an order that is paying (the unique live-payment
  // index and the order's transition table keep it so).
  if (plan.orderEvent) await applyOrderEventFrom(tx, payment.order_id, 'paying', plan.orderEvent, now);
  if (plan.nextAttempt) await insertAttempt(tx, plan.nextAttempt);
  if (plan.lateSuccessRefund) await insertLateSuccessRefund(tx, plan.lateSuccessRefund);
  if (plan.capture) {
    const posted = await postEntry(tx, plan.capture.entry, { clock: ctx.clock, entryId: plan.capture.entryId });
    if (!posted.ok) throw new Error(`assertion failed: the capture of ${payment.id} is posted (${posted.rejection})`);
  }
  await appendEvents(tx, plan.events, now);
  return {
    payment: paymentAfter, attempt: attemptAfter, nextAttempt: plan.nextAttempt, lateSuccess: plan.lateSuccess, changed: true,
    ...(plan.lateSuccessRefund ? { lateSuccessRefund: plan.lateSuccessRefund } : {}),
  };
}

async function record(ctx: AppContext, ref: AttemptRef, outcome: ChannelPaymentOutcome, nextChannel: NextChannel | null, known: KnownRows | null): Promise<RecordedOutcome> {
  if (known !== null) {
    const now = ctx.clock.now();
    const plan = planChanges(known.payment, known.attempt, outcome, nextChannel, now, await captureBookingFor(ctx, ctx.db, known.payment, known.attempt.channel, outcome));
    if (plan.changed) {
      const after = rowsAfter(plan, now);
      const response = known.finish && plan.nextAttempt === null ? known.finish(after.payment, after.attempt) : null;
      if (await writeGuarded(ctx, { plan, now, response })) {
        return {
          payment: after.payment, attempt: after.attempt, nextAttempt: plan.nextAttempt, lateSuccess: plan.lateSuccess, changed: true,
          ...(plan.lateSuccessRefund ? { lateSuccessRefund: plan.lateSuccessRefund } : {}), ...(response ? { storedResponse: response } : {}),
        };
      }
    }
    // The rows moved on since we wrote them (a notification was faster): decide again from them.
  }
  return ctx.db.transaction((tx) => applyLocked(ctx, tx, ref, outcome, nextChannel));
}

export async function recordAttemptOutcome(
  ctx: AppContext,
  ref: AttemptRef,
  outcome: ChannelPaymentOutcome,
  nextChannel: NextChannel | null,
  known: KnownRows | null = null,
): Promise<RecordedOutcome> {
  const recorded = await record(ctx, ref, outcome, nextChannel, known);
  observeAttemptOutcome(ctx, recorded); // routing's sliding success rate per channel and method
  if (recorded.attempt.status === 'succeeded') {
    ctx.facts.succeededAttempts.set(recorded.attempt.out_trade_no, { amount: recorded.attempt.amount, currency: recorded.attempt.currency });
  }
  if (recorded.changed && recorded.payment.status !== 'processing') {
    ctx.metrics.payments.inc({ status: recorded.payment.status, channel: recorded.attempt.channel, method: recorded.payment.method });
  }
  if (recorded.lateSuccess) {
    if (!recorded.lateSuccessRefund || recorded.lateSuccessRefund.attempt_id !== recorded.attempt.id) throw new Error(`assertion failed: late success on ${recorded.attempt.id} carries its refund`);
    ctx.metrics.lateSuccessRefunds.inc({ channel: recorded.attempt.channel, outcome: 'recorded' });
    ctx.logger.error(
      { payment_id: recorded.payment.id, payment_status: recorded.payment.status, attempt_id: recorded.attempt.id, channel: recorded.attempt.channel, amount: String(recorded.attempt.amount), currency: recorded.attempt.currency, late_success_refund_id: recorded.lateSuccessRefund.id },
      'late success on a payment already final: refunding it automatically',
    );
  }
  return recorded;
}

/**
 * Whether news about an attempt could change anything, judged from an unlocked read. Lets a
 * duplicate notification be answered without taking locks; a `true` is decided again under lock.
 */
export function couldChange(payment: PaymentRow, attempt: AttemptRow, outcome: ChannelPaymentOutcome): boolean {
  return decideOutcome({ attemptStatus: attempt.status, paymentStatus: payment.status, outcome, nextChannelAvailable: false }).kind === 'apply';
}
