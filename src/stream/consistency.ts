// The finance consistency job: compares the projection with the tables it is derived from, on
// one snapshot (REPEATABLE READ), over the last consistency_window_days days. Every difference is
// counted (metric clearway_finance_consistency_differences{check}) and logged; none is thrown.
//
//   daily_vs_entries     each finance_daily row equals the sum of its finance_entries
//   entries_vs_payments  each projected payment is a succeeded payment of that merchant, amount
//                        and currency; each projected refund a succeeded refund of that amount
//   missing_in_projection  a payment or refund that succeeded more than consistency_grace_ms ago
//                        (and inside the window) has no projected entry
//   entries_vs_ledger    each projected event that names its journal entry (journal_entry_id)
//                        matches that entry: it exists, has the expected kind and merchant, and
//                        its postings carry the same amount (and fee, for payments and refunds)
//
// Events that do not name a journal entry yet (payloads before the ledger work lands) are
// counted as `unlinked`, not as differences.
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { streamLimits } from './limits.ts';

export const consistencyChecks = ['daily_vs_entries', 'entries_vs_payments', 'missing_in_projection', 'entries_vs_ledger'] as const;
export type ConsistencyCheckName = (typeof consistencyChecks)[number];

export interface ConsistencyDifference {
  readonly check: ConsistencyCheckName;
  readonly merchant_id: string;
  /** What differs: the event, payment, refund or day row. */
  readonly subject: string;
  readonly detail: string;
}

export interface ConsistencyCheckResult {
  readonly name: ConsistencyCheckName;
  readonly differences: number;
  /** The first consistency_details_max of them. */
  readonly details: readonly ConsistencyDifference[];
}

export interface ConsistencyReport {
  readonly consistent: boolean;
  readonly checked_at: Date;
  readonly window_from: string;
  readonly checks: readonly ConsistencyCheckResult[];
  /** Projected events that name no journal entry (not compared with the ledger). */
  readonly unlinked: number;
}

export interface ConsistencyOptions {
  readonly graceMs?: number;
  readonly windowDays?: number;
}

type Row = { merchant_id: string; subject: string; detail: string; total: bigint };

export async function checkFinanceConsistency(ctx: AppContext, options: ConsistencyOptions = {}): Promise<ConsistencyReport> {
  const now = ctx.clock.now();
  const windowDays = options.windowDays ?? streamLimits.consistency_window_days;
  const from = new Date(now.getTime() - windowDays * 86_400_000).toISOString().slice(0, 10);
  const settledBefore = new Date(now.getTime() - (options.graceMs ?? streamLimits.consistency_grace_ms));
  const report = await ctx.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const checks: ConsistencyCheckResult[] = [];
    checks.push(result('daily_vs_entries', await dailyVersusEntries(tx, from)));
    checks.push(result('entries_vs_payments', await entriesVersusPayments(tx, from)));
    checks.push(result('missing_in_projection', await missingInProjection(tx, from, settledBefore)));
    checks.push(result('entries_vs_ledger', await entriesVersusLedger(tx, from)));
    const { rows } = await tx.query<{ unlinked: bigint }>('SELECT count(*) AS unlinked FROM finance_entries WHERE day >= $1::date AND journal_entry_id IS NULL', [from]);
    return { consistent: checks.every((check) => check.differences === 0), checked_at: now, window_from: from, checks, unlinked: Number(rows[0]?.unlinked ?? 0n) };
  });
  assert(report.checks.length === consistencyChecks.length, 'every consistency check ran');
  for (const check of report.checks) {
    ctx.metrics.financeConsistencyDifferences.set({ check: check.name }, check.differences);
    for (const difference of check.details) ctx.logger.warn({ ...difference }, 'finance consistency difference');
    if (check.differences > check.details.length) ctx.logger.warn({ check: check.name, differences: check.differences }, 'finance consistency: more differences than listed');
  }
  ctx.metrics.financeConsistencyRuns.inc({ result: report.consistent ? 'consistent' : 'differences' });
  return report;
}

function result(name: ConsistencyCheckName, rows: readonly Row[]): ConsistencyCheckResult {
  assert(rows.length <= streamLimits.consistency_details_max, 'a check lists at most consistency_details_max differences');
  const differences = Number(rows[0]?.total ?? 0n);
  return { name, differences, details: rows.map((row) => ({ check: name, merchant_id: row.merchant_id, subject: row.subject, detail: row.detail })) };
}

const limit = streamLimits.consistency_details_max;

