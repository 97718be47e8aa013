// Regression (found by the money-flow model test): a refund returns the fee under the refund fee
// policy of the pricing its payment was captured under, not the merchant's pricing at refund time.
// Before the fix, a payment charged under a `retained` rule and refunded after the admin switched
// the merchant to `proportional` gave the merchant back a fee the platform was to keep (and the
// other way round took back a fee the merchant was owed).
import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('refund fee policy fixed at capture on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  beforeEach(() => {
    ({ t } = suite());
  });

  async function paid(key: string, amount: number) {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency: 'USD', items: [{ name: 'Lamp', unit_amount: amount, quantity: 1 }] } });
    const payment = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(payment.body.status).toBe('succeeded');
    return payment.body.id as string;
  }
  const setPricing = async (merchantId: string, refundFee: 'retained' | 'proportional') =>
    expect((await t.request('PUT', `/v1/merchants/${merchantId}/pricing`, { key: t.adminKey, body: { rules: [{ method: 'card', percent_bps: 100, fixed_amount: 0, refund_fee: refundFee }] } })).status).toBe(200);
  const pending = async (key: string) => (await t.request('GET', '/v1/balance', { key })).body.pending;

  it('keeps a retained fee when the pricing turns proportional before the refund, and returns a proportional one when it turns retained', async () => {
    const retainedShop = await t.newMerchant('Retained then proportional');
    await setPricing(retainedShop.id, 'retained');
    const first = await paid(retainedShop.key, 10_000); // fee 100, retained
    await setPricing(retainedShop.id, 'proportional');
    expect((await t.request('POST', `/v1/payments/${first}/refunds`, { key: retainedShop.key, body: {} })).body.status).toBe('succeeded');
    expect(await pending(retainedShop.key)).toEqual([{ amount: -100, currency: 'USD' }]); // the platform keeps its 100

    const proportionalShop = await t.newMerchant('Proportional then retained');
    await setPricing(proportionalShop.id, 'proportional');
    const second = await paid(proportionalShop.key, 10_000);
    await setPricing(proportionalShop.id, 'retained');
    expect((await t.request('POST', `/v1/payments/${second}/refunds`, { key: proportionalShop.key, body: { amount: 2_500 } })).body.status).toBe('succeeded');
    expect(await pending(proportionalShop.key)).toEqual([{ amount: 9_900 - 2_500 + 25, currency: 'USD' }]); // a quarter of the fee comes back
    expect((await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey })).body.ok).toBe(true);
  });
});
