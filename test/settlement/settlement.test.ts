// Settlement on both stores: day windows and cut-offs, re-runs, control totals catching a
// corrupted row, negative days carried forward, and the worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { account } from '../../src/ledger/domain/accounts.ts';
import { accountBalance, loadEntryByEvent } from '../../src/ledger/journal.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { settleDay, settleMerchantDay, type SettleResult } from '../../src/settlement/service.ts';
import { saveSettlementSettings } from '../../src/settlement/settings.ts';
import { runSettlementWorker } from '../../src/settlement/worker.ts';
import { stores } from '../support/harness.ts';
import { openLedgerStore, type LedgerStore } from '../ledger/support.ts';
import { capture, insertMerchant, refund, settlementDeps } from './support.ts';

const available = (merchant: string, currency = 'USD') => account('merchant_available', merchant, currency);
const pending = (merchant: string, currency = 'USD') => account('merchant_pending', merchant, currency);

describe.each(stores)('settlement on %s', (store) => {
  let ledger: LedgerStore;
  const clock = new ManualClock('2026-03-20T00:00:00Z');
  beforeAll(async () => {
    ledger = await openLedgerStore(store);
  });
  afterAll(async () => {
    await ledger.close();
  });
  const deps = () => settlementDeps(ledger.db, clock);
  const balance = async (ref: ReturnType<typeof available>) => -(await accountBalance(ledger.db, ref)).amount; // credit-normal, as the merchant reads it
  const one = (results: SettleResult[]): SettleResult => {
    expect(results).toHaveLength(1);
    return results[0]!;
  };

  it('settles a UTC day: gross, refunds, fees, net; the capture at the cut-off goes to the next day', async () => {
    const merchant = await insertMerchant(ledger.db);
    const a = await capture(ledger.db, merchant, '2026-03-10T00:00:00.000Z', 10_000n, 300n);
    await capture(ledger.db, merchant, '2026-03-10T12:00:00.000Z', 5_000n, 150n);
    await capture(ledger.db, merchant, '2026-03-10T23:59:59.999Z', 2_000n, 60n);
    const { feeReturned } = await refund(ledger.db, a, '2026-03-10T18:00:00.000Z', 4_000n);
    expect(feeReturned).toBe(120n);
    await capture(ledger.db, merchant, '2026-03-11T00:00:00.000Z', 7_000n, 210n); // at the cut-off: the next day
    await capture(ledger.db, merchant, '2026-03-09T23:59:59.999Z', 1_000n, 30n); // the day before

    clock.set('2026-03-11T00:00:30Z');
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-10')).outcome).toBe('day_not_closed');
    clock.set('2026-03-11T00:01:00Z');
    const settled = one(await settleMerchantDay(deps(), merchant, '2026-03-10'));
    expect(settled.outcome).toBe('settled');
    const batch = settled.batch!;
    expect(batch).toMatchObject({ status: 'settled', currency: 'USD', date: '2026-03-10', transactionCount: 4n, fees: 390n, net: 12_610n, carriedIn: 0n, amountSettled: 12_610n, carriedOut: 0n });
    expect(batch.figures).toEqual({ captureCount: 3n, refundCount: 1n, gross: 17_000n, refunds: 4_000n, feesCharged: 510n, feesReturned: 120n });
    expect(batch.window).toEqual({ start: new Date('2026-03-10T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') });
    expect(batch.controls).toMatchObject({ chunk_transactions: 1000, chunks: 1, chunks_verified: 1, business: { count: 4, gross: 13_000, fee: 390, net: 12_610 }, ledger: { count: 4, net: 12_610 } });
    const entry = await loadEntryByEvent(ledger.db, `settlement:${merchant}:USD:2026-03-10`);
    expect(entry?.id).toBe(batch.journalEntryId);
    expect(entry?.kind).toBe('settlement');
    expect(await balance(available(merchant))).toBe(12_610n);
    // What is left pending: the day before and the day after, not settled yet.
    expect(await balance(pending(merchant))).toBe(970n + 6_790n);

    // Re-running the day yields the identical batch and posts nothing.
    clock.set('2026-03-12T08:00:00Z');
    const again = one(await settleMerchantDay(deps(), merchant, '2026-03-10'));
    expect(again.outcome).toBe('unchanged');
    expect(again.batch).toEqual(batch);
    expect(await balance(available(merchant))).toBe(12_610n);

    // The next day holds the capture made at the cut-off.
    const next = one(await settleMerchantDay(deps(), merchant, '2026-03-11'));
    expect(next.batch).toMatchObject({ transactionCount: 1n, net: 6_790n, amountSettled: 6_790n });
    expect(next.batch!.window.start).toEqual(batch.window.end);
    // The day before now comes out of order: a later batch exists.
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-09')).outcome).toBe('out_of_order');
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });

  it('uses the merchant\'s time zone and cut-off: Shanghai 18:00', async () => {
    const merchant = await insertMerchant(ledger.db);
    await saveSettlementSettings(ledger.db, merchant, { timeZone: 'Asia/Shanghai', cutOffMinutes: 18 * 60 }, clock.now());
    await capture(ledger.db, merchant, '2026-03-09T10:00:00.000Z', 1_000n, 10n); // 18:00 on the 9th in Shanghai: the 10th
    await capture(ledger.db, merchant, '2026-03-10T09:59:59.999Z', 2_000n, 20n); // 17:59:59.999 on the 10th: the 10th
    await capture(ledger.db, merchant, '2026-03-10T10:00:00.000Z', 4_000n, 40n); // 18:00 on the 10th: the 11th
    clock.set('2026-03-10T10:00:59Z');
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-10')).outcome).toBe('day_not_closed');
    clock.set('2026-03-10T10:01:00Z');
    const day = one(await settleMerchantDay(deps(), merchant, '2026-03-10'));
    expect(day.batch).toMatchObject({ timeZone: 'Asia/Shanghai', cutOffMinutes: 1080, transactionCount: 2n, net: 2_970n });
    expect(day.batch!.window).toEqual({ start: new Date('2026-03-09T10:00:00Z'), end: new Date('2026-03-10T10:00:00Z') });
    clock.set('2026-03-12T00:00:00Z');
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-11')).batch).toMatchObject({ transactionCount: 1n, net: 3_960n });
  });

  it('stops a batch whose payments row was corrupted, names the chunk and the difference, posts nothing; settles once put right', async () => {
    const merchant = await insertMerchant(ledger.db);
    const payments = [];
    for (let i = 0; i < 2_100; i++) payments.push(await capture(ledger.db, merchant, new Date(Date.parse('2026-03-05T00:00:00Z') + i * 1_000).toISOString(), 1_000n + BigInt(i), 30n));
    const victim = payments[1_234]!;
    await ledger.db.query('UPDATE payments SET amount_captured = amount_captured - 100 WHERE id = $1', [victim.paymentId]);
    clock.set('2026-03-06T01:00:00Z');
    const stopped = one(await settleMerchantDay(deps(), merchant, '2026-03-05'));
    expect(stopped.outcome).toBe('failed');
    expect(stopped.detail).toMatch(/chunk 1 \(transactions 1000\.\.1999\).*gross differs by -100/);
    expect(stopped.batch).toMatchObject({ status: 'failed', transactionCount: 2_100n, amountSettled: 0n, journalEntryId: null, runCount: 1 });
    expect(stopped.batch!.failure).toMatchObject({
      reason: 'control_totals_mismatch', scope: 'chunk', chunk: 1, transactions: { from: 1_000, to: 1_999 },
      mismatches: [{ total: 'gross', difference: -100 }, { total: 'net', difference: -100 }],
    });
    expect(stopped.batch!.controls).toMatchObject({ chunks: 3, chunks_verified: 1 });
    expect(await loadEntryByEvent(ledger.db, `settlement:${merchant}:USD:2026-03-05`)).toBeUndefined();
    expect(await balance(available(merchant))).toBe(0n);
    // The next day is blocked while this one failed.
    await capture(ledger.db, merchant, '2026-03-06T12:00:00Z', 500n, 15n);
    clock.set('2026-03-07T01:00:00Z');
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-06')).outcome).toBe('blocked');

    await ledger.db.query('UPDATE payments SET amount_captured = amount_captured + 100 WHERE id = $1', [victim.paymentId]);
    const fixed = one(await settleMerchantDay(deps(), merchant, '2026-03-05'));
    expect(fixed.outcome).toBe('settled');
    expect(fixed.batch).toMatchObject({ id: stopped.batch!.id, status: 'settled', failure: null, runCount: 2 });
    const expectedNet = payments.reduce((total, p) => total + p.gross - p.fee, 0n);
    expect(fixed.batch!.amountSettled).toBe(expectedNet);
    expect(await balance(available(merchant))).toBe(expectedNet);
    expect(one(await settleMerchantDay(deps(), merchant, '2026-03-06')).outcome).toBe('settled');
  }, 120_000);

  it('carries a negative day forward instead of taking merchant_available below zero', async () => {
    const merchant = await insertMerchant(ledger.db);
    const first = await capture(ledger.db, merchant, '2026-03-01T10:00:00Z', 1_000n, 30n);
    await refund(ledger.db, first, '2026-03-02T10:00:00Z', 1_000n);
    await capture(ledger.db, merchant, '2026-03-02T11:00:00Z', 100n, 3n);
    await capture(ledger.db, merchant, '2026-03-03T10:00:00Z', 2_000n, 60n);
    clock.set('2026-03-04T00:05:00Z');
    const days = [];
    for (const date of ['2026-03-01', '2026-03-02', '2026-03-03']) days.push(one(await settleMerchantDay(deps(), merchant, date)).batch!);
    expect(days.map((b) => [b.net, b.carriedIn, b.amountSettled, b.carriedOut])).toEqual([
      [970n, 0n, 970n, 0n],
      [-873n, 0n, 0n, -873n],
      [1_940n, -873n, 1_067n, 0n],
    ]);
    expect(days[1]!.journalEntryId).toBeNull();
    expect(await balance(available(merchant))).toBe(970n + 1_067n);
    expect(await balance(pending(merchant))).toBe(0n);
  });

  it('keeps currencies apart, and the worker settles closed days once, oldest first', async () => {
    const merchant = await insertMerchant(ledger.db);
    await capture(ledger.db, merchant, '2026-04-01T10:00:00Z', 1_000n, 30n, 'USD');
    await capture(ledger.db, merchant, '2026-04-01T11:00:00Z', 800n, 8n, 'EUR');
    await capture(ledger.db, merchant, '2026-04-02T11:00:00Z', 600n, 6n, 'EUR');
    clock.set('2026-04-03T06:00:00Z');
    const first = await runSettlementWorker(deps());
    const mine = first.flatMap((r) => r.results).filter((r) => r.merchantId === merchant && r.batch !== null);
    expect(mine.map((r) => [r.date, r.currency, r.outcome, r.batch!.net])).toEqual([
      ['2026-04-01', 'EUR', 'settled', 792n],
      ['2026-04-01', 'USD', 'settled', 970n],
      ['2026-04-02', 'EUR', 'settled', 594n],
    ]);
    const second = await runSettlementWorker(deps());
    expect(second.flatMap((r) => r.results).filter((r) => r.merchantId === merchant && r.batch !== null)).toEqual([]);
    expect(await balance(available(merchant, 'EUR'))).toBe(792n + 594n);
    const report = await settleDay(deps(), { date: '2026-04-01', merchantId: merchant });
    expect(report.counts).toMatchObject({ unchanged: 2, settled: 0 });
  });
});
