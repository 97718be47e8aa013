import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const attemptStatuses = ['created', 'sent', 'requires_action', 'succeeded', 'failed', 'unknown'] as const;
export type AttemptStatus = (typeof attemptStatuses)[number];
export const finalAttemptStatuses: ReadonlySet<AttemptStatus> = new Set(['succeeded', 'failed']);

export type AttemptEvent =
  | 'sent' // the request left the process
  | 'channel_pending' // the channel accepted it but has not decided
  | 'channel_action_required'
  | 'channel_succeeded'
  | 'channel_failed' // a definite decline, or certainly never sent
  | 'outcome_unknown'; // timeout or reset after sending: only the channel can tell

export const attemptTransitions: TransitionTable<AttemptStatus, AttemptEvent> = {
  created: {
    sent: 'sent',
    channel_pending: 'sent',
    channel_action_required: 'requires_action',
    channel_succeeded: 'succeeded',
    channel_failed: 'failed',
    outcome_unknown: 'unknown',
  },
  sent: {
    channel_pending: 'sent',
    channel_action_required: 'requires_action',
    channel_succeeded: 'succeeded',
    channel_failed: 'failed',
    outcome_unknown: 'unknown',
  },
  requires_action: { channel_pending: 'requires_action', channel_succeeded: 'succeeded', channel_failed: 'failed', outcome_unknown: 'requires_action' },
  unknown: { channel_pending: 'unknown', channel_action_required: 'requires_action', channel_succeeded: 'succeeded', channel_failed: 'failed', outcome_unknown: 'unknown' },
  succeeded: {},
  // The channel's word overrides our inference: an attempt we took as failed (never sent, or not
  // found) that the channel later reports captured is recorded as succeeded, and its payment,
  // already final, flags the money for an automatic refund.
  failed: { channel_succeeded: 'succeeded' },
};

export function transitionAttempt(state: AttemptStatus, event: AttemptEvent) {
  return transitionBy('attempt', attemptTransitions, state, event);
}
