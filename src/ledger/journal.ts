// Posting journal entries. One entry is one call of ledger_post_entry (0005_ledger.sql, replaced
// by 0017): it checks the event was not posted yet, locks the accounts in id order, checks the
// floors, inserts the entry and its postings and adds the deltas to the balances, all in one
// statement. The database checks that an entry balances at the end of the statement that writes
// it (0017), so an entry and its postings are always inserted by one statement, here and in
// ledger_post_entry.
//
// Operating outcomes are values: a replay returns the first entry; a floor that would be broken,
// an event posted before with other postings, an entry reversed twice are named rejections, and
// nothing is written for them (the caller's transaction stays usable).

import { systemClock, type Clock } from '../kernel/clock.ts';
import { assert } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { money, type Money } from '../kernel/money.ts';
import type { Queryable } from '../db/database.ts';
import type { StatementBuilder } from '../db/statement.ts';
import { accountId, chartOfAccounts, parseAccountId, slotAccountId, slotFor, type AccountRef } from './domain/accounts.ts';
import { ledgerLimits } from './limits.ts';
import { entryDraft, type EntryDraft, type PostedEntry } from './domain/entries.ts';

export type PostRejection =
  | { readonly ok: false; readonly rejection: 'insufficient_balance'; readonly account: string; readonly balance: bigint }
  | { readonly ok: false; readonly rejection: 'event_posted_with_other_postings'; readonly entryId: string }
  | { readonly ok: false; readonly rejection: 'entry_already_reversed'; readonly entryId: string };

export type PostResult = { readonly ok: true; readonly entryId: string; readonly replayed: boolean } | PostRejection;

export interface PostOptions {
  readonly clock?: Clock;
  /** The new entry's id when the caller named it beforehand (e.g. in an event it writes with it). */
  readonly entryId?: string;
}

export interface BatchPostOptions {
  readonly clock?: Clock;
  /** The new entries' ids, one per draft in order, when the caller named them beforehand. */
  readonly entryIds?: readonly string[];
  /** Each entry's time, one per draft in order (the time of the business event); default: now. */
  readonly createdAt?: readonly Date[];
  /**
   * The caller vouches that every account exists (ensureAccountsOnce) and that no event of the
   * batch was posted before (its own guards decided each event happens now), for entries with no
   * floor and no reversal (captures): the accounts are then neither read nor checked for
   * replays first (two statements fewer). Were an event posted after all, the insert fails.
   */
  readonly fresh?: boolean;
}

interface PhysicalPosting {
  readonly accountId: string;
  readonly account: AccountRef;
  readonly currency: string;
  readonly amount: bigint;
}

function physicalPostings(draft: EntryDraft): PhysicalPosting[] {
  return draft.postings.map((p) => ({
    accountId: slotAccountId(p.account, p.slot ?? slotFor(p.account, draft.eventId)),
    account: p.account,
    currency: p.account.currency,
    amount: p.amount,
  }));
}

const postSql = `SELECT outcome, entry_id, account_id, balance
  FROM ledger_post_entry($1, $2, $3, $4, $5, $6, $7::text[], $8::text[], $9::bigint[])`;

interface PostRow {
  outcome: 'posted' | 'replayed' | 'already_reversed' | 'account_missing' | 'insufficient_balance';
  entry_id: string | null;
  account_id: string | null;
  balance: bigint | null;
}

/** Posts one entry inside the caller's transaction `tx`. */
export async function postEntry(tx: Queryable, draft: EntryDraft, options: PostOptions = {}): Promise<PostResult> {
  const checked = entryDraft(draft);
  const postings = physicalPostings(checked);
  const entryId = options.entryId ?? newId('journal');
  const createdAt = (options.clock ?? systemClock).now();
  for (let attempt = 1; attempt <= 2; attempt++) {
    const { rows } = await tx.query<PostRow>(postSql, [
      entryId,
      checked.eventId,
      checked.kind,
      checked.merchantId,
      checked.reverses,
      createdAt,
      postings.map((p) => p.accountId),
      postings.map((p) => p.currency),
      postings.map((p) => p.amount.toString()),
    ]);
    const row = rows[0];
    assert(rows.length === 1 && row !== undefined, 'postEntry: ledger_post_entry returns one row');
    switch (row.outcome) {
      case 'posted':
        assert(row.entry_id === entryId, 'postEntry: posted under the id we chose');
        return { ok: true, entryId, replayed: false };
      case 'replayed':
        return replayOutcome(tx, checked, postings, row.entry_id!);
      case 'already_reversed':
        return { ok: false, rejection: 'entry_already_reversed', entryId: row.entry_id! };
      case 'insufficient_balance':
        return { ok: false, rejection: 'insufficient_balance', account: row.account_id!, balance: row.balance! };
      case 'account_missing':
        assert(attempt === 1, `postEntry: account ${row.account_id} still missing after creating the accounts`);
        await ensureAccounts(tx, postings.map((p) => p.accountId));
        continue;
      default: {
        const unknown: never = row.outcome;
        throw new Error(`assertion failed: unknown outcome ${String(unknown)}`);
      }
    }
  }
  throw new Error('assertion failed: postEntry: unreachable');
}

