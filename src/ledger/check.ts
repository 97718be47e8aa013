// `checkLedger`: proves the ledger is whole, on one snapshot (REPEATABLE READ), so postings
// committed while it runs cannot make a false alarm.
//   entries_balance                every entry has two or more postings summing to zero per currency
//   balances_equal_postings        every account row's balance equals the sum of its postings
//                                  (a slotted account's balance is the sum of such rows)
//   trial_balance                  all balances of each currency sum to zero
//   captures_match_payments        every succeeded payment has exactly one capture entry, every
//                                  capture entry a succeeded payment, crediting the merchant the
//                                  captured amount less the fee the payment records
//   refunds_match_refunds          every succeeded refund has exactly one refund entry, every refund
//                                  entry a succeeded refund, debiting the merchant the refund less
//                                  the fee it returned
//   late_successes_booked          every late success the worker has sent (or given up on) has its
//                                  late_capture entry, every refunded one its late_refund entry, each
//                                  for the late success's amount, and no such entry lacks its row
// The database enforces the first at the end of every statement that writes entries or postings
// (0017_ledger_statement_checks.sql); checking it again here is the second path
// (TigerBeetle's habit): it catches a trigger dropped or disabled by hand.

import type { Database, Queryable } from '../db/database.ts';
import { ledgerLimits } from './limits.ts';

export interface LedgerCheck {
  readonly name: 'entries_balance' | 'balances_equal_postings' | 'trial_balance' | 'captures_match_payments' | 'refunds_match_refunds' | 'late_successes_booked';
  readonly ok: boolean;
  /** Human-readable: how many problems, and the first check_detail_rows_max of them. */
  readonly detail: string;
  readonly problems: number;
}

export interface LedgerCheckReport {
  readonly ok: boolean;
  readonly checks: readonly LedgerCheck[];
}

const rowsMax = ledgerLimits.check_detail_rows_max;

async function entriesBalance(tx: Queryable): Promise<LedgerCheck> {
  const { rows } = await tx.query<{ id: string; problem: string; total: bigint }>(
    `WITH problems AS (
       SELECT e.id, 'has ' || count(p.entry_id) || ' posting(s)' AS problem
         FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
         GROUP BY e.id HAVING count(p.entry_id) < 2
       UNION ALL
       SELECT entry_id, 'is off by ' || sum(amount) || ' ' || currency
         FROM postings GROUP BY entry_id, currency HAVING sum(amount) <> 0
     )
     SELECT id, problem, count(*) OVER ()::bigint AS total FROM problems ORDER BY id, problem LIMIT $1`,
    [rowsMax],
  );
  const problems = Number(rows[0]?.total ?? 0n);
  const { rows: counted } = await tx.query<{ entries: bigint }>('SELECT count(*)::bigint AS entries FROM journal_entries');
  const entries = counted[0]?.entries ?? 0n;
  return {
    name: 'entries_balance',
    ok: problems === 0,
    problems,
    detail: problems === 0 ? `${entries} entries balance` : `${problems} problem(s): ${rows.map((r) => `entry ${r.id} ${r.problem}`).join('; ')}`,
  };
}

async function balancesEqualPostings(tx: Queryable): Promise<LedgerCheck> {
  const { rows } = await tx.query<{ id: string; balance: bigint; postings_total: bigint; total: bigint }>(
    `SELECT a.id, a.balance, coalesce(s.amount, 0)::bigint AS postings_total, count(*) OVER ()::bigint AS total
       FROM ledger_accounts a
       LEFT JOIN (SELECT account_id, sum(amount) AS amount FROM postings GROUP BY account_id) s ON s.account_id = a.id
      WHERE a.balance <> coalesce(s.amount, 0)
      ORDER BY a.id LIMIT $1`,
    [rowsMax],
  );
  const problems = Number(rows[0]?.total ?? 0n);
  const { rows: counted } = await tx.query<{ accounts: bigint }>('SELECT count(*)::bigint AS accounts FROM ledger_accounts');
  const accounts = counted[0]?.accounts ?? 0n;
  return {
    name: 'balances_equal_postings',
    ok: problems === 0,
    problems,
    detail:
      problems === 0
        ? `${accounts} account rows equal the sums of their postings`
        : `${problems} account row(s) differ: ${rows.map((r) => `${r.id} balance ${r.balance}, postings sum ${r.postings_total}`).join('; ')}`,
  };
}

async function trialBalance(tx: Queryable): Promise<LedgerCheck> {
  const { rows } = await tx.query<{ currency: string; total: bigint }>(
    'SELECT currency, sum(balance)::bigint AS total FROM ledger_accounts GROUP BY currency HAVING sum(balance) <> 0 ORDER BY currency',
  );
  return {
    name: 'trial_balance',
    ok: rows.length === 0,
    problems: rows.length,
    detail: rows.length === 0 ? 'balances sum to zero in every currency' : rows.map((r) => `${r.currency} balances sum to ${r.total}`).join('; '),
  };
}

/**
 * Business rows against their entries (`{prefix}{id}` event ids): a row in the final state without
 * its entry, an entry without such a row, or a merchant movement other than `expected` (SQL over
 * the row `r`), each a problem.
 */
