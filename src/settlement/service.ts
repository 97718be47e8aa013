// Settling a day: per merchant, one transaction that (1) locks the merchant's settlement,
// (2) works out the day's window, (3) sums the window's transactions per currency and chunk in
// one query, (4) verifies the control totals, and (5) per currency stores the batch and posts its
// settlement entry, or stores the failed batch and its report and posts nothing.
//
// Rules (docs/settlement.md):
// - A batch covers a window: from the end of the previous batch of that merchant and currency (or
//   the close of the day before, for a first batch) to the day's cut-off. A currency's batches
//   never overlap and leave no gap, even when the merchant changes its time zone or cut-off.
// - A day is settled only once it has closed (cut-off + day_close_grace_ms in the past).
// - Re-running a settled day recomputes it and compares: identical -> `unchanged`, nothing written;
//   different -> `rerun_differs`, reported and logged, nothing written.
// - Re-running a failed day runs the checks again (failed -> settled or failed).
// - A new batch is refused (`out_of_order`) when the currency already has a later batch, and
//   (`blocked`) when its previous batch in that currency failed: the carried shortfall would be wrong.

import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import { assert } from '../kernel/errors.ts';
import { money } from '../kernel/money.ts';
import { settlementEntry } from '../ledger/domain/entries.ts';
import { postEntry } from '../ledger/journal.ts';
import { chunkSumsByCurrency, ledgerTotalsByCurrency, windowKey, windowSumsOfMerchants, type MerchantWindow, type WindowSums } from './control-totals.ts';
import {
  describeFailure, settlementAmounts, settlementEventId, transitionBatch, zeroTotals,
  verifyControlTotals, type ChunkSums, type ControlReport, type ControlTotals,
} from './domain/batch.ts';
import { dayWindow, type DayWindow } from './domain/day-window.ts';
import {
  batchesOfDay, controlsJson, currenciesWithLaterBatches, insertBatch, latestBatchesBefore, newBatchId, updateBatch,
  type BatchRecord, type BatchWrite,
} from './repository.ts';
import { settlementSchedulesOf, settlementSettingsOf } from './settings.ts';
import { settlementLimits } from './limits.ts';
import type { SettlementSchedule } from './domain/day-window.ts';

export interface SettlementDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The platform default schedule (settings.ts defaultScheduleFrom). */
  readonly defaultSchedule: SettlementSchedule;
}

export const settleOutcomes = ['settled', 'unchanged', 'failed', 'blocked', 'out_of_order', 'rerun_differs', 'day_not_closed', 'no_transactions'] as const;
export type SettleOutcome = (typeof settleOutcomes)[number];

export interface SettleResult {
  readonly merchantId: string;
  /** null: the outcome is the merchant's whole day (not closed, no transactions, out of order). */
  readonly currency: string | null;
  readonly date: string;
  readonly outcome: SettleOutcome;
  readonly batch: BatchRecord | null;
  readonly detail: string | null;
}

interface DayContext {
  readonly merchantId: string;
  readonly date: string;
  readonly schedule: SettlementSchedule;
  /** The day's window under the merchant's schedule now. */
  readonly computed: DayWindow;
  readonly sameDay: ReadonlyMap<string, BatchRecord>;
  readonly previous: ReadonlyMap<string, BatchRecord>;
  /** Currencies with a batch for a later day. */
  readonly later: ReadonlySet<string>;
}

const lockSql = "SELECT pg_advisory_xact_lock(hashtextextended('settlement:' || $1, 0))";

/**
 * A currency's window for the day: the stored one when the day was run before; else from the end
 * of the currency's previous batch (or the day's start, for a first batch) to the day's close.
 */
function windowOf(context: DayContext, currency: string): DayWindow {
  const stored = context.sameDay.get(currency);
  if (stored) return stored.window;
  const previous = context.previous.get(currency);
  return previous ? { start: previous.window.end, end: context.computed.end } : context.computed;
}

const sameWindow = (a: DayWindow, b: DayWindow): boolean => a.start.getTime() === b.start.getTime() && a.end.getTime() === b.end.getTime();

interface CurrencyWork {
  readonly currency: string;
  readonly window: DayWindow;
  readonly chunks: readonly ChunkSums[];
  readonly wholeLedger: ControlTotals;
}

/**
 * The transactions of each currency in its window. One pass over the day's window serves every
 * currency whose window is the day's (the usual case); a currency whose window differs (a missed
 * day, a changed schedule, a stored re-run) gets a pass over its own.
 */