async function dailyVersusEntries(tx: Queryable, from: string): Promise<Row[]> {
  const { rows } = await tx.query<Row>(
    `WITH expected AS (
       SELECT merchant_id, currency, day,
              count(*) FILTER (WHERE kind = 'payment') AS payments_count, coalesce(sum(amount) FILTER (WHERE kind = 'payment'), 0) AS gross_amount,
              coalesce(sum(fee_amount) FILTER (WHERE kind = 'payment'), 0) AS fee_amount, coalesce(sum(channel_fee_amount), 0) AS channel_fee_amount,
              count(*) FILTER (WHERE kind = 'refund') AS refunds_count, coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS refunded_amount,
              coalesce(sum(fee_amount) FILTER (WHERE kind = 'refund'), 0) AS fee_returned_amount,
              count(*) FILTER (WHERE kind = 'payout_paid') AS payouts_count, coalesce(sum(amount) FILTER (WHERE kind = 'payout_paid'), 0) AS payouts_amount,
              count(*) FILTER (WHERE kind = 'payout_returned') AS payout_returns_count, coalesce(sum(amount) FILTER (WHERE kind = 'payout_returned'), 0) AS payout_returns_amount
         FROM finance_entries WHERE day >= $1::date GROUP BY merchant_id, currency, day
     ),
     actual AS (SELECT * FROM finance_daily WHERE day >= $1::date),
     differences AS (
       SELECT coalesce(a.merchant_id, e.merchant_id) AS merchant_id,
              coalesce(a.merchant_id, e.merchant_id) || '/' || coalesce(a.currency, e.currency) || '/' || coalesce(a.day, e.day)::text AS subject,
              CASE WHEN a.merchant_id IS NULL THEN 'no daily row for projected entries'
                   WHEN e.merchant_id IS NULL THEN 'daily row without projected entries'
                   ELSE 'daily row (payments ' || a.payments_count || ', gross ' || a.gross_amount || ', fee ' || a.fee_amount || ', channel fee ' || a.channel_fee_amount
                        || ', refunds ' || a.refunds_count || ', refunded ' || a.refunded_amount || ', fee returned ' || a.fee_returned_amount
                        || ', payouts ' || a.payouts_count || '/' || a.payouts_amount || ', returns ' || a.payout_returns_count || '/' || a.payout_returns_amount
                        || ') differs from its entries (payments ' || e.payments_count || ', gross ' || e.gross_amount || ', fee ' || e.fee_amount || ', channel fee ' || e.channel_fee_amount
                        || ', refunds ' || e.refunds_count || ', refunded ' || e.refunded_amount || ', fee returned ' || e.fee_returned_amount
                        || ', payouts ' || e.payouts_count || '/' || e.payouts_amount || ', returns ' || e.payout_returns_count || '/' || e.payout_returns_amount || ')' END AS detail
         FROM actual a FULL JOIN expected e ON e.merchant_id = a.merchant_id AND e.currency = a.currency AND e.day = a.day
        WHERE a.merchant_id IS NULL OR e.merchant_id IS NULL
           OR (a.payments_count, a.gross_amount, a.fee_amount, a.channel_fee_amount, a.refunds_count, a.refunded_amount, a.fee_returned_amount,
               a.payouts_count, a.payouts_amount, a.payout_returns_count, a.payout_returns_amount)
              IS DISTINCT FROM
              (e.payments_count, e.gross_amount, e.fee_amount, e.channel_fee_amount, e.refunds_count, e.refunded_amount, e.fee_returned_amount,
               e.payouts_count, e.payouts_amount, e.payout_returns_count, e.payout_returns_amount)
     )
     SELECT merchant_id, subject, detail, count(*) OVER () AS total FROM differences ORDER BY subject LIMIT $2`,
    [from, limit],
  );
  return rows;
}

async function entriesVersusPayments(tx: Queryable, from: string): Promise<Row[]> {
  const { rows } = await tx.query<Row>(
    `WITH differences AS (
       SELECT f.merchant_id, f.event_id AS subject,
              CASE WHEN p.id IS NULL THEN 'payment ' || f.object_id || ' does not exist for this merchant'
                   ELSE 'payment ' || f.object_id || ' is ' || p.status || ', ' || p.amount_captured || ' ' || p.currency || '; projected ' || f.amount || ' ' || f.currency END AS detail
         FROM finance_entries f LEFT JOIN payments p ON p.id = f.object_id AND p.merchant_id = f.merchant_id
        WHERE f.kind = 'payment' AND f.day >= $1::date
          AND (p.id IS NULL OR p.status <> 'succeeded' OR p.amount_captured <> f.amount OR p.currency <> f.currency)
       UNION ALL
       SELECT f.merchant_id, f.event_id,
              CASE WHEN r.id IS NULL THEN 'refund ' || f.object_id || ' does not exist for this merchant'
                   ELSE 'refund ' || f.object_id || ' is ' || r.status || ', ' || r.amount || ' ' || coalesce(p.currency, '?') || '; projected ' || f.amount || ' ' || f.currency END
         FROM finance_entries f LEFT JOIN refunds r ON r.id = f.object_id AND r.merchant_id = f.merchant_id LEFT JOIN payments p ON p.id = r.payment_id
        WHERE f.kind = 'refund' AND f.day >= $1::date
          AND (r.id IS NULL OR r.status <> 'succeeded' OR r.amount <> f.amount OR p.currency IS DISTINCT FROM f.currency)
     )
     SELECT merchant_id, subject, detail, count(*) OVER () AS total FROM differences ORDER BY subject LIMIT $2`,
    [from, limit],
  );
  return rows;
}

