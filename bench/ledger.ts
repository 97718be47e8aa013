// Ledger postings/s on a throwaway PostgreSQL cluster: captures (4 postings each) posted by
// concurrent workers, one entry per transaction ("single") and many per transaction ("batched",
// through postEntries), spread over many merchants and all on one hot merchant. fee_revenue and
// channel_receivable are slotted (see src/ledger/domain/accounts.ts) in every run.
// Not wired into the CLI yet: `node --import tsx -e "import('./bench/ledger.ts').then(m => m.runLedgerBenchmark(process.argv.slice(1)))" -- --entries 20000`

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres.ts';
import type { Database } from '../src/db/database.ts';
import { money } from '../src/kernel/money.ts';
import { captureEntry, type EntryDraft } from '../src/ledger/domain/entries.ts';
import { postEntries, postEntry } from '../src/ledger/journal.ts';
import { checkLedger } from '../src/ledger/check.ts';
import { ledgerLimits } from '../src/ledger/limits.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';

export interface LedgerBenchOptions {
  readonly entries: number;
  readonly workers: number;
  readonly batch: number;
  readonly merchants: number;
}

const defaults: LedgerBenchOptions = { entries: 20_000, workers: 16, batch: 100, merchants: 1_000 };
const entries_max = 10_000_000;
const workers_max = 128;

export function parseLedgerBenchOptions(argv: readonly string[]): LedgerBenchOptions {
  const options: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (name === undefined || !(name in defaults) || !Number.isSafeInteger(value) || value < 1) throw new Error(`ledger bench: bad option ${argv[i]} ${argv[i + 1]}`);
    options[name] = value;
  }
  if (options.entries! > entries_max || options.workers! > workers_max || options.batch! > ledgerLimits.entries_per_batch_max) throw new Error('ledger bench: an option is above its maximum');
  return options as unknown as LedgerBenchOptions;
}

export interface LedgerRunResult {
  readonly name: string;
  readonly entries: number;
  readonly postings: number;
  readonly seconds: number;
  readonly postings_per_second: number;
}

function drafts(run: string, count: number, merchants: number): EntryDraft[] {
  return Array.from({ length: count }, (_, i) => {
    const gross = BigInt(1_000 + (i % 9_000));
    return captureEntry({
      eventId: `${run}_${i}`,
      merchantId: `mch_bench_${i % merchants}`,
      channel: 'card_bench',
      gross: money(gross, 'USD'),
      fee: money((gross * 29n) / 1_000n + 30n, 'USD'),
    });
  });
}

async function timedRun(db: Database, name: string, list: EntryDraft[], workers: number, batch: number): Promise<LedgerRunResult> {
  // Warm the accounts up (creation is a one-off, not what is measured).
  const warm = [...new Map(list.map((d) => [d.merchantId, d])).values()].map((d) => ({ ...d, eventId: `${d.eventId}_warm` }));
  for (let i = 0; i < warm.length; i += batch) await db.transaction((tx) => postEntries(tx, warm.slice(i, i + batch)));
  let next = 0;
  let postings = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) {
        const slice = list.slice(next, next + batch);
        next += batch;
        if (slice.length === 0) return;
        const results = batch === 1 ? [await db.transaction((tx) => postEntry(tx, slice[0]!))] : await db.transaction((tx) => postEntries(tx, slice));
        for (const [index, result] of results.entries()) {
          if (!result.ok) throw new Error(`ledger bench: ${result.rejection}`);
          postings += slice[index]!.postings.length;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  return { name, entries: list.length, postings, seconds, postings_per_second: postings / seconds };
}

export async function runLedgerBenchmark(argv: readonly string[]): Promise<LedgerRunResult[]> {
  const options = parseLedgerBenchOptions(argv);
  const cluster = await startPgCluster();
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const name = `ledger_bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(cluster.socketUrl);
    url.pathname = `/${name}`;
    const db = openPostgres({ url: url.toString(), poolSize: options.workers });
    await migrate(db);
    const { entries, workers, batch, merchants } = options;
    const results = [
      await timedRun(db, `single, ${merchants} merchants`, drafts('single', entries, merchants), workers, 1),
      await timedRun(db, `batched ×${batch}, ${merchants} merchants`, drafts('batched', entries, merchants), workers, batch),
      await timedRun(db, 'single, one hot merchant', drafts('single_hot', entries, 1), workers, 1),
      await timedRun(db, `batched ×${batch}, one hot merchant`, drafts('batched_hot', entries, 1), workers, batch),
    ];
    const report = await checkLedger(db);
    await db.close();
    console.log(`ledger postings/s (${workers} workers, fsync on, over a Unix socket)`);
    for (const r of results) console.log(`  ${r.name.padEnd(36)} ${r.postings} postings in ${r.seconds.toFixed(2)} s: ${Math.round(r.postings_per_second)} postings/s`);
    console.log(`  ledger check: ${report.ok ? 'ok' : 'FAILED'} (${report.checks.map((c) => c.detail).join('; ')})`);
    if (!report.ok) throw new Error('ledger bench: the ledger check failed');
    return results;
  } finally {
    cluster.stop();
  }
}