async function currencyWork(tx: Queryable, context: DayContext, prefetched: ReadonlyMap<string, WindowSums>): Promise<CurrencyWork[]> {
  const passes = new Map<string, Promise<WindowSums>>();
  const pass = (window: DayWindow) => {
    const key = windowKey(context.merchantId, window);
    let found = passes.get(key);
    if (found === undefined) {
      const ready = prefetched.get(key);
      found = ready !== undefined
        ? Promise.resolve(ready)
        : (async () => ({ chunks: await chunkSumsByCurrency(tx, context.merchantId, window), totals: await ledgerTotalsByCurrency(tx, context.merchantId, window) }))();
      passes.set(key, found);
    }
    return found;
  };
  const dayPass = await pass(context.computed);
  const candidates = [...new Set([...dayPass.chunks.keys(), ...context.previous.keys(), ...context.sameDay.keys()])].sort();
  const work: CurrencyWork[] = [];
  for (const currency of candidates) {
    const window = windowOf(context, currency);
    if (window.end.getTime() <= window.start.getTime()) continue; // a changed schedule closed this day before the previous batch ended
    const result = sameWindow(window, context.computed) ? dayPass : await pass(window);
    const chunks = result.chunks.get(currency) ?? [];
    if (chunks.length === 0 && !context.sameDay.has(currency)) continue;
    work.push({ currency, window, chunks, wholeLedger: result.totals.get(currency) ?? zeroTotals });
  }
  return work;
}

export interface SettleMerchantDayOptions {
  readonly onlyNewDays?: boolean;
  /**
   * Sums of windows computed beforehand for a page of merchants (prefetchDaySums), by windowKey.
   * Used only for a window they were computed for; any other window is summed here.
   */
  readonly prefetched?: ReadonlyMap<string, WindowSums>;
}

/** Settles one merchant's day, every currency, in one transaction. */
export async function settleMerchantDay(deps: SettlementDeps, merchantId: string, date: string, options: SettleMerchantDayOptions = {}): Promise<SettleResult[]> {
  return deps.db.transaction(async (tx) => {
    await tx.query(lockSql, [merchantId]);
    // The day's sums sort and hash up to batch_transactions_max rows: give them memory, bounded.
    await tx.query(`SET LOCAL work_mem = '${settlementLimits.query_work_mem_mb}MB'`);
    const context = await dayContext(deps, tx, merchantId, date);
    if (options.onlyNewDays === true && context.sameDay.size > 0) return [];
    const whole = (outcome: SettleOutcome, detail: string): SettleResult[] => [{ merchantId, currency: null, date, outcome, batch: null, detail }];
    const closesAt = context.computed.end.getTime() + settlementLimits.day_close_grace_ms;
    if (context.sameDay.size === 0 && closesAt > deps.clock.now().getTime()) {
      return whole('day_not_closed', `the day closes at ${context.computed.end.toISOString()} and is settled from ${new Date(closesAt).toISOString()}`);
    }
    const work = await currencyWork(tx, context, options.prefetched ?? new Map());
    if (work.length === 0) return whole('no_transactions', 'no captures or refunds in the window');
    const results: SettleResult[] = [];
    for (const item of work) results.push(await settleCurrency(deps, tx, context, item));
    return results;
  });
}

async function dayContext(deps: SettlementDeps, tx: Queryable, merchantId: string, date: string): Promise<DayContext> {
  const schedule = await settlementSettingsOf(tx, merchantId, deps.defaultSchedule);
  const sameDay = await batchesOfDay(tx, merchantId, date);
  const previous = await latestBatchesBefore(tx, merchantId, date);
  const later = await currenciesWithLaterBatches(tx, merchantId, date);
  return {
    merchantId, date, schedule, computed: dayWindow(date, schedule),
    sameDay: new Map(sameDay.map((b) => [b.currency, b])), previous: new Map(previous.map((b) => [b.currency, b])), later: new Set(later),
  };
}

