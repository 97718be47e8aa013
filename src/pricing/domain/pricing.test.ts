import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { money } from '../../kernel/money.ts';
import { merchantFee, noMerchantPricing, pricingFor, type MerchantPricing } from './pricing.ts';

const pricing: MerchantPricing = {
  version: 3,
  rules: [
    { method: 'card', currency: 'JPY', percent_bps: 300, fixed_amount: 0, refund_fee: 'retained' },
    { method: 'card', percent_bps: 150, fixed_amount: 10, refund_fee: 'proportional' },
  ],
};

describe('merchant pricing', () => {
  it('applies the first rule naming the method and, when it names one, the currency', () => {
    expect(pricingFor(pricing, 'card', 'JPY')).toMatchObject({ refundFee: 'retained', source: 'rule 1 of pricing v3' });
    expect(pricingFor(pricing, 'card', 'USD')).toMatchObject({ refundFee: 'proportional', source: 'rule 2 of pricing v3' });
    expect(merchantFee(pricing, 'card', money(10_000n, 'USD')).amount).toBe(160n); // 1.5 % + 0.10
  });

  it('falls back to the platform default for a method the merchant has no rule for', () => {
    expect(pricingFor(pricing, 'alipay', 'CNY').source).toBe('default alipay');
    expect(merchantFee(noMerchantPricing, 'card', money(1_000n, 'USD')).amount).toBe(59n); // 2.9 % + 0.30
  });

  it('never charges more than the gross, nor less than nothing', () => {
    fc.assert(
      fc.property(fc.constantFrom('card', 'alipay', 'wechat_pay' as const), fc.bigInt({ min: 1n, max: 10n ** 12n }), (method, gross) => {
        const fee = merchantFee(pricing, method, money(gross, 'USD')).amount;
        expect(fee >= 0n && fee <= gross).toBe(true);
      }),
    );
  });
});
