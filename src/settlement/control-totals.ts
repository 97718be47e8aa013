// The set-based half of settlement: one query per merchant and window returns, per currency and
// chunk of control_chunk_transactions transactions, the business sums (payments and refunds rows)
// and the ledger sums (postings of the capture and refund entries), in one pass over the day.
// The comparison itself is pure (domain/batch.ts).
//
// Settling every merchant of a day, the same two sums are also computed for a page of merchants
// at once (`windowSumsOfMerchants`): one pass over the day's entries and postings with hash joins,
// where a query per merchant reaches each of its entries' postings through the index (about 40 µs
// per transaction: 38 s for 1,000,000 transactions of 100 merchants, against 7 s for one merchant
// holding them all). Same joins, same filters, same chunking, per merchant; its tests compare it
// with the per-merchant queries.
//
// Transactions: journal entries of kind capture (event `capture:{payment_id}`) and refund
// (event `refund:{refund_id}`) of the merchant, created_at in [start, end). Their currency is the
// currency of their merchant_pending postings. Ledger side per entry, signed from the merchant's
// side: net = -(merchant_pending movement); gross = -(the merchant_pending postings against the fee
// direction: credits of a capture, debits of a refund); fee = -(fee_revenue movement). Business
// side: a capture is +amount_captured and +fee_amount of its succeeded payment; a refund is
// -amount and -fee_returned of its succeeded refund. A missing or mismatching row counts nothing,
// so the count and the sums disagree and the chunk fails.

import type { Queryable } from '../db/database.ts';
import { assert } from '../kernel/errors.ts';
import { totalsOfFigures, type ChunkSums, type ControlTotals } from './domain/batch.ts';
import type { DayWindow } from './domain/day-window.ts';
import { settlementLimits } from './limits.ts';

/**
 * What one entry moved, from the ledger's side: the merchant's net (its pending account), the
 * gross (the pending postings in the entry's own direction) and our fee, each in the merchant's
 * direction. Shared by the per-merchant and the per-page queries so both read the ledger alike.
 */
const entryFiguresSql = `-sum(p.amount) FILTER (WHERE a.type = 'merchant_pending') AS net,
         -sum(p.amount) FILTER (WHERE a.type = 'merchant_pending' AND (p.amount < 0) = (e.kind = 'capture')) AS gross,
         -sum(p.amount) FILTER (WHERE a.type = 'fee_revenue') AS fee`;

const entryAmountsSql = `${entryFiguresSql}
    FROM entries e
    JOIN postings p ON p.entry_id = e.id
    JOIN ledger_accounts a ON a.id = p.account_id`;

const chunkSql = `
WITH entries AS (
  SELECT e.id, e.kind, e.event_id, e.created_at
    FROM journal_entries e
   WHERE e.merchant_id = $1 AND e.kind IN ('capture', 'refund') AND e.created_at >= $2 AND e.created_at < $3
),
ledger AS (
  SELECT e.id, e.kind, e.event_id, e.created_at, p.currency,
         ${entryAmountsSql}
   WHERE (a.type = 'merchant_pending' AND a.owner = $1) OR a.type = 'fee_revenue'
   GROUP BY e.id, e.kind, e.event_id, e.created_at, p.currency
),
lines AS (
  SELECT l.kind, l.currency, coalesce(l.net, 0) AS net, coalesce(l.gross, 0) AS gross, coalesce(l.fee, 0) AS fee,
         row_number() OVER (PARTITION BY l.currency ORDER BY l.created_at, l.id) - 1 AS sequence,
         pay.amount_captured AS capture_gross, pay.fee_amount AS capture_fee, r.amount AS refund_amount, r.fee_returned AS refund_fee
    FROM ledger l
    LEFT JOIN payments pay ON l.kind = 'capture' AND pay.id = substr(l.event_id, 9) AND l.event_id LIKE 'capture:%'
                          AND pay.merchant_id = $1 AND pay.currency = l.currency AND pay.status = 'succeeded'
    LEFT JOIN refunds r ON l.kind = 'refund' AND r.id = substr(l.event_id, 8) AND l.event_id LIKE 'refund:%'
                       AND r.merchant_id = $1 AND r.currency = l.currency AND r.status = 'succeeded'
)
SELECT currency, (sequence / $4)::integer AS chunk, min(sequence)::integer AS first_sequence, max(sequence)::integer AS last_sequence,
       count(*)::bigint AS ledger_count, sum(gross)::bigint AS ledger_gross, sum(fee)::bigint AS ledger_fee, sum(net)::bigint AS ledger_net,
       count(capture_gross)::bigint AS capture_count, count(refund_amount)::bigint AS refund_count,
       coalesce(sum(capture_gross), 0)::bigint AS gross, coalesce(sum(refund_amount), 0)::bigint AS refunds,
       coalesce(sum(capture_fee), 0)::bigint AS fees_charged, coalesce(sum(refund_fee), 0)::bigint AS fees_returned
  FROM lines
 GROUP BY currency, chunk
 ORDER BY currency, chunk`;