async function settleCurrency(deps: SettlementDeps, tx: Queryable, context: DayContext, work: CurrencyWork): Promise<SettleResult> {
  const { currency, chunks, wholeLedger } = work;
  const existing = context.sameDay.get(currency) ?? null;
  const result = (outcome: SettleOutcome, batch: BatchRecord | null, detail: string | null): SettleResult => ({ merchantId: context.merchantId, currency, date: context.date, outcome, batch, detail });
  if (existing?.status === 'settled') return verifyRerun(deps, existing, chunks, wholeLedger);
  if (existing === null && context.later.has(currency)) return result('out_of_order', null, `the merchant already has a ${currency} batch for a later day`);
  const previous = context.previous.get(currency);
  if (previous?.status === 'failed') return result('blocked', existing, `the batch of ${previous.date} (${previous.id}) failed; run it again first`);
  assert(chunks.length > 0, 'settleCurrency: a new or failed batch has transactions');
  const report = verifyControlTotals(chunks, wholeLedger);
  const write = await writeOf(deps, tx, context, currency, report, previous?.carriedOut ?? 0n);
  const now = deps.clock.now();
  let batch: BatchRecord;
  if (existing === null) {
    batch = await insertBatch(tx, newBatchFor(context, currency, work.window), write, now);
  } else {
    const next = transitionBatch(existing.status, report.ok ? 'controls_passed' : 'controls_failed');
    assert(next.ok && next.state === write.status, `settlement: ${existing.status} -> ${write.status} is in the table`);
    batch = await updateBatch(tx, existing, write, now);
  }
  if (!report.ok) {
    deps.logger.error({ settlement_batch: batch.id, merchant_id: batch.merchantId, currency, date: batch.date, failure: batch.failure }, 'settlement batch stopped: control totals do not match');
    return result('failed', batch, String(batch.failure?.message ?? 'control totals do not match'));
  }
  deps.logger.info({ settlement_batch: batch.id, merchant_id: batch.merchantId, currency, date: batch.date, net: String(batch.net), amount_settled: String(batch.amountSettled) }, 'settlement batch settled');
  return result('settled', batch, null);
}

function newBatchFor(context: DayContext, currency: string, window: DayWindow) {
  return {
    id: newBatchId(), merchantId: context.merchantId, currency, date: context.date, timeZone: context.schedule.timeZone,
    cutOffMinutes: context.schedule.cutOffMinutes, window, eventId: settlementEventId(context.merchantId, currency, context.date),
  };
}

/** The batch row for a verified report: posts the settlement entry when the controls passed and something is due. */
async function writeOf(deps: SettlementDeps, tx: Queryable, context: DayContext, currency: string, report: ControlReport, carriedIn: bigint): Promise<BatchWrite> {
  const controls = controlsJson(report, settlementLimits.control_chunk_transactions);
  const base = { transactionCount: report.ledger.count, figures: report.figures, carriedIn, controls };
  if (!report.ok) {
    const failure = report.failure!;
    const detail = failure.scope === 'chunk'
      ? { chunk: failure.chunk, transactions: { from: failure.firstSequence, to: failure.lastSequence } }
      : {};
    const mismatches = failure.mismatches.map((m) => ({ total: m.total, business: Number(m.business), ledger: Number(m.ledger), difference: Number(m.difference) }));
    const stored = { reason: 'control_totals_mismatch', scope: failure.scope, ...detail, mismatches, message: describeFailure(failure) };
    return { ...base, status: 'failed', amountSettled: 0n, carriedOut: 0n, failure: stored, journalEntryId: null };
  }
  const net = report.business.net;
  assert(net === report.ledger.net, 'settlement: a verified batch has the ledger\'s net');
  const amounts = settlementAmounts(net, carriedIn);
  let journalEntryId: string | null = null;
  if (amounts.amountSettled > 0n) {
    const draft = settlementEntry({ eventId: settlementEventId(context.merchantId, currency, context.date), merchantId: context.merchantId, amount: money(amounts.amountSettled, currency) });
    const posted = await postEntry(tx, draft, { clock: deps.clock });
    assert(posted.ok, `settlement: the settlement entry posts (${posted.ok ? '' : posted.rejection})`);
    journalEntryId = posted.entryId;
  }
  return { ...base, status: 'settled', ...amounts, failure: null, journalEntryId };
}

/** A settled day run again: recompute and compare; nothing is written either way. */
function verifyRerun(deps: SettlementDeps, existing: BatchRecord, chunks: readonly ChunkSums[], wholeLedger: ControlTotals): SettleResult {
  const differences: string[] = [];
  if (chunks.length === 0) differences.push('the window has no transactions any more');
  else {
    const report = verifyControlTotals(chunks, wholeLedger);
    if (!report.ok) differences.push(describeFailure(report.failure!));
    const stored = existing.figures;
    const fresh = report.figures;
    for (const key of Object.keys(stored) as (keyof typeof stored)[]) if (stored[key] !== fresh[key]) differences.push(`${key}: stored ${stored[key]}, now ${fresh[key]}`);
    if (existing.transactionCount !== report.ledger.count) differences.push(`transactions: stored ${existing.transactionCount}, now ${report.ledger.count}`);
  }
  const result = { merchantId: existing.merchantId, currency: existing.currency, date: existing.date, batch: existing };
  if (differences.length === 0) return { ...result, outcome: 'unchanged', detail: null };
  const detail = `a re-run differs from the settled batch: ${differences.join('; ')}`;
  deps.logger.error({ settlement_batch: existing.id, merchant_id: existing.merchantId, currency: existing.currency, date: existing.date, differences }, 'settlement re-run differs from the settled batch');
  return { ...result, outcome: 'rerun_differs', detail };
}

