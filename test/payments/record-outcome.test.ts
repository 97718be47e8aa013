import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelPaymentResult } from '../../src/channels/contract.ts';
import { recordAttemptOutcome } from '../../src/payments/record-outcome.ts';
import { attemptsOf, findPaymentById } from '../../src/payments/repository.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

// The synchronous flow writes an outcome with one guarded statement, trusting the versions it
// last wrote; when something else moved the rows first, the guard must refuse and the locked
// path must decide again from the rows as they are.

describe.each(stores)('recording outcomes on %s', (store) => {
  let t: TestApp;
  let merchant: { id: string; key: string };

  beforeAll(async () => {
    t = await startTestApp(store);
    merchant = await t.newMerchant();
    t.app.sandboxes.get('card_a')!.setWebhookUrl(null); // no notification may race this test
  });
  afterAll(async () => t?.close());

  async function processingPayment(amount: number) {
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { late_success_rate: 1 } });
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'EUR', items: [{ name: 'X', unit_amount: amount, quantity: 1 }] } })).body;
    const payment = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })).body;
    await t.request('DELETE', '/sandbox/card_a/faults', { key: t.adminKey });
    expect(payment.status, JSON.stringify(payment)).toBe('processing');
    const row = (await findPaymentById(t.app.ctx.db, payment.id))!;
    const attempt = (await attemptsOf(t.app.ctx.db, [payment.id])).get(payment.id)![0]!;
    return { order, row, attempt };
  }

  const succeeded = (amount: number): ChannelPaymentResult => ({
    kind: 'result', status: 'succeeded', channel_txn_id: 'pi_test', amount: BigInt(amount), currency: 'EUR', failure_code: null, failure_message: null, retryable_elsewhere: false, next_action: null,
  });

  it('applies an outcome with the guarded statement when the rows are as known', async () => {
    const { order, row, attempt } = await processingPayment(1_100);
    const recorded = await recordAttemptOutcome(t.app.ctx, attempt, succeeded(1_100), null, { payment: row, attempt });
    expect(recorded.changed).toBe(true);
    expect(recorded.payment.status).toBe('succeeded');
    expect(recorded.payment.version).toBe(row.version + 1);
    const stored = (await findPaymentById(t.app.ctx.db, row.id))!;
    expect(stored).toEqual(recorded.payment);
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    const { rows } = await t.app.ctx.db.query<{ type: string }>('SELECT type FROM outbox_events WHERE object_id IN ($1, $2) ORDER BY seq', [row.id, order.id]);
    expect(rows.map((r) => r.type)).toEqual(['order.created', 'payment.created', 'payment.succeeded', 'order.paid']);
  });

  it('falls back to the locked path when the rows moved on, and applies each change once', async () => {
    const { order, row, attempt } = await processingPayment(1_200);
    const stale = { payment: { ...row, version: row.version - 1 }, attempt: { ...attempt, version: attempt.version - 1 } };
    const first = await recordAttemptOutcome(t.app.ctx, attempt, succeeded(1_200), null, stale);
    expect(first.changed).toBe(true);
    expect(first.payment.status).toBe('succeeded');
    const again = await recordAttemptOutcome(t.app.ctx, attempt, succeeded(1_200), null, { payment: row, attempt });
    expect(again.changed).toBe(false);
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    const { rows } = await t.app.ctx.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM outbox_events WHERE object_id = $1 AND type = 'payment.succeeded'", [row.id]);
    expect(rows[0]!.n).toBe(1n);
  });

  it('refuses the whole guarded statement when its order is not paying, writing nothing', async () => {
    const { order, row, attempt } = await processingPayment(1_300);
    await t.app.ctx.db.query("UPDATE orders SET status = 'pending_payment' WHERE id = $1", [order.id]); // break the invariant on purpose
    await expect(recordAttemptOutcome(t.app.ctx, attempt, succeeded(1_300), null, { payment: row, attempt })).rejects.toThrow(/not paying/);
    const stored = (await findPaymentById(t.app.ctx.db, row.id))!;
    expect(stored.status).toBe('processing');
    expect(stored.version).toBe(row.version);
  });

  it('commits concurrent outcomes together: each capture posted once, a stale or broken one decided alone', async () => {
    const payments = [];
    for (let i = 0; i < 10; i++) payments.push(await processingPayment(2_000 + i));
    const broken = payments[8]!;
    await t.app.ctx.db.query("UPDATE orders SET status = 'pending_payment' WHERE id = $1", [broken.order.id]); // fails its batch
    const stale = payments[9]!;
    const before = await batchSizes();
    const outcomes = await Promise.allSettled(payments.map(({ row, attempt }, i) =>
      recordAttemptOutcome(t.app.ctx, attempt, succeeded(2_000 + i), null, i === 9 ? { payment: { ...row, version: row.version - 1 }, attempt } : { payment: row, attempt })));
    expect(outcomes.map((o) => o.status)).toEqual([...Array(8).fill('fulfilled'), 'rejected', 'fulfilled']);
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') expect(outcome.value.payment.status).toBe('succeeded');
    const ids = payments.map((p) => p.row.id);
    const { rows } = await t.app.ctx.db.query<{ event_id: string }>("SELECT event_id FROM journal_entries WHERE kind = 'capture' AND event_id LIKE ANY ($1::text[])", [ids.map((id) => `%${id}%`)]);
    expect(rows).toHaveLength(9); // every payment but the broken one, each once
    expect((await findPaymentById(t.app.ctx.db, broken.row.id))!.status).toBe('processing');
    expect((await findPaymentById(t.app.ctx.db, stale.row.id))!.status).toBe('succeeded');
    const after = await batchSizes();
    expect(after.count - before.count).toBeLessThan(10); // some outcomes shared a transaction
    expect(after.failed - before.failed).toBeGreaterThanOrEqual(1); // the batch holding the broken one was rolled back and split
    await t.app.ctx.db.query("UPDATE orders SET status = 'paying' WHERE id = $1", [broken.order.id]);
    const report = await checkLedger(t.app.ctx.db);
    expect(report.ok, JSON.stringify(report.checks)).toBe(true);
  });

  it('writes a batch of outcomes with one statement: each guard decided on its own, events in order, each capture once', async () => {
    const payments = [];
    for (let i = 0; i < 8; i++) payments.push(await processingPayment(3_000 + i));
    const stale = payments[7]!; // its guard fails inside the set statement; the locked path decides it
    const before = await setStatements();
    const outcomes = await Promise.all(payments.map(({ row, attempt }, i) =>
      recordAttemptOutcome(t.app.ctx, attempt, succeeded(3_000 + i), null, i === 7 ? { payment: { ...row, version: row.version - 1 }, attempt } : { payment: row, attempt })));
    expect(await setStatements()).toBeGreaterThan(before); // the concurrent outcomes shared a set-based statement
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.changed).toBe(true);
      expect(outcome.payment.status).toBe('succeeded');
      const stored = (await findPaymentById(t.app.ctx.db, payments[i]!.row.id))!;
      expect(stored.status).toBe('succeeded');
      expect(stored.version).toBe(payments[i]!.row.version + 1);
      expect(stored.amount_captured).toBe(BigInt(3_000 + i));
      expect((await t.request('GET', `/v1/orders/${payments[i]!.order.id}`, { key: merchant.key })).body.status).toBe('paid');
      const { rows } = await t.app.ctx.db.query<{ type: string }>('SELECT type FROM outbox_events WHERE object_id IN ($1, $2) ORDER BY seq', [payments[i]!.row.id, payments[i]!.order.id]);
      expect(rows.map((r) => r.type)).toEqual(['order.created', 'payment.created', 'payment.succeeded', 'order.paid']);
    }
    expect((await attemptsOf(t.app.ctx.db, [stale.row.id])).get(stale.row.id)![0]!.status).toBe('succeeded');
    const ids = payments.map((p) => p.row.id);
    const { rows } = await t.app.ctx.db.query<{ event_id: string }>("SELECT event_id FROM journal_entries WHERE kind = 'capture' AND event_id LIKE ANY ($1::text[])", [ids.map((id) => `%${id}%`)]);
    expect(rows).toHaveLength(8);
    const report = await checkLedger(t.app.ctx.db);
    expect(report.ok, JSON.stringify(report.checks)).toBe(true);
  });

  async function setStatements(): Promise<number> {
    const metric = await t.app.ctx.metrics.outcomeBatchStatements.get();
    return metric.values.find((v) => v.labels.written_by === 'one_statement')?.value ?? 0;
  }

  async function batchSizes(): Promise<{ count: number; failed: number }> {
    const metric = await t.app.ctx.metrics.outcomeBatches.get();
    const count = (outcome: string) => metric.values.find((v) => v.metricName === 'clearway_outcome_batch_size_count' && v.labels.outcome === outcome)?.value ?? 0;
    return { count: count('written') + count('failed'), failed: count('failed') };
  }
});
