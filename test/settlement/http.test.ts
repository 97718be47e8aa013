// Settlement over HTTP on both stores: the admin run, the merchant's batches and statements
// (JSON and CSV), settings, and what bad input and other merchants' ids answer.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { exitCodeOf, parseSettleArguments } from '../../src/settlement/cli.ts';
import { stores, useTestApp } from '../support/harness.ts';
import { capture, refund } from './support.ts';

describe.each(stores)('settlement HTTP on %s', (store) => {
  const clock = new ManualClock('2026-05-02T03:00:00Z');
  const current = useTestApp(store, { clock });

  it('runs a day, lists and shows the batch, and serves its statement as JSON and CSV', async () => {
    const { t, merchant } = current();
    const db = t.app.ctx.db;
    const paid = await capture(db, merchant.id, '2026-05-01T09:00:00.000Z', 12_345n, 370n);
    await capture(db, merchant.id, '2026-05-01T10:00:00.000Z', 1_000n, 30n);
    const { refundId } = await refund(db, paid, '2026-05-01T11:00:00.000Z', 345n);

    const run = await t.request('POST', '/v1/admin/settlements/run', { key: t.adminKey, body: { date: '2026-05-01', merchant_id: merchant.id } });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ object: 'settlement_run', date: '2026-05-01', counts: { settled: 1 } });
    const batch = run.body.results[0].batch;
    expect(batch).toMatchObject({ object: 'settlement_batch', status: 'settled', currency: 'USD', gross: 13_345, refunds: 345, fees: 390, net: 12_610, amount_settled: 12_610, cut_off: '00:00', time_zone: 'UTC' });

    const list = await t.request('GET', '/v1/settlements?limit=5', { key: merchant.key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((b: { id: string }) => b.id)).toEqual([batch.id]);
    expect((await t.request('GET', `/v1/settlements/${batch.id}`, { key: merchant.key })).body).toEqual(batch);

    const json = await t.request('GET', `/v1/settlements/${batch.id}/statement.json`, { key: merchant.key });
    expect(json.status).toBe(200);
    expect(json.body.lines.map((l: { type: string; gross: number; fee: number; net: number }) => [l.type, l.gross, l.fee, l.net])).toEqual([
      ['capture', 12_345, 370, 11_975], ['capture', 1_000, 30, 970], ['refund', -345, -10, -335],
    ]);
    expect(json.body.lines[2]).toMatchObject({ id: refundId, payment_id: paid.paymentId });

    const csv = await t.request('GET', `/v1/settlements/${batch.id}/statement.csv`, { key: merchant.key });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = String(csv.body).trimEnd().split('\r\n');
    expect(rows[0]).toBe('type,id,payment_id,created_at,currency,gross,fee,net');
    expect(rows[1]).toBe(`capture,${paid.paymentId},${paid.paymentId},2026-05-01T09:00:00.000Z,USD,12345,370,11975`);
    expect(rows.slice(4)).toEqual([`total,${batch.id},,,USD,13000,390,12610`, `carried_in,${batch.id},,,USD,,,0`, `settled,${batch.id},,,USD,,,12610`, `carried_out,${batch.id},,,USD,,,0`]);

    // Another merchant sees none of it.
    const other = await t.newMerchant('Other Shop');
    expect((await t.request('GET', `/v1/settlements/${batch.id}`, { key: other.key })).status).toBe(404);
    expect((await t.request('GET', `/v1/settlements/${batch.id}/statement.csv`, { key: other.key })).body.error.code).toBe('not_found');
    expect((await t.request('GET', '/v1/settlements', { key: other.key })).body.data).toEqual([]);
    expect((await t.request('GET', `/v1/settlements?starting_after=${batch.id}`, { key: other.key })).status).toBe(400);

    // Re-running through the API changes nothing.
    const rerun = await t.request('POST', '/v1/admin/settlements/run', { key: t.adminKey, body: { date: '2026-05-01' } });
    expect(rerun.body.counts).toMatchObject({ unchanged: 1, settled: 0, failed: 0 });
    expect(rerun.body.results.find((r: { merchant_id: string }) => r.merchant_id === merchant.id).batch).toEqual(batch);
  });

  it('answers 400, 401, 403 and 404 with coded errors', async () => {
    const { t, merchant } = current();
    const run = (body: unknown, key: string | null = t.adminKey) => t.request('POST', '/v1/admin/settlements/run', { key, body });
    expect((await run({ date: '2026-02-30' })).body.error).toMatchObject({ code: 'invalid_param', param: 'date' });
    expect((await run({ date: '05/01/2026' })).body.error).toMatchObject({ code: 'invalid_param', param: 'date' });
    expect((await run({})).body.error).toMatchObject({ code: 'missing_param', param: 'date' });
    expect((await run({ date: '2026-05-01', extra: 1 })).body.error).toMatchObject({ code: 'unknown_param', param: 'extra' });
    expect((await run({ date: '2026-05-01' }, merchant.key)).status).toBe(403);
    expect((await run({ date: '2026-05-01' }, null)).status).toBe(401);
    expect((await t.request('GET', '/v1/settlements', { key: null })).status).toBe(401);
    expect((await t.request('GET', '/v1/settlements/stl_000000000000000000000000', { key: merchant.key })).status).toBe(404);
    expect((await t.request('GET', '/v1/settlements/nope', { key: merchant.key })).body.error).toMatchObject({ code: 'invalid_param', param: 'id' });

    const put = (body: unknown) => t.request('PUT', '/v1/settlement_settings', { key: merchant.key, body });
    expect((await put({ time_zone: 'Mars/Base', cut_off: '18:00' })).body.error).toMatchObject({ code: 'unsupported_time_zone', param: 'time_zone' });
    expect((await put({ time_zone: 'UTC', cut_off: '24:00' })).body.error).toMatchObject({ code: 'invalid_param', param: 'cut_off' });
    expect((await put({ time_zone: 'UTC' })).body.error).toMatchObject({ code: 'missing_param', param: 'cut_off' });
    const saved = await put({ time_zone: 'asia/shanghai', cut_off: '18:30' });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ object: 'settlement_settings', merchant_id: merchant.id, time_zone: 'Asia/Shanghai', cut_off: '18:30', custom: true });
    expect((await t.request('GET', '/v1/settlement_settings', { key: merchant.key })).body).toEqual(saved.body);
  });
});

