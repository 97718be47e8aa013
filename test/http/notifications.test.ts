import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

// The card sandbox signs Stripe webhooks and posts them to /notify/card_a. A late success moves a
// processing payment to succeeded through them; duplicates change nothing; forged, tampered and
// replayed ones are refused and change nothing.

describe.each(stores)('channel notifications on %s', (store) => {
  let t: TestApp;
  let merchant: { id: string; key: string };
  let webhookSecret: string;

  beforeAll(async () => {
    t = await startTestApp(store);
    merchant = await t.newMerchant();
    webhookSecret = (await t.request('GET', '/sandbox/card_a/credentials', { key: t.adminKey })).body.webhook_secret;
  });
  afterAll(async () => t?.close());

  async function payProcessing(amount: number) {
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { late_success_rate: 1, duplicate_notify_rate: 1 } });
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Late', unit_amount: amount, quantity: 1 }] } })).body;
    const payment = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })).body;
    await t.request('DELETE', '/sandbox/card_a/faults', { key: t.adminKey });
    return { order, payment };
  }

  async function waitFor(paymentId: string, status: string) {
    for (let i = 0; i < 100; i++) {
      const payment = (await t.request('GET', `/v1/payments/${paymentId}`, { key: merchant.key })).body;
      if (payment.status === status) return payment;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`payment ${paymentId} never reached ${status}`);
  }

  it('moves a processing payment to succeeded when the signed webhook arrives, once, even when it arrives twice', async () => {
    const { order, payment } = await payProcessing(6_100);
    expect(payment.status).toBe('processing');
    expect(payment.attempts[0].status).toBe('sent');
    const done = await waitFor(payment.id, 'succeeded');
    expect(done.attempts[0].status).toBe('succeeded');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the duplicate delivery
    const { rows } = await t.app.ctx.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM outbox_events WHERE object_id = $1 AND type = 'payment.succeeded'", [payment.id]);
    expect(rows[0]!.n).toBe(1n);
    const ledger = (await t.request('GET', '/sandbox/card_a/ledger', { key: t.adminKey })).body.data;
    expect(ledger.filter((r: any) => r.out_trade_no === payment.attempts[0].out_trade_no)).toEqual([{ out_trade_no: payment.attempts[0].out_trade_no, charged: 6_100, refunded: 0 }]);
  });

  function event(outTradeNo: string, amount: number, type = 'payment_intent.succeeded') {
    return JSON.stringify({
      id: `evt_forged_${Math.random().toString(36).slice(2)}`,
      object: 'event',
      type,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'pi_forged', object: 'payment_intent', amount, currency: 'usd', status: 'succeeded', metadata: { out_trade_no: outTradeNo } } },
    });
  }
  const sign = (body: string, secret: string, t0 = Math.floor(Date.now() / 1000)) =>
    `t=${t0},v1=${createHmac('sha256', secret).update(`${t0}.${body}`).digest('hex')}`;

  it('refuses forged, tampered, replayed and mismatched notifications, and changes nothing', async () => {
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { timeout_rate: 0 } });
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Target', unit_amount: 7_700, quantity: 1 }] } })).body;
    const declined = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_chargeDeclined' } } })).body;
    const outTradeNo = declined.attempts[0].out_trade_no;
    const body = event(outTradeNo, 7_700);
    const cases: [string, Record<string, string>, string][] = [
      ['wrong secret', { 'stripe-signature': sign(body, 'whsec_not_the_secret') }, body],
      ['no signature', {}, body],
      ['tampered body', { 'stripe-signature': sign(body, webhookSecret) }, body.replace('7700', '7701')],
      ['replayed an hour later', { 'stripe-signature': sign(body, webhookSecret, Math.floor(Date.now() / 1000) - 3600) }, body],
    ];
    for (const [name, headers, raw] of cases) {
      const reply = await t.request('POST', '/notify/card_a', { rawBody: raw, headers: { 'content-type': 'application/json', ...headers } });
      expect(reply.status, name).toBe(400);
    }
    // Correctly signed but the amount does not match the attempt: refused, nothing changes.
    const mismatched = event(outTradeNo, 1);
    const reply = await t.request('POST', '/notify/card_a', { rawBody: mismatched, headers: { 'content-type': 'application/json', 'stripe-signature': sign(mismatched, webhookSecret) } });
    expect(reply.status).toBe(400);
    const after = (await t.request('GET', `/v1/payments/${declined.id}`, { key: merchant.key })).body;
    expect(after.status).toBe('failed');
    expect(after.attempts[0].status).toBe('failed');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
  });
});
