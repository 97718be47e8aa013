import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('card payments and refunds on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  async function newOrder(amount = 2500) {
    const reply = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Book', unit_amount: amount, quantity: 1 }] } });
    expect(reply.status).toBe(201);
    return reply.body;
  }
  const pay = (orderId: string, token: string) =>
    t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: orderId, method: 'card', payment_method_data: { token } } });
  const sandboxLedger = async () => (await t.request('GET', '/sandbox/card_a/ledger', { key: t.adminKey })).body.data as { out_trade_no: string; charged: number; refunded: number }[];

  it('takes an order to paid through the card sandbox over real HTTP', async () => {
    const order = await newOrder(2500);
    const reply = await pay(order.id, 'pm_card_visa');
    expect(reply.status).toBe(201);
    const payment = reply.body;
    expect(payment.id).toMatch(/^pay_/);
    expect(payment.status).toBe('succeeded');
    expect(payment.amount).toBe(2500);
    expect(payment.channel).toBe('card_a');
    expect(payment.attempts).toHaveLength(1);
    expect(payment.attempts[0].status).toBe('succeeded');
    expect(payment.attempts[0].channel_txn_id).toMatch(/^pi_/);
    expect(payment.attempts[0].routing_reason).toBeTruthy();
    expect(payment.risk.decision).toBe('approve');
    const paid = await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key });
    expect(paid.body.status).toBe('paid');
    const row = (await sandboxLedger()).find((r) => r.out_trade_no === payment.attempts[0].out_trade_no);
    expect(row).toEqual({ out_trade_no: payment.attempts[0].out_trade_no, charged: 2500, refunded: 0 });
    const again = await pay(order.id, 'pm_card_visa');
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('order_not_payable');
  });

  it('records a decline as failed, returns the order to pending_payment, and lets the customer pay again', async () => {
    const order = await newOrder(3100);
    const declined = await pay(order.id, 'pm_card_chargeDeclined');
    expect(declined.status).toBe(201);
    expect(declined.body.status).toBe('failed');
    expect(declined.body.failure_code).toBeTruthy();
    expect(declined.body.attempts[0].status).toBe('failed');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
    for (const token of ['pm_card_chargeDeclinedInsufficientFunds', 'pm_card_chargeDeclinedExpiredCard']) {
      const reply = await pay(order.id, token);
      expect(reply.body.status).toBe('failed');
    }
    const ok = await pay(order.id, 'pm_card_visa');
    expect(ok.body.status).toBe('succeeded');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    const payments = await t.request('GET', '/v1/payments?limit=100', { key: merchant.key });
    const forOrder = payments.body.data.filter((p: any) => p.order_id === order.id);
    expect(forOrder.map((p: any) => p.status).sort()).toEqual(['failed', 'failed', 'failed', 'succeeded']);
  });

  it('refunds partially and fully, never more than captured, even concurrently', async () => {
    const order = await newOrder(10_000);
    const payment = (await pay(order.id, 'pm_card_visa')).body;
    const refund = (amount?: number) => t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: merchant.key, body: amount === undefined ? {} : { amount } });
    const first = await refund(2_500);
    expect(first.status).toBe(201);
    expect(first.body.status).toBe('succeeded');
    const over = await refund(7_501);
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('refund_exceeds_captured');
    const racing = await Promise.all(Array.from({ length: 6 }, () => refund(2_000)));
    const accepted = racing.filter((r) => r.status === 201);
    expect(accepted.length).toBe(3); // 7,500 left: three of 2,000 fit
    for (const r of racing.filter((x) => x.status !== 201)) expect(r.body.error.code).toBe('refund_exceeds_captured');
    const rest = await refund();
    expect(rest.status).toBe(201);
    expect(rest.body.amount).toBe(1_500);
    const view = await t.request('GET', `/v1/payments/${payment.id}`, { key: merchant.key });
    expect(view.body.amount_refunded).toBe(10_000);
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.amount_refunded).toBe(10_000);
    const row = (await sandboxLedger()).find((r) => r.out_trade_no === payment.attempts[0].out_trade_no);
    expect(row?.refunded).toBe(10_000);
    const list = await t.request('GET', `/v1/payments/${payment.id}/refunds?limit=100`, { key: merchant.key });
    expect(list.body.data).toHaveLength(5);
    const failedPayment = (await pay((await newOrder(900)).id, 'pm_card_chargeDeclined')).body;
    const notRefundable = await t.request('POST', `/v1/payments/${failedPayment.id}/refunds`, { key: merchant.key, body: {} });
    expect(notRefundable.status).toBe(409);
    expect(notRefundable.body.error.code).toBe('payment_not_refundable');
  });

  it('lets only one of two concurrent payments on one order through', async () => {
    const order = await newOrder(4_000);
    const [a, b] = await Promise.all([pay(order.id, 'pm_card_visa'), pay(order.id, 'pm_card_visa')]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([201, 409]);
    const charged = (await sandboxLedger()).filter((r) => [a, b].some((x) => x.status === 201 && x.body.attempts[0].out_trade_no === r.out_trade_no));
    expect(charged.reduce((s, r) => s + r.charged, 0)).toBe(4_000);
  });

  it('asks the channel after an ambiguous call instead of guessing, and never charges twice', async () => {
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { error_rate: 1 } });
    const order = await newOrder(5_000);
    const reply = await pay(order.id, 'pm_card_visa');
    await t.request('DELETE', '/sandbox/card_a/faults', { key: t.adminKey });
    expect(reply.status).toBe(201);
    // A 500 from the channel is ambiguous: the attempt is asked about, and the sandbox, which
    // did not process it, says it never saw it. Nothing was charged.
    const attempt = reply.body.attempts[0];
    const charged = (await sandboxLedger()).filter((r) => r.out_trade_no === attempt.out_trade_no).reduce((s, r) => s + r.charged, 0);
    expect(charged).toBe(0);
    expect(['failed', 'processing']).toContain(reply.body.status);
  });

  it('exposes payments by status and channel in /metrics', async () => {
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('clearway_payments_total{status="succeeded",channel="card_a",method="card"}');
    expect(metrics.body).toContain('clearway_http_request_duration_seconds_bucket');
  });
});
