import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

// Generated bodies against every POST route: each answer is a 2xx or a coded 4xx naming the
// offending param — never a 5xx — and a rejected request writes nothing.

const tables = ['merchants', 'coupons', 'orders', 'coupon_redemptions', 'payments', 'attempts', 'refunds', 'outbox_events'];

const hostile = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(-1, 0, 1e30, -1e30, 2 ** 53 + 1, 1.5, Number.MAX_SAFE_INTEGER, '', 'x'.repeat(5000), null, true, [], {}, 'USD', 'usd', 'XXX', '１２３'),
  fc.string({ maxLength: 300 }),
  fc.integer(),
  fc.double({ noNaN: true }),
);

describe.each(stores)('bad input on every POST route on %s', (store) => {
  let t: TestApp;
  let merchant: { id: string; key: string };
  let orderId: string;
  let paymentId: string;
  const runs = store === 'pglite' ? 60 : 30;

  beforeAll(async () => {
    t = await startTestApp(store);
    merchant = await t.newMerchant();
    await t.request('POST', '/v1/coupons', { key: merchant.key, body: { code: 'P10', percent_off: 10 } });
    orderId = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'A', unit_amount: 1000, quantity: 1 }] } })).body.id;
    const payOrder = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'B', unit_amount: 5000, quantity: 1 }] } })).body.id;
    paymentId = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: payOrder, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })).body.id;
  });
  afterAll(async () => t?.close());

  async function counts(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const table of tables) {
      const { rows } = await t.app.ctx.db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${table}`);
      out[table] = String(rows[0]!.n);
    }
    return out;
  }

  const routes = (): { path: string; key: () => string; valid: Record<string, unknown> }[] => [
    { path: '/v1/merchants', key: () => t.adminKey, valid: { name: 'Shop' } },
    { path: '/v1/coupons', key: () => merchant.key, valid: { code: 'C1', amount_off: 100, currency: 'USD', min_subtotal: 0, max_redemptions: 2 } },
    { path: '/v1/orders/preview', key: () => merchant.key, valid: { currency: 'USD', items: [{ name: 'A', unit_amount: 100, quantity: 2, sku: 'S' }], coupon_codes: ['P10'], customer: { id: 'c1', email: 'a@b.co' }, metadata: { k: 'v' } } },
    { path: '/v1/orders', key: () => merchant.key, valid: { currency: 'USD', items: [{ name: 'A', unit_amount: 100, quantity: 2 }], expected_amount_total: 200 } },
    { path: '/v1/payments', key: () => merchant.key, valid: { order_id: orderId, method: 'card', payment_method_data: { token: 'pm_card_chargeDeclined' } } },
    { path: `/v1/payments/${paymentId}/refunds`, key: () => merchant.key, valid: { amount: 1 } },
    { path: `/v1/orders/${orderId}/cancel`, key: () => merchant.key, valid: {} },
  ];

  /** A valid body with one field replaced by a hostile value, removed, or joined by an unknown field. */
  function mutated(valid: Record<string, unknown>) {
    const keys = Object.keys(valid);
    return fc.oneof(
      hostile.map((value) => ({ body: value as unknown, note: 'whole body' })),
      fc.tuple(fc.constantFrom(...(keys.length ? keys : ['x'])), hostile).map(([key, value]) => ({ body: { ...valid, [key]: value }, note: `field ${key}` })),
      fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), hostile).filter(([key]) => !keys.includes(key) && key !== '__proto__').map(([key, value]) => ({ body: { ...valid, [key]: value }, note: 'unknown field' })),
      fc.constantFrom(...(keys.length ? keys : ['x'])).map((key) => {
        const copy = { ...valid };
        delete copy[key];
        return { body: copy, note: `without ${key}` };
      }),
      fc.constantFrom(...(keys.length ? keys : ['x'])).chain((key) =>
        Array.isArray(valid[key])
          ? hostile.map((value) => ({ body: { ...valid, [key]: [{ ...(valid[key] as object[])[0], ...(typeof value === 'object' && value && !Array.isArray(value) ? value : { unit_amount: value }) }] }, note: `inside ${key}` }))
          : fc.constant({ body: valid, note: 'valid' }),
      ),
    );
  }

  it('answers 2xx or a coded 4xx naming the param, and writes nothing when it rejects', async () => {
    for (const route of routes()) {
      await fc.assert(
        fc.asyncProperty(mutated(route.valid), async ({ body, note }) => {
          const before = await counts();
          const reply = await t.request('POST', route.path, { key: route.key(), rawBody: JSON.stringify(body) ?? 'null' });
          expect(reply.status, `${route.path} ${note}: ${JSON.stringify(reply.body)}`).toBeLessThan(500);
          if (reply.status >= 400) {
            expect(reply.body.error.code).toBeTypeOf('string');
            expect(reply.body.error.request_id).toMatch(/^req_/);
            if (['invalid_param', 'missing_param', 'unknown_param', 'unsupported_currency'].includes(reply.body.error.code)) {
              expect(reply.body.error.param, `${route.path} ${note}`).toBeTypeOf('string');
            }
            expect(await counts(), `${route.path} ${note} wrote something`).toEqual(before);
          }
        }),
        { numRuns: runs },
      );
    }
  });

  it('answers malformed JSON, wrong media types and oversized bodies with 4xx', async () => {
    for (const route of routes()) {
      for (const raw of ['{', '{"a":}', 'nul', '[1,2', '{"currency": "USD",}', '\u0000']) {
        const reply = await t.request('POST', route.path, { key: route.key(), rawBody: raw });
        expect(reply.status, `${route.path} ${JSON.stringify(raw)}`).toBe(400);
        expect(reply.body.error.code).toBe('invalid_json');
      }
      const text = await t.request('POST', route.path, { key: route.key(), rawBody: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      const huge = await t.request('POST', route.path, { key: route.key(), rawBody: JSON.stringify({ name: 'x'.repeat(70_000) }) });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('body_too_large');
    }
  });

  it('names the param for amounts, quantities, currencies, long strings and ids of the wrong kind', async () => {
    const item = { name: 'A', unit_amount: 100, quantity: 1 };
    const cases: [unknown, string, string][] = [
      [{ currency: 'USD', items: [{ ...item, unit_amount: 0 }] }, 'invalid_param', 'items[0].unit_amount'],
      [{ currency: 'USD', items: [{ ...item, unit_amount: -5 }] }, 'invalid_param', 'items[0].unit_amount'],
      [{ currency: 'USD', items: [{ ...item, unit_amount: 1e15 }] }, 'invalid_param', 'items[0].unit_amount'],
      [{ currency: 'USD', items: [{ ...item, quantity: 0 }] }, 'invalid_param', 'items[0].quantity'],
      [{ currency: 'USD', items: [{ ...item, quantity: 1.5 }] }, 'invalid_param', 'items[0].quantity'],
      [{ currency: 'USD', items: [{ ...item, unit_amount: '100' }] }, 'invalid_param', 'items[0].unit_amount'],
      [{ currency: 'XYZ', items: [item] }, 'unsupported_currency', 'currency'],
      [{ currency: 'USD', items: [{ ...item, name: 'n'.repeat(201) }] }, 'invalid_param', 'items[0].name'],
      [{ currency: 'USD', items: [item], colour: 'red' }, 'unknown_param', 'colour'],
      [{ currency: 'USD', items: [{ ...item, colour: 'red' }] }, 'unknown_param', 'items[0].colour'],
      [{ items: [item] }, 'missing_param', 'currency'],
      [{ currency: 'USD', items: [] }, 'invalid_param', 'items'],
      [{ currency: 'USD', items: Array.from({ length: 10 }, () => ({ ...item, unit_amount: 999_999_999_999, quantity: 10_000 })) }, 'amount_too_large', 'items'],
    ];
    for (const [body, code, param] of cases) {
      const reply = await t.request('POST', '/v1/orders', { key: merchant.key, body });
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(reply.body.error.code).toBe(code);
      expect(reply.body.error.param).toContain(param);
    }
    const wrongKind = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: paymentId, method: 'card' } });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.error.param).toBe('order_id');
    const wrongPathKind = await t.request('GET', `/v1/orders/${paymentId}`, { key: merchant.key });
    expect(wrongPathKind.status).toBe(400);
    expect(wrongPathKind.body.error.param).toBe('id');
  });
});
