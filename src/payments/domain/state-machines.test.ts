import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelPaymentOutcome } from '../../channels/contract.ts';
import { orderStatuses, orderTransitions, transitionOrder, type OrderEvent } from '../../orders/domain/order-state.ts';
import { attemptStatuses, attemptTransitions, transitionAttempt } from './attempt-state.ts';
import { decideOutcome } from './outcome.ts';
import { finalPaymentStatuses, paymentStatuses, paymentTransitions, transitionPayment, type PaymentStatus } from './payment-state.ts';
import { refundTransitions, transitionRefund } from './refund-state.ts';

const orderEvents: OrderEvent[] = ['payment_started', 'payment_succeeded', 'payment_failed', 'cancel', 'expire'];

describe('transition tables', () => {
  it('list every state, and lead only to states in the table', () => {
    for (const [table, states] of [[orderTransitions, orderStatuses], [paymentTransitions, paymentStatuses], [attemptTransitions, attemptStatuses]] as const) {
      expect(Object.keys(table).sort()).toEqual([...states].sort());
      for (const row of Object.values(table)) for (const next of Object.values(row as object)) expect(states).toContain(next);
    }
    for (const row of Object.values(refundTransitions)) for (const next of Object.values(row)) expect(['pending', 'succeeded', 'failed']).toContain(next);
  });

  it('follows the order lifecycle of DESIGN.md and names every rejection', () => {
    expect(transitionOrder('pending_payment', 'payment_started')).toEqual({ ok: true, state: 'paying' });
    expect(transitionOrder('paying', 'payment_failed')).toEqual({ ok: true, state: 'pending_payment' });
    expect(transitionOrder('paying', 'payment_succeeded')).toEqual({ ok: true, state: 'paid' });
    expect(transitionOrder('pending_payment', 'expire')).toEqual({ ok: true, state: 'cancelled' });
    for (const event of orderEvents) {
      const fromPaid = transitionOrder('paid', event);
      expect(fromPaid.ok).toBe(false);
      if (!fromPaid.ok) expect(fromPaid.rejection).toBe(`order_${event}_not_allowed_from_paid`);
    }
    expect(transitionOrder('paying', 'cancel').ok).toBe(false);
  });

  it('never leaves a final payment state, and refunds never leave theirs', () => {
    for (const status of finalPaymentStatuses) {
      for (const event of ['action_required', 'captured', 'declined', 'closed'] as const) expect(transitionPayment(status, event).ok).toBe(false);
    }
    for (const status of ['succeeded', 'failed'] as const) {
      for (const event of ['channel_succeeded', 'channel_failed', 'channel_pending'] as const) expect(transitionRefund(status, event).ok).toBe(false);
    }
    expect(transitionAttempt('succeeded', 'channel_failed').ok).toBe(false);
  });
});

const outcomeArb: fc.Arbitrary<ChannelPaymentOutcome> = fc.oneof(
  fc.constant<ChannelPaymentOutcome>({ kind: 'not_sent', reason: 'refused' }),
  fc.constant<ChannelPaymentOutcome>({ kind: 'unknown', reason: 'timeout' }),
  fc.record({
    status: fc.constantFrom('succeeded', 'failed', 'pending', 'requires_action') as fc.Arbitrary<'succeeded' | 'failed' | 'pending' | 'requires_action'>,
    retryable: fc.boolean(),
  }).map(({ status, retryable }): ChannelPaymentOutcome => ({
    kind: 'result', status, channel_txn_id: 'x', amount: 100n, currency: 'USD', failure_code: status === 'failed' ? 'card_declined' : null,
    failure_message: null, retryable_elsewhere: retryable, next_action: null,
  })),
);

describe('decideOutcome (property)', () => {
  it('captures a payment at most once, never moves a final payment, and fails over only when no money can have moved', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(outcomeArb, fc.boolean()), { minLength: 1, maxLength: 12 }), (news) => {
        let attempt: (typeof attemptStatuses)[number] = 'created';
        let payment: PaymentStatus = 'processing';
        let captures = 0;
        for (const [outcome, nextChannel] of news) {
          const decision = decideOutcome({ attemptStatus: attempt, paymentStatus: payment, outcome, nextChannelAvailable: nextChannel });
          if (decision.kind !== 'apply') continue;
          if (finalPaymentStatuses.has(payment)) expect(decision.paymentStatus).toBe(payment);
          if (decision.paymentEvent === 'captured') captures++;
          if (decision.failOver) {
            expect(nextChannel).toBe(true);
            expect(outcome.kind === 'not_sent' || (outcome.kind === 'result' && outcome.status === 'failed' && outcome.retryable_elsewhere)).toBe(true);
          }
          if (decision.lateSuccess) expect(finalPaymentStatuses.has(payment)).toBe(true);
          attempt = decision.attemptStatus;
          payment = decision.paymentStatus;
        }
        expect(captures).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps an ambiguous outcome pending: no failover, no failure', () => {
    const decision = decideOutcome({ attemptStatus: 'created', paymentStatus: 'processing', outcome: { kind: 'unknown', reason: 'timeout' }, nextChannelAvailable: true });
    expect(decision).toMatchObject({ kind: 'apply', attemptStatus: 'unknown', paymentStatus: 'processing', failOver: false, paymentEvent: null });
  });
});