/** The physical account ids an entry posts to, in id order. */
export function entryAccountIds(draft: EntryDraft): string[] {
  return [...new Set(physicalPostings(entryDraft(draft)).map((p) => p.accountId))].sort();
}

/**
 * The part of a caller's single statement that posts `draft` once for each row of the CTE
 * `guard` (zero or one): `SELECT outcome FROM guard, LATERAL ledger_post_entry(...)`. The caller
 * names it as a CTE and asserts its outcome is posted (or replayed) for every guard row; the
 * accounts must exist beforehand (ensureAccountsOnce), so 'account_missing' means a bug.
 */
export function guardedPostSql(s: StatementBuilder, draft: EntryDraft, entryId: string, createdAt: Date, guard: string): string {
  const checked = entryDraft(draft);
  const postings = physicalPostings(checked);
  return `SELECT l.outcome FROM ${guard}, LATERAL ledger_post_entry(${s.bind(entryId)}, ${s.bind(checked.eventId)}, ${s.bind(checked.kind)}, ${s.bind(checked.merchantId)},
      ${s.bind(checked.reverses)}, ${s.bind(createdAt)}::timestamptz, ${s.bind(postings.map((p) => p.accountId))}::text[], ${s.bind(postings.map((p) => p.currency))}::text[],
      ${s.bind(postings.map((p) => p.amount.toString()))}::bigint[]) l`;
}

const knownAccounts = new WeakMap<object, Set<string>>();

/**
 * Creates the accounts not yet known to exist (ensureAccounts), remembering per database which
 * exist: after its first payment a merchant's capture costs no statement for its accounts.
 * Accounts are never deleted, so what was known stays true.
 */
export async function ensureAccountsOnce(db: Queryable, physicalIds: readonly string[]): Promise<void> {
  let known = knownAccounts.get(db);
  if (known === undefined) {
    known = new Set();
    knownAccounts.set(db, known);
  }
  const missing = physicalIds.filter((id) => !known.has(id));
  if (missing.length === 0) return;
  const ensured = await ensureAccounts(db, missing);
  if (known.size + ensured.length > ledgerLimits.known_accounts_cached_max) known.clear();
  for (const id of ensured) known.add(id);
}

/**
 * Posts several entries in the caller's transaction, one result each, in order, with the same
 * outcomes as postEntry one by one. Rejected entries write nothing; the others stay.
 *
 * A batch of new, non-reversal entries is written set-wise: one statement inserts the entries
 * with their postings (the database checks at its end that each balances), one UPDATE adds the
 * deltas to the balances. Account locks are taken in id order over the union of the batch's
 * accounts (entries of one batch touch rows in no common order: without this two batches could
 * deadlock), and when they are taken depends on floors:
 * - an account with a floor in the batch (allow_negative = false): every account is locked first,
 *   and floors are checked on running balances read under those locks;
 * - no account with a floor (captures): no outcome depends on a balance, so the entries and
 *   postings are inserted first, holding no account lock (their foreign keys take KEY SHARE row
 *   locks, which do not conflict with NO KEY UPDATE), and the accounts are locked only to update
 *   their balances. Hot rows (fee_revenue and channel_receivable slots) are then held from the
 *   UPDATE to commit, not for the whole batch.
 * A batch holding a replay or a reversal is posted entry by entry, under the union's locks.
 */
