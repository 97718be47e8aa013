// Settlement of 1,000,000 transactions on a throwaway PostgreSQL cluster (issue 4, item 8):
// loads one day of captures (payments rows, orders, capture journal entries and their postings)
// with set-based SQL, then settles the day through the same code the worker runs (settleDay),
// and prints wall time and peak memory (this process's RSS, and PostgreSQL's private memory:
// the sum of RssAnon over the server's processes, so shared_buffers are not counted) against
// the targets: under 10 s, under 512 MB.
//
// In the CLI: clearway bench settlement [--transactions N] [--merchants M] [--check] (without
// --merchants: both shapes, 1 merchant then 100). Alone, one shape:
// node --import tsx bench/settlement.ts [--transactions 1000000] [--merchants 1]
// From code: runSettlementBenchmark({ transactions, merchants }) -> SettlementBenchResult

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres.ts';
import type { Database } from '../src/db/database.ts';
import { ManualClock } from '../src/kernel/clock.ts';
import { account, feeRevenueAccount, slotAccountId } from '../src/ledger/domain/accounts.ts';
import { ensureAccounts } from '../src/ledger/journal.ts';
import { checkLedger } from '../src/ledger/check.ts';
import { settleDay, type SettleDayReport } from '../src/settlement/service.ts';
import { platformDefaultSchedule } from '../src/settlement/settings.ts';
import { startPgCluster } from '../test/support/pg-cluster.ts';

export interface SettlementBenchOptions {
  /** Capture transactions in the settled day. */
  readonly transactions: number;
  /** Merchants they are spread over (1: one batch of them all, the hardest case). */
  readonly merchants: number;
  /** Run the full ledger check after loading (proves the loaded books are whole; slow, not timed). */
  readonly check: boolean;
}

export interface SettlementBenchResult {
  readonly transactions: number;
  readonly merchants: number;
  readonly batches: number;
  readonly load_seconds: number;
  readonly settle_seconds: number;
  readonly process_rss_peak_mb: number;
  readonly postgres_private_peak_mb: number | null;
  readonly targets: { readonly settle_seconds_max: number; readonly memory_mb_max: number };
  readonly met: boolean;
}

const defaults: SettlementBenchOptions = { transactions: 1_000_000, merchants: 1, check: false };
/** The shapes `clearway bench settlement` runs without --merchants: one batch of everything, and 100 batches. */
export const settlement_default_shapes: readonly number[] = [1, 100];

export const settlementBenchUsage = `usage: clearway bench settlement [--transactions N] [--merchants M] [--check]

  --transactions N   captures in the settled day (default 1000000)
  --merchants M      merchants they are spread over (default: two runs, 1 merchant then 100)
  --check            run the full ledger check after loading (not timed)`;
const transactions_max = 10_000_000;
const merchants_max = 10_000;
const targets = { settle_seconds_max: 10, memory_mb_max: 512 };
const memory_sample_ms = 50;
const day = '2026-06-15';
const channel = 'card_bench';
const megabyte = 1024 * 1024;

export function parseSettlementBenchOptions(argv: readonly string[]): SettlementBenchOptions {
  const options: { -readonly [K in keyof SettlementBenchOptions]: SettlementBenchOptions[K] } = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (name === '--check') {
      options.check = true;
      continue;
    }
    const value = Number(argv[++i]);
    if (name === '--transactions' && Number.isSafeInteger(value) && value >= 1 && value <= transactions_max) options.transactions = value;
    else if (name === '--merchants' && Number.isSafeInteger(value) && value >= 1 && value <= merchants_max) options.merchants = value;
    else throw new Error(`settlement bench: bad option ${name} ${argv[i] ?? ''}`);
  }
  return options;
}

