import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const orderStatuses = ['pending_payment', 'paying', 'paid', 'cancelled'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export type OrderEvent =
  | 'payment_started' // a payment was created for the order
  | 'payment_succeeded'
  | 'payment_failed' // failed or closed: the customer may try again
  | 'cancel' // by the merchant
  | 'expire'; // unpaid past expires_at

export const orderTransitions: TransitionTable<OrderStatus, OrderEvent> = {
  pending_payment: { payment_started: 'paying', cancel: 'cancelled', expire: 'cancelled' },
  paying: { payment_succeeded: 'paid', payment_failed: 'pending_payment' },
  paid: {},
  cancelled: {},
};

export function transitionOrder(state: OrderStatus, event: OrderEvent) {
  return transitionBy('order', orderTransitions, state, event);
}
