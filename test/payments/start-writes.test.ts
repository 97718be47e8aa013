import { beforeEach, describe, expect, it } from 'vitest';
import type { HeldKey } from '../../src/http/idempotency.ts';
import type { BatchOutcome } from '../../src/db/group-commit.ts';
import { newId } from '../../src/kernel/ids.ts';
import type { AttemptRow, PaymentRow } from '../../src/payments/repository.ts';
import { writeStart, type StartWrite } from '../../src/payments/start-writes.ts';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

// Payment starts submitted together are written by one set-based statement; each start must
// still decide alone: its order pending_payment, its idempotency key free, nothing written twice.

describe.each(stores)('starting payments together on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  async function newOrder(amount: number): Promise<string> {
    const order = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'EUR', items: [{ name: 'X', unit_amount: amount, quantity: 1 }] } });
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    return order.body.id as string;
  }

  function startOf(orderId: string, amount: number, claim: HeldKey | null = null): StartWrite {
    const now = t.app.ctx.clock.now();
    const payment: PaymentRow = {
      id: newId('payment'), merchant_id: merchant.id, order_id: orderId, status: 'processing', amount: BigInt(amount), currency: 'EUR', method: 'card', channel: 'card_a',
      amount_captured: 0n, amount_refunded: 0n, amount_refund_pending: 0n, fee_amount: null, channel_fee_amount: null, failure_code: null, failure_message: null,
      next_action: null, risk: { decision: 'approve', score: 0, reasons: [] }, payment_method_data: { token: 'pm_card_visa' }, version: 1, created_at: now, updated_at: now,
    };
    const attemptId = newId('attempt');
    const attempt: AttemptRow = {
      id: attemptId, payment_id: payment.id, merchant_id: merchant.id, channel: 'card_a', status: 'created', out_trade_no: attemptId, channel_txn_id: null,
      amount: payment.amount, currency: 'EUR', routing_reason: 'test', failure_code: null, failure_message: null, version: 1, created_at: now, updated_at: now,
    };
    const events = [{ merchantId: merchant.id, type: 'payment.created' as const, objectId: payment.id, payload: { payment_id: payment.id, order_id: orderId } }];
    return { order: { id: orderId, merchant_id: merchant.id }, payment, attempt, events, now, routing: { policy_version: null, arm: null }, claim };
  }

  function heldKey(key: string): HeldKey {
    const now = t.app.ctx.clock.now();
    return { owner: merchant.id, key, settled: false, deferred: { hash: `hash-${key}`, lease: new Date(now.getTime() + 60_000), now, written: false } };
  }

  async function batches(outcome: BatchOutcome): Promise<number> {
    const metric = await t.app.ctx.metrics.startBatches.get();
    return metric.values.find((v) => v.metricName === 'clearway_payment_start_batch_size_count' && v.labels.outcome === outcome)?.value ?? 0;
  }

  async function stateOf(orderId: string): Promise<{ order: string; payments: number; attempts: number; events: string[] }> {
    const db = t.app.ctx.db;
    const order = (await db.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [orderId])).rows[0]!.status;
    const payments = (await db.query<{ id: string }>('SELECT id FROM payments WHERE order_id = $1', [orderId])).rows;
    const ids = payments.map((p) => p.id);
    const attempts = (await db.query('SELECT 1 FROM attempts WHERE payment_id = ANY($1::text[])', [ids])).rows.length;
    const events = (await db.query<{ type: string }>('SELECT type FROM outbox_events WHERE object_id = ANY($1::text[]) ORDER BY seq', [[orderId, ...ids]])).rows.map((r) => r.type);
    return { order, payments: payments.length, attempts, events };
  }

  it('writes concurrent starts of distinct orders with one statement, each with its attempt and event', async () => {
    const orders = [];
    for (let i = 0; i < 6; i++) orders.push(await newOrder(1_000 + i));
    const before = await batches('written');
    // The first start finds the group idle and is written alone; the others wait and go together.
    const started = await Promise.all(orders.map((id, i) => writeStart(t.app.ctx, startOf(id, 1_000 + i))));
    expect(started).toEqual(orders.map(() => ({ started: true, claimed: false })));
    expect(await batches('written')).toBe(before + 2); // the lone first, then the other five together
    for (const id of orders) expect(await stateOf(id)).toEqual({ order: 'paying', payments: 1, attempts: 1, events: ['order.created', 'payment.created'] });
  });

  it('starts one payment per order when a batch holds the same order twice', async () => {
    const [first, twice] = [await newOrder(2_000), await newOrder(2_001)];
    const before = await batches('one_by_one');
    const started = await Promise.all([writeStart(t.app.ctx, startOf(first, 2_000)), writeStart(t.app.ctx, startOf(twice, 2_001)), writeStart(t.app.ctx, startOf(twice, 2_001))]);
    expect(started.map((one) => one.started)).toEqual([true, true, false]);
    expect(await batches('one_by_one')).toBe(before + 1);
    expect(await stateOf(twice)).toEqual({ order: 'paying', payments: 1, attempts: 1, events: ['order.created', 'payment.created'] });
  });

  it('writes nothing for a start whose order is not payable or whose key is taken, in the same statement as the others', async () => {
    const [ok, cancelled, keyed, lead, cancelledKeyed] = [await newOrder(3_000), await newOrder(3_001), await newOrder(3_002), await newOrder(3_003), await newOrder(3_004)];
    expect((await t.request('POST', `/v1/orders/${cancelled}/cancel`, { key: merchant.key })).status).toBe(200);
    expect((await t.request('POST', `/v1/orders/${cancelledKeyed}/cancel`, { key: merchant.key })).status).toBe(200);
    await t.app.ctx.db.query(`INSERT INTO idempotency_keys (owner, key, request_hash, state, locked_until, created_at) VALUES ($1, 'taken', 'other', 'in_flight', now(), now())`, [merchant.id]);
    const before = await batches('written');
    const started = await Promise.all([
      writeStart(t.app.ctx, startOf(lead, 3_003)),
      writeStart(t.app.ctx, startOf(ok, 3_000, heldKey('free'))), writeStart(t.app.ctx, startOf(cancelled, 3_001)), writeStart(t.app.ctx, startOf(keyed, 3_002, heldKey('taken'))),
      writeStart(t.app.ctx, startOf(cancelledKeyed, 3_004, heldKey('free-but-cancelled'))),
    ]);
    // A free key is written even when its order cannot start (every CTE of a statement runs): the caller is told, so the key stays its own.
    expect(started).toEqual([
      { started: true, claimed: false }, { started: true, claimed: true }, { started: false, claimed: false }, { started: false, claimed: false }, { started: false, claimed: true },
    ]);
    expect(await batches('written')).toBe(before + 2); // the lead alone, then the other four together
    expect(await stateOf(ok)).toMatchObject({ order: 'paying', payments: 1, attempts: 1 });
    expect(await stateOf(cancelled)).toEqual({ order: 'cancelled', payments: 0, attempts: 0, events: ['order.created', 'order.cancelled'] });
    expect(await stateOf(keyed)).toEqual({ order: 'pending_payment', payments: 0, attempts: 0, events: ['order.created'] });
    const keys = await t.app.ctx.db.query<{ key: string; state: string; request_hash: string }>("SELECT key, state, request_hash FROM idempotency_keys WHERE owner = $1 AND key IN ('free', 'taken') ORDER BY key", [merchant.id]);
    expect(keys.rows).toEqual([{ key: 'free', state: 'in_flight', request_hash: 'hash-free' }, { key: 'taken', state: 'in_flight', request_hash: 'other' }]);
  });

  it('writes each start alone when the batch statement fails, so only the bad start fails its caller', async () => {
    const [lead, good, bad] = [await newOrder(4_000), await newOrder(4_001), await newOrder(4_002)];
    const existing = (await t.app.ctx.db.query<{ id: string }>('SELECT id FROM payments LIMIT 1')).rows[0]!.id;
    const broken = startOf(bad, 4_002);
    const duplicate: StartWrite = { ...broken, payment: { ...broken.payment, id: existing } }; // a payment id already taken: the statement fails
    const before = await batches('failed');
    const results = await Promise.allSettled([writeStart(t.app.ctx, startOf(lead, 4_000)), writeStart(t.app.ctx, startOf(good, 4_001)), writeStart(t.app.ctx, duplicate)]);
    expect(await batches('failed')).toBe(before + 1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await stateOf(good)).toMatchObject({ order: 'paying', payments: 1, attempts: 1 });
    expect(await stateOf(bad)).toEqual({ order: 'pending_payment', payments: 0, attempts: 0, events: ['order.created'] });
  });

  it('serves concurrent payment requests end to end with their starts batched', async () => {
    const orders = [];
    for (let i = 0; i < 8; i++) orders.push(await newOrder(5_000 + i));
    const replies = await Promise.all(orders.map((id) => t.request('POST', '/v1/payments', { key: merchant.key, headers: { 'idempotency-key': `pay-${id}` }, body: { order_id: id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })));
    for (const reply of replies) expect(reply.body.status, JSON.stringify(reply.body)).toBe('succeeded');
    for (const id of orders) expect((await stateOf(id)).order).toBe('paid');
  });
});
