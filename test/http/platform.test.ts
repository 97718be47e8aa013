import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { expireOrders } from '../../src/orders/service.ts';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

describe.each(stores)('platform routes on %s', (store) => {
  let t: TestApp;
  let merchant: { id: string; key: string };
  const clock = new ManualClock('2026-06-01T10:00:00Z');

  beforeAll(async () => {
    t = await startTestApp(store, { clock, env: { CLEARWAY_ORDER_TTL_SECONDS: '600' } });
    merchant = await t.newMerchant();
  });
  afterAll(async () => t?.close());

  it('answers /healthz, /readyz and /metrics', async () => {
    expect((await t.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await t.request('GET', '/readyz')).body).toEqual({ status: 'ready', store });
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.body).toContain('clearway_http_requests_total');
  });

  it('describes every route with request and response schemas in /openapi.json, rendered at /docs', async () => {
    const spec = (await t.request('GET', '/openapi.json')).body;
    expect(spec.openapi).toMatch(/^3\./);
    const expected = ['/v1/merchants', '/v1/coupons', '/v1/orders', '/v1/orders/preview', '/v1/orders/{id}', '/v1/orders/{id}/cancel', '/v1/orders/{id}/payment_methods', '/v1/payments', '/v1/payments/{id}', '/v1/payments/{id}/refunds'];
    for (const path of expected) expect(Object.keys(spec.paths)).toContain(path);
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        if (path.startsWith('/sandbox/card_a/')) continue; // the provider's own protocol
        const success = Object.keys(operation.responses ?? {}).filter((s) => s.startsWith('2'));
        expect(success.length, `${method} ${path} success response`).toBeGreaterThan(0);
        if (method === 'post' && path.startsWith('/v1/')) expect(operation.requestBody ?? operation.parameters, `${method} ${path} request schema`).toBeDefined();
      }
    }
    const docs = await t.request('GET', '/docs/');
    expect(docs.status).toBe(200);
    expect(String(docs.body)).toContain('<html');
  });

  it('puts a request id on every response, errors included, and answers unknown routes with a coded 404', async () => {
    for (const [method, path] of [['GET', '/healthz'], ['GET', '/nope'], ['POST', '/v1/orders']]) {
      const reply = await t.request(method!, path!, { key: merchant.key, ...(method === 'POST' ? { body: {} } : {}) });
      expect(reply.headers.get('request-id')).toMatch(/^req_/);
    }
    const missing = await t.request('GET', '/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('route_not_found');
  });

  it('lists payment methods with availability and a reason', async () => {
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'A', unit_amount: 700, quantity: 1 }] } })).body;
    const methods = await t.request('GET', `/v1/orders/${order.id}/payment_methods`, { key: merchant.key });
    expect(methods.body.data).toContainEqual({ method: 'card', available: true });
    const wallet = methods.body.data.find((m: any) => m.method === 'alipay');
    expect(wallet.available).toBe(false);
    expect(wallet.reason).toBeTruthy();
    const unsupported = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'alipay' } });
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.error.code).toBe('payment_method_unavailable');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
  });

  it('cancels orders left unpaid past their expiry, and only those', async () => {
    const make = async () => (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'EUR', items: [{ name: 'Old', unit_amount: 900, quantity: 1 }] } })).body;
    const stale = await make();
    clock.advance(300_000);
    const fresh = await make();
    clock.advance(301_000);
    expect(await expireOrders(t.app.ctx)).toBeGreaterThanOrEqual(1);
    const staleNow = (await t.request('GET', `/v1/orders/${stale.id}`, { key: merchant.key })).body;
    expect(staleNow.status).toBe('cancelled');
    expect(staleNow.cancellation_reason).toBe('expired');
    expect((await t.request('GET', `/v1/orders/${fresh.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
    const pay = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: stale.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(pay.status).toBe(409);
    expect(pay.body.error.code).toBe('order_not_payable');
  });
});

describe('rate limits and logs', () => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('answers 429 with Retry-After once a key passes its limit', async () => {
    t = await startTestApp('pglite', { env: { CLEARWAY_RATE_LIMIT_PER_MINUTE: '5' } });
    const merchant = await t.newMerchant();
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await t.request('GET', '/v1/orders', { key: merchant.key }));
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.body.error.code).toBe('rate_limited');
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('log redaction', () => {
  it('never writes keys or card data to the logs', async () => {
    const { createLogger } = await import('../../src/logger.ts');
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const logger = createLogger('info', sink as any);
    logger.info({ req: { headers: { authorization: 'Bearer sk_test_secret' } }, payment: { payment_method_data: { token: 'pm_card_visa' } }, api_key: 'sk_test_x' }, 'hello');
    const text = lines.join('');
    expect(text).not.toContain('sk_test_secret');
    expect(text).not.toContain('pm_card_visa');
    expect(text).not.toContain('sk_test_x');
    expect(text).toContain('[redacted]');
  });
});
