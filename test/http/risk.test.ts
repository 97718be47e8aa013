import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

// The risk engine (docs/risk.md): rules per merchant through the API, each rule's named reason,
// allowlist overrides, velocity counted in the database, and declines that never reach a channel.

describe.each(stores)('risk rules and screening on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(async () => {
    ({ t } = suite());
    merchant = await t.newMerchant('Risky Shop'); // rules are per merchant: each test starts on the defaults
  });

  const putRules = (rules: unknown, key = merchant.key) => t.request('PUT', '/v1/risk/rules', { key, body: rules });
  async function newOrder(amount = 2500, customer?: { id?: string; email?: string }) {
    const reply = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Lamp', unit_amount: amount, quantity: 1 }], ...(customer ? { customer } : {}) } });
    expect(reply.status).toBe(201);
    return reply.body;
  }
  async function pay(orderId: string, extra: { customer?: Record<string, string>; fingerprint?: string } = {}) {
    const body = {
      order_id: orderId, method: 'card',
      payment_method_data: { token: 'pm_card_visa', ...(extra.fingerprint ? { card_fingerprint: extra.fingerprint } : {}) },
      ...(extra.customer ? { customer: extra.customer } : {}),
    };
    const reply = await t.request('POST', '/v1/payments', { key: merchant.key, body });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  }
  const orderAndPay = async (amount: number, extra: Parameters<typeof pay>[1] = {}) => pay((await newOrder(amount)).id, extra);
  const ledger = async () => (await t.request('GET', '/sandbox/card_a/ledger', { key: t.adminKey })).body.data as { out_trade_no: string }[];
  const attemptRows = async (paymentId: string) => (await t.app.ctx.db.query('SELECT id FROM attempts WHERE payment_id = $1', [paymentId])).rows;

  async function expectDeclined(payment: any, reason: string) {
    expect(payment.status).toBe('failed');
    expect(payment.failure_code).toBe('risk_declined');
    expect(payment.risk.decision).toBe('decline');
    expect(payment.risk.reasons).toContain(reason);
    expect(payment.attempts).toEqual([]);
    expect(payment.channel ?? null).toBeNull();
    expect(await attemptRows(payment.id)).toEqual([]);
    expect((await t.request('GET', `/v1/orders/${payment.order_id}`, { key: merchant.key })).body.status).toBe('pending_payment');
  }

  it('serves the defaults at version 0 until the merchant sets rules, then versions them', async () => {
    const defaults = await t.request('GET', '/v1/risk/rules', { key: merchant.key });
    expect(defaults.status).toBe(200);
    expect(defaults.body).toMatchObject({ object: 'risk_rules', version: 0, updated_at: null, thresholds: { review: 50, decline: 80 }, currency_country_mismatch: true, blocklist: [], allowlist: [] });
    expect(defaults.body.velocity.length).toBeGreaterThan(0);
    const put = await putRules({ amount_limits: { usd: 100_000 }, blocklist: [{ type: 'email', value: ' Fraud@Example.com ' }] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 1, amount_limits: { USD: 100_000 }, blocklist: [{ type: 'email', value: 'fraud@example.com' }], thresholds: { review: 50, decline: 80 } });
    expect((await putRules({})).body.version).toBe(2);
    expect((await t.request('GET', '/v1/risk/rules', { key: merchant.key })).body).toMatchObject({ version: 2, amount_limits: {}, blocklist: [] });
  });

  it('declines above the amount limit without reaching a channel, and the order can be paid once the limit allows', async () => {
    await putRules({ amount_limits: { USD: 5_000 } });
    const before = (await ledger()).length;
    const declined = await orderAndPay(6_000);
    await expectDeclined(declined, 'amount_above_limit');
    expect(declined.risk).toEqual({ decision: 'decline', score: 100, reasons: ['amount_above_limit'] });
    expect((await ledger()).length).toBe(before);
    const read = await t.request('GET', `/v1/payments/${declined.id}`, { key: merchant.key });
    expect(read.body).toMatchObject({ status: 'failed', failure_code: 'risk_declined', attempts: [] });
    expect(read.body.risk.signals).toBeUndefined();
    await putRules({ amount_limits: { USD: 10_000 } });
    const paid = await pay(declined.order_id);
    expect(paid.status).toBe('succeeded');
    expect(paid.risk).toEqual({ decision: 'approve', score: 0, reasons: [] });
  });

  it('declines each blocklisted signal with its reason; an allowlist match approves over everything', async () => {
    await putRules({
      blocklist: [{ type: 'email', value: 'bad@example.com' }, { type: 'ip', value: '203.0.113.9' }, { type: 'card_fingerprint', value: 'fp_stolen' }, { type: 'customer_id', value: 'cus_banned' }],
      allowlist: [{ type: 'customer_id', value: 'cus_vip' }],
    });
    const before = (await ledger()).length;
    await expectDeclined(await orderAndPay(1_000, { customer: { email: 'BAD@example.com' } }), 'blocklisted_email');
    await expectDeclined(await orderAndPay(1_000, { customer: { ip: '203.0.113.9' } }), 'blocklisted_ip');
    await expectDeclined(await orderAndPay(1_000, { fingerprint: 'fp_stolen' }), 'blocklisted_card_fingerprint');
    await expectDeclined(await orderAndPay(1_000, { customer: { id: 'cus_banned' } }), 'blocklisted_customer_id');
    // The order's own customer is screened when the payment names none.
    const order = await newOrder(1_000, { id: 'cus_banned' });
    await expectDeclined(await pay(order.id), 'blocklisted_customer_id');
    expect((await ledger()).length).toBe(before);
    const vip = await orderAndPay(1_000, { customer: { id: 'cus_vip', email: 'bad@example.com', ip: '203.0.113.9' }, fingerprint: 'fp_stolen' });
    expect(vip.status).toBe('succeeded');
    expect(vip.risk).toEqual({ decision: 'approve', score: 0, reasons: ['allowlisted_customer_id'] });
    expect((await ledger()).some((row) => row.out_trade_no === vip.attempts[0].out_trade_no)).toBe(true);
  });

  it('counts velocity in the database across many payments: review proceeds, decline stops', async () => {
    await putRules({ velocity: [{ key: 'card_fingerprint', window_seconds: 3_600, max_count: 5 }, { key: 'ip', window_seconds: 3_600, max_count: 8 }] });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await orderAndPay(1_000 + i, { fingerprint: 'fp_busy', customer: { ip: '198.51.100.7' } }));
    // Five payments per fingerprint per hour pass clean; from the sixth the rule triggers (review: the payment still goes through).
    expect(results.slice(0, 5).map((p) => p.risk.decision)).toEqual(['approve', 'approve', 'approve', 'approve', 'approve']);
    for (const p of results.slice(5)) {
      expect(p.risk).toEqual({ decision: 'review', score: 60, reasons: ['velocity_card_fingerprint_exceeded'] });
      expect(p.status).toBe('succeeded');
    }
    // The ninth payment from the IP exceeds both rules: 60 + 60 capped at 100, declined.
    const ninth = await orderAndPay(2_000, { fingerprint: 'fp_busy', customer: { ip: '198.51.100.7' } });
    await expectDeclined(ninth, 'velocity_ip_exceeded');
    expect(ninth.risk).toEqual({ decision: 'decline', score: 100, reasons: ['velocity_ip_exceeded', 'velocity_card_fingerprint_exceeded'] });
    // Declined payments count too; another fingerprint and IP are untouched.
    expect((await orderAndPay(1_000, { fingerprint: 'fp_other', customer: { ip: '198.51.100.8' } })).risk.decision).toBe('approve');
    const row = (await t.app.ctx.db.query<{ risk: any }>('SELECT risk FROM payments WHERE id = $1', [ninth.id])).rows[0]!;
    expect(row.risk.signals).toEqual({ ip: '198.51.100.7', card_fingerprint: 'fp_busy' });
  });

  it('flags a currency/country mismatch and a new customer\'s high amount, with their weights deciding', async () => {
    await putRules({ new_customer_amount_thresholds: { USD: 5_000 }, weights: { currency_country_mismatch: 30, new_customer_high_amount: 40 } });
    const mismatch = await orderAndPay(1_000, { customer: { country: 'cn' } });
    expect(mismatch.risk).toEqual({ decision: 'approve', score: 30, reasons: ['currency_country_mismatch'] });
    expect((await orderAndPay(1_000, { customer: { country: 'US' } })).risk.reasons).toEqual([]);
    const first = await orderAndPay(6_000, { customer: { id: 'cus_new' } });
    expect(first.risk).toEqual({ decision: 'approve', score: 40, reasons: ['new_customer_high_amount'] });
    expect(first.status).toBe('succeeded');
    // Having paid once, the customer is no longer new.
    expect((await orderAndPay(6_000, { customer: { id: 'cus_new' } })).risk.reasons).toEqual([]);
    const both = await orderAndPay(6_000, { customer: { email: 'first@example.com', country: 'CN' } });
    expect(both.risk).toEqual({ decision: 'review', score: 70, reasons: ['currency_country_mismatch', 'new_customer_high_amount'] });
    expect(both.status).toBe('succeeded');
    await putRules({ currency_country_mismatch: false });
    expect((await orderAndPay(1_000, { customer: { country: 'CN' } })).risk.reasons).toEqual([]);
  });

  it('validates the rules document and the payment\'s customer, naming the param', async () => {
    const cases: [unknown, number, string, string][] = [
      [{ thresholds: { review: 90, decline: 50 } }, 400, 'invalid_param', 'thresholds.review'],
      [{ velocity: [{ key: 'phone', window_seconds: 60, max_count: 1 }] }, 400, 'invalid_param', 'velocity[0].key'],
      [{ velocity: [{ key: 'ip', window_seconds: 0, max_count: 1 }] }, 400, 'invalid_param', 'velocity[0].window_seconds'],
      [{ velocity: [{ key: 'ip', window_seconds: 60 }] }, 400, 'missing_param', 'velocity[0].max_count'],
      [{ blocklist: [{ type: 'email', value: 'a@b.c', note: 'x' }] }, 400, 'unknown_param', 'blocklist[0].note'],
      [{ weights: { velocity: 101 } }, 400, 'invalid_param', 'weights.velocity'],
      [{ amount_limits: { XXX: 100 } }, 400, 'unsupported_currency', 'amount_limits.XXX'],
      [{ amount_limits: { USD: -1 } }, 400, 'invalid_param', 'amount_limits.USD'],
      [{ bogus: true }, 400, 'unknown_param', 'bogus'],
    ];
    for (const [body, status, code, param] of cases) {
      const reply = await putRules(body);
      expect(reply.status, JSON.stringify(body)).toBe(status);
      expect(reply.body.error, JSON.stringify(body)).toMatchObject({ code, param });
    }
    expect((await t.request('GET', '/v1/risk/rules', { key: merchant.key })).body.version).toBe(0);
    const order = await newOrder(1_000);
    for (const [customer, param] of [[{ ip: 'not-an-ip' }, 'customer.ip'], [{ country: 'CHN' }, 'customer.country'], [{ email: 'nope' }, 'customer.email'], [{ phone: '1' }, 'customer.phone']] as const) {
      const reply = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' }, customer } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.param).toBe(param);
    }
  });

  it('keeps each merchant\'s rules to itself', async () => {
    const other = await t.newMerchant('Other Shop');
    await putRules({ blocklist: [{ type: 'customer_id', value: 'cus_shared' }], thresholds: { review: 10, decline: 20 } });
    const theirs = await t.request('GET', '/v1/risk/rules', { key: other.key });
    expect(theirs.body).toMatchObject({ version: 0, blocklist: [], thresholds: { review: 50, decline: 80 } });
    const order = await t.request('POST', '/v1/orders', { key: other.key, body: { currency: 'USD', items: [{ name: 'Lamp', unit_amount: 1_000, quantity: 1 }] } });
    const paid = await t.request('POST', '/v1/payments', { key: other.key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' }, customer: { id: 'cus_shared' } } });
    expect(paid.body.status).toBe('succeeded');
    await expectDeclined(await orderAndPay(1_000, { customer: { id: 'cus_shared' } }), 'blocklisted_customer_id');
    // Velocity counts are per merchant too: the other merchant's payment is not counted here.
    expect((await t.request('GET', '/v1/risk/rules', { key: merchant.key })).body.version).toBe(1);
  });
});