export async function postEntries(tx: Queryable, drafts: readonly EntryDraft[], options: BatchPostOptions = {}): Promise<PostResult[]> {
  assert(drafts.length >= 1 && drafts.length <= ledgerLimits.entries_per_batch_max, 'postEntries: 1..entries_per_batch_max entries');
  assert(options.entryIds === undefined || options.entryIds.length === drafts.length, 'postEntries: one entry id per draft');
  assert(options.createdAt === undefined || options.createdAt.length === drafts.length, 'postEntries: one time per draft');
  const entryIdOf = (index: number): string => options.entryIds?.[index] ?? newId('journal');
  const now = (options.clock ?? systemClock).now();
  const timeOf = (index: number): Date => options.createdAt?.[index] ?? now;
  const checked = drafts.map((draft) => entryDraft(draft));
  assert(new Set(checked.map((d) => d.eventId)).size === checked.length, 'postEntries: one entry per event in a batch');
  const postings = checked.map(physicalPostings);
  const ids = [...new Set(postings.flat().map((p) => p.accountId))].sort();
  let accounts: AccountRow[];
  if (options.fresh === true) {
    // Vouched for by the caller: no read, no replay check; the chart says there is no floor.
    const byId = new Map(postings.flat().map((p) => [p.accountId, p.account]));
    accounts = ids.map((id): AccountRow => {
      const rule = chartOfAccounts[byId.get(id)!.type];
      assert(rule.allowNegative, `postEntries: a fresh batch posts to no account with a floor (${id})`);
      return { id, balance: 0n, normal_balance: rule.normalBalance, allow_negative: true };
    });
    assert(checked.every((d) => d.reverses === null), 'postEntries: a fresh batch reverses nothing');
  } else {
    ({ rows: accounts } = await tx.query<AccountRow>(accountsSql, [ids]));
    if (accounts.length < ids.length) {
      await ensureAccounts(tx, ids);
      ({ rows: accounts } = await tx.query<AccountRow>(accountsSql, [ids]));
    }
    assert(accounts.length === ids.length, 'postEntries: every account exists');
    const { rows: replays } = await tx.query('SELECT 1 FROM journal_entries WHERE event_id = ANY ($1::text[]) LIMIT 1', [checked.map((d) => d.eventId)]);
    if (replays.length > 0 || checked.some((d) => d.reverses !== null)) {
      await lockAccounts(tx, ids);
      const results: PostResult[] = [];
      for (const [index, draft] of checked.entries()) results.push(await postEntry(tx, draft, { clock: { now: () => timeOf(index) }, entryId: entryIdOf(index) }));
      return results;
    }
    if (accounts.some((row) => !row.allow_negative)) {
      const locked = await lockAccounts(tx, ids);
      const plan = planBatch(checked, postings, locked, entryIdOf, timeOf);
      await insertEntries(tx, plan.accepted);
      await addDeltas(tx, plan.deltas);
      return plan.results;
    }
  }
  const plan = planBatch(checked, postings, accounts, entryIdOf, timeOf);
  assert(plan.accepted.length === checked.length, 'postEntries: without floors every entry is accepted');
  await insertEntries(tx, plan.accepted);
  await lockAccounts(tx, ids);
  await addDeltas(tx, plan.deltas);
  return plan.results;
}

interface AccountRow {
  id: string;
  balance: bigint;
  normal_balance: 'debit' | 'credit';
  allow_negative: boolean;
}

const accountsSql = 'SELECT id, balance, normal_balance, allow_negative FROM ledger_accounts WHERE id = ANY ($1::text[]) ORDER BY id';

/** Locks `ids` (sorted) in id order; returns the rows as read under the locks. */
async function lockAccounts(tx: Queryable, ids: readonly string[]): Promise<AccountRow[]> {
  const { rows } = await tx.query<AccountRow>(`${accountsSql} FOR NO KEY UPDATE`, [ids]);
  assert(rows.length === ids.length, 'postEntries: every account locked');
  return rows;
}

function breaksFloor(row: AccountRow, balance: bigint): boolean {
  if (row.allow_negative) return false;
  return row.normal_balance === 'debit' ? balance < 0n : balance > 0n;
}

interface AcceptedEntry {
  readonly entryId: string;
  readonly draft: EntryDraft;
  readonly postings: PhysicalPosting[];
  readonly createdAt: Date;
}

interface BatchPlan {
  readonly results: PostResult[];
  readonly accepted: AcceptedEntry[];
  /** Net change per account id, in id order, zero deltas left out. */
  readonly deltas: [string, bigint][];
}

