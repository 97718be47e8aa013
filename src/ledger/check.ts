// `checkLedger`: proves the ledger is whole, on one snapshot (REPEATABLE READ), so postings
// committed while it runs cannot make a false alarm.
//   entries_balance                every entry has two or more postings summing to zero per currency
//   balances_equal_postings        every account row's balance equals the sum of its postings
//                                  (a slotted account's balance is the sum of such rows)
//   trial_balance                  all balances of each currency sum to zero
// The database enforces the first at commit; checking it again here is the second path
// (TigerBeetle's habit): it catches a trigger dropped or disabled by hand.

import type { Database, Queryable } from '../db/database.ts';
import { ledgerLimits } from './limits.ts';

export interface LedgerCheck {
  readonly name: 'entries_balance' | 'balances_equal_postings' | 'trial_balance';
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

export async function checkLedger(db: Database): Promise<LedgerCheckReport> {
  const checks = await db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    return [await entriesBalance(tx), await balancesEqualPostings(tx), await trialBalance(tx)];
  });
  return { ok: checks.every((check) => check.ok), checks };
}
