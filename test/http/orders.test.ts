import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('orders and coupons on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  const order = (body: unknown) => t.request('POST', '/v1/orders', { key: merchant.key, body });

  it('prices items, applies percent then fixed coupons, allocates the discount and logs each step', async () => {
    expect((await t.request('POST', '/v1/coupons', { key: merchant.key, body: { code: 'TEN', percent_off: 10 } })).status).toBe(201);
    expect((await t.request('POST', '/v1/coupons', { key: merchant.key, body: { code: 'FIVE', amount_off: 500, currency: 'usd' } })).status).toBe(201);
    const reply = await order({
      currency: 'usd',
      items: [
        { name: 'Shirt', unit_amount: 1999, quantity: 2 },
        { name: 'Socks', unit_amount: 333, quantity: 3 },
      ],
      coupon_codes: ['FIVE', 'TEN'],
    });
    expect(reply.status).toBe(201);
    const o = reply.body;
    expect(o.id).toMatch(/^ord_/);
    expect(o.status).toBe('pending_payment');
    expect(o.currency).toBe('USD');
    expect(o.amount_subtotal).toBe(1999 * 2 + 333 * 3);
    // 10% of 4997 = 499.7 -> 500 (HALF_UP); then 500 fixed
    expect(o.amount_discount).toBe(1000);
    expect(o.amount_total).toBe(3997);
    expect(o.items.reduce((sum: number, item: any) => sum + item.amount_total, 0)).toBe(o.amount_total);
    expect(o.items.reduce((sum: number, item: any) => sum + item.amount_discount, 0)).toBe(o.amount_discount);
    expect(o.pricing_log.length).toBeGreaterThan(4);
    const fetched = await t.request('GET', `/v1/orders/${o.id}`, { key: merchant.key });
    expect(fetched.status).toBe(200);
    expect(fetched.body.amount_total).toBe(3997);
    expect(fetched.body.pricing_log).toEqual(o.pricing_log);
  });

  it('previews without storing, and the back end re-checks the front end\'s total', async () => {
    const body = { currency: 'USD', items: [{ name: 'Mug', unit_amount: 1250, quantity: 4 }] };
    const before = await t.request('GET', '/v1/orders?limit=100', { key: merchant.key });
    const preview = await t.request('POST', '/v1/orders/preview', { key: merchant.key, body });
    expect(preview.status).toBe(200);
    expect(preview.body.amount_total).toBe(5000);
    const after = await t.request('GET', '/v1/orders?limit=100', { key: merchant.key });
    expect(after.body.data.length).toBe(before.body.data.length);
    const mismatch = await order({ ...body, expected_amount_total: 4999 });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.error.code).toBe('amount_mismatch');
    const match = await order({ ...body, expected_amount_total: 5000 });
    expect(match.status).toBe(201);
  });

  it('rejects coupons outside their window, currency or minimum by name', async () => {
    const k = merchant.key;
    await t.request('POST', '/v1/coupons', { key: k, body: { code: 'OLD', percent_off: 5, valid_until: '2020-01-01T00:00:00Z' } });
    await t.request('POST', '/v1/coupons', { key: k, body: { code: 'FUTURE', percent_off: 5, valid_from: '2999-01-01T00:00:00Z' } });
    await t.request('POST', '/v1/coupons', { key: k, body: { code: 'EURO', amount_off: 100, currency: 'EUR' } });
    await t.request('POST', '/v1/coupons', { key: k, body: { code: 'BIG', percent_off: 5, min_subtotal: 100000 } });
    await t.request('POST', '/v1/coupons', { key: k, body: { code: 'SOLO', percent_off: 5, stackable: false } });
    const items = [{ name: 'Pen', unit_amount: 1000, quantity: 1 }];
    const cases: [string[], string][] = [
      [['OLD'], 'coupon_expired'],
      [['FUTURE'], 'coupon_not_yet_valid'],
      [['EURO'], 'coupon_currency_mismatch'],
      [['BIG'], 'coupon_minimum_not_met'],
      [['SOLO', 'TEN'], 'coupon_not_stackable'],
      [['TEN', 'TEN'], 'coupon_duplicated'],
      [['NOPE'], 'coupon_not_found'],
    ];
    for (const [codes, code] of cases) {
      const reply = await order({ currency: 'USD', items, coupon_codes: codes });
      expect(reply.status, codes.join(',')).toBe(400);
      expect(reply.body.error.code).toBe(code);
      expect(reply.body.error.param).toMatch(/^coupon_codes/);
    }
    const taken = await t.request('POST', '/v1/coupons', { key: k, body: { code: 'TEN', percent_off: 1 } });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('coupon_code_taken');
  });

  it('redeems a limited coupon at most max_redemptions times, even concurrently, and gives it back on cancel', async () => {
    await t.request('POST', '/v1/coupons', { key: merchant.key, body: { code: 'LAST3', amount_off: 100, currency: 'USD', max_redemptions: 3 } });
    const body = { currency: 'USD', items: [{ name: 'Cap', unit_amount: 1500, quantity: 1 }], coupon_codes: ['LAST3'] };
    const replies = await Promise.all(Array.from({ length: 10 }, () => order(body)));
    const created = replies.filter((r) => r.status === 201);
    const exhausted = replies.filter((r) => r.status === 409 && r.body.error.code === 'coupon_exhausted');
    expect(created.length).toBe(3);
    expect(exhausted.length).toBe(7);
    const cancelled = await t.request('POST', `/v1/orders/${created[0]!.body.id}/cancel`, { key: merchant.key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await order(body)).status).toBe(201);
    expect((await order(body)).body.error.code).toBe('coupon_exhausted');
    const again = await t.request('POST', `/v1/orders/${created[0]!.body.id}/cancel`, { key: merchant.key });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('order_not_cancellable');
  });

  it('lists orders newest first with cursor pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await order({ currency: 'JPY', items: [{ name: `N${i}`, unit_amount: 100 + i, quantity: 1 }] })).body.id);
    const first = await t.request('GET', '/v1/orders?limit=2', { key: merchant.key });
    expect(first.body.data.map((o: any) => o.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await t.request('GET', `/v1/orders?limit=2&starting_after=${ids[1]}`, { key: merchant.key });
    expect(second.body.data[0].id).toBe(ids[0]);
  });
});