/** Decides each entry in order on running balances from `accounts` (floors only); writes nothing. */
function planBatch(drafts: EntryDraft[], postings: PhysicalPosting[][], accounts: AccountRow[], entryIdOf: (index: number) => string, timeOf: (index: number) => Date): BatchPlan {
  const byId = new Map(accounts.map((row) => [row.id, row]));
  const running = new Map(accounts.map((row) => [row.id, BigInt(row.balance)]));
  const deltas = new Map<string, bigint>();
  const results: PostResult[] = [];
  const accepted: AcceptedEntry[] = [];
  for (const [index, draft] of drafts.entries()) {
    const own = new Map<string, bigint>();
    for (const p of postings[index]!) own.set(p.accountId, (own.get(p.accountId) ?? 0n) + p.amount);
    const broken = [...own].sort(([a], [b]) => (a < b ? -1 : 1)).find(([id, delta]) => breaksFloor(byId.get(id)!, running.get(id)! + delta));
    if (broken !== undefined) {
      results.push({ ok: false, rejection: 'insufficient_balance', account: broken[0], balance: running.get(broken[0])! });
      continue;
    }
    for (const [id, delta] of own) {
      running.set(id, running.get(id)! + delta);
      deltas.set(id, (deltas.get(id) ?? 0n) + delta);
    }
    const entryId = entryIdOf(index);
    accepted.push({ entryId, draft, postings: postings[index]!, createdAt: timeOf(index) });
    results.push({ ok: true, entryId, replayed: false });
  }
  return { results, accepted, deltas: [...deltas].filter(([, delta]) => delta !== 0n).sort(([a], [b]) => (a < b ? -1 : 1)) };
}

/**
 * Inserts the entries and their postings in one statement (the balance triggers of 0017 check
 * each entry at its end). An event posted concurrently since the replay check makes the whole
 * transaction run again (Database.transaction retries 40001), which then sees it as a replay.
 */
async function insertEntries(tx: Queryable, accepted: AcceptedEntry[]): Promise<void> {
  if (accepted.length === 0) return;
  const rows = accepted.flatMap((a) => a.postings.map((p, line) => ({ entryId: a.entryId, line, p })));
  const { rows: counted } = await tx.query<{ entries: bigint; postings: bigint }>(
    `WITH e AS (
       INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at)
       SELECT id, event_id, kind, merchant_id, created_at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS e(id, event_id, kind, merchant_id, created_at)
       ON CONFLICT (event_id) DO NOTHING RETURNING id
     ), p AS (
       INSERT INTO postings (entry_id, line, account_id, currency, amount)
       SELECT d.entry_id, d.line, d.account_id, d.currency, d.amount
         FROM unnest($6::text[], $7::integer[], $8::text[], $9::text[], $10::bigint[]) AS d(entry_id, line, account_id, currency, amount)
        WHERE d.entry_id IN (SELECT id FROM e)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM e)::bigint AS entries, (SELECT count(*) FROM p)::bigint AS postings`,
    [
      accepted.map((a) => a.entryId), accepted.map((a) => a.draft.eventId), accepted.map((a) => a.draft.kind), accepted.map((a) => a.draft.merchantId), accepted.map((a) => a.createdAt.toISOString()),
      rows.map((r) => r.entryId), rows.map((r) => r.line), rows.map((r) => r.p.accountId), rows.map((r) => r.p.currency), rows.map((r) => r.p.amount.toString()),
    ],
  );
  const inserted = counted[0];
  assert(inserted !== undefined, 'postEntries: the insert returns its counts');
  if (Number(inserted.entries) !== accepted.length) {
    throw Object.assign(new Error('ledger: an event of the batch was posted concurrently'), { code: '40001' });
  }
  assert(Number(inserted.postings) === rows.length, 'postEntries: every posting inserted');
}

/** Adds each delta to its balance; the caller holds the rows' locks. */
async function addDeltas(tx: Queryable, deltas: [string, bigint][]): Promise<void> {
  if (deltas.length === 0) return;
  const { rowCount } = await tx.query(
    `UPDATE ledger_accounts a SET balance = a.balance + d.delta, version = a.version + 1
     FROM unnest($1::text[], $2::bigint[]) AS d(id, delta) WHERE a.id = d.id`,
    [deltas.map(([id]) => id), deltas.map(([, delta]) => delta.toString())],
  );
  assert(rowCount === deltas.length, 'postEntries: every changed balance updated');
}