async function rowsMatchEntries(
  tx: Queryable, name: 'captures_match_payments' | 'refunds_match_refunds', table: 'payments' | 'refunds', kind: 'capture' | 'refund', expected: string,
): Promise<LedgerCheck> {
  const prefix = `${kind}:`;
  const { rows } = await tx.query<{ id: string; problem: string; total: bigint }>(
    `WITH entries AS (
       SELECT e.id AS entry_id, substr(e.event_id, ${prefix.length + 1}) AS row_id FROM journal_entries e WHERE e.kind = $2 AND e.event_id LIKE $3
     ), problems AS (
       SELECT r.id, 'is succeeded and has no ${kind} entry' AS problem
         FROM ${table} r WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM entries x WHERE x.row_id = r.id)
       UNION ALL
       SELECT x.row_id, 'has ${kind} entry ' || x.entry_id || ' but is ' || coalesce(r.status, 'missing')
         FROM entries x LEFT JOIN ${table} r ON r.id = x.row_id WHERE r.status IS DISTINCT FROM 'succeeded'
       UNION ALL
       SELECT r.id, 'moves the merchant ' || sum(p.amount) || ', expected ' || (${expected})
         FROM ${table} r JOIN entries x ON x.row_id = r.id JOIN postings p ON p.entry_id = x.entry_id
        WHERE split_part(p.account_id, '#', 1) = 'merchant_pending:' || r.merchant_id || ':' || r.currency
        GROUP BY r.id, r.amount, ${table === 'payments' ? 'r.amount_captured, r.fee_amount' : 'r.fee_returned'}
       HAVING sum(p.amount) <> (${expected})
     )
     SELECT id, problem, count(*) OVER ()::bigint AS total FROM problems ORDER BY id, problem LIMIT $1`,
    [rowsMax, kind, `${prefix}%`],
  );
  const problems = Number(rows[0]?.total ?? 0n);
  const { rows: counted } = await tx.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${table} WHERE status = 'succeeded'`);
  return {
    name,
    ok: problems === 0,
    problems,
    detail: problems === 0 ? `${counted[0]?.n ?? 0n} succeeded ${table} each have exactly one ${kind} entry, for the right amount` : `${problems} problem(s): ${rows.map((r) => `${r.id} ${r.problem}`).join('; ')}`,
  };
}

/**
 * Late successes against their two entries (`late_capture:{id}`, `late_refund:{id}`, src/payments/
 * late-success.ts): a row sent at least once has its capture, a succeeded one its refund, each
 * moving channel_receivable by the row's amount; an entry without its row is a problem too.
 */
async function lateSuccessesBooked(tx: Queryable): Promise<LedgerCheck> {
  const { rows } = await tx.query<{ id: string; problem: string; total: bigint }>(
    `WITH entries AS (
       SELECT e.id AS entry_id, e.kind, split_part(e.event_id, ':', 2) AS row_id FROM journal_entries e WHERE e.kind IN ('late_capture', 'late_refund')
     ), wanted AS (
       SELECT r.id, r.amount, r.channel, r.currency, 'late_capture' AS kind FROM late_success_refunds r WHERE r.send_count > 0 OR r.status <> 'pending'
       UNION ALL
       SELECT r.id, r.amount, r.channel, r.currency, 'late_refund' FROM late_success_refunds r WHERE r.status = 'succeeded'
     ), problems AS (
       SELECT w.id, 'has no ' || w.kind || ' entry' AS problem FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM entries x WHERE x.row_id = w.id AND x.kind = w.kind)
       UNION ALL
       SELECT x.row_id, 'has ' || x.kind || ' entry ' || x.entry_id || ' it should not have' FROM entries x
        WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.id = x.row_id AND w.kind = x.kind)
       UNION ALL
       SELECT w.id, 'its ' || w.kind || ' moves the channel ' || sum(p.amount) || ', expected ' || (CASE WHEN w.kind = 'late_capture' THEN w.amount ELSE -w.amount END)
         FROM wanted w JOIN entries x ON x.row_id = w.id AND x.kind = w.kind JOIN postings p ON p.entry_id = x.entry_id
        WHERE split_part(p.account_id, '#', 1) = 'channel_receivable:' || w.channel || ':' || w.currency
        GROUP BY w.id, w.kind, w.amount
       HAVING sum(p.amount) <> (CASE WHEN w.kind = 'late_capture' THEN w.amount ELSE -w.amount END)
     )
     SELECT id, problem, count(*) OVER ()::bigint AS total FROM problems ORDER BY id, problem LIMIT $1`,
    [rowsMax],
  );
  const problems = Number(rows[0]?.total ?? 0n);
  const { rows: counted } = await tx.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM late_success_refunds WHERE status = 'succeeded'");
  return {
    name: 'late_successes_booked',
    ok: problems === 0,
    problems,
    detail: problems === 0 ? `late successes booked; ${counted[0]?.n ?? 0n} refunded, each with its late_capture and late_refund entries` : `${problems} problem(s): ${rows.map((r) => `${r.id} ${r.problem}`).join('; ')}`,
  };
}

export async function checkLedger(db: Database): Promise<LedgerCheckReport> {
  const checks = await db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return [
      await entriesBalance(tx), await balancesEqualPostings(tx), await trialBalance(tx),
      // The merchant is credited (negative: merchant_pending is credit-normal) gross less fee on a capture, debited refund less fee returned on a refund.
      await rowsMatchEntries(tx, 'captures_match_payments', 'payments', 'capture', '-(r.amount_captured - r.fee_amount)'),
      await rowsMatchEntries(tx, 'refunds_match_refunds', 'refunds', 'refund', 'r.amount - r.fee_returned'),
      await lateSuccessesBooked(tx),
    ];
  });
  return { ok: checks.every((check) => check.ok), checks };
}
