// The payout and attempt transition tables, schedules and amounts: pure, with properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  liveAttemptStatuses, payoutAttemptStatuses, payoutAttemptTransitions, payoutEventFor, payoutStatuses, payoutTransitions, retryDelayMs, transitionPayout, transitionPayoutAttempt,
  type PayoutAttemptEvent, type PayoutAttemptStatus, type PayoutEvent, type PayoutStatus,
} from '../../src/payouts/domain/payout-state.ts';
import { manualAmount, scheduleKeyFor, scheduledAmount } from '../../src/payouts/domain/schedule.ts';

const payoutEvents: PayoutEvent[] = ['submitted', 'paid', 'failed', 'returned'];
const attemptEvents: PayoutAttemptEvent[] = ['bank_accepted', 'bank_paid', 'bank_rejected', 'bank_returned'];

describe('payout transition tables', () => {
  it('list every state and lead only to states in the table', () => {
    expect(Object.keys(payoutTransitions).sort()).toEqual([...payoutStatuses].sort());
    expect(Object.keys(payoutAttemptTransitions).sort()).toEqual([...payoutAttemptStatuses].sort());
    for (const row of Object.values(payoutTransitions)) for (const next of Object.values(row)) expect(payoutStatuses).toContain(next);
    for (const row of Object.values(payoutAttemptTransitions)) for (const next of Object.values(row)) expect(payoutAttemptStatuses).toContain(next);
  });

  it('follows created -> submitted -> paid | failed, paid -> returned, and names every rejection', () => {
    expect(transitionPayout('created', 'submitted')).toEqual({ ok: true, state: 'submitted' });
    expect(transitionPayout('submitted', 'paid')).toEqual({ ok: true, state: 'paid' });
    expect(transitionPayout('submitted', 'failed')).toEqual({ ok: true, state: 'failed' });
    expect(transitionPayout('paid', 'returned')).toEqual({ ok: true, state: 'returned' });
    expect(transitionPayout('paid', 'failed')).toEqual({ ok: false, rejection: 'payout_failed_not_allowed_from_paid' });
    expect(transitionPayout('created', 'paid')).toEqual({ ok: false, rejection: 'payout_paid_not_allowed_from_created' });
    for (const event of payoutEvents) {
      expect(transitionPayout('failed', event).ok).toBe(false);
      expect(transitionPayout('returned', event).ok).toBe(false);
    }
  });

  it('property: any sequence of bank news pays an attempt at most once, never un-pays it, and never revives a failed one', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...attemptEvents), { maxLength: 20 }), (events) => {
        let state: PayoutAttemptStatus = 'created';
        let paidTimes = 0;
        for (const event of events) {
          const next = transitionPayoutAttempt(state, event);
          if (!next.ok) {
            expect(next.rejection).toBe(`payout_attempt_${event}_not_allowed_from_${state}`);
            continue;
          }
          if (state === 'failed') expect(next.state).toBe('failed');
          if (state === 'paid' || state === 'returned') expect(['paid', 'returned']).toContain(next.state);
          if (next.state === 'paid' && state !== 'paid') paidTimes++;
          state = next.state;
        }
        expect(paidTimes).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2_000 },
    );
  });

  it('property: a payout driven by its attempts is paid at most once and fails only when no bank is left', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...payoutAttemptStatuses), fc.boolean()), { maxLength: 20 }), (news) => {
        let payout: PayoutStatus = 'created';
        let paid = 0;
        for (const [attempt, banksLeft] of news) {
          const event = payoutEventFor(attempt, banksLeft);
          if (attempt === 'failed') expect(event === 'failed').toBe(!banksLeft);
          if (event === null) continue;
          const next = transitionPayout(payout, event);
          if (!next.ok) continue;
          if (next.state === 'paid' && payout !== 'paid') paid++;
          payout = next.state;
        }
        expect(paid).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2_000 },
    );
  });

  it('counts every attempt that may still pay as live (one per payout, by a unique index)', () => {
    expect([...liveAttemptStatuses].sort()).toEqual(['created', 'paid', 'returned', 'submitted']);
  });

  it('backs off by doubling, within first..max', () => {
    expect([1, 2, 3, 4, 10].map((sends) => retryDelayMs(sends, 100, 1_000))).toEqual([100, 200, 400, 800, 1_000]);
    fc.assert(fc.property(fc.integer({ min: 1, max: 60 }), (sends) => retryDelayMs(sends, 7, 5_000) >= 7 && retryDelayMs(sends, 7, 5_000) <= 5_000));
  });
});

describe('payout schedules and amounts', () => {
  it('is due daily every day, weekly on its day only, manual never', () => {
    const monday = new Date('2026-01-05T10:00:00Z');
    expect(scheduleKeyFor({ schedule: 'daily', weekly_day: null }, monday)).toBe('daily:2026-01-05');
    expect(scheduleKeyFor({ schedule: 'weekly', weekly_day: 1 }, monday)).toBe('weekly:2026-01-05');
    expect(scheduleKeyFor({ schedule: 'weekly', weekly_day: 2 }, monday)).toBeNull();
    expect(scheduleKeyFor({ schedule: 'manual', weekly_day: null }, monday)).toBeNull();
  });

  it('pays out the whole available balance at or above the minimum', () => {
    expect(scheduledAmount(0n, 0n)).toEqual({ due: false, reason: 'nothing_available' });
    expect(scheduledAmount(999n, 1_000n)).toEqual({ due: false, reason: 'below_minimum' });
    expect(scheduledAmount(1_000n, 1_000n)).toEqual({ due: true, amount: 1_000n });
  });

  it('property: a manual amount is never more than available nor below the minimum', () => {
    fc.assert(
      fc.property(fc.option(fc.bigInt({ min: 1n, max: 10_000n }), { nil: undefined }), fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10_000n }), (requested, available, minimum) => {
        const decided = manualAmount(requested, available, minimum);
        if (decided.ok) {
          expect(decided.amount).toBeLessThanOrEqual(available);
          expect(decided.amount).toBeGreaterThanOrEqual(minimum);
          expect(decided.amount).toBe(requested ?? available);
        }
      }),
    );
  });
});
