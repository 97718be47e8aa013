import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';
import { relayOutboxEvents } from '../../src/webhooks/relay.ts';
import { capture } from '../settlement/support.ts';
import { bankAccount } from '../payouts/support.ts';

// Every query is scoped to the key's merchant: another merchant's id answers 404, exactly like an
// id that does not exist. This suite walks every route of the OpenAPI document, so a new route
// without a case here fails the "covers every route" check.

describe.each(stores)('keys and merchant scoping on %s', (store) => {
  let t: TestApp;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(store);
    alice = await t.newMerchant('Alice');
    bob = await t.newMerchant('Bob');
    const coupon = await t.request('POST', '/v1/coupons', { key: alice.key, body: { code: 'A10', percent_off: 10 } });
    const endpoint = await t.request('POST', '/v1/webhook_endpoints', { key: alice.key, body: { url: 'http://127.0.0.1:9/hooks' } });
    const order = await t.request('POST', '/v1/orders', { key: alice.key, body: { currency: 'USD', items: [{ name: 'A', unit_amount: 1000, quantity: 1 }] } });
    const payOrder = await t.request('POST', '/v1/orders', { key: alice.key, body: { currency: 'USD', items: [{ name: 'B', unit_amount: 2000, quantity: 1 }] } });
    const payment = await t.request('POST', '/v1/payments', { key: alice.key, body: { order_id: payOrder.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    ids.coupon = coupon.body.id;
    ids.order = order.body.id;
    ids.payment = payment.body.id;
    ids.merchant = alice.id;
    ids.webhookEndpoint = endpoint.body.id;
    await relayOutboxEvents(t.app.ctx);
    const deliveries = await t.request('GET', `/v1/webhook_endpoints/${endpoint.body.id}/deliveries`, { key: alice.key });
    ids.webhookDelivery = deliveries.body.data[0].id;
    // Yesterday's capture settled, then paid out: a settlement batch and a payout of Alice's.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await capture(t.app.ctx.db, alice.id, `${yesterday}T12:00:00.000Z`, 5_000n, 150n, 'EUR');
    const run = await t.request('POST', '/v1/admin/settlements/run', { key: t.adminKey, body: { date: yesterday, merchant_id: alice.id } });
    const settlements = await t.request('GET', '/v1/settlements', { key: alice.key });
    if (run.status !== 200 || settlements.body.data.length !== 1) throw new Error(`settlement set-up failed: ${run.status} ${JSON.stringify(run.body)}`);
    ids.settlement = settlements.body.data[0].id;
    await t.request('PUT', '/v1/payout_settings', { key: alice.key, body: { schedule: 'manual', minimum_amount: 0, currency: 'EUR', bank_account: bankAccount() } });
    const payout = await t.request('POST', '/v1/payouts', { key: alice.key, body: { currency: 'EUR', amount: 1_000 } });
    if (payout.status !== 201) throw new Error(`payout set-up failed: ${payout.status} ${JSON.stringify(payout.body)}`);
    ids.payout = payout.body.id;
  });
  afterAll(async () => t?.close());

  /** Each merchant route, as Bob trying Alice's objects: [method, path, body, expected status]. */
  const crossMerchantCases = (): [string, string, unknown, number][] => [
    ['GET', `/v1/coupons/${ids.coupon}`, undefined, 404],
    ['GET', `/v1/orders/${ids.order}`, undefined, 404],
    ['POST', `/v1/orders/${ids.order}/cancel`, undefined, 404],
    ['GET', `/v1/orders/${ids.order}/payment_methods`, undefined, 404],
    ['GET', `/v1/payments/${ids.payment}`, undefined, 404],
    ['POST', '/v1/payments', { order_id: ids.order, method: 'card', payment_method_data: { token: 'pm_card_visa' } }, 404],
    ['POST', `/v1/payments/${ids.payment}/refunds`, { amount: 100 }, 404],
    ['GET', `/v1/payments/${ids.payment}/refunds`, undefined, 404],
    ['GET', `/v1/webhook_endpoints/${ids.webhookEndpoint}`, undefined, 404],
    ['POST', `/v1/webhook_endpoints/${ids.webhookEndpoint}/disable`, undefined, 404],
    ['GET', `/v1/webhook_endpoints/${ids.webhookEndpoint}/deliveries`, undefined, 404],
    ['POST', `/v1/webhook_deliveries/${ids.webhookDelivery}/redeliver`, undefined, 404],
    ['GET', `/v1/settlements/${ids.settlement}`, undefined, 404],
    ['GET', `/v1/settlements/${ids.settlement}/statement.json`, undefined, 404],
    ['GET', `/v1/settlements/${ids.settlement}/statement.csv`, undefined, 404],
    ['GET', `/v1/payouts/${ids.payout}`, undefined, 404],
  ];

  it('answers 404 for another merchant\'s object, with the same body as a missing one', async () => {
    for (const [method, path, body, status] of crossMerchantCases()) {
      const theirs = await t.request(method, path, { key: bob.key, body });
      expect(theirs.status, `${method} ${path}`).toBe(status);
      expect(theirs.body.error.code).toBe('not_found');
      const missingPath = path.replace(/(ord|pay|cpn|whe|whd|stl|po)_[0-9a-z]{24}/, (m) => `${m.slice(0, m.indexOf('_') + 1)}${'0'.repeat(24)}`);
      const missingBody = body && typeof body === 'object' && 'order_id' in body ? { ...body, order_id: `ord_${'0'.repeat(24)}` } : body;
      const missing = await t.request(method, missingPath, { key: bob.key, body: missingBody });
      expect(missing.status, `${method} ${missingPath}`).toBe(404);
      expect(missing.body.error.code).toBe(theirs.body.error.code);
      expect(missing.body.error.param).toBe(theirs.body.error.param);
    }
    // And Alice's own objects are still untouched and hers.
    expect((await t.request('GET', `/v1/orders/${ids.order}`, { key: alice.key })).body.status).toBe('pending_payment');
  });

  it('never lists another merchant\'s objects', async () => {
    for (const path of ['/v1/orders', '/v1/payments', '/v1/coupons']) {
      const list = await t.request('GET', `${path}?limit=100`, { key: bob.key });
      expect(list.status).toBe(200);
      expect(list.body.data).toEqual([]);
      const cursor = await t.request('GET', `${path}?starting_after=${Object.values(ids).find((id) => id.startsWith(path.slice(4, 7)))}`, { key: bob.key });
      expect(cursor.status).toBe(400);
    }
  });

  it('never shows or applies another merchant\'s risk rules', async () => {
    const put = await t.request('PUT', '/v1/risk/rules', { key: alice.key, body: { blocklist: [{ type: 'customer_id', value: 'cus_alice_only' }] } });
    expect(put.status).toBe(200);
    const theirs = await t.request('GET', '/v1/risk/rules', { key: bob.key });
    expect(theirs.status).toBe(200);
    expect(theirs.body).toMatchObject({ version: 0, blocklist: [] });
  });

  it('answers 401 without a key or with a wrong key, and 403 for a merchant key on admin routes, on every route', async () => {
    const spec = (await t.request('GET', '/openapi.json')).body;
    const operations: [string, string][] = [];
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const method of Object.keys(item)) operations.push([method.toUpperCase(), path]);
    }
    expect(operations.length).toBeGreaterThan(10);
    const publicRoutes = new Set(['POST /notify/{channel}', 'POST /notify/bank/{bank}', 'GET /sandbox/{channel}/ledger']);
    for (const [method, template] of operations) {
      if (publicRoutes.has(`${method} ${template}`) || template.startsWith('/sandbox/card_a/')) continue;
      const path = template
        .replace('{id}', template.includes('merchants') ? ids.merchant! : template.includes('coupons') ? ids.coupon! : template.includes('orders') ? ids.order! : ids.payment!)
        .replace('{channel}', 'card_a')
        .replace('{out_trade_no}', 'att_unknown');
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      const none = await t.request(method, path, { key: null, body });
      expect(none.status, `${method} ${path} without key`).toBe(401);
      expect(none.body.error.code).toBe('unauthorized');
      const wrong = await t.request(method, path, { key: 'sk_test_wrong', body });
      expect(wrong.status, `${method} ${path} wrong key`).toBe(401);
      // Admin-only routes refuse a merchant key; the sandbox's payer simulation takes any valid key.
      if (template.startsWith('/v1/merchants') || template.startsWith('/v1/admin/') || (template.startsWith('/sandbox/') && !template.includes('/pay/'))) {
        const forbidden = await t.request(method, path, { key: alice.key, body });
        expect(forbidden.status, `${method} ${path} merchant key`).toBe(403);
      }
    }
    const covered = new Set(crossMerchantCases().map(([m, p]) => `${m} ${p.replace(/(cpn|ord|pay|whe|whd|stl|po)_[0-9a-z]{24}/, '{id}')}`));
    const merchantRoutes = operations.filter(([m, p]) => p.includes('{id}') && !p.startsWith('/v1/merchants')).map(([m, p]) => `${m} ${p}`);
    for (const route of merchantRoutes) expect(covered.has(route), `scoping case for ${route}`).toBe(true);
  });

  it('shows a merchant key once and stores only its hash', async () => {
    const created = await t.request('POST', '/v1/merchants', { key: t.adminKey, body: { name: 'Carol' } });
    expect(created.body.api_key).toMatch(/^sk_test_/);
    const read = await t.request('GET', `/v1/merchants/${created.body.id}`, { key: t.adminKey });
    expect(read.body.api_key).toBeUndefined();
    const { rows } = await t.app.ctx.db.query<{ api_key_hash: string }>('SELECT api_key_hash FROM merchants WHERE id = $1', [created.body.id]);
    expect(rows[0]!.api_key_hash).not.toContain(created.body.api_key);
    expect(rows[0]!.api_key_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
