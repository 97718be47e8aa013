// Abandoned payments: a payment in `requires_action` (a QR code or redirect the payer never
// completed) whose waiting attempt is older than CLEARWAY_ACTION_TTL_SECONDS is closed at its
// channel, then canceled: payment `requires_action -> canceled` (event `closed`), attempt
// `requires_action -> failed` (failure_code `closed_abandoned`), order `paying -> pending_payment`
// (`payment_failed`), so the customer may pay the order again; with a `payment.canceled` event.
//
// The close comes first, with no transaction open, so the payer can no longer pay once we cancel:
// - `closed` / `not_found`: the trade cannot be paid any more: cancel.
// - `not_closable`: paid (or finished) meanwhile: query, and record what the query says through
//   the one outcome function (a success pays the order; nothing is canceled).
// - `unknown` / `not_sent`: nothing is concluded; the lease runs out and a later sweep tries again.
// A channel without a close flow is queried instead; if the payer still has not paid, the payment
// is canceled all the same: should the payer pay it later, that is a late success, and it is
// refunded automatically (late-success.ts).
//
// Safe in several processes at once: attempts are claimed with FOR UPDATE SKIP LOCKED and leased
// (close_locked_until); the cancel locks payment then attempt (the usual order) and checks both
// are still waiting, so a notification that got there first wins and a second close changes nothing.
import type { ChannelCloseOutcome, ChannelPaymentOutcome } from '../channels/contract.ts';
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import { applyOrderEventFrom } from '../orders/repository.ts';
import { appendEvents } from '../outbox/outbox.ts';
import { transitionAttempt } from './domain/attempt-state.ts';
import { transitionPayment } from './domain/payment-state.ts';
import { recordAttemptOutcome } from './record-outcome.ts';
import { findAttempt, findPaymentById, updateAttempt, updatePayment, type AttemptRow } from './repository.ts';

export const abandonedFailureCode = 'closed_abandoned';

/** Waiting attempts of waiting payments older than the TTL, locked with SKIP LOCKED and leased. */
async function claimAbandoned(ctx: AppContext): Promise<AttemptRow[]> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const cutoff = new Date(now.getTime() - ctx.config.actionTtlSeconds * 1000);
    const { rows } = await tx.query<AttemptRow>(
      `SELECT a.* FROM attempts a JOIN payments p ON p.id = a.payment_id
       WHERE a.status = 'requires_action' AND p.status = 'requires_action' AND a.created_at <= $1
         AND (a.close_locked_until IS NULL OR a.close_locked_until <= $2)
       ORDER BY a.created_at LIMIT $3 FOR UPDATE OF a SKIP LOCKED`,
      [cutoff, now, limits.abandoned_payment_batch_max],
    );
    if (rows.length > 0) {
      await tx.query('UPDATE attempts SET close_locked_until = $2 WHERE id = ANY($1::text[])', [rows.map((row) => row.id), new Date(now.getTime() + limits.abandoned_payment_lease_ms)]);
    }
    return rows;
  });
}

/** Cancels the payment of a closed trade, if it and its attempt are still waiting. Returns whether it did. */
async function cancelClosed(ctx: AppContext, claimed: AttemptRow, detail: string): Promise<boolean> {
  const paymentNext = transitionPayment('requires_action', 'closed');
  const attemptNext = transitionAttempt('requires_action', 'channel_failed');
  if (!paymentNext.ok || !attemptNext.ok) throw new Error('assertion failed: a waiting payment and attempt may be closed');
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const payment = await findPaymentById(tx, claimed.payment_id, true);
    const attempt = await findAttempt(tx, claimed.id, true);
    if (!payment || !attempt) throw new Error(`assertion failed: attempt ${claimed.id} of payment ${claimed.payment_id} exists`);
    if (payment.status !== 'requires_action' || attempt.status !== 'requires_action') return false; // news got here first
    const message = `Closed at the channel after ${ctx.config.actionTtlSeconds} s waiting on the payer (${detail}).`;
    await updateAttempt(tx, attempt, { status: attemptNext.state, failure_code: abandonedFailureCode, failure_message: message }, now);
    await updatePayment(tx, payment, { status: paymentNext.state, failure_code: abandonedFailureCode, failure_message: message, next_action: null }, now);
    await applyOrderEventFrom(tx, payment.order_id, 'paying', 'payment_failed', now);
    await appendEvents(tx, [{
      merchantId: payment.merchant_id, type: 'payment.canceled', objectId: payment.id,
      payload: { payment_id: payment.id, order_id: payment.order_id, channel: attempt.channel, amount: String(payment.amount), currency: payment.currency, reason: abandonedFailureCode },
    }], now);
    ctx.metrics.payments.inc({ status: paymentNext.state, channel: attempt.channel, method: payment.method });
    return true;
  });
}

type Handled = 'canceled' | 'paid_meanwhile' | 'retry' | 'moved_on';

/** What a query says about a trade we could not (or need not) close: still waiting or not. Pure. */
function stillUnpaid(outcome: ChannelPaymentOutcome): boolean {
  return outcome.kind === 'result' && (outcome.status === 'requires_action' || outcome.status === 'pending');
}

async function handleAbandoned(ctx: AppContext, attempt: AttemptRow): Promise<Handled> {
  const channel = ctx.channels.get(attempt.channel);
  if (!channel) return 'retry';
  const expected = { amount: attempt.amount, currency: attempt.currency };
  const close: ChannelCloseOutcome | null = channel.connector.closePayment ? await channel.connector.closePayment(attempt.out_trade_no) : null;
  if (close !== null && close.kind !== 'result') {
    ctx.logger.info({ attempt_id: attempt.id, channel: attempt.channel, reason: close.reason }, 'abandoned payment: close gave no answer; trying again later');
    return 'retry';
  }
  if (close !== null && close.status !== 'not_closable') {
    return (await cancelClosed(ctx, attempt, close.status === 'closed' ? 'closed' : `no trade at the channel: ${close.detail ?? 'not_found'}`)) ? 'canceled' : 'moved_on';
  }
  // Not closable (paid meanwhile), or no close flow: the channel's own word decides.
  const outcome = await channel.connector.queryPayment(attempt.out_trade_no, expected);
  if (close === null && stillUnpaid(outcome)) {
    return (await cancelClosed(ctx, attempt, 'the channel has no close flow; a later payment is refunded as a late success')) ? 'canceled' : 'moved_on';
  }
  const recorded = await recordAttemptOutcome(ctx, attempt, outcome, null);
  if (recorded.attempt.status === 'succeeded') return 'paid_meanwhile';
  return recorded.payment.status === 'requires_action' ? 'retry' : 'moved_on';
}

/** One sweep of the `abandoned_payments` worker. Returns how many attempts it handled. */
export async function closeAbandonedPayments(ctx: AppContext): Promise<number> {
  const claimed = await claimAbandoned(ctx);
  for (const attempt of claimed) {
    if (attempt.status !== 'requires_action') throw new Error(`assertion failed: claimed attempt ${attempt.id} is waiting on the payer`);
    const handled = await handleAbandoned(ctx, attempt);
    ctx.metrics.abandonedPayments.inc({ channel: attempt.channel, outcome: handled });
    ctx.logger.info({ attempt_id: attempt.id, payment_id: attempt.payment_id, channel: attempt.channel, outcome: handled }, 'abandoned payment handled');
  }
  return claimed.length;
}
