// `clearway bench ledger`: ledger postings/s on a throwaway PostgreSQL cluster (fsync on), and
// pgbench's rate for the same kind of work in the same run, for scale (issue 4, item 8).
//
// What is counted: a posting is one row of `postings`. The entries are captures as captureEntry
// builds them without a channel fee: 4 postings each (Dr channel_receivable / Cr merchant_pending:
// gross; Dr merchant_pending / Cr fee_revenue: our fee); one run adds the channel's fee (6 postings,
// one of them on channel_fee_expense). fee_revenue, channel_receivable and channel_fee_expense are
// slotted (16 rows each), merchant_pending (4 rows), in every run.
//
// Runs, in this order, each on the same database:
//   single      one postEntry per transaction, `clients` concurrent clients, over `merchants` merchants
//   batched     postEntries of `batch` entries per transaction, `batchers` concurrent batchers
//   single/hot, batched/hot   the same with every entry on one merchant (its merchant_pending slots, and fee_revenue)
//   single + channel fee      6 postings per entry
// then pgbench, in a database of its own migrated with our schema (same tables, constraints and
// balance triggers), `clients` clients, a custom script doing one double-entry posting per
// transaction in three statements, under the same rules as ours (0017: an entry and its postings
// in one statement): insert the entry with its two postings, update the two account balances
// (Dr merchant_pending / Cr fee_revenue): over `merchants` merchants and the 16
// fee_revenue slots, and again all on one merchant and one fee_revenue row (no slots).
// Accounts are created before the timed part (creation is a one-off). The ledger check runs at the
// end over everything posted. Everything started here is stopped at the end, on error and on SIGINT.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { openPostgres } from '../src/db/postgres.ts';
import type { Database } from '../src/db/database.ts';
import { money } from '../src/kernel/money.ts';
import { account, feeRevenueAccount, slotAccountId } from '../src/ledger/domain/accounts.ts';
import { captureEntry, type EntryDraft } from '../src/ledger/domain/entries.ts';
import { ensureAccounts, postEntries, postEntry } from '../src/ledger/journal.ts';
import { checkLedger } from '../src/ledger/check.ts';
import { ledgerLimits } from '../src/ledger/limits.ts';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.ts';
import { machineFacts, type MachineFacts } from './machine.ts';
import { parsePgbenchOutput } from './pgbench.ts';
import { psqlQuery, runClient } from './run-client.ts';

export interface LedgerBenchOptions {
  readonly single_entries: number;
  readonly batched_entries: number;
  readonly clients: number;
  readonly batchers: number;
  readonly batch: number;
  readonly merchants: number;
  readonly pgbench_duration_seconds: number;
  readonly skip_pgbench: boolean;
  readonly help: boolean;
}

export const ledgerBenchUsage = `usage: clearway bench ledger [--single-entries N] [--batched-entries N] [--clients C] [--batchers B] [--batch N] [--merchants M] [--pgbench-duration S] [--skip-pgbench]

  --single-entries N     entries posted one per transaction, per single run (default 10000)
  --batched-entries N    entries posted in batches, per batched run (default 100000)
  --clients C            concurrent clients of the single runs, and of pgbench (default 16)
  --batchers B           concurrent batchers of the batched runs (default 4)
  --batch N              entries per postEntries call (one transaction; default 1000, at most ${ledgerLimits.entries_per_batch_max})
  --merchants M          merchants the entries are spread over, outside the hot runs (default 1000)
  --pgbench-duration S   seconds of each pgbench run (default 15)
  --skip-pgbench         no pgbench, so no ratio`;

const entries_max = 5_000_000;
const clients_max = 128;
const merchants_max = 100_000;

function integerFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

export function parseLedgerBenchOptions(argv: readonly string[]): LedgerBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'single-entries': { type: 'string' },
      'batched-entries': { type: 'string' },
      clients: { type: 'string' },
      batchers: { type: 'string' },
      batch: { type: 'string' },
      merchants: { type: 'string' },
      'pgbench-duration': { type: 'string' },
      'skip-pgbench': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return Object.freeze({
    single_entries: integerFlag('single-entries', values['single-entries'], 10_000, 1, entries_max),
    batched_entries: integerFlag('batched-entries', values['batched-entries'], 100_000, 1, entries_max),
    clients: integerFlag('clients', values.clients, 16, 1, clients_max),
    batchers: integerFlag('batchers', values.batchers, 4, 1, clients_max),
    batch: integerFlag('batch', values.batch, 1_000, 1, ledgerLimits.entries_per_batch_max),
    merchants: integerFlag('merchants', values.merchants, 1_000, 1, merchants_max),
    pgbench_duration_seconds: integerFlag('pgbench-duration', values['pgbench-duration'], 15, 1, 3_600),
    skip_pgbench: values['skip-pgbench'] ?? false,
    help: values.help ?? false,
  });
}

