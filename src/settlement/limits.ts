// Settlement limits: every batch, chunk, page and catch-up has a named maximum here.
// `checkSettlementLimits` runs in the settlement tests and when the worker starts.

export const settlementLimits = Object.freeze({
  /** Transactions per control-total chunk: the totals are verified every this many transactions. */
  control_chunk_transactions: 1_000,
  /** Transactions one batch (merchant, currency, day) may hold; more is an operating alarm, not a batch. */
  batch_transactions_max: 20_000_000,
  /** Mismatching control totals listed in one failure report (the first failing chunk stops the batch). */
  failure_mismatches_max: 8,
  /** Lines one statement may carry (the statement is built and verified in memory before it is sent). */
  statement_lines_max: 100_000,
  /** Lines read from the database per query while a statement is built. */
  statement_page_lines: 5_000,
  /** Merchants read per page while a day is settled for every merchant (their day's sums are computed together). */
  merchants_page_size: 500,
  /** Merchants of a page settled at once, each in its own transaction under its own lock (database connections used). */
  merchants_settled_concurrently: 4,
  /** Days the worker looks back (and settles in order) on each run, so a stopped worker catches up. */
  worker_catch_up_days: 3,
  worker_catch_up_days_max: 31,
  /** A day is settled only once its cut-off is this far in the past (captures in flight at the cut-off commit first). */
  day_close_grace_ms: 60_000,
  /** work_mem of a settlement transaction (each sort or hash of the day's query may use this much; PostgreSQL may run 3 processes). */
  query_work_mem_mb: 48,
  /** How often the settlement worker runs. */
  worker_interval_ms: 5 * 60_000,
  /** Length of an IANA time zone name. */
  time_zone_length_max: 64,
  /** Time zone formatters kept per process (one per zone in use). */
  time_zone_formatters_max: 1_000,
  /** Earliest and latest settlement dates accepted (years). */
  date_year_min: 2000,
  date_year_max: 2200,
});

export type SettlementLimits = typeof settlementLimits;

export function checkSettlementLimits(l: SettlementLimits = settlementLimits): void {
  if (l.control_chunk_transactions < 1) throw new Error('settlement limits: control_chunk_transactions must be >= 1');
  if (l.batch_transactions_max < l.control_chunk_transactions) throw new Error('settlement limits: a batch must hold at least one chunk');
  if (l.statement_page_lines < 1 || l.statement_page_lines > l.statement_lines_max) throw new Error('settlement limits: 1 <= statement_page_lines <= statement_lines_max');
  if (l.worker_catch_up_days < 1 || l.worker_catch_up_days > l.worker_catch_up_days_max) throw new Error('settlement limits: 1 <= worker_catch_up_days <= worker_catch_up_days_max');
  if (l.day_close_grace_ms < 0 || l.day_close_grace_ms >= l.worker_interval_ms * 12) throw new Error('settlement limits: day_close_grace_ms within 0..12 worker intervals');
  if (l.query_work_mem_mb < 4 || l.query_work_mem_mb > 128) throw new Error('settlement limits: query_work_mem_mb within 4..128 (the whole run must stay under 512 MB)');
  if (l.merchants_settled_concurrently < 1 || l.merchants_settled_concurrently > l.merchants_page_size) throw new Error('settlement limits: 1 <= merchants_settled_concurrently <= merchants_page_size');
  if (l.failure_mismatches_max < 1) throw new Error('settlement limits: failure_mismatches_max must be >= 1');
}
