// What one channel outcome means for an attempt, its payment and its order. Pure.
// The same function serves the synchronous call, the query after an ambiguous call,
// notifications and the repair job, so they can never disagree.
import type { ChannelPaymentOutcome } from '../../channels/contract.ts';
import type { OrderEvent } from '../../orders/domain/order-state.ts';
import { transitionAttempt, type AttemptEvent, type AttemptStatus } from './attempt-state.ts';
import { transitionPayment, type PaymentEvent, type PaymentStatus } from './payment-state.ts';

export function attemptEventOf(outcome: ChannelPaymentOutcome): AttemptEvent {
  if (outcome.kind === 'not_sent') return 'channel_failed';
  if (outcome.kind === 'unknown') return 'outcome_unknown';
  switch (outcome.status) {
    case 'succeeded':
      return 'channel_succeeded';
    case 'failed':
      return 'channel_failed';
    case 'requires_action':
      return 'channel_action_required';
    case 'pending':
      return 'channel_pending';
  }
}

/** Whether another channel may be tried after this outcome without any risk of charging twice. */
export function mayFailOver(outcome: ChannelPaymentOutcome): boolean {
  if (outcome.kind === 'not_sent') return true;
  if (outcome.kind === 'unknown') return false;
  return outcome.status === 'failed' && outcome.retryable_elsewhere;
}

export type OutcomeDecision =
  | { kind: 'no_change'; reason: string } // duplicate or stale news: nothing to write
  | { kind: 'conflict'; reason: string } // contradicts a final state: record, change nothing
  | {
      kind: 'apply';
      attemptStatus: AttemptStatus;
      paymentEvent: PaymentEvent | null;
      paymentStatus: PaymentStatus;
      orderEvent: OrderEvent | null;
      /** The channel captured money for a payment that is already final: it must be given back. */
      lateSuccess: boolean;
      /** Try the next channel (the caller checks there is one). */
      failOver: boolean;
    };

export interface OutcomeInput {
  readonly attemptStatus: AttemptStatus;
  readonly paymentStatus: PaymentStatus;
  readonly outcome: ChannelPaymentOutcome;
  /** A further channel exists in the payment's plan. */
  readonly nextChannelAvailable: boolean;
}

export function decideOutcome(input: OutcomeInput): OutcomeDecision {
  const event = attemptEventOf(input.outcome);
  const attempt = transitionAttempt(input.attemptStatus, event);
  if (!attempt.ok) {
    const sameFinal = (input.attemptStatus === 'succeeded' && event === 'channel_succeeded') || (input.attemptStatus === 'failed' && event === 'channel_failed');
    if (sameFinal || event === 'channel_pending' || event === 'outcome_unknown') return { kind: 'no_change', reason: attempt.rejection };
    return { kind: 'conflict', reason: attempt.rejection };
  }
  const paymentFinal = input.paymentStatus === 'succeeded' || input.paymentStatus === 'failed' || input.paymentStatus === 'canceled';
  if (attempt.state === 'succeeded') {
    if (paymentFinal) {
      return { kind: 'apply', attemptStatus: 'succeeded', paymentEvent: null, paymentStatus: input.paymentStatus, orderEvent: null, lateSuccess: true, failOver: false };
    }
    return paymentStep(input.paymentStatus, 'captured', 'payment_succeeded', 'succeeded');
  }
  if (attempt.state === 'failed') {
    if (paymentFinal) return { kind: 'apply', attemptStatus: 'failed', paymentEvent: null, paymentStatus: input.paymentStatus, orderEvent: null, lateSuccess: false, failOver: false };
    if (mayFailOver(input.outcome) && input.nextChannelAvailable) {
      return { kind: 'apply', attemptStatus: 'failed', paymentEvent: null, paymentStatus: input.paymentStatus, orderEvent: null, lateSuccess: false, failOver: true };
    }
    return paymentStep(input.paymentStatus, 'declined', 'payment_failed', 'failed');
  }
  if (attempt.state === 'requires_action' && input.paymentStatus === 'processing') {
    return paymentStep(input.paymentStatus, 'action_required', null, 'requires_action');
  }
  return { kind: 'apply', attemptStatus: attempt.state, paymentEvent: null, paymentStatus: input.paymentStatus, orderEvent: null, lateSuccess: false, failOver: false };

  function paymentStep(from: PaymentStatus, paymentEvent: PaymentEvent, orderEvent: OrderEvent | null, attemptStatus: AttemptStatus): OutcomeDecision {
    const payment = transitionPayment(from, paymentEvent);
    if (!payment.ok) return { kind: 'conflict', reason: payment.rejection };
    return { kind: 'apply', attemptStatus, paymentEvent, paymentStatus: payment.state, orderEvent, lateSuccess: false, failOver: false };
  }
}