interface ChunkRow {
  currency: string;
  chunk: number;
  first_sequence: number;
  last_sequence: number;
  ledger_count: bigint;
  ledger_gross: bigint;
  ledger_fee: bigint;
  ledger_net: bigint;
  capture_count: bigint;
  refund_count: bigint;
  gross: bigint;
  refunds: bigint;
  fees_charged: bigint;
  fees_returned: bigint;
}

function chunkOf(row: ChunkRow): ChunkSums {
  const figures = {
    captureCount: BigInt(row.capture_count),
    refundCount: BigInt(row.refund_count),
    gross: BigInt(row.gross),
    refunds: BigInt(row.refunds),
    feesCharged: BigInt(row.fees_charged),
    feesReturned: BigInt(row.fees_returned),
  };
  return {
    chunk: Number(row.chunk),
    firstSequence: Number(row.first_sequence),
    lastSequence: Number(row.last_sequence),
    figures,
    business: totalsOfFigures(figures),
    ledger: { count: BigInt(row.ledger_count), gross: BigInt(row.ledger_gross), fee: BigInt(row.ledger_fee), net: BigInt(row.ledger_net) },
  };
}

const wholeSql = `
SELECT currency, count(*)::bigint AS count, coalesce(sum(gross), 0)::bigint AS gross, coalesce(sum(fee), 0)::bigint AS fee, coalesce(sum(net), 0)::bigint AS net
  FROM (SELECT e.id, p.currency,
               ${entryFiguresSql}
          FROM journal_entries e
          JOIN postings p ON p.entry_id = e.id
          JOIN ledger_accounts a ON a.id = p.account_id AND a.currency = p.currency
         WHERE e.merchant_id = $1 AND e.kind IN ('capture', 'refund') AND e.created_at >= $2 AND e.created_at < $3
           AND ((a.type = 'merchant_pending' AND a.owner = $1) OR a.type = 'fee_revenue')
         GROUP BY e.id, p.currency) entries
 GROUP BY currency`;

interface WholeRow {
  currency: string;
  count: bigint;
  gross: bigint;
  fee: bigint;
  net: bigint;
}

const totalsOf = (row: WholeRow): ControlTotals => ({ count: BigInt(row.count), gross: BigInt(row.gross), fee: BigInt(row.fee), net: BigInt(row.net) });

/** The ledger's control totals of one merchant's window per currency, summed without chunks (the whole-batch check). */
export async function ledgerTotalsByCurrency(db: Queryable, merchantId: string, window: DayWindow): Promise<Map<string, ControlTotals>> {
  const { rows } = await db.query<WholeRow>(wholeSql, [merchantId, window.start, window.end]);
  return new Map(rows.map((row) => [row.currency, totalsOf(row)]));
}

