import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const refundStatuses = ['pending', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

export type RefundEvent = 'channel_succeeded' | 'channel_failed' | 'channel_pending';

export const refundTransitions: TransitionTable<RefundStatus, RefundEvent> = {
  pending: { channel_succeeded: 'succeeded', channel_failed: 'failed', channel_pending: 'pending' },
  succeeded: {},
  failed: {},
};

export function transitionRefund(state: RefundStatus, event: RefundEvent) {
  return transitionBy('refund', refundTransitions, state, event);
}