describe('clearway settle', () => {
  it('reads its arguments and exits 1 when a batch is in trouble', () => {
    expect(parseSettleArguments(['--date', '2026-05-01'])).toEqual({ date: '2026-05-01' });
    expect(parseSettleArguments(['--date', '2026-13-01'])).toMatch(/bad argument --date 2026-13-01/);
    expect(parseSettleArguments([])).toMatch(/--date is required/);
    const result = (outcome: 'settled' | 'failed') => ({ merchantId: 'mch_x', currency: 'USD', date: '2026-05-01', outcome, batch: null, detail: null });
    const counts = { settled: 0, unchanged: 0, failed: 0, blocked: 0, out_of_order: 0, rerun_differs: 0, day_not_closed: 0, no_transactions: 0 };
    expect(exitCodeOf({ date: '2026-05-01', results: [result('settled')], counts })).toBe(0);
    expect(exitCodeOf({ date: '2026-05-01', results: [result('settled'), result('failed')], counts })).toBe(1);
  });

  it.runIf(process.env.TEST_DATABASE_URL)('settles a day on the configured database, and a second run changes nothing', async () => {
    const { freshDatabase } = await import('../support/fresh-database.ts');
    const { openPostgres } = await import('../../src/db/postgres.ts');
    const { migrate } = await import('../../src/db/migrate.ts');
    const { insertMerchant } = await import('./support.ts');
    const database = await freshDatabase(process.env.TEST_DATABASE_URL!);
    const db = openPostgres({ url: database.url, poolSize: 2 });
    try {
      await migrate(db);
      const merchant = await insertMerchant(db);
      await capture(db, merchant, '2025-06-01T08:00:00Z', 5_000n, 150n);
      const cli = () => spawnSync('node', ['--import', 'tsx', 'src/cli/main.ts', 'settle', '--date', '2025-06-01', '--merchant', merchant], {
        env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' }, encoding: 'utf8',
      });
      const first = cli();
      expect(first.status, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ object: 'settlement_run', counts: { settled: 1 }, results: [{ outcome: 'settled', batch: { net: 4_850 } }] });
      const second = cli();
      expect(second.status).toBe(0);
      expect(JSON.parse(second.stdout).results[0]).toMatchObject({ outcome: 'unchanged', batch: { id: JSON.parse(first.stdout).results[0].batch.id } });
      const { rows } = await db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM journal_entries WHERE kind = 'settlement'");
      expect(rows[0]!.n).toBe(1n);
    } finally {
      await db.close();
      await database.drop();
    }
  }, 60_000);
});
