import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('idempotency on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  const body = { currency: 'USD', items: [{ name: 'Lamp', unit_amount: 4200, quantity: 1 }] };

  it('replays the first response with Idempotent-Replayed, and refuses the key with another body', async () => {
    const headers = { 'idempotency-key': 'order-key-1' };
    const first = await t.request('POST', '/v1/orders', { key: merchant.key, body, headers });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await t.request('POST', '/v1/orders', { key: merchant.key, body, headers });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);
    const other = await t.request('POST', '/v1/orders', { key: merchant.key, body: { ...body, currency: 'EUR' }, headers });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    const list = await t.request('GET', '/v1/orders?limit=100', { key: merchant.key });
    expect(list.body.data.filter((o: any) => o.id === first.body.id)).toHaveLength(1);
    expect(list.body.data).toHaveLength(1);
  });

  it('answers a payment of an order that cannot take one with order_not_payable under a new key, and replays that answer', async () => {
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body })).body;
    const payment = { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } };
    const paid = await t.request('POST', '/v1/payments', { key: merchant.key, body: payment, headers: { 'idempotency-key': 'pay-first' } });
    expect(paid.body.status).toBe('succeeded');
    // The statement that would start the payment writes the new key even though the order is paid:
    // the key is this request's, and its answer is the reason, not "still running".
    const again = await t.request('POST', '/v1/payments', { key: merchant.key, body: payment, headers: { 'idempotency-key': 'pay-second' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('order_not_payable');
    const replay = await t.request('POST', '/v1/payments', { key: merchant.key, body: payment, headers: { 'idempotency-key': 'pay-second' } });
    expect(replay.status).toBe(409);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(again.body);
  });

  it('replays errors too, and scopes keys per key owner', async () => {
    const headers = { 'idempotency-key': 'bad-order' };
    const bad = { currency: 'USD', items: [{ name: 'X', unit_amount: 1, quantity: 1 }], coupon_codes: ['MISSING'] };
    const first = await t.request('POST', '/v1/orders', { key: merchant.key, body: bad, headers });
    expect(first.status).toBe(400);
    const again = await t.request('POST', '/v1/orders', { key: merchant.key, body: bad, headers });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await t.newMerchant('Other');
    const theirs = await t.request('POST', '/v1/orders', { key: other.key, body, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
  });

  it('replays a payment byte for byte, its response stored by the statement that recorded the outcome', async () => {
    const order = await t.request('POST', '/v1/orders', { key: merchant.key, body });
    const payBody = { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } };
    const headers = { 'idempotency-key': `pay-once-${order.body.id}` };
    const first = await t.request('POST', '/v1/payments', { key: merchant.key, body: payBody, headers });
    expect(first.status).toBe(201);
    expect(first.body.status).toBe('succeeded');
    const { rows } = await t.app.ctx.db.query<{ state: string; response_body: string }>('SELECT state, response_body FROM idempotency_keys WHERE key = $1', [headers['idempotency-key']]);
    expect(rows[0]!.state).toBe('done');
    expect(JSON.parse(rows[0]!.response_body)).toEqual(first.body);
    const replay = await t.request('POST', '/v1/payments', { key: merchant.key, body: payBody, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const declinedOrder = await t.request('POST', '/v1/orders', { key: merchant.key, body });
    const declinedHeaders = { 'idempotency-key': `pay-declined-${declinedOrder.body.id}` };
    const declinedBody = { order_id: declinedOrder.body.id, method: 'card', payment_method_data: { token: 'pm_card_chargeDeclined' } };
    const declined = await t.request('POST', '/v1/payments', { key: merchant.key, body: declinedBody, headers: declinedHeaders });
    expect(declined.body.status).toBe('failed');
    const declinedReplay = await t.request('POST', '/v1/payments', { key: merchant.key, body: declinedBody, headers: declinedHeaders });
    expect(declinedReplay.body).toEqual(declined.body);
  });

  it('rejects keys that are empty or longer than 255 characters', async () => {
    const long = await t.request('POST', '/v1/orders', { key: merchant.key, body, headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(long.status).toBe(400);
    expect(long.body.error.param).toBe('Idempotency-Key');
  });

  it.runIf(store === 'postgres')('lets exactly one of many concurrent requests with one key run; the others get 409 or the replay', async () => {
    const order = await t.request('POST', '/v1/orders', { key: merchant.key, body });
    const payBody = { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } };
    const headers = { 'idempotency-key': `pay-${order.body.id}` };
    const replies = await Promise.all(Array.from({ length: 12 }, () => t.request('POST', '/v1/payments', { key: merchant.key, body: payBody, headers })));
    const created = replies.filter((r) => r.status === 201);
    const inUse = replies.filter((r) => r.status === 409);
    expect(created.length + inUse.length).toBe(12);
    for (const r of inUse) expect(r.body.error.code).toBe('idempotency_key_in_use');
    const ids = new Set(created.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const fresh = created.filter((r) => r.headers.get('idempotent-replayed') === null);
    expect(fresh).toHaveLength(1);
    const payments = await t.request('GET', '/v1/payments?limit=100', { key: merchant.key });
    expect(payments.body.data.filter((p: any) => p.order_id === order.body.id)).toHaveLength(1);
    const ledger = await t.request('GET', '/sandbox/card_a/ledger', { key: t.adminKey });
    const charged = ledger.body.data.filter((row: any) => row.out_trade_no === [...ids][0] || created[0]!.body.attempts.some((a: any) => a.out_trade_no === row.out_trade_no));
    expect(charged.reduce((s: number, row: any) => s + row.charged, 0)).toBe(4200);
  });
});
