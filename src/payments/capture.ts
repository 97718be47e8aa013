// A payment's capture as the ledger books it (DESIGN.md "Ledger"): gross to the merchant, our
// fee (the merchant's pricing) to the platform, the channel's fee (its fee schedule) as our
// expense, all in one journal entry keyed `capture:{payment id}`, posted in the same statement or
// transaction as the payment's success (record-outcome.ts). The fees are fixed here, once, and
// kept on the payment (fee_amount, channel_fee_amount) for refunds, settlement and statements.
import type { ChannelPaymentOutcome } from '../channels/contract.ts';
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { feeFor, type FeeSchedule } from '../kernel/fees.ts';
import { newId } from '../kernel/ids.ts';
import { money } from '../kernel/money.ts';
import { captureEntry, type EntryDraft } from '../ledger/domain/entries.ts';
import type { FeePolicy } from '../ledger/domain/entries.ts';
import { merchantFee, pricingFor, type MerchantPricing } from '../pricing/domain/pricing.ts';
import { merchantPricing } from '../pricing/store.ts';
import type { PaymentRow } from './repository.ts';

/** What booking a capture needs to know beyond the payment: both price lists. */
export interface CaptureBooking {
  readonly pricing: MerchantPricing;
  readonly channelFees: FeeSchedule;
}

export interface PlannedCapture {
  readonly entryId: string;
  readonly entry: EntryDraft;
  readonly fee: bigint;
  readonly channelFee: bigint;
  /** The refund fee policy of the pricing the fee was computed with: refunds of this capture follow it. */
  readonly refundFeePolicy: FeePolicy;
}

export function captureEventId(paymentId: string): string {
  return `capture:${paymentId}`;
}

/** The price lists, when this news says the channel captured the money (else null: nothing to book). */
export async function captureBookingFor(ctx: AppContext, db: Queryable, payment: PaymentRow, channel: string, outcome: ChannelPaymentOutcome): Promise<CaptureBooking | null> {
  if (outcome.kind !== 'result' || outcome.status !== 'succeeded') return null;
  const configured = ctx.channels.get(channel);
  if (!configured) throw new Error(`assertion failed: channel ${channel} of payment ${payment.id} is configured`);
  return { pricing: await merchantPricing(ctx, payment.merchant_id, db), channelFees: configured.config.fees };
}

/** The capture entry of `payment` succeeding on `channel`. Pure. */
export function planCapture(payment: PaymentRow, channel: string, booking: CaptureBooking): PlannedCapture {
  const gross = money(payment.amount, payment.currency);
  const fee = merchantFee(booking.pricing, payment.method, gross);
  const channelFee = feeFor(booking.channelFees, gross);
  const entry = captureEntry({ eventId: captureEventId(payment.id), merchantId: payment.merchant_id, channel, gross, fee, channelFee });
  const refundFeePolicy = pricingFor(booking.pricing, payment.method, payment.currency).refundFee;
  return { entryId: newId('journal'), entry, fee: fee.amount, channelFee: channelFee.amount, refundFeePolicy };
}
