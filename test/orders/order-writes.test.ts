import { beforeEach, describe, expect, it } from 'vitest';
import type { BatchOutcome } from '../../src/db/group-commit.ts';
import type { HeldKey } from '../../src/http/idempotency.ts';
import { newId } from '../../src/kernel/ids.ts';
import { writeOrder, type OrderWrite } from '../../src/orders/order-writes.ts';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

// Orders created together are written by one set-based statement; each must still decide alone:
// written with its event only if its idempotency key was free, nothing written twice.

describe.each(stores)('writing orders together on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  function orderWrite(amount: number, key: string | null = null): OrderWrite {
    const now = t.app.ctx.clock.now();
    const id = newId('order');
    const total = BigInt(amount);
    const held: HeldKey | null = key === null ? null : { owner: merchant.id, key, settled: false, deferred: { hash: `hash-${key}`, lease: new Date(now.getTime() + 60_000), now, written: false } };
    return {
      order: {
        id, merchant_id: merchant.id, status: 'pending_payment', currency: 'EUR',
        items: [{ name: 'X', sku: null, unit_amount: String(amount), quantity: 1, amount_subtotal: String(amount), amount_discount: '0', amount_total: String(amount) }],
        amount_subtotal: total, amount_discount: 0n, amount_total: total, pricing_log: [], coupon_ids: [], customer: { email: 'a@example.com' }, metadata: { n: String(amount) },
        expires_at: new Date(now.getTime() + 3_600_000), created_at: now,
      },
      events: [{ merchantId: merchant.id, type: 'order.created', objectId: id, payload: { order_id: id, amount_total: String(amount) } }],
      now,
      claim: held ? { held, response: { status: 201, body: JSON.stringify({ id }) } } : null,
    };
  }

  async function batches(outcome: BatchOutcome): Promise<number> {
    const metric = await t.app.ctx.metrics.orderBatches.get();
    return metric.values.find((v) => v.metricName === 'clearway_order_batch_size_count' && v.labels.outcome === outcome)?.value ?? 0;
  }

  async function stored(id: string): Promise<{ order: Record<string, unknown> | null; events: string[] }> {
    const order = (await t.app.ctx.db.query<Record<string, unknown>>('SELECT amount_total, currency, customer, metadata, coupon_ids, status FROM orders WHERE id = $1', [id])).rows[0] ?? null;
    const events = (await t.app.ctx.db.query<{ type: string }>('SELECT type FROM outbox_events WHERE object_id = $1 ORDER BY seq', [id])).rows.map((r) => r.type);
    return { order, events };
  }

  it('writes concurrent orders with one statement, each with its event, readable through the API', async () => {
    const writes = [1_000, 1_001, 1_002, 1_003, 1_004].map((amount) => orderWrite(amount));
    const before = await batches('written');
    expect(await Promise.all(writes.map((write) => writeOrder(t.app.ctx, write)))).toEqual([true, true, true, true, true]);
    expect(await batches('written')).toBe(before + 2); // the first alone, the other four together
    for (const [i, write] of writes.entries()) {
      expect(await stored(write.order.id)).toEqual({
        order: { amount_total: BigInt(1_000 + i), currency: 'EUR', customer: { email: 'a@example.com' }, metadata: { n: String(1_000 + i) }, coupon_ids: [], status: 'pending_payment' },
        events: ['order.created'],
      });
      const reply = await t.request('GET', `/v1/orders/${write.order.id}`, { key: merchant.key });
      expect(reply.body).toMatchObject({ id: write.order.id, amount_total: 1_000 + i, status: 'pending_payment' });
    }
  });

  it('writes nothing for an order whose key is taken, and answers the others with their keys stored', async () => {
    await t.app.ctx.db.query(`INSERT INTO idempotency_keys (owner, key, request_hash, state, locked_until, created_at) VALUES ($1, 'order-taken', 'other', 'in_flight', now(), now())`, [merchant.id]);
    const [lead, free, taken] = [orderWrite(2_000), orderWrite(2_001, 'order-free'), orderWrite(2_002, 'order-taken')];
    const before = await batches('written');
    expect(await Promise.all([lead, free, taken].map((write) => writeOrder(t.app.ctx, write)))).toEqual([true, true, false]);
    expect(await batches('written')).toBe(before + 2);
    expect((await stored(taken.order.id)).order).toBeNull();
    expect((await stored(taken.order.id)).events).toEqual([]);
    const keys = await t.app.ctx.db.query<{ key: string; state: string; response_status: number | null; response_body: string | null }>(
      "SELECT key, state, response_status, response_body FROM idempotency_keys WHERE owner = $1 AND key IN ('order-free', 'order-taken') ORDER BY key", [merchant.id]);
    expect(keys.rows).toEqual([
      { key: 'order-free', state: 'done', response_status: 201, response_body: JSON.stringify({ id: free.order.id }) },
      { key: 'order-taken', state: 'in_flight', response_status: null, response_body: null },
    ]);
  });

  it('writes one order per key when a batch holds the same key twice', async () => {
    const [lead, first, second] = [orderWrite(3_000), orderWrite(3_001, 'order-twice'), orderWrite(3_002, 'order-twice')];
    const before = await batches('one_by_one');
    expect(await Promise.all([lead, first, second].map((write) => writeOrder(t.app.ctx, write)))).toEqual([true, true, false]);
    expect(await batches('one_by_one')).toBe(before + 1);
    expect((await stored(second.order.id)).order).toBeNull();
  });

  it('writes each order alone when the batch statement fails, so only the bad one fails its caller', async () => {
    const lead = orderWrite(4_000);
    const good = orderWrite(4_001);
    const bad = orderWrite(4_002);
    const duplicate: OrderWrite = { ...bad, order: { ...bad.order, id: lead.order.id } }; // an order id already written: the statement fails
    const before = await batches('failed');
    const results = await Promise.allSettled([writeOrder(t.app.ctx, lead), writeOrder(t.app.ctx, good), writeOrder(t.app.ctx, duplicate)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await batches('failed')).toBe(before + 1);
    expect((await stored(good.order.id)).events).toEqual(['order.created']);
    expect((await stored(lead.order.id)).events).toEqual(['order.created']);
  });

  it('serves concurrent order requests end to end, replaying each under its key', async () => {
    const body = (i: number) => ({ currency: 'EUR', items: [{ name: 'X', unit_amount: 5_000 + i, quantity: 1 }] });
    const created = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => t.request('POST', '/v1/orders', { key: merchant.key, headers: { 'idempotency-key': `order-${i}` }, body: body(i) })));
    for (const reply of created) expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const again = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => t.request('POST', '/v1/orders', { key: merchant.key, headers: { 'idempotency-key': `order-${i}` }, body: body(i) })));
    again.forEach((reply, i) => {
      expect(reply.headers.get('idempotent-replayed')).toBe('true');
      expect(reply.body).toEqual(created[i]!.body);
    });
  });
});
