import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

// A wallet payment end to end: the payment answers requires_action with a QR code, the payer
// completes it at the sandbox, the sandbox's signed notification arrives at /notify/:channel and
// moves the payment to succeeded and the order to paid; refunds go back through the channel.

describe.each(stores)('wallet payments on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  async function waitForStatus(paymentId: string, status: string) {
    for (let i = 0; i < 150; i++) {
      const payment = (await t.request('GET', `/v1/payments/${paymentId}`, { key: merchant.key })).body;
      if (payment.status === status) return payment;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`payment ${paymentId} never reached ${status}`);
  }

  for (const method of ['alipay', 'wechat_pay'] as const) {
    it(`pays a CNY order with ${method} by QR code, notification to paid, then refunds it`, async () => {
      const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'CNY', items: [{ name: 'Tea', unit_amount: 8_800, quantity: 1 }] } })).body;
      const methods = (await t.request('GET', `/v1/orders/${order.id}/payment_methods`, { key: merchant.key })).body.data;
      expect(methods).toContainEqual({ method, available: true });
      const created = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method } });
      expect(created.status).toBe(201);
      expect(created.body.status).toBe('requires_action');
      expect(created.body.next_action.type).toBe('qr_code');
      expect(created.body.next_action.url).toBeTruthy();
      const attempt = created.body.attempts[0];
      expect(attempt.status).toBe('requires_action');
      expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paying');

      const paid = await t.request('POST', `/sandbox/${attempt.channel}/pay/${attempt.out_trade_no}`, { key: t.adminKey });
      expect(paid.status).toBe(200);
      const done = await waitForStatus(created.body.id, 'succeeded');
      expect(done.attempts[0].status).toBe('succeeded');
      expect(done.attempts[0].channel_txn_id).toBeTruthy();
      expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');

      const refund = await t.request('POST', `/v1/payments/${created.body.id}/refunds`, { key: merchant.key, body: { amount: 800 } });
      expect(refund.status).toBe(201);
      expect(['succeeded', 'pending']).toContain(refund.body.status);
      const ledger = (await t.request('GET', `/sandbox/${attempt.channel}/ledger`, { key: t.adminKey })).body.data;
      const row = ledger.find((r: any) => r.out_trade_no === attempt.out_trade_no);
      expect(row.charged).toBe(8_800);
      if (refund.body.status === 'succeeded') expect(row.refunded).toBe(800);
    });
  }

  it('refuses a wallet for a currency it does not take, greying it out with the reason', async () => {
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Tea', unit_amount: 900, quantity: 1 }] } })).body;
    const methods = (await t.request('GET', `/v1/orders/${order.id}/payment_methods`, { key: merchant.key })).body.data;
    for (const method of ['alipay', 'wechat_pay']) {
      const entry = methods.find((m: any) => m.method === method);
      expect(entry.available).toBe(false);
      expect(entry.reason).toBe('currency_not_supported');
    }
  });
});
