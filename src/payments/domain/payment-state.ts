import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const paymentStatuses = ['processing', 'requires_action', 'succeeded', 'failed', 'canceled'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];
export const finalPaymentStatuses: ReadonlySet<PaymentStatus> = new Set(['succeeded', 'failed', 'canceled']);

export type PaymentEvent =
  | 'action_required' // the payer must act at the channel (QR code, redirect)
  | 'captured'
  | 'declined' // every attempt failed definitely
  | 'closed'; // abandoned or closed at the channel

export const paymentTransitions: TransitionTable<PaymentStatus, PaymentEvent> = {
  processing: { action_required: 'requires_action', captured: 'succeeded', declined: 'failed', closed: 'canceled' },
  requires_action: { captured: 'succeeded', declined: 'failed', closed: 'canceled' },
  succeeded: {},
  failed: {},
  canceled: {},
};

export function transitionPayment(state: PaymentStatus, event: PaymentEvent) {
  return transitionBy('payment', paymentTransitions, state, event);
}
