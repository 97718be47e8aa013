// On the PostgreSQL server only (PGlite is one connection: nothing runs concurrently there).
// Sixteen workers hammer one hot merchant account and fee_revenue; afterwards every balance equals
// the sum of its postings and equals what a model of the workload says: no update was lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { money } from '../../src/kernel/money.ts';
import { account, feeRevenueAccount } from '../../src/ledger/domain/accounts.ts';
import { captureEntry, refundEntry, type EntryDraft } from '../../src/ledger/domain/entries.ts';
import { accountBalance, postEntries, postEntry, type PostResult } from '../../src/ledger/journal.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { openLedgerStore, type LedgerStore } from './support.ts';

const workers = 16;
const entriesPerWorker = 32; // 512 entries, 4 postings each (2 for refunds)

describe.runIf(process.env.TEST_DATABASE_URL)('ledger under concurrency on postgres', () => {
  let ledger: LedgerStore;
  beforeAll(async () => {
    ledger = await openLedgerStore('postgres', workers + 4);
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('loses no update on a hot merchant and fee_revenue under 16 concurrent workers', async () => {
    const merchant = 'mch_hot';
    const expected = { pending: 0n, receivable: 0n, fee: 0n };
    const drafts: EntryDraft[][] = [];
    for (let worker = 0; worker < workers; worker++) {
      const list: EntryDraft[] = [];
      for (let i = 0; i < entriesPerWorker; i++) {
        const gross = BigInt(1_000 + worker * 97 + i * 13);
        const fee = (gross * 3n) / 100n;
        const eventId = `pay_hot_${worker}_${i}`;
        list.push(captureEntry({ eventId, merchantId: merchant, channel: 'card_hot', gross: money(gross, 'USD'), fee: money(fee, 'USD') }));
        expected.receivable += gross;
        expected.pending += -gross + fee;
        expected.fee += -fee;
        if (i % 5 === 4) {
          // Refund the previous capture in full, in proportion: a debit of the hot merchant.
          const refund = refundEntry({
            eventId: `ref_hot_${worker}_${i}`, merchantId: merchant, channel: 'card_hot', gross: money(gross, 'USD'), fee: money(fee, 'USD'),
            refundedBefore: money(0n, 'USD'), refund: money(gross, 'USD'), feePolicy: 'proportional', merchantAccount: 'merchant_pending',
          });
          if (!refund.ok) throw new Error(refund.rejection);
          list.push(refund.entry);
          expected.receivable -= gross;
          expected.pending += gross - fee;
          expected.fee += fee;
        }
      }
      drafts.push(list);
    }
    // Every worker also posts the same shared event at the start: exactly one of them must win.
    const shared = captureEntry({ eventId: 'pay_hot_shared', merchantId: merchant, channel: 'card_hot', gross: money(5_000n, 'USD'), fee: money(150n, 'USD') });
    expected.receivable += 5_000n;
    expected.pending += -4_850n;
    expected.fee += -150n;

    let attempts = 0;
    const results: PostResult[] = [];
    const started = performance.now();
    await Promise.all(
      drafts.map(async (list) => {
        for (const draft of [shared, ...list]) {
          const result = await ledger.db.transaction((tx) => {
            attempts++;
            return postEntry(tx, draft);
          });
          results.push(result);
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const entries = drafts.flat().length + 1;
    console.log(`ledger concurrency: ${entries} entries by ${workers} workers in ${elapsedMs.toFixed(0)} ms, ${attempts - results.length} transaction retries`);

    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && !r.replayed).length).toBe(entries);
    expect(results.filter((r) => r.ok && r.replayed).length).toBe(workers - 1);
    expect(entries).toBeGreaterThanOrEqual(500);

    expect((await accountBalance(ledger.db, account('merchant_pending', merchant, 'USD'))).amount).toBe(expected.pending);
    expect((await accountBalance(ledger.db, account('channel_receivable', 'card_hot', 'USD'))).amount).toBe(expected.receivable);
    expect((await accountBalance(ledger.db, feeRevenueAccount('USD'))).amount).toBe(expected.fee);
    const { rows } = await ledger.db.query<{ n: bigint; postings: bigint }>(
      'SELECT (SELECT count(*) FROM journal_entries)::bigint AS n, (SELECT count(*) FROM postings)::bigint AS postings',
    );
    expect(rows[0]!.n).toBe(BigInt(entries));
    const report = await checkLedger(ledger.db);
    expect(report.checks.map((c) => [c.name, c.ok, c.detail])).toEqual([
      ['entries_balance', true, `${entries} entries balance`],
      ['balances_equal_postings', true, expect.stringMatching(/account rows equal/)],
      ['trial_balance', true, 'balances sum to zero in every currency'],
      // Entries posted directly, not by payments or refunds: none keyed capture:/refund:.
      ['captures_match_payments', true, expect.any(String)],
      ['refunds_match_refunds', true, expect.any(String)],
      ['late_successes_booked', true, expect.any(String)],
    ]);
  }, 120_000);

  it('posts overlapping batches from 16 workers: each event once, balances whole', async () => {
    const merchant = 'mch_hot_batches';
    const batchSize = 20;
    const batchesPerWorker = 4;
    // Worker w posts events w*40 .. w*40+79: half of each worker's events are also its neighbour's,
    // so batches race on the same events (the loser runs again and finds them as replays).
    const eventsOf = (worker: number) => Array.from({ length: batchSize * batchesPerWorker }, (_, i) => (worker * 40 + i) % (workers * 40));
    const draftOf = (event: number) =>
      captureEntry({ eventId: `pay_batch_hot_${event}`, merchantId: merchant, channel: 'card_hot', gross: money(BigInt(500 + event), 'USD'), fee: money(BigInt(10 + (event % 7)), 'USD') });
    let attempts = 0;
    let batches = 0;
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        const events = eventsOf(worker);
        for (let b = 0; b < batchesPerWorker; b++) {
          const results = await ledger.db.transaction((tx) => {
            attempts++;
            return postEntries(tx, events.slice(b * batchSize, (b + 1) * batchSize).map(draftOf));
          });
          batches++;
          expect(results.every((r) => r.ok)).toBe(true);
        }
      }),
    );
    console.log(`ledger batches: ${batches} batches of ${batchSize}, ${attempts - batches} transaction retries`);
    const distinct = workers * 40;
    let pending = 0n;
    for (let event = 0; event < distinct; event++) pending += -BigInt(500 + event) + BigInt(10 + (event % 7));
    const { rows } = await ledger.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM journal_entries WHERE event_id LIKE 'pay_batch_hot_%'");
    expect(rows[0]!.n).toBe(BigInt(distinct));
    expect((await accountBalance(ledger.db, account('merchant_pending', merchant, 'USD'))).amount).toBe(pending);
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  }, 120_000);

  it('runs a batch again when an event of it commits elsewhere mid-batch, and then refuses the different replay', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const firstInserted = new Promise<void>((resolve) => (inserted = resolve));
    const event = 'pay_race_mid_batch';
    const first = ledger.db.transaction(async (tx) => {
      const result = await postEntry(tx, captureEntry({ eventId: event, merchantId: 'mch_race_a', channel: 'card_race', gross: money(900n, 'USD'), fee: money(9n, 'USD') }));
      inserted();
      await held; // keep the entry uncommitted while the batch runs
      return result;
    });
    await firstInserted;
    let attempts = 0;
    const batch = ledger.db.transaction((tx) => {
      attempts++;
      // EUR accounts only: no lock in common with the first transaction, so only the event id meets.
      return postEntries(tx, [
        captureEntry({ eventId: 'pay_race_other', merchantId: 'mch_race_b', channel: 'card_race', gross: money(100n, 'EUR'), fee: money(1n, 'EUR') }),
        captureEntry({ eventId: event, merchantId: 'mch_race_b', channel: 'card_race', gross: money(500n, 'EUR'), fee: money(5n, 'EUR') }),
      ]);
    });
    // Release the first transaction only once the batch waits on a lock (the event's unique key).
    for (let polls = 0; ; polls++) {
      const { rows } = await ledger.db.query<{ n: bigint }>(
        "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if (rows[0]!.n > 0n) break;
      if (polls > 500) throw new Error('the batch never waited on the event');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    expect(await first).toMatchObject({ ok: true, replayed: false });
    const results = await batch;
    expect(attempts).toBe(2);
    expect(results.map((r) => (r.ok ? 'posted' : r.rejection))).toEqual(['posted', 'event_posted_with_other_postings']);
    expect((await accountBalance(ledger.db, account('merchant_pending', 'mch_race_b', 'EUR'))).amount).toBe(-99n);
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });
});