export interface SettleDayInput {
  readonly date: string;
  /** Only this merchant; absent: every merchant. */
  readonly merchantId?: string;
  /** Leave a merchant's day alone when it has a batch already (the worker): no re-run, no verification. */
  readonly onlyNewDays?: boolean;
}

export interface SettleDayReport {
  readonly date: string;
  readonly results: readonly SettleResult[];
  readonly counts: Readonly<Record<SettleOutcome, number>>;
}

/**
 * `work` over `items`, at most `concurrency` at a time; the results in the order of `items`. After
 * a failure no item is started, the ones running finish, and the first failure is thrown.
 */
async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  assert(Number.isInteger(concurrency) && concurrency >= 1, 'mapConcurrently: concurrency >= 1');
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return results;
}

/**
 * The day's sums of a page of merchants, in two set-based queries (windowSumsOfMerchants), for the
 * merchants whose day will be summed: not those whose day has not closed and has no batch, nor,
 * for the worker (onlyNewDays), those with a batch already. Each merchant's transaction then takes
 * the lock, reads its context and uses these sums only if its window is the one summed here (a
 * schedule changed since, a currency starting elsewhere: summed again there). The entries of a
 * closed day do not change, and the business rows are read by one statement as they are alone.
 */
async function prefetchDaySums(deps: SettlementDeps, merchantIds: readonly string[], date: string, options: { onlyNewDays: boolean }): Promise<Map<string, WindowSums>> {
  if (merchantIds.length === 0) return new Map();
  return deps.db.transaction(async (tx) => {
    await tx.query(`SET LOCAL work_mem = '${settlementLimits.query_work_mem_mb}MB'`);
    const schedules = await settlementSchedulesOf(tx, merchantIds, deps.defaultSchedule);
    const { rows } = await tx.query<{ merchant_id: string }>(
      'SELECT DISTINCT merchant_id FROM settlement_batches WHERE merchant_id = ANY ($1::text[]) AND settlement_date = $2::date',
      [merchantIds, date],
    );
    const withBatch = new Set(rows.map((row) => row.merchant_id));
    const now = deps.clock.now().getTime();
    const windows: MerchantWindow[] = [];
    for (const merchantId of merchantIds) {
      if (options.onlyNewDays && withBatch.has(merchantId)) continue;
      const window = dayWindow(date, schedules.get(merchantId)!);
      if (!withBatch.has(merchantId) && window.end.getTime() + settlementLimits.day_close_grace_ms > now) continue;
      windows.push({ merchantId, window });
    }
    return windowSumsOfMerchants(tx, windows);
  });
}

/** Settles `date` for one merchant or every merchant (paged through the merchants table). */
export async function settleDay(deps: SettlementDeps, input: SettleDayInput): Promise<SettleDayReport> {
  const results: SettleResult[] = [];
  const options = { onlyNewDays: input.onlyNewDays ?? false };
  if (input.merchantId !== undefined) results.push(...(await settleMerchantDay(deps, input.merchantId, input.date, options)));
  else {
    for (let after = ''; ; ) {
      const { rows } = await deps.db.query<{ id: string }>('SELECT id FROM merchants WHERE id > $1 ORDER BY id LIMIT $2', [after, settlementLimits.merchants_page_size]);
      const prefetched = await prefetchDaySums(deps, rows.map((row) => row.id), input.date, options);
      const settled = await mapConcurrently(rows, settlementLimits.merchants_settled_concurrently, (row) => settleMerchantDay(deps, row.id, input.date, { ...options, prefetched }));
      for (const merchantResults of settled) results.push(...merchantResults);
      if (rows.length < settlementLimits.merchants_page_size) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  const counts = Object.fromEntries(settleOutcomes.map((o) => [o, results.filter((r) => r.outcome === o).length])) as Record<SettleOutcome, number>;
  return { date: input.date, results, counts };
}
