// The set-based sums of a page of merchants (windowSumsOfMerchants, which settleDay uses when it
// settles every merchant) answer exactly what the per-merchant queries answer: chunks, business
// and ledger sums, whole-batch totals, per currency; with captures and refunds, two currencies,
// a merchant on its own schedule, entries outside the windows, one merchant over two chunks and
// a corrupted payments row. And settleDay over all merchants still stops the corrupted batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { chunkSumsByCurrency, ledgerTotalsByCurrency, windowKey, windowSumsOfMerchants, type MerchantWindow } from '../../src/settlement/control-totals.ts';
import { dayWindow } from '../../src/settlement/domain/day-window.ts';
import { settleDay } from '../../src/settlement/service.ts';
import { saveSettlementSettings } from '../../src/settlement/settings.ts';
import { stores } from '../support/harness.ts';
import { openLedgerStore, type LedgerStore } from '../ledger/support.ts';
import { capture, insertMerchant, refund, settlementDeps } from './support.ts';

const date = '2026-05-10';

describe.each(stores)('settlement sums of a page of merchants on %s', (store) => {
  let ledger: LedgerStore;
  const clock = new ManualClock('2026-05-12T00:00:00Z');
  const merchants: string[] = [];
  let victimPayment = '';
  beforeAll(async () => {
    ledger = await openLedgerStore(store);
    const db = ledger.db;
    for (let i = 0; i < 3; i++) merchants.push(await insertMerchant(db));
    const [big, mixed, shanghai] = merchants as [string, string, string];
    // Over two chunks (1,000 transactions each), one row corrupted in the second.
    for (let i = 0; i < 1_050; i++) {
      const payment = await capture(db, big, new Date(Date.parse(`${date}T00:00:00Z`) + i * 60_000).toISOString(), 1_000n + BigInt(i), 29n + BigInt(i % 7));
      if (i === 1_020) victimPayment = payment.paymentId;
    }
    // Two currencies, refunds, and entries of the days around.
    const usd = await capture(db, mixed, `${date}T03:00:00Z`, 10_000n, 300n, 'USD');
    await refund(db, usd, `${date}T05:00:00Z`, 2_500n);
    await refund(db, usd, `${date}T06:00:00Z`, 500n, 2_500n);
    await capture(db, mixed, `${date}T07:00:00Z`, 4_000n, 40n, 'EUR');
    await capture(db, mixed, '2026-05-09T23:59:59.999Z', 1_000n, 10n, 'USD');
    await capture(db, mixed, '2026-05-11T00:00:00Z', 1_000n, 10n, 'EUR');
    // Shanghai, cut-off 18:00: its day 2026-05-10 is [2026-05-09T10:00Z, 2026-05-10T10:00Z).
    await saveSettlementSettings(db, shanghai, { timeZone: 'Asia/Shanghai', cutOffMinutes: 18 * 60 }, clock.now());
    await capture(db, shanghai, '2026-05-09T10:00:00Z', 700n, 7n);
    await capture(db, shanghai, '2026-05-10T09:59:59.999Z', 800n, 8n);
    await capture(db, shanghai, '2026-05-10T10:00:00Z', 900n, 9n);
    await ledger.db.query('UPDATE payments SET amount_captured = amount_captured - 100 WHERE id = $1', [victimPayment]);
  }, 180_000);
  afterAll(async () => {
    await ledger.close();
  });

  it('equals the per-merchant queries, merchant by merchant, including an empty one', async () => {
    const empty = await insertMerchant(ledger.db);
    const windows: MerchantWindow[] = [...merchants, empty].map((merchantId, i) => ({
      merchantId,
      window: dayWindow(date, i === 2 ? { timeZone: 'Asia/Shanghai', cutOffMinutes: 18 * 60 } : { timeZone: 'UTC', cutOffMinutes: 0 }),
    }));
    const page = await windowSumsOfMerchants(ledger.db, windows);
    expect(page.size).toBe(windows.length);
    for (const { merchantId, window } of windows) {
      const alone = { chunks: await chunkSumsByCurrency(ledger.db, merchantId, window), totals: await ledgerTotalsByCurrency(ledger.db, merchantId, window) };
      expect(page.get(windowKey(merchantId, window))).toEqual(alone);
    }
    const [big, mixed, shanghai] = merchants as [string, string, string];
    const of = (merchantId: string, i: number) => page.get(windowKey(merchantId, windows[i]!.window))!;
    expect(of(big, 0).chunks.get('USD')!.map((c) => c.ledger.count)).toEqual([1_000n, 50n]);
    expect([...of(mixed, 1).chunks.keys()].sort()).toEqual(['EUR', 'USD']);
    expect(of(mixed, 1).totals.get('USD')!.count).toBe(3n);
    expect(of(shanghai, 2).totals.get('USD')!.count).toBe(2n);
    expect(of(empty, 3).chunks.size).toBe(0);
  });

  it('settleDay over every merchant stops the corrupted batch at its chunk and settles the others', async () => {
    const report = await settleDay(settlementDeps(ledger.db, clock), { date });
    const mine = report.results.filter((r) => merchants.includes(r.merchantId));
    const outcome = (merchantId: string, currency: string) => mine.find((r) => r.merchantId === merchantId && r.currency === currency);
    const [big, mixed, shanghai] = merchants as [string, string, string];
    expect(outcome(big, 'USD')).toMatchObject({ outcome: 'failed', batch: { failure: { scope: 'chunk', chunk: 1, transactions: { from: 1_000, to: 1_049 } } } });
    expect(outcome(mixed, 'USD')).toMatchObject({ outcome: 'settled', batch: { transactionCount: 3n } });
    expect(outcome(mixed, 'EUR')).toMatchObject({ outcome: 'settled', batch: { transactionCount: 1n } });
    expect(outcome(shanghai, 'USD')).toMatchObject({ outcome: 'settled', batch: { transactionCount: 2n, net: 1_500n - 15n } });
    // Run again: the settled batches are recomputed and found identical, the failed one fails again.
    const again = await settleDay(settlementDeps(ledger.db, clock), { date });
    const mineAgain = again.results.filter((r) => merchants.includes(r.merchantId));
    expect(mineAgain.map((r) => r.outcome).sort()).toEqual(['failed', 'unchanged', 'unchanged', 'unchanged']);
  });
});
