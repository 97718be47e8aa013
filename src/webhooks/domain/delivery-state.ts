import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

export type DeliveryEvent =
  | 'attempt_delivered' // the endpoint answered 2xx
  | 'attempt_retry' // it did not, and the three-day window allows another attempt
  | 'attempt_exhausted' // it did not, and the window (or the attempt cap) is over
  | 'endpoint_disabled'
  | 'redeliver'; // the merchant asked for it again

export const deliveryTransitions: TransitionTable<DeliveryStatus, DeliveryEvent> = {
  pending: { attempt_delivered: 'delivered', attempt_retry: 'pending', attempt_exhausted: 'failed', endpoint_disabled: 'failed', redeliver: 'pending' },
  delivered: { redeliver: 'pending' },
  failed: { redeliver: 'pending' },
};

export function transitionDelivery(state: DeliveryStatus, event: DeliveryEvent) {
  return transitionBy('webhook_delivery', deliveryTransitions, state, event);
}

/** The status a transition must reach, or an assertion failure (callers only ask allowed ones). */
export function nextDeliveryStatus(state: DeliveryStatus, event: DeliveryEvent): DeliveryStatus {
  const next = transitionDelivery(state, event);
  if (!next.ok) throw new Error(`assertion failed: ${next.rejection}`);
  return next.state;
}
