// The payout and payout-attempt lifecycles (DESIGN.md "State machines"). Pure.
//
// Payout:  created -> submitted -> paid | failed;  paid -> returned (the bank bounced it later).
//          A payout stays `submitted` while it fails over from one bank to the next.
// Attempt: one call chain to one bank under one idempotency key (the attempt id):
//          created -> submitted -> paid | failed; created -> paid | failed directly when the
//          bank answers at once; paid -> returned. `created` is also where an attempt stays
//          while transient errors are retried with the same key.
import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';

export const payoutStatuses = ['created', 'submitted', 'paid', 'failed', 'returned'] as const;
export type PayoutStatus = (typeof payoutStatuses)[number];
export type PayoutEvent = 'submitted' | 'paid' | 'failed' | 'returned';

export const payoutTransitions: TransitionTable<PayoutStatus, PayoutEvent> = {
  created: { submitted: 'submitted', failed: 'failed' },
  submitted: { submitted: 'submitted', paid: 'paid', failed: 'failed' },
  paid: { returned: 'returned' },
  failed: {},
  returned: {},
};

export function transitionPayout(state: PayoutStatus, event: PayoutEvent) {
  return transitionBy('payout', payoutTransitions, state, event);
}

export const payoutAttemptStatuses = ['created', 'submitted', 'paid', 'failed', 'returned'] as const;
export type PayoutAttemptStatus = (typeof payoutAttemptStatuses)[number];
export type PayoutAttemptEvent =
  | 'bank_accepted' // the bank has it and has not paid yet
  | 'bank_paid'
  | 'bank_rejected' // a definite refusal, or a cancel the bank confirmed: nothing was or will be paid
  | 'bank_returned';

export const payoutAttemptTransitions: TransitionTable<PayoutAttemptStatus, PayoutAttemptEvent> = {
  created: { bank_accepted: 'submitted', bank_paid: 'paid', bank_rejected: 'failed' },
  submitted: { bank_accepted: 'submitted', bank_paid: 'paid', bank_rejected: 'failed' },
  paid: { bank_paid: 'paid', bank_returned: 'returned' },
  failed: { bank_rejected: 'failed' },
  returned: { bank_returned: 'returned' },
};

export function transitionPayoutAttempt(state: PayoutAttemptStatus, event: PayoutAttemptEvent) {
  return transitionBy('payout_attempt', payoutAttemptTransitions, state, event);
}

/** Attempt statuses under which the bank may still pay (or has paid): at most one per payout. */
export const liveAttemptStatuses: ReadonlySet<PayoutAttemptStatus> = new Set(['created', 'submitted', 'paid', 'returned']);

/** What an attempt's new status means for its payout. Pure; `null`: the payout does not move. */
export function payoutEventFor(attempt: PayoutAttemptStatus, banksLeft: boolean): PayoutEvent | null {
  switch (attempt) {
    case 'created':
      return null;
    case 'submitted':
      return 'submitted';
    case 'paid':
      return 'paid';
    case 'returned':
      return 'returned';
    case 'failed':
      // A definite failure: the next bank gets a new attempt (the payout stays where it is), or,
      // with no bank left, the payout fails and its money goes back to the merchant.
      return banksLeft ? null : 'failed';
  }
}

/** Delay before the next send of an attempt that met a transient error: doubling, capped. */
export function retryDelayMs(sends: number, firstMs: number, maxMs: number): number {
  if (!(Number.isInteger(sends) && sends >= 1)) throw new Error('assertion failed: retryDelayMs: sends >= 1');
  const delay = Math.min(maxMs, firstMs * 2 ** Math.min(sends - 1, 30));
  if (!(delay >= firstMs && delay <= maxMs)) throw new Error('assertion failed: retryDelayMs within first..max');
  return delay;
}
