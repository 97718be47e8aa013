// What the platform charges a merchant: per-merchant pricing, per method (and optionally per
// currency), as a percentage in basis points plus a fixed amount (src/kernel/fees.ts), and what a
// refund does to the fee. Pure; no I/O.
//
// A merchant's pricing is an ordered list of rules; the first rule naming the payment's method
// and (when it names one) its currency applies; a merchant without a matching rule pays the
// platform's default for the method. Changing pricing applies to payments that succeed from then
// on: a capture's fee is fixed when it is booked (payments.fee_amount).
import type { ChannelMethod } from '../../channels/contract.ts';
import { feeFor, feeSchedule, type FeeSchedule } from '../../kernel/fees.ts';
import type { Money } from '../../kernel/money.ts';
import type { FeePolicy } from '../../ledger/domain/entries.ts';

export interface PricingRule {
  readonly method: ChannelMethod;
  /** Absent: any currency. */
  readonly currency?: string;
  readonly percent_bps: number;
  /** Minor units of the payment's currency. */
  readonly fixed_amount: number;
  /** `proportional`: a refund returns the fee in proportion; `retained`: the platform keeps it. */
  readonly refund_fee: FeePolicy;
}

export interface MerchantPricing {
  /** 0: the platform defaults (no rules stored). */
  readonly version: number;
  readonly rules: readonly PricingRule[];
}

export interface AppliedPricing {
  readonly schedule: FeeSchedule;
  readonly refundFee: FeePolicy;
  /** Which rule applied, for statements: `rule 2` or `default card`. */
  readonly source: string;
}

/** The platform's list prices, for merchants with no rule of their own. */
export const defaultPricing: Readonly<Record<ChannelMethod, PricingRule>> = Object.freeze({
  card: { method: 'card', percent_bps: 290, fixed_amount: 30, refund_fee: 'proportional' },
  alipay: { method: 'alipay', percent_bps: 100, fixed_amount: 0, refund_fee: 'proportional' },
  wechat_pay: { method: 'wechat_pay', percent_bps: 100, fixed_amount: 0, refund_fee: 'proportional' },
});

export const noMerchantPricing: MerchantPricing = Object.freeze({ version: 0, rules: Object.freeze([]) });

function applied(rule: PricingRule, source: string): AppliedPricing {
  return { schedule: feeSchedule(rule.percent_bps, BigInt(rule.fixed_amount)), refundFee: rule.refund_fee, source };
}

export function pricingFor(pricing: MerchantPricing, method: ChannelMethod, currency: string): AppliedPricing {
  const index = pricing.rules.findIndex((rule) => rule.method === method && (rule.currency === undefined || rule.currency === currency));
  if (index >= 0) return applied(pricing.rules[index]!, `rule ${index + 1} of pricing v${pricing.version}`);
  return applied(defaultPricing[method], `default ${method}`);
}

/** The platform's fee on a capture of `gross` by this merchant and method. */
export function merchantFee(pricing: MerchantPricing, method: ChannelMethod, gross: Money): Money {
  return feeFor(pricingFor(pricing, method, gross.currency).schedule, gross);
}
