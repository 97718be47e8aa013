// The finance stream in the embedded default (no NATS_URL): the relay numbers published events
// (published_seq), the projection consumer reads the outbox from its position, deduplicates by
// event id, and the consistency job compares the projection with payments, refunds and ledger.
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { appendEvents } from '../../src/outbox/outbox.ts';
import { relayOutboxEvents } from '../../src/outbox/relay.ts';
import { consumeOutbox, runFinanceConsumer } from '../../src/stream/consumer.ts';
import { applyFinanceEvents, financeConsumerName } from '../../src/stream/projection.ts';
import type { StreamEvent } from '../../src/stream/domain/finance-event.ts';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

describe.each(stores)('finance stream, embedded, on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  async function paidPayment(key: string, amount: number, currency = 'USD'): Promise<any> {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency, items: [{ name: 'Book', unit_amount: amount, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const payment = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(payment.body.status).toBe('succeeded');
    return payment.body;
  }

  async function refund(key: string, paymentId: string, amount: number): Promise<void> {
    const reply = await t.request('POST', `/v1/payments/${paymentId}/refunds`, { key, body: { amount } });
    expect(reply.status).toBe(201);
    expect(reply.body.status).toBe('succeeded');
  }

  const today = () => t.app.ctx.clock.now().toISOString().slice(0, 10);
  const daily = async (key: string) => (await t.request('GET', `/v1/finance/daily?from=${today()}&to=${today()}`, { key })).body.data as any[];

  it('projects payments and refunds made through the API, per merchant and currency', async () => {
    const other = await t.newMerchant('Other Shop');
    const first = await paidPayment(merchant.key, 2500);
    await paidPayment(merchant.key, 1000);
    const euro = await paidPayment(merchant.key, 700, 'EUR');
    await paidPayment(other.key, 9900);
    await refund(merchant.key, first.id, 500);
    await refund(merchant.key, first.id, 300);
    await refund(merchant.key, euro.id, 700);

    await relayOutboxEvents(t.app.ctx);
    const consumed = await runFinanceConsumer(t.app.ctx);
    expect(consumed).toMatchObject({ applied: 7, duplicates: 0, skipped: 0, lag: 0, ran: true, more: false });
    // Events without money (order and payment creation, ...) are passed over unread, yet counted.
    const { rows } = await t.app.ctx.db.query<{ n: bigint }>("SELECT count(*) AS n FROM outbox_events WHERE type NOT IN ('payment.succeeded', 'refund.succeeded')");
    expect(consumed.ignored).toBeGreaterThan(0);
    expect(consumed.ignored).toBe(Number(rows[0]!.n));

    const days = await daily(merchant.key);
    expect(days.map((d) => d.currency)).toEqual(['EUR', 'USD']);
    const usd = days.find((d) => d.currency === 'USD');
    expect(usd).toMatchObject({ object: 'finance_day', day: today(), payments_count: 2, gross_amount: 3500, refunds_count: 2, refunded_amount: 800 });
    expect(usd.net_amount).toBe(usd.gross_amount - usd.fee_amount - usd.refunded_amount + usd.fee_returned_amount);
    expect(days.find((d) => d.currency === 'EUR')).toMatchObject({ payments_count: 1, gross_amount: 700, refunds_count: 1, refunded_amount: 700 });
    expect(await daily(other.key)).toEqual([expect.objectContaining({ currency: 'USD', payments_count: 1, gross_amount: 9900, refunds_count: 0 })]);

    const consistency = await t.request('GET', '/v1/admin/finance/consistency?grace_seconds=0', { key: t.adminKey });
    expect(consistency.status).toBe(200);
    expect(consistency.body.checks.map((c: any) => [c.name, c.differences])).toEqual([
      ['daily_vs_entries', 0], ['entries_vs_payments', 0], ['missing_in_projection', 0], ['entries_vs_ledger', 0],
    ]);
    expect(consistency.body.consistent).toBe(true);
    expect((await t.request('GET', '/v1/admin/finance/consistency', { key: merchant.key })).status).toBe(403);
  });

  it('ignores re-delivered events: a consumer re-reading the whole outbox, and the same batch applied twice', async () => {
    await paidPayment(merchant.key, 4200);
    await relayOutboxEvents(t.app.ctx);
    await runFinanceConsumer(t.app.ctx);
    const before = await daily(merchant.key);

    await t.app.ctx.db.query('UPDATE stream_consumers SET position = 0 WHERE name = $1', [financeConsumerName]);
    const replay = await consumeOutbox(t.app.ctx);
    expect(replay.applied).toBe(0);
    expect(replay.duplicates).toBeGreaterThan(0);
    expect(await daily(merchant.key)).toEqual(before);

    const { rows } = await t.app.ctx.db.query<StreamEvent>("SELECT id, merchant_id, type, payload, created_at FROM outbox_events WHERE merchant_id = $1 AND type = 'payment.succeeded'", [merchant.id]);
    const twice = await t.app.ctx.db.transaction((tx) => applyFinanceEvents(tx, 'test_redelivery', [...rows, ...rows], t.app.ctx.clock.now()));
    expect(twice.applied).toBe(0); // the projection's own key keeps a second consumer from counting again
    expect(twice.duplicates).toBe(rows.length * 2);
    expect(await daily(merchant.key)).toEqual(before);

    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain(`clearway_stream_events_consumed_total{consumer="${financeConsumerName}",outcome="duplicate"}`);
    expect(metrics).toContain(`clearway_stream_consumer_lag_events{consumer="${financeConsumerName}"} 0`);
    expect(metrics).toContain('clearway_outbox_events_unpublished 0');
    expect(metrics).toMatch(/clearway_stream_events_published_total\{transport="outbox"\} [1-9]/);
  });

  it('numbers published events in outbox order, per merchant too, continuing from the largest number', async () => {
    const other = await t.newMerchant('Interleaved');
    const now = t.app.ctx.clock.now();
    for (let round = 0; round < 3; round++) {
      await appendEvents(t.app.ctx.db, [
        { merchantId: merchant.id, type: 'order.created', objectId: `ord_${round}`, payload: { round } },
        { merchantId: other.id, type: 'order.created', objectId: `ord_${round}`, payload: { round } },
      ], now);
      await relayOutboxEvents(t.app.ctx);
    }
    const { rows } = await t.app.ctx.db.query<{ merchant_id: string; seq: bigint; published_seq: bigint }>(
      'SELECT merchant_id, seq, published_seq FROM outbox_events WHERE merchant_id = ANY($1::text[]) ORDER BY published_seq', [[merchant.id, other.id]],
    );
    for (const id of [merchant.id, other.id]) {
      const own = rows.filter((row) => row.merchant_id === id);
      expect(own.map((row) => row.seq)).toEqual([...own.map((row) => row.seq)].sort((a, b) => (a < b ? -1 : 1)));
    }
    const { rows: all } = await t.app.ctx.db.query<{ published_seq: bigint }>('SELECT published_seq FROM outbox_events WHERE published_seq IS NOT NULL ORDER BY published_seq');
    expect(new Set(all.map((row) => row.published_seq)).size).toBe(all.length);
  });

  it('reads what a payload lacks as 0 or from the payment, skips what it cannot place, and counts both', async () => {
    const payment = await paidPayment(merchant.key, 1500);
    const now = t.app.ctx.clock.now();
    await appendEvents(t.app.ctx.db, [
      { merchantId: merchant.id, type: 'payout.paid', objectId: 'po_1', payload: { payout_id: 'po_1', amount: '900', currency: 'USD' } },
      { merchantId: merchant.id, type: 'payout.returned', objectId: 'po_2', payload: { payout_id: 'po_2', currency: 'USD' } },
      { merchantId: merchant.id, type: 'settlement.completed' as any, objectId: 'stl_1', payload: {} },
    ], now);
    await relayOutboxEvents(t.app.ctx);
    const consumed = await runFinanceConsumer(t.app.ctx);
    expect(consumed.skipped).toBe(1);
    const usd = (await daily(merchant.key)).find((d) => d.currency === 'USD');
    expect(usd).toMatchObject({ payouts_count: 1, payouts_amount: 900, payout_returns_count: 0 });
    expect(payment.id).toMatch(/^pay_/);
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('clearway_finance_event_warnings_total{reason="invalid_amount"} 1');
    expect(metrics).toMatch(/clearway_finance_event_warnings_total\{reason="missing_journal_entry_id"\} [1-9]/);
  });

  it('finds a deliberately corrupted projection row, a projected payment that is not succeeded, and a payment left out', async () => {
    await paidPayment(merchant.key, 3300);
    await relayOutboxEvents(t.app.ctx);
    await runFinanceConsumer(t.app.ctx);
    await t.app.ctx.db.query("UPDATE finance_daily SET gross_amount = gross_amount + 1 WHERE merchant_id = $1 AND currency = 'USD'", [merchant.id]);
    const missing = await paidPayment(merchant.key, 100); // succeeded, never consumed
    const report = (await t.request('GET', '/v1/admin/finance/consistency?grace_seconds=0', { key: t.adminKey })).body;
    expect(report.consistent).toBe(false);
    const check = (name: string) => report.checks.find((c: any) => c.name === name);
    expect(check('daily_vs_entries').differences).toBe(1);
    expect(check('daily_vs_entries').details[0]).toMatchObject({ merchant_id: merchant.id, subject: `${merchant.id}/USD/${today()}` });
    expect(check('missing_in_projection').details.map((d: any) => d.subject)).toContain(missing.id);
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('clearway_finance_consistency_differences{check="daily_vs_entries"} 1');
    expect(metrics).toContain('clearway_finance_consistency_runs_total{result="differences"}');
  });

  it.runIf(store === 'postgres')('does not skip an event whose transaction commits after a later one was published (PostgreSQL only: PGlite has a single connection)', async () => {
    const client = new pg.Client({ connectionString: t.app.ctx.config.databaseUrl! });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO outbox_events (id, merchant_id, type, object_id, payload, created_at)
         VALUES ('evt_slow_commit', $1, 'payout.paid', 'po_slow', '{"payout_id": "po_slow", "amount": "11", "currency": "USD"}', now())`,
        [merchant.id],
      );
      await appendEvents(t.app.ctx.db, [{ merchantId: merchant.id, type: 'payout.paid' as any, objectId: 'po_fast', payload: { payout_id: 'po_fast', amount: '22', currency: 'USD' } }], t.app.ctx.clock.now());
      await relayOutboxEvents(t.app.ctx);
      await runFinanceConsumer(t.app.ctx); // position moves past po_fast
      await client.query('COMMIT'); // the lower seq commits last
    } finally {
      await client.end();
    }
    await relayOutboxEvents(t.app.ctx);
    await runFinanceConsumer(t.app.ctx);
    const { rows } = await t.app.ctx.db.query<{ object_id: string }>("SELECT object_id FROM finance_entries WHERE object_id IN ('po_slow', 'po_fast') ORDER BY object_id");
    expect(rows.map((row) => row.object_id)).toEqual(['po_fast', 'po_slow']);
  });
});