/** Chunk sums per currency of one merchant's window, chunks in order. */
export async function chunkSumsByCurrency(db: Queryable, merchantId: string, window: DayWindow): Promise<Map<string, ChunkSums[]>> {
  const size = settlementLimits.control_chunk_transactions;
  const { rows } = await db.query<ChunkRow>(chunkSql, [merchantId, window.start, window.end, size]);
  return chunksByCurrency(merchantId, rows);
}

function chunksByCurrency(merchantId: string, rows: readonly ChunkRow[]): Map<string, ChunkSums[]> {
  const byCurrency = new Map<string, ChunkSums[]>();
  for (const row of rows) {
    const list = byCurrency.get(row.currency) ?? [];
    assert(list.length === Number(row.chunk), `settlement: ${merchantId} ${row.currency}: chunks come in order, none missing`);
    list.push(chunkOf(row));
    byCurrency.set(row.currency, list);
  }
  for (const [currency, chunks] of byCurrency) {
    const transactions = chunks.reduce((total, c) => total + c.ledger.count, 0n);
    assert(transactions <= BigInt(settlementLimits.batch_transactions_max), `settlement: ${merchantId} ${currency} holds ${transactions} transactions, above batch_transactions_max`);
  }
  return byCurrency;
}

/** One merchant's window: whose transactions, from when to when. */
export interface MerchantWindow {
  readonly merchantId: string;
  readonly window: DayWindow;
}

/** What chunkSumsByCurrency and ledgerTotalsByCurrency answer for one merchant's window. */
export interface WindowSums {
  readonly chunks: ReadonlyMap<string, readonly ChunkSums[]>;
  readonly totals: ReadonlyMap<string, ControlTotals>;
}

export const windowKey = (merchantId: string, window: DayWindow): string => `${merchantId}|${window.start.toISOString()}|${window.end.toISOString()}`;

// The entries of several merchants sharing one window: the per-merchant queries' filter with
// `merchant_id = ANY`. (Joining the entries to a list of per-merchant windows instead, the planner
// estimates a handful of rows and reaches the postings entry by entry through the index again.)
const windowsSql = `
entries AS (
  SELECT e.id, e.merchant_id, e.kind, e.event_id, e.created_at
    FROM journal_entries e
   WHERE e.merchant_id = ANY ($1::text[]) AND e.kind IN ('capture', 'refund') AND e.created_at >= $2 AND e.created_at < $3
)`;

const chunksOfMerchantsSql = `
WITH ${windowsSql},
ledger AS (
  SELECT e.merchant_id, e.id, e.kind, e.event_id, e.created_at, p.currency,
         ${entryAmountsSql}
   WHERE (a.type = 'merchant_pending' AND a.owner = e.merchant_id) OR a.type = 'fee_revenue'
   GROUP BY e.merchant_id, e.id, e.kind, e.event_id, e.created_at, p.currency
),
lines AS (
  SELECT l.merchant_id, l.kind, l.currency, coalesce(l.net, 0) AS net, coalesce(l.gross, 0) AS gross, coalesce(l.fee, 0) AS fee,
         row_number() OVER (PARTITION BY l.merchant_id, l.currency ORDER BY l.created_at, l.id) - 1 AS sequence,
         pay.amount_captured AS capture_gross, pay.fee_amount AS capture_fee, r.amount AS refund_amount, r.fee_returned AS refund_fee
    FROM ledger l
    LEFT JOIN payments pay ON l.kind = 'capture' AND pay.id = substr(l.event_id, 9) AND l.event_id LIKE 'capture:%'
                          AND pay.merchant_id = l.merchant_id AND pay.currency = l.currency AND pay.status = 'succeeded'
    LEFT JOIN refunds r ON l.kind = 'refund' AND r.id = substr(l.event_id, 8) AND l.event_id LIKE 'refund:%'
                       AND r.merchant_id = l.merchant_id AND r.currency = l.currency AND r.status = 'succeeded'
)
SELECT merchant_id, currency, (sequence / $4)::integer AS chunk, min(sequence)::integer AS first_sequence, max(sequence)::integer AS last_sequence,
       count(*)::bigint AS ledger_count, sum(gross)::bigint AS ledger_gross, sum(fee)::bigint AS ledger_fee, sum(net)::bigint AS ledger_net,
       count(capture_gross)::bigint AS capture_count, count(refund_amount)::bigint AS refund_count,
       coalesce(sum(capture_gross), 0)::bigint AS gross, coalesce(sum(refund_amount), 0)::bigint AS refunds,
       coalesce(sum(capture_fee), 0)::bigint AS fees_charged, coalesce(sum(refund_fee), 0)::bigint AS fees_returned
  FROM lines
 GROUP BY merchant_id, currency, chunk
 ORDER BY merchant_id, currency, chunk`;

