// A batch's statement, read from the ledger and the payments and refunds rows of its window, and
// checked against the batch's stored totals before anyone sees it (rows edited after settlement
// make the statement refuse, rather than disagree with the money that moved).
import type { Queryable } from '../db/database.ts';
import { ClearwayError, assert } from '../kernel/errors.ts';
import { totalsOfFigures } from './domain/batch.ts';
import { statementTotals, totalsEqual, type StatementLine, type StatementSummary } from './domain/statement.ts';
import { settlementLimits } from './limits.ts';
import type { BatchRecord } from './repository.ts';

const pageSql = `
SELECT e.id AS entry_id, e.kind, e.created_at,
       CASE e.kind WHEN 'capture' THEN pay.id ELSE r.id END AS object_id,
       CASE e.kind WHEN 'capture' THEN pay.id ELSE r.payment_id END AS payment_id,
       CASE e.kind WHEN 'capture' THEN pay.amount_captured ELSE -r.amount END AS gross,
       CASE e.kind WHEN 'capture' THEN pay.fee_amount ELSE -r.fee_returned END AS fee
  FROM journal_entries e
  LEFT JOIN payments pay ON e.kind = 'capture' AND pay.id = substr(e.event_id, 9) AND pay.merchant_id = $1 AND pay.status = 'succeeded'
  LEFT JOIN refunds r ON e.kind = 'refund' AND r.id = substr(e.event_id, 8) AND r.merchant_id = $1 AND r.status = 'succeeded'
 WHERE e.merchant_id = $1 AND e.kind IN ('capture', 'refund') AND e.created_at >= $3 AND e.created_at < $4
   AND ($5::text IS NULL OR (e.created_at, e.id) > (SELECT c.created_at, c.id FROM journal_entries c WHERE c.id = $5))
   AND EXISTS (SELECT 1 FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
                WHERE p.entry_id = e.id AND a.type = 'merchant_pending' AND a.owner = $1 AND a.currency = $2)
 ORDER BY e.created_at, e.id
 LIMIT $6`;

interface LineRow {
  entry_id: string;
  kind: 'capture' | 'refund';
  created_at: Date;
  object_id: string | null;
  payment_id: string | null;
  gross: bigint | null;
  fee: bigint | null;
}

export function statementSummaryOf(batch: BatchRecord): StatementSummary {
  return {
    batchId: batch.id, merchantId: batch.merchantId, currency: batch.currency, date: batch.date,
    gross: batch.figures.gross, refunds: batch.figures.refunds, fees: batch.fees, net: batch.net,
    carriedIn: batch.carriedIn, amountSettled: batch.amountSettled, carriedOut: batch.carriedOut,
  };
}

/** Every line of a settled batch, in (created_at, entry id) order, verified against the batch. */
export async function statementLines(db: Queryable, batch: BatchRecord): Promise<StatementLine[]> {
  if (batch.status !== 'settled') throw new ClearwayError('settlement_not_settled', `Settlement batch ${batch.id} is ${batch.status}; it has no statement.`);
  if (batch.transactionCount > BigInt(settlementLimits.statement_lines_max)) {
    throw new ClearwayError('settlement_statement_too_large', `Settlement batch ${batch.id} has ${batch.transactionCount} transactions, above ${settlementLimits.statement_lines_max}.`);
  }
  const lines: StatementLine[] = [];
  const withheld = () => new ClearwayError('settlement_statement_mismatch', `The transactions of settlement batch ${batch.id} no longer add up to the batch; the statement is withheld.`);
  // The cursor is the last entry's id: its created_at is compared in the database, at full precision.
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: LineRow[] } = await db.query<LineRow>(pageSql, [batch.merchantId, batch.currency, batch.window.start, batch.window.end, after, settlementLimits.statement_page_lines]);
    for (const row of rows) {
      if (row.object_id === null || row.payment_id === null || row.gross === null || row.fee === null) throw withheld();
      lines.push({ type: row.kind, id: row.object_id, paymentId: row.payment_id, createdAt: new Date(row.created_at), gross: BigInt(row.gross), fee: BigInt(row.fee) });
    }
    assert(lines.length <= settlementLimits.statement_lines_max, 'statement: within statement_lines_max');
    if (rows.length < settlementLimits.statement_page_lines) break;
    after = rows[rows.length - 1]!.entry_id;
  }
  const expected = totalsOfFigures(batch.figures);
  if (!totalsEqual(statementTotals(lines), expected) || BigInt(lines.length) !== batch.transactionCount) throw withheld();
  return lines;
}
