// Payments and refunds book themselves in the ledger; merchants read their balances and
// statements; the admin check proves the books whole, and notices a business row that no longer
// matches its entry.
import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('the ledger behind payments on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  async function paid(key: string, amount: number, currency = 'USD') {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency, items: [{ name: 'Lamp', unit_amount: amount, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const payment = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(payment.body.status).toBe('succeeded');
    return payment.body;
  }
  const balance = async (key: string) => (await t.request('GET', '/v1/balance', { key })).body;
  const check = async () => (await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey })).body;

  it('credits the merchant the gross less its fee on success, and gives the fee back in proportion on partial refunds', async () => {
    const fresh = await t.newMerchant('Ledger Shop');
    expect(await balance(fresh.key)).toEqual({ object: 'balance', pending: [], available: [], in_transit: [] });
    const payment = await paid(fresh.key, 2500);
    // Default card pricing: 2.9 % of 2500 = 72.5 -> 73 (HALF_UP), + 30 fixed = 103.
    expect((await balance(fresh.key)).pending).toEqual([{ amount: 2397, currency: 'USD' }]);

    expect((await t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: fresh.key, body: { amount: 1000 } })).body.status).toBe('succeeded');
    // 103 × 1000 / 2500 = 41.2 -> 41 returned: the merchant gives back 1000 - 41.
    expect((await balance(fresh.key)).pending).toEqual([{ amount: 2397 - 959, currency: 'USD' }]);
    expect((await t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: fresh.key, body: {} })).body.status).toBe('succeeded');
    // The rest of the fee (103 - 41 = 62) comes back with the rest: a full refund leaves nothing.
    expect((await balance(fresh.key)).pending).toEqual([{ amount: 0, currency: 'USD' }]);

    const history = await t.request('GET', '/v1/balance/history?currency=usd&limit=2', { key: fresh.key });
    expect(history.status).toBe(200);
    expect(history.body.data.map((line: any) => [line.kind, line.amount])).toEqual([['refund', -1438], ['refund', -959]]);
    expect(history.body.has_more).toBe(true);
    const rest = await t.request('GET', `/v1/balance/history?currency=USD&starting_after=${history.body.data[1].entry_id}`, { key: fresh.key });
    expect(rest.body.data.map((line: any) => [line.kind, line.event_id, line.amount])).toEqual([['capture', `capture:${payment.id}`, 2397]]);
    expect(rest.body.has_more).toBe(false);

    const report = await check();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: any) => c.name)).toEqual(['entries_balance', 'balances_equal_postings', 'trial_balance', 'captures_match_payments', 'refunds_match_refunds', 'late_successes_booked']);
  });

  it("charges a merchant its own pricing from the moment the admin sets it, and keeps a retained fee on refunds", async () => {
    const shop = await t.newMerchant('Priced Shop');
    const put = await t.request('PUT', `/v1/merchants/${shop.id}/pricing`, {
      key: t.adminKey,
      body: { rules: [{ method: 'card', currency: 'usd', percent_bps: 100, fixed_amount: 0, refund_fee: 'retained' }] },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ object: 'pricing', version: 1, rules: [{ method: 'card', currency: 'USD', percent_bps: 100, fixed_amount: 0, refund_fee: 'retained' }] });
    expect((await t.request('GET', '/v1/pricing', { key: shop.key })).body.version).toBe(1);
    const payment = await paid(shop.key, 10_000);
    expect((await balance(shop.key)).pending).toEqual([{ amount: 9_900, currency: 'USD' }]); // 1 %
    await t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: shop.key, body: {} });
    // Retained: the whole 10 000 goes back to the customer, the platform keeps its 100.
    expect((await balance(shop.key)).pending).toEqual([{ amount: -100, currency: 'USD' }]);
    expect((await check()).ok).toBe(true);
  });

  it('refuses bad pricing and ledger requests with coded errors, and keeps admin views from merchants', async () => {
    const unknown = await t.request('PUT', '/v1/merchants/mch_000000000000000000000000/pricing', { key: t.adminKey, body: { rules: [] } });
    expect(unknown.status).toBe(404);
    const badCurrency = await t.request('PUT', `/v1/merchants/${merchant.id}/pricing`, {
      key: t.adminKey, body: { rules: [{ method: 'card', currency: 'XXX', percent_bps: 100, fixed_amount: 0 }] },
    });
    expect(badCurrency.status).toBe(400);
    expect(badCurrency.body.error).toMatchObject({ code: 'unsupported_currency', param: 'rules[0].currency' });
    const tooMuch = await t.request('PUT', `/v1/merchants/${merchant.id}/pricing`, { key: t.adminKey, body: { rules: [{ method: 'card', percent_bps: 10_001, fixed_amount: 0 }] } });
    expect(tooMuch.status).toBe(400);
    expect((await t.request('PUT', `/v1/merchants/${merchant.id}/pricing`, { key: merchant.key, body: { rules: [] } })).status).toBe(403);
    expect((await t.request('GET', '/v1/admin/ledger/check', { key: merchant.key })).status).toBe(403);
    expect((await t.request('GET', '/v1/balance/history', { key: merchant.key })).status).toBe(400);
    expect((await t.request('GET', '/v1/balance/history?currency=ZZZ', { key: merchant.key })).body.error.code).toBe('unsupported_currency');
    const other = await t.newMerchant('Other');
    await paid(other.key, 700);
    const foreign = await t.request('GET', '/v1/balance/history?currency=USD', { key: other.key });
    const cursor = foreign.body.data[0].entry_id;
    expect((await t.request('GET', `/v1/balance/history?currency=USD&starting_after=${cursor}`, { key: merchant.key })).status).toBe(400);
  });

  it('fails the check when a payment no longer matches its capture entry', async () => {
    const shop = await t.newMerchant('Tampered Shop');
    const payment = await paid(shop.key, 1_234);
    expect((await check()).ok).toBe(true);
    await t.app.ctx.db.query('UPDATE payments SET fee_amount = fee_amount + 1 WHERE id = $1', [payment.id]);
    const report = await check();
    expect(report.ok).toBe(false);
    const captures = report.checks.find((c: any) => c.name === 'captures_match_payments');
    expect(captures).toMatchObject({ ok: false, problems: 1 });
    expect(captures.detail).toContain(payment.id);
    await t.app.ctx.db.query('UPDATE payments SET fee_amount = fee_amount - 1 WHERE id = $1', [payment.id]);
    expect((await check()).ok).toBe(true);
  });
});