/** The day's captures, spread evenly over its 24 hours; event ids and ids as the wiring writes them. */
export async function loadDay(db: Database, url: string, options: SettlementBenchOptions): Promise<string[]> {
  const merchants = Array.from({ length: options.merchants }, (_, i) => `mch_bench${String(i).padStart(20, '0')}`);
  const receivable = account('channel_receivable', channel, 'USD');
  const accountIds = [...merchants.map((m) => slotAccountId(account('merchant_pending', m, 'USD'), 0)), slotAccountId(receivable, 0), slotAccountId(feeRevenueAccount('USD'), 0)];
  await db.transaction((tx) => ensureAccounts(tx, accountIds));
  // One session, triggers off (session_replication_role = replica) for the bulk load: the
  // foreign-key checks of millions of rows and the balance checks are skipped. The entries are
  // still written with their postings in one statement, as the database requires when its
  // triggers are on (0017). Balances are then set from the postings, and `--check` proves the
  // books whole afterwards.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL session_replication_role = 'replica'");
    await client.query('SELECT setseed(0.42)');
    const params = [options.transactions, options.merchants, `${day}T00:00:00Z`];
    await client.query(
      `CREATE TEMP TABLE bench_tx ON COMMIT DROP AS
       SELECT i, 'mch_bench' || lpad(((i - 1) % $2)::text, 20, '0') AS merchant_id, lpad(i::text, 24, '0') AS body,
              (1000 + (i::bigint * 7919) % 99000) AS gross, $3::timestamptz + ((i - 1) * (86400000.0 / $1)) * interval '1 millisecond' AS at
         FROM generate_series(1, $1::integer) AS i`,
      params,
    );
    await client.query(`INSERT INTO merchants (id, name, api_key_hash, api_key_last4, created_at)
      SELECT DISTINCT merchant_id, 'Bench Shop', md5(merchant_id), 'xxxx', now() FROM bench_tx`);
    await client.query(`INSERT INTO orders (id, merchant_id, status, currency, items, amount_subtotal, amount_discount, amount_total, pricing_log, expires_at, created_at, updated_at)
      SELECT 'ord_' || body, merchant_id, 'paid', 'USD', '[]', gross, 0, gross, '[]', at, at, at FROM bench_tx`);
    await client.query(`INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, amount_captured, risk, fee_amount, channel_fee_amount, created_at, updated_at)
      SELECT 'pay_' || body, merchant_id, 'ord_' || body, 'succeeded', gross, 'USD', 'card', '${channel}', gross, '{}', (gross * 29) / 1000 + 30, (gross * 15) / 1000, at, at FROM bench_tx`);
    // The capture entries and their postings as captureEntry builds them (channel_receivable and
    // fee_revenue on their slots), in one statement.
    await client.query(`WITH e AS (INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at)
      SELECT 'jrn_' || body, 'capture:pay_' || body, 'capture', merchant_id, at FROM bench_tx RETURNING 1)
      INSERT INTO postings (entry_id, line, account_id, currency, amount)
      SELECT 'jrn_' || body, line, account_id, 'USD', amount FROM bench_tx,
      LATERAL (VALUES
        (0, 'channel_receivable:${channel}:USD' || CASE WHEN i % 16 = 0 THEN '' ELSE '#' || lpad((i % 16)::text, 2, '0') END, gross),
        (1, 'merchant_pending:' || merchant_id || ':USD', -gross),
        (2, 'merchant_pending:' || merchant_id || ':USD', (gross * 29) / 1000 + 30),
        (3, 'fee_revenue:platform:USD' || CASE WHEN i % 16 = 0 THEN '' ELSE '#' || lpad((i % 16)::text, 2, '0') END, -((gross * 29) / 1000 + 30)),
        (4, 'channel_fee_expense:${channel}:USD', (gross * 15) / 1000),
        (5, 'channel_receivable:${channel}:USD' || CASE WHEN i % 16 = 0 THEN '' ELSE '#' || lpad((i % 16)::text, 2, '0') END, -((gross * 15) / 1000))
      ) AS p(line, account_id, amount)
      WHERE amount <> 0`);
    await client.query(`INSERT INTO ledger_accounts (id, logical_id, slot, type, owner, currency, normal_balance, allow_negative)
      VALUES ('channel_fee_expense:${channel}:USD', 'channel_fee_expense:${channel}:USD', 0, 'channel_fee_expense', '${channel}', 'USD', 'debit', true)
      ON CONFLICT (id) DO NOTHING`);
    await client.query('UPDATE ledger_accounts a SET balance = s.total FROM (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) s WHERE a.id = s.account_id');
    await client.query('COMMIT');
    await client.query('VACUUM ANALYZE journal_entries, postings, payments, ledger_accounts');
  } finally {
    await client.end();
  }
  return merchants;
}

/** Peaks of sampled figures while `work` runs. */
async function withPeaks<T>(samplers: ReadonlyArray<() => number | null>, work: () => Promise<T>): Promise<{ value: T; peaks: (number | null)[] }> {
  const peaks: (number | null)[] = samplers.map(() => null);
  const sample = (): void => {
    samplers.forEach((sampler, i) => {
      const now = sampler();
      if (now !== null) peaks[i] = Math.max(peaks[i] ?? 0, now);
    });
  };
  sample();
  const timer = setInterval(sample, memory_sample_ms);
  try {
    const value = await work();
    sample();
    return { value, peaks };
  } finally {
    clearInterval(timer);
  }
}

/** Private (anonymous) resident memory of the server's processes, in bytes; null where /proc cannot tell. */
function postgresPrivateBytes(postmasterPid: number): number | null {
  try {
    let total = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      let status: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        status = readFileSync(`/proc/${entry}/status`, 'utf8');
      } catch {
        continue; // the process ended
      }
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (Number(entry) !== postmasterPid && parent !== postmasterPid) continue;
      const anon = /RssAnon:\s+(\d+) kB/.exec(status);
      if (anon) total += Number(anon[1]) * 1024;
    }
    return total;
  } catch {
    return null;
  }
}