/** A replay is the first result only if it carries the same postings; otherwise it is refused. */
async function replayOutcome(tx: Queryable, draft: EntryDraft, postings: PhysicalPosting[], existingId: string): Promise<PostResult> {
  const existing = await loadEntry(tx, existingId);
  assert(existing !== undefined && existing.eventId === draft.eventId, 'postEntry: the replayed entry exists');
  const key = (accountIdText: string, amount: bigint) => `${accountIdText} ${amount}`;
  const wanted = postings.map((p) => key(p.accountId, p.amount)).sort();
  const found = existing.postings.map((p) => key(slotAccountId(p.account, p.slot), p.amount)).sort();
  const same = existing.kind === draft.kind && existing.merchantId === draft.merchantId && existing.reverses === draft.reverses && wanted.join('\n') === found.join('\n');
  return same ? { ok: true, entryId: existingId, replayed: true } : { ok: false, rejection: 'event_posted_with_other_postings', entryId: existingId };
}

/**
 * Creates the accounts that do not exist yet, from the chart, in id order. A slotted account gets
 * all its slots at once, so concurrent posters do not each stop to create one more slot.
 */
/** Returns every physical id now known to exist: the ids asked for and all slots of their accounts. */
export async function ensureAccounts(tx: Queryable, physicalIds: readonly string[]): Promise<string[]> {
  const all = new Set<string>();
  for (const id of physicalIds) {
    const { account: ref } = parseAccountId(id);
    for (let slot = 0; slot < chartOfAccounts[ref.type].slots; slot++) all.add(slotAccountId(ref, slot));
  }
  const ids = [...all].sort();
  const parsed = ids.map((id) => ({ id, ...parseAccountId(id) }));
  await tx.query(
    `INSERT INTO ledger_accounts (id, logical_id, slot, type, owner, currency, normal_balance, allow_negative)
     SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[])
     ORDER BY 1
     ON CONFLICT DO NOTHING`, // every unique index an arbiter: with (id) alone, a concurrent creator of the same row can trip (id, currency)
    [
      ids,
      parsed.map((p) => accountId(p.account)),
      parsed.map((p) => p.slot),
      parsed.map((p) => p.account.type),
      parsed.map((p) => p.account.owner),
      parsed.map((p) => p.account.currency),
      parsed.map((p) => chartOfAccounts[p.account.type].normalBalance),
      parsed.map((p) => chartOfAccounts[p.account.type].allowNegative),
    ],
  );
  return ids;
}

interface EntryRow {
  id: string;
  event_id: string;
  kind: string;
  merchant_id: string | null;
  reverses: string | null;
  created_at: Date;
  account_id: string;
  amount: bigint;
}

const entrySql = `SELECT e.id, e.event_id, e.kind, e.merchant_id, e.reverses, e.created_at, p.account_id, p.amount
  FROM journal_entries e JOIN postings p ON p.entry_id = e.id`;

function toPostedEntry(rows: EntryRow[]): PostedEntry | undefined {
  const first = rows[0];
  if (first === undefined) return undefined;
  return {
    id: first.id,
    eventId: first.event_id,
    kind: first.kind,
    merchantId: first.merchant_id,
    reverses: first.reverses,
    createdAt: new Date(first.created_at),
    postings: rows.map((row) => ({ ...parseAccountId(row.account_id), amount: BigInt(row.amount) })),
  };
}

export async function loadEntry(db: Queryable, entryId: string): Promise<PostedEntry | undefined> {
  const { rows } = await db.query<EntryRow>(`${entrySql} WHERE e.id = $1 ORDER BY p.line`, [entryId]);
  return toPostedEntry(rows);
}

export async function loadEntryByEvent(db: Queryable, eventId: string): Promise<PostedEntry | undefined> {
  const { rows } = await db.query<EntryRow>(`${entrySql} WHERE e.event_id = $1 ORDER BY p.line`, [eventId]);
  return toPostedEntry(rows);
}

/** Signed balance (debits minus credits) of a logical account: the sum of its slots. */
export async function accountBalance(db: Queryable, ref: AccountRef): Promise<Money> {
  const { rows } = await db.query<{ balance: bigint | null }>('SELECT sum(balance)::bigint AS balance FROM ledger_accounts WHERE logical_id = $1', [accountId(ref)]);
  return money(BigInt(rows[0]?.balance ?? 0n), ref.currency);
}

/** A balance as the account's owner reads it: positive in the direction of its normal balance. */
export function normalBalanceOf(ref: AccountRef, signed: Money): Money {
  assert(signed.currency === ref.currency, 'normalBalanceOf: the account currency');
  return chartOfAccounts[ref.type].normalBalance === 'debit' ? signed : money(-signed.amount, signed.currency);
}