export interface LedgerRunResult {
  readonly name: string;
  readonly concurrency: number;
  readonly entries_per_transaction: number;
  readonly entries: number;
  readonly postings: number;
  readonly seconds: number;
  readonly entries_per_second: number;
  readonly postings_per_second: number;
}

export interface PgbenchPostingResult {
  readonly name: string;
  readonly clients: number;
  readonly duration_seconds: number;
  /** Transactions per second = double-entry postings (entries) per second. */
  readonly tps: number;
  /** Rows of postings per second: two per transaction. */
  readonly postings_per_second: number;
  readonly transactions: number | null;
  readonly failed_transactions: number | null;
  readonly command: string;
}

export interface LedgerBenchResult {
  readonly started_at: string;
  readonly command: string;
  readonly options: LedgerBenchOptions;
  readonly machine: MachineFacts;
  readonly load_before: readonly number[];
  readonly runs: readonly LedgerRunResult[];
  readonly pgbench: readonly PgbenchPostingResult[];
  readonly targets: readonly LedgerVerdict[];
  readonly ledger_check_ok: boolean;
}

export interface LedgerVerdict {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

const channel = 'card_bench';
const pgbench_threads = 2;
const postings_per_pgbench_transaction = 2;
/** Postings/s batched, at least (issue 4). */
const target_batched_postings_per_second = 20_000;
/** Batched postings/s over pgbench's single-posting postings/s, at least (issue 4). */
const target_ratio_to_pgbench = 8;

const merchantOf = (index: number): string => `mch_bench_${index}`;

function drafts(run: string, count: number, merchants: number, withChannelFee: boolean): EntryDraft[] {
  return Array.from({ length: count }, (_, i) => {
    const gross = BigInt(1_000 + (i % 9_000));
    return captureEntry({
      eventId: `${run}_${i}`,
      merchantId: merchantOf(i % merchants),
      channel,
      gross: money(gross, 'USD'),
      fee: money((gross * 29n) / 1_000n + 30n, 'USD'),
      ...(withChannelFee ? { channelFee: money((gross * 15n) / 1_000n, 'USD') } : {}),
    });
  });
}

/** Every physical account the benchmark posts to, created once before anything is timed. */
async function createAccounts(db: Database, merchants: number): Promise<void> {
  const ids = [
    ...Array.from({ length: merchants }, (_, i) => slotAccountId(account('merchant_pending', merchantOf(i), 'USD'), 0)),
    slotAccountId(account('channel_receivable', channel, 'USD'), 0),
    slotAccountId(account('channel_fee_expense', channel, 'USD'), 0),
    slotAccountId(feeRevenueAccount('USD'), 0),
  ];
  for (let i = 0; i < ids.length; i += 1_000) await db.transaction((tx) => ensureAccounts(tx, ids.slice(i, i + 1_000)));
}

interface RunPlan {
  readonly name: string;
  readonly list: EntryDraft[];
  readonly concurrency: number;
  readonly batch: number;
}

async function timedRun(db: Database, plan: RunPlan): Promise<LedgerRunResult> {
  const { list, concurrency, batch } = plan;
  let next = 0;
  let postings = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const slice = list.slice(next, next + batch);
        next += batch;
        if (slice.length === 0) return;
        const results = batch === 1 ? [await db.transaction((tx) => postEntry(tx, slice[0]!))] : await db.transaction((tx) => postEntries(tx, slice));
        for (const [index, result] of results.entries()) {
          if (!result.ok || result.replayed) throw new Error(`ledger bench: entry ${slice[index]!.eventId} was not posted: ${JSON.stringify(result)}`);
          postings += slice[index]!.postings.length;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  return {
    name: plan.name, concurrency, entries_per_transaction: batch, entries: list.length, postings, seconds,
    entries_per_second: list.length / seconds, postings_per_second: postings / seconds,
  };
}

/** One double-entry posting per transaction, three statements, on our own tables (the entry and its postings in one, as 0017 requires). */
// pgbench turns every `:name` of a statement into a parameter, also inside a string literal: the
// account ids ('merchant_pending:mch_bench_7:USD', 'fee_revenue:platform:USD#03') are therefore
// built with chr(58) for the colons.
export const pgbenchPostingScript = `\\set m random(0, :merchants - 1)
\\set s random(0, :slots - 1)
\\set amount random(100, 9999)
BEGIN;
WITH e AS (INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at) VALUES ('jrn_' || lpad(nextval('pgbench_entry_seq')::text, 24, '0'), 'pgbench_' || currval('pgbench_entry_seq'), 'capture', 'mch_bench_' || :m::text, now()) RETURNING id) INSERT INTO postings (entry_id, line, account_id, currency, amount) SELECT e.id, d.line, d.account_id, 'USD', d.amount FROM e, (VALUES (0, concat_ws(chr(58), 'merchant_pending', 'mch_bench_' || :m::text, 'USD'), :amount::bigint), (1, concat_ws(chr(58), 'fee_revenue', 'platform', 'USD') || CASE WHEN :s::integer = 0 THEN '' ELSE '#' || lpad(:s::text, 2, '0') END, -:amount::bigint)) AS d(line, account_id, amount);
UPDATE ledger_accounts SET balance = balance - :amount::bigint, version = version + 1 WHERE id = concat_ws(chr(58), 'fee_revenue', 'platform', 'USD') || CASE WHEN :s::integer = 0 THEN '' ELSE '#' || lpad(:s::text, 2, '0') END;
UPDATE ledger_accounts SET balance = balance + :amount::bigint, version = version + 1 WHERE id = concat_ws(chr(58), 'merchant_pending', 'mch_bench_' || :m::text, 'USD');
END;
`;

interface PgbenchTarget {
  readonly cluster: PgCluster;
  readonly database: string;
  readonly socketDirectory: string;
  readonly scriptFile: string;
}

async function runPgbenchPostings(target: PgbenchTarget, name: string, clients: number, merchants: number, slots: number, duration_seconds: number): Promise<PgbenchPostingResult> {
  const args = [
    '-h', target.socketDirectory, '-p', String(target.cluster.port), '-U', 'postgres', '-n', '-f', target.scriptFile,
    '-D', `merchants=${merchants}`, '-D', `slots=${slots}`,
    '-c', String(clients), '-j', String(Math.min(pgbench_threads, clients)), '-T', String(duration_seconds), '-M', 'prepared', target.database,
  ];
  const { stdout, stderr } = await runClient(path.join(target.cluster.bindir, 'pgbench'), args);
  const parsed = parsePgbenchOutput(stdout + '\n' + stderr);
  return {
    name, clients, duration_seconds, tps: parsed.tps, postings_per_second: parsed.tps * postings_per_pgbench_transaction,
    transactions: parsed.transactions, failed_transactions: parsed.failed_transactions, command: `pgbench ${args.join(' ')}`,
  };
}

function databaseUrl(cluster: PgCluster, name: string): string {
  const url = new URL(cluster.socketUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function createDatabase(cluster: PgCluster, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return name;
}

async function pgbenchRuns(cluster: PgCluster, options: LedgerBenchOptions): Promise<PgbenchPostingResult[]> {
  const name = await createDatabase(cluster, 'ledger_pgbench');
  const db = openPostgres({ url: databaseUrl(cluster, name), poolSize: 2 });
  try {
    await migrate(db);
    await createAccounts(db, options.merchants);
    await db.query('CREATE SEQUENCE pgbench_entry_seq');
  } finally {
    await db.close();
  }
  const scriptFile = path.join(tmpdir(), `clearway-ledger-pgbench-${randomBytes(4).toString('hex')}.sql`);
  writeFileSync(scriptFile, pgbenchPostingScript);
  const target = { cluster, database: name, socketDirectory: new URL(cluster.socketUrl).searchParams.get('host')!, scriptFile };
  const slots = ledgerLimits.fee_revenue_slots;
  const { clients, merchants, pgbench_duration_seconds: seconds } = options;
  let spread: PgbenchPostingResult;
  let hot: PgbenchPostingResult;
  try {
    progress(`pgbench: one three-statement posting per transaction, ${clients} clients, ${seconds} s, ${merchants} merchants`);
    spread = await runPgbenchPostings(target, `pgbench, ${merchants} merchants, ${slots} fee_revenue slots`, clients, merchants, slots, seconds);
    progress(`pgbench: the same on one merchant and one fee_revenue row, ${seconds} s`);
    hot = await runPgbenchPostings(target, 'pgbench, one merchant, one fee_revenue row', clients, 1, 1, seconds);
  } finally {
    rmSync(scriptFile, { force: true });
  }
  // The books pgbench wrote are checked like ours (entries balance, balances equal postings).
  const checkDb = openPostgres({ url: databaseUrl(cluster, name), poolSize: 1 });
  try {
    const report = await checkLedger(checkDb);
    if (!report.ok) throw new Error(`ledger bench: pgbench's books are not whole: ${JSON.stringify(report.checks)}`);
  } finally {
    await checkDb.close();
  }
  return [spread, hot];
}

const progress = (message: string): void => {
  process.stderr.write(`bench ledger: ${message}\n`);
};

function verdictsOf(runs: readonly LedgerRunResult[], pgbench: readonly PgbenchPostingResult[]): LedgerVerdict[] {
  const batched = runs.find((r) => r.name.startsWith('batched') && !r.name.includes('hot'))!;
  const yardstick = pgbench[0];
  const ratio = yardstick ? batched.postings_per_second / yardstick.postings_per_second : null;
  return [
    {
      name: 'batched postings/s',
      target: `>= ${target_batched_postings_per_second.toLocaleString('en-US')} postings/s`,
      measured: `${Math.round(batched.postings_per_second)} postings/s`,
      met: batched.postings_per_second >= target_batched_postings_per_second,
    },
    {
      name: 'batched / pgbench',
      target: `>= ${target_ratio_to_pgbench}x pgbench's single-posting rate (postings rows/s)`,
      measured: ratio === null ? 'no pgbench run' : `${ratio.toFixed(2)}x (${Math.round(batched.postings_per_second)} / ${Math.round(yardstick!.postings_per_second)})`,
      met: ratio === null ? null : ratio >= target_ratio_to_pgbench,
    },
  ];
}

export function formatLedgerReport(result: LedgerBenchResult): string {
  const lines: string[] = [];
  const m = result.machine;
  lines.push(`Clearway ledger benchmark — ${result.started_at}`, `  ${result.command}`);
  lines.push(`machine: ${m.cpu_count} x ${m.cpu_model}, ${(m.memory_total_bytes / 1024 ** 3).toFixed(1)} GiB RAM, ${m.os}, Node ${m.node_version}, PostgreSQL ${m.postgresql_version}`);
  lines.push(`  load average before: ${result.load_before.map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`);
  lines.push('a posting = one row of `postings`; fsync on; over the cluster\'s Unix socket; each run after its accounts exist');
  lines.push('');
  lines.push(`${'run'.padEnd(44)} ${'conc.'.padStart(5)} ${'per tx'.padStart(6)} ${'entries'.padStart(8)} ${'postings'.padStart(9)} ${'seconds'.padStart(8)} ${'entries/s'.padStart(10)} ${'postings/s'.padStart(11)}`);
  for (const r of result.runs) {
    lines.push(`${r.name.padEnd(44)} ${String(r.concurrency).padStart(5)} ${String(r.entries_per_transaction).padStart(6)} ${String(r.entries).padStart(8)} ${String(r.postings).padStart(9)} ${r.seconds.toFixed(2).padStart(8)} ${r.entries_per_second.toFixed(0).padStart(10)} ${r.postings_per_second.toFixed(0).padStart(11)}`);
  }
  for (const p of result.pgbench) {
    lines.push(`${p.name.padEnd(44)} ${String(p.clients).padStart(5)} ${'1'.padStart(6)} ${String(p.transactions ?? '?').padStart(8)} ${String((p.transactions ?? 0) * postings_per_pgbench_transaction).padStart(9)} ${String(p.duration_seconds).padStart(8)} ${p.tps.toFixed(0).padStart(10)} ${p.postings_per_second.toFixed(0).padStart(11)}`);
  }
  if (result.pgbench.length > 0) {
    lines.push(`  pgbench: ${result.pgbench[0]!.command}`);
    lines.push(`  (script: BEGIN; WITH (INSERT journal_entries) INSERT postings x2; UPDATE ledger_accounts x2; END — 2 postings per transaction; failed transactions: ${result.pgbench.map((p) => p.failed_transactions ?? '?').join(', ')})`);
  }
  lines.push('');
  const byName = (prefix: string) => result.runs.find((r) => r.name.startsWith(prefix));
  const single = byName('single,');
  const batched = byName('batched,');
  const yardstick = result.pgbench[0];
  if (single && batched) lines.push(`ratios: batched / single ${(batched.postings_per_second / single.postings_per_second).toFixed(2)}x`);
  if (yardstick && single && batched) {
    lines.push(`        single / pgbench ${(single.postings_per_second / yardstick.postings_per_second).toFixed(2)}x (postings), ${(single.entries_per_second / yardstick.tps).toFixed(2)}x (entries)`);
    lines.push(`        batched / pgbench ${(batched.postings_per_second / yardstick.postings_per_second).toFixed(2)}x (postings), ${(batched.entries_per_second / yardstick.tps).toFixed(2)}x (entries)`);
  }
  lines.push('targets:');
  for (const v of result.targets) lines.push(`  ${(v.met === null ? 'n/a' : v.met ? 'met' : 'MISSED').padEnd(8)} ${v.name.padEnd(20)} target ${v.target.padEnd(58)} measured ${v.measured}`);
  lines.push(`ledger check over everything posted: ${result.ledger_check_ok ? 'ok' : 'FAILED'}`);
  return lines.join('\n') + '\n';
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export async function runLedgerBenchmark(argv: readonly string[]): Promise<LedgerBenchResult | null> {
  const options = parseLedgerBenchOptions(argv);
  if (options.help) {
    process.stdout.write(ledgerBenchUsage + '\n');
    return null;
  }
  const started_at = new Date().toISOString();
  const load_before = loadavg();
  progress('starting a throwaway PostgreSQL server');
  const cluster = await startPgCluster();
  const onSignal = (signal: NodeJS.Signals): void => {
    cluster.stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const postgresVersion = await psqlQuery(cluster.bindir, cluster.port, 'SHOW server_version');
    const name = await createDatabase(cluster, 'ledger_bench');
    const { single_entries, batched_entries, clients, batchers, batch, merchants } = options;
    const db = openPostgres({ url: databaseUrl(cluster, name), poolSize: Math.max(clients, batchers) });
    const runs: LedgerRunResult[] = [];
    let ledger_check_ok = false;
    try {
      await migrate(db);
      await createAccounts(db, merchants);
      const plans: RunPlan[] = [
        { name: `single, ${merchants} merchants`, list: drafts('single', single_entries, merchants, false), concurrency: clients, batch: 1 },
        { name: `batched, ${merchants} merchants`, list: drafts('batched', batched_entries, merchants, false), concurrency: batchers, batch },
        { name: 'single, one hot merchant', list: drafts('single_hot', single_entries, 1, false), concurrency: clients, batch: 1 },
        { name: 'batched, one hot merchant', list: drafts('batched_hot', batched_entries, 1, false), concurrency: batchers, batch },
        { name: `single + channel fee, ${merchants} merchants`, list: drafts('single_fee', single_entries, merchants, true), concurrency: clients, batch: 1 },
      ];
      for (const plan of plans) {
        progress(`${plan.name}: ${plan.list.length} entries, ${plan.concurrency} concurrent, ${plan.batch} per transaction`);
        const run = await timedRun(db, plan);
        progress(`  ${Math.round(run.postings_per_second)} postings/s`);
        runs.push(run);
      }
      progress('ledger check');
      const report = await checkLedger(db);
      ledger_check_ok = report.ok;
      if (!report.ok) progress(`the ledger check FAILED: ${JSON.stringify(report.checks)}`);
    } finally {
      await db.close();
    }
    const pgbench = options.skip_pgbench ? [] : await pgbenchRuns(cluster, options);
    const result: LedgerBenchResult = {
      started_at, command: ['clearway bench ledger', ...argv].join(' '), options, machine: machineFacts(postgresVersion), load_before,
      runs, pgbench, targets: verdictsOf(runs, pgbench), ledger_check_ok,
    };
    process.stdout.write(formatLedgerReport(result));
    const resultsDir = path.join(repoRoot, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `ledger-${started_at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`result written to ${path.relative(process.cwd(), file)}\n`);
    if (!ledger_check_ok) throw new Error('ledger bench: the ledger check failed');
    return result;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cluster.stop();
  }
}
