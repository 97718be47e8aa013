// A succeeded refund as the ledger books it: the refund entry (event `refund:{refund id}`) takes
// the refund from the merchant's pending balance back to the channel and, under a proportional
// fee policy (the merchant's pricing when the payment was captured, kept on the payment), returns the matching part of the capture's fee — computed
// on the running refunded total, so partial refunds add up exactly to a full one's
// (entries.ts refundEntry). Refunds after settlement take pending below zero; the next settlement
// nets it (docs/ledger.md).
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { money } from '../kernel/money.ts';
import { refundEntry } from '../ledger/domain/entries.ts';
import { postEntry } from '../ledger/journal.ts';
import { pricingFor } from '../pricing/domain/pricing.ts';
import { merchantPricing } from '../pricing/store.ts';
import type { PaymentRow, RefundRow } from './repository.ts';

export function refundEventId(refundId: string): string {
  return `refund:${refundId}`;
}

/** Posts the refund's entry in `tx` (which holds the payment's row lock). */
export async function bookRefund(ctx: AppContext, tx: Queryable, payment: PaymentRow, refund: RefundRow): Promise<{ entryId: string; feeReturned: bigint }> {
  if (payment.fee_amount === null) throw new Error(`assertion failed: refunded payment ${payment.id} has its capture booked`);
  const { rows } = await tx.query<{ channel: string }>('SELECT channel FROM attempts WHERE id = $1', [refund.attempt_id]);
  const channel = rows[0]?.channel;
  if (channel === undefined) throw new Error(`assertion failed: attempt ${refund.attempt_id} of refund ${refund.id} exists`);
  const currency = payment.currency;
  // The policy fixed with the capture's fee; a capture booked before it was kept (0015) follows today's pricing.
  const feePolicy = payment.refund_fee_policy ?? pricingFor(await merchantPricing(ctx, payment.merchant_id, tx), payment.method, currency).refundFee;
  const result = refundEntry({
    eventId: refundEventId(refund.id),
    merchantId: payment.merchant_id,
    channel,
    gross: money(payment.amount_captured, currency),
    fee: money(payment.fee_amount, currency),
    refundedBefore: money(payment.amount_refunded, currency),
    refund: money(refund.amount, currency),
    feePolicy,
    merchantAccount: 'merchant_pending',
  });
  if (!result.ok) throw new Error(`assertion failed: refund ${refund.id} fits its reservation (${result.rejection})`);
  const posted = await postEntry(tx, result.entry, { clock: ctx.clock });
  if (!posted.ok) throw new Error(`assertion failed: refund ${refund.id} is posted (${posted.rejection})`);
  return { entryId: posted.entryId, feeReturned: result.feeReturned.amount };
}
