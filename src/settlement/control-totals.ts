// The set-based half of settlement: one query per merchant and window returns, per currency and
// chunk of control_chunk_transactions transactions, the business sums (payments and refunds rows)
// and the ledger sums (postings of the capture and refund entries), in one pass over the day.
// The comparison itself is pure (domain/batch.ts).
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

const chunkSql = `
WITH entries AS (
  SELECT e.id, e.kind, e.event_id, e.created_at
    FROM journal_entries e
   WHERE e.merchant_id = $1 AND e.kind IN ('capture', 'refund') AND e.created_at >= $2 AND e.created_at < $3
),
ledger AS (
  SELECT e.id, e.kind, e.event_id, e.created_at, p.currency,
         -sum(p.amount) FILTER (WHERE a.type = 'merchant_pending') AS net,
         -sum(p.amount) FILTER (WHERE a.type = 'merchant_pending' AND (p.amount < 0) = (e.kind = 'capture')) AS gross,
         -sum(p.amount) FILTER (WHERE a.type = 'fee_revenue') AS fee
    FROM entries e
    JOIN postings p ON p.entry_id = e.id
    JOIN ledger_accounts a ON a.id = p.account_id
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
               -sum(p.amount) FILTER (WHERE a.type = 'merchant_pending' AND (p.amount < 0) = (e.kind = 'capture')) AS gross,
               -sum(p.amount) FILTER (WHERE a.type = 'fee_revenue') AS fee,
               -sum(p.amount) FILTER (WHERE a.type = 'merchant_pending') AS net
          FROM journal_entries e
          JOIN postings p ON p.entry_id = e.id
          JOIN ledger_accounts a ON a.id = p.account_id AND a.currency = p.currency
         WHERE e.merchant_id = $1 AND e.kind IN ('capture', 'refund') AND e.created_at >= $2 AND e.created_at < $3
           AND ((a.type = 'merchant_pending' AND a.owner = $1) OR a.type = 'fee_revenue')
         GROUP BY e.id, p.currency) entries
 GROUP BY currency`;

/** The ledger's control totals of one merchant's window per currency, summed without chunks (the whole-batch check). */
export async function ledgerTotalsByCurrency(db: Queryable, merchantId: string, window: DayWindow): Promise<Map<string, ControlTotals>> {
  const { rows } = await db.query<{ currency: string; count: bigint; gross: bigint; fee: bigint; net: bigint }>(wholeSql, [merchantId, window.start, window.end]);
  return new Map(rows.map((row) => [row.currency, { count: BigInt(row.count), gross: BigInt(row.gross), fee: BigInt(row.fee), net: BigInt(row.net) }]));
}

/** Chunk sums per currency of one merchant's window, chunks in order. */
export async function chunkSumsByCurrency(db: Queryable, merchantId: string, window: DayWindow): Promise<Map<string, ChunkSums[]>> {
  const size = settlementLimits.control_chunk_transactions;
  const { rows } = await db.query<ChunkRow>(chunkSql, [merchantId, window.start, window.end, size]);
  const byCurrency = new Map<string, ChunkSums[]>();
  for (const row of rows) {
    const list = byCurrency.get(row.currency) ?? [];
    list.push(chunkOf(row));
    byCurrency.set(row.currency, list);
  }
  for (const [currency, chunks] of byCurrency) {
    const transactions = chunks.reduce((total, c) => total + c.ledger.count, 0n);
    assert(transactions <= BigInt(settlementLimits.batch_transactions_max), `settlement: ${merchantId} ${currency} holds ${transactions} transactions, above batch_transactions_max`);
  }
  return byCurrency;
}