export async function runSettlementBenchmark(input: Partial<SettlementBenchOptions> = {}): Promise<SettlementBenchResult> {
  const options = { ...defaults, ...input };
  const cluster = await startPgCluster();
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const name = `settlement_bench_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const dataDirectory = String((await admin.query('SHOW data_directory')).rows[0].data_directory);
    await admin.end();
    const postmasterPid = Number(readFileSync(path.join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const url = new URL(cluster.socketUrl);
    url.pathname = `/${name}`;
    const db = openPostgres({ url: url.toString(), poolSize: 4 });
    try {
      await migrate(db);
      let started = performance.now();
      await loadDay(db, url.toString(), options);
      const loadSeconds = (performance.now() - started) / 1000;
      console.log(`settlement bench: loaded ${options.transactions} captures for ${options.merchants} merchant(s) in ${loadSeconds.toFixed(1)} s`);
      if (options.check) {
        const report = await checkLedger(db);
        console.log(`settlement bench: ledger check after loading: ${report.ok ? 'ok' : 'FAILED'}`);
        if (!report.ok) throw new Error(`settlement bench: the loaded ledger is not whole: ${JSON.stringify(report.checks)}`);
      }
      const deps = { db, clock: new ManualClock('2026-06-16T06:00:00Z'), logger: pino({ level: 'warn' }), defaultSchedule: platformDefaultSchedule };
      started = performance.now();
      const { value: report, peaks } = await withPeaks([() => process.memoryUsage().rss, () => postgresPrivateBytes(postmasterPid)], () => settleDay(deps, { date: day }));
      const settleSeconds = (performance.now() - started) / 1000;
      // Re-running the day recomputes every batch and posts nothing: it must find them identical.
      started = performance.now();
      const rerun = await settleDay(deps, { date: day });
      if (rerun.counts.unchanged !== report.counts.settled) throw new Error(`settlement bench: the re-run did not find the identical batches: ${JSON.stringify(rerun.counts)}`);
      console.log(`settlement bench: verifying re-run: ${rerun.counts.unchanged} batch(es) unchanged in ${((performance.now() - started) / 1000).toFixed(2)} s`);
      return summarize(options, report, loadSeconds, settleSeconds, peaks[0] ?? 0, peaks[1] ?? null);
    } finally {
      await db.close();
    }
  } finally {
    cluster.stop();
  }
}

function summarize(options: SettlementBenchOptions, report: SettleDayReport, loadSeconds: number, settleSeconds: number, rssPeak: number, pgPeak: number | null): SettlementBenchResult {
  const settled = report.results.filter((r) => r.outcome === 'settled');
  const transactions = settled.reduce((total, r) => total + Number(r.batch!.transactionCount), 0);
  if (settled.length !== options.merchants || transactions !== options.transactions) {
    throw new Error(`settlement bench: expected ${options.merchants} settled batch(es) of ${options.transactions} transactions, got ${JSON.stringify(report.counts)} holding ${transactions}`);
  }
  const processMb = rssPeak / megabyte;
  const postgresMb = pgPeak === null ? null : pgPeak / megabyte;
  const met = settleSeconds < targets.settle_seconds_max && processMb < targets.memory_mb_max && (postgresMb === null || postgresMb < targets.memory_mb_max);
  const result: SettlementBenchResult = {
    transactions, merchants: options.merchants, batches: settled.length, load_seconds: loadSeconds, settle_seconds: settleSeconds,
    process_rss_peak_mb: processMb, postgres_private_peak_mb: postgresMb, targets, met,
  };
  console.log(`settlement of ${transactions} transactions in ${settled.length} batch(es), control totals every 1,000:`);
  console.log(`  wall time              ${settleSeconds.toFixed(2)} s   (target < ${targets.settle_seconds_max} s)`);
  console.log(`  process RSS peak       ${processMb.toFixed(0)} MB   (target < ${targets.memory_mb_max} MB)`);
  console.log(`  PostgreSQL private     ${postgresMb === null ? 'n/a' : `${postgresMb.toFixed(0)} MB`}   (target < ${targets.memory_mb_max} MB; peak RssAnon summed over the server's processes)`);
  console.log(`  ${met ? 'targets met' : 'TARGETS MISSED'}`);
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSettlementBenchmark(parseSettlementBenchOptions(process.argv.slice(2))).then(
    (result) => process.exit(result.met ? 0 : 1),
    (error: unknown) => {
      process.stderr.write(`settlement bench: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