async function missingInProjection(tx: Queryable, from: string, settledBefore: Date): Promise<Row[]> {
  const { rows } = await tx.query<Row>(
    `WITH differences AS (
       SELECT p.merchant_id, p.id AS subject, 'succeeded payment of ' || p.amount_captured || ' ' || p.currency || ' is not in the projection' AS detail
         FROM payments p
        WHERE p.status = 'succeeded' AND p.updated_at >= $1::date AND p.updated_at < $2
          AND NOT EXISTS (SELECT 1 FROM finance_entries f WHERE f.object_id = p.id AND f.kind = 'payment')
       UNION ALL
       SELECT r.merchant_id, r.id, 'succeeded refund of ' || r.amount || ' is not in the projection'
         FROM refunds r
        WHERE r.status = 'succeeded' AND r.updated_at >= $1::date AND r.updated_at < $2
          AND NOT EXISTS (SELECT 1 FROM finance_entries f WHERE f.object_id = r.id AND f.kind = 'refund')
     )
     SELECT merchant_id, subject, detail, count(*) OVER () AS total FROM differences ORDER BY subject LIMIT $3`,
    [from, settledBefore, limit],
  );
  return rows;
}

/** What each projected kind must find in its journal entry. */
const ledgerKinds = `(VALUES ('payment', 'capture'), ('refund', 'refund'), ('payout_paid', 'payout_paid'), ('payout_returned', 'payout_return')) AS k(kind, entry_kind)`;

async function entriesVersusLedger(tx: Queryable, from: string): Promise<Row[]> {
  // Amounts read from the entry's postings: a capture's gross is what the channel owes
  // (channel_receivable debits), its fee what fee_revenue is credited; a refund's amount is the
  // channel_receivable credit, its fee returned the fee_revenue debit; a payout's amount is the
  // largest posting of the entry.
  const { rows } = await tx.query<Row>(
    `WITH linked AS (
       SELECT f.*, k.entry_kind FROM finance_entries f JOIN ${ledgerKinds} ON k.kind = f.kind
        WHERE f.day >= $1::date AND f.journal_entry_id IS NOT NULL
     ),
     ledger AS (
       SELECT l.event_id, e.id AS entry_id, e.kind AS entry_kind, e.merchant_id AS entry_merchant,
              coalesce(sum(p.amount) FILTER (WHERE p.account_id LIKE 'channel_receivable:%' AND p.amount > 0), 0) AS receivable_debits,
              coalesce(-sum(p.amount) FILTER (WHERE p.account_id LIKE 'channel_receivable:%' AND p.amount < 0), 0) AS receivable_credits,
              coalesce(-sum(p.amount) FILTER (WHERE p.account_id LIKE 'fee_revenue:%' AND p.amount < 0), 0) AS fee_credits,
              coalesce(sum(p.amount) FILTER (WHERE p.account_id LIKE 'fee_revenue:%' AND p.amount > 0), 0) AS fee_debits,
              coalesce(max(abs(p.amount)), 0) AS largest
         FROM linked l LEFT JOIN journal_entries e ON e.id = l.journal_entry_id LEFT JOIN postings p ON p.entry_id = e.id
        GROUP BY l.event_id, e.id, e.kind, e.merchant_id
     ),
     differences AS (
       SELECT l.merchant_id, l.event_id AS subject,
              CASE WHEN g.entry_id IS NULL THEN 'journal entry ' || l.journal_entry_id || ' does not exist'
                   WHEN g.entry_kind <> l.entry_kind THEN 'journal entry ' || l.journal_entry_id || ' is a ' || g.entry_kind || ', expected ' || l.entry_kind
                   WHEN g.entry_merchant IS DISTINCT FROM l.merchant_id THEN 'journal entry ' || l.journal_entry_id || ' belongs to another merchant'
                   ELSE 'journal entry ' || l.journal_entry_id || ' moves ' ||
                        CASE l.kind WHEN 'payment' THEN g.receivable_debits || ' (fee ' || g.fee_credits || ')'
                                    WHEN 'refund' THEN g.receivable_credits || ' (fee returned ' || g.fee_debits || ')'
                                    ELSE g.largest::text END
                        || '; projected ' || l.amount || ' (fee ' || l.fee_amount || ')' END AS detail
         FROM linked l JOIN ledger g ON g.event_id = l.event_id
        WHERE g.entry_id IS NULL OR g.entry_kind <> l.entry_kind OR g.entry_merchant IS DISTINCT FROM l.merchant_id
           OR (l.kind = 'payment' AND (g.receivable_debits <> l.amount OR g.fee_credits <> l.fee_amount))
           OR (l.kind = 'refund' AND (g.receivable_credits <> l.amount OR g.fee_debits <> l.fee_amount))
           OR (l.kind IN ('payout_paid', 'payout_returned') AND g.largest <> l.amount)
     )
     SELECT merchant_id, subject, detail, count(*) OVER () AS total FROM differences ORDER BY subject LIMIT $2`,
    [from, limit],
  );
  return rows;
}