const wholeOfMerchantsSql = `
WITH ${windowsSql}
SELECT merchant_id, currency, count(*)::bigint AS count, coalesce(sum(gross), 0)::bigint AS gross, coalesce(sum(fee), 0)::bigint AS fee, coalesce(sum(net), 0)::bigint AS net
  FROM (SELECT e.merchant_id, e.id, p.currency,
               ${entryFiguresSql}
          FROM entries e
          JOIN postings p ON p.entry_id = e.id
          JOIN ledger_accounts a ON a.id = p.account_id AND a.currency = p.currency
         WHERE (a.type = 'merchant_pending' AND a.owner = e.merchant_id) OR a.type = 'fee_revenue'
         GROUP BY e.merchant_id, e.id, p.currency) entries
 GROUP BY merchant_id, currency`;

/**
 * chunkSumsByCurrency and ledgerTotalsByCurrency of several merchants' windows (one window per
 * merchant, at most merchants_page_size), by windowKey. Merchants sharing a window (the same
 * schedule: usually all of them) are summed together, two queries per distinct window, each one
 * pass over that window's entries. A merchant without transactions gets empty maps, as alone.
 */
export async function windowSumsOfMerchants(db: Queryable, windows: readonly MerchantWindow[]): Promise<Map<string, WindowSums>> {
  assert(windows.length <= settlementLimits.merchants_page_size, 'windowSumsOfMerchants: at most merchants_page_size windows');
  assert(new Set(windows.map((w) => w.merchantId)).size === windows.length, 'windowSumsOfMerchants: one window per merchant');
  const sums = new Map<string, WindowSums>();
  const sharing = groupBy(windows, (w) => `${w.window.start.toISOString()}|${w.window.end.toISOString()}`);
  for (const group of sharing.values()) {
    const { window } = group[0]!;
    assert(window.end.getTime() > window.start.getTime(), 'windowSumsOfMerchants: a window ends after it starts');
    const params = [group.map((w) => w.merchantId), window.start, window.end];
    const { rows: chunkRows } = await db.query<ChunkRow & { merchant_id: string }>(chunksOfMerchantsSql, [...params, settlementLimits.control_chunk_transactions]);
    const { rows: wholeRows } = await db.query<WholeRow & { merchant_id: string }>(wholeOfMerchantsSql, params);
    const chunkRowsOf = groupBy(chunkRows, (row) => row.merchant_id);
    const wholeRowsOf = groupBy(wholeRows, (row) => row.merchant_id);
    for (const { merchantId } of group) {
      const totals = new Map((wholeRowsOf.get(merchantId) ?? []).map((row) => [row.currency, totalsOf(row)]));
      sums.set(windowKey(merchantId, window), { chunks: chunksByCurrency(merchantId, chunkRowsOf.get(merchantId) ?? []), totals });
    }
  }
  assert(sums.size === windows.length, 'windowSumsOfMerchants: sums for every window');
  return sums;
}

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [row]);
    else list.push(row);
  }
  return groups;
}
