// The ledger on both stores: what postEntry does, and what the database refuses by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { money } from '../../src/kernel/money.ts';
import { stores } from '../support/harness.ts';
import { account, feeRevenueAccount, slotAccountId, type AccountRef } from '../../src/ledger/domain/accounts.ts';
import { captureEntry, entryDraft, refundEntry, reversalEntry, type EntryDraft } from '../../src/ledger/domain/entries.ts';
import { accountBalance, ensureAccounts, loadEntry, postEntries, postEntry, type PostResult } from '../../src/ledger/journal.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { openLedgerStore, type LedgerStore } from './support.ts';

const usd = (amount: bigint) => money(amount, 'USD');
const pending = (merchant: string, currency = 'USD') => account('merchant_pending', merchant, currency);
const available = (merchant: string, currency = 'USD') => account('merchant_available', merchant, currency);
const receivable = (channel = 'card_a', currency = 'USD') => account('channel_receivable', channel, currency);

function capture(eventId: string, merchantId: string, gross: bigint, fee: bigint, currency = 'USD'): EntryDraft {
  return captureEntry({ eventId, merchantId, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency) });
}

/** Settlement moves pending to available (a builder for it belongs to the settlement work). */
function settle(eventId: string, merchantId: string, amount: bigint): EntryDraft {
  return entryDraft({ eventId, kind: 'settlement', merchantId, reverses: null, postings: [{ account: pending(merchantId), amount }, { account: available(merchantId), amount: -amount }] });
}

function payout(eventId: string, merchantId: string, amount: bigint): EntryDraft {
  const inTransit = account('payout_in_transit', merchantId, 'USD');
  return entryDraft({ eventId, kind: 'payout', merchantId, reverses: null, postings: [{ account: available(merchantId), amount }, { account: inTransit, amount: -amount }] });
}

describe.each(stores)('ledger on %s', (store) => {
  let ledger: LedgerStore;
  beforeAll(async () => {
    ledger = await openLedgerStore(store);
  });
  afterAll(async () => {
    await ledger.close();
  });

  const post = (draft: EntryDraft): Promise<PostResult> => ledger.db.transaction((tx) => postEntry(tx, draft));
  const balance = async (ref: AccountRef): Promise<bigint> => (await accountBalance(ledger.db, ref)).amount;
  const posted = async (draft: EntryDraft): Promise<string> => {
    const result = await post(draft);
    if (!result.ok) throw new Error(`expected the entry to post, got ${result.rejection}`);
    return result.entryId;
  };

  it('posts a balanced capture: gross to the merchant, fee to the platform', async () => {
    const entryId = await posted(capture('pay_capture_1', 'mch_capture', 10_000n, 320n));
    expect(await balance(receivable())).toBeGreaterThanOrEqual(10_000n);
    expect(await balance(pending('mch_capture'))).toBe(-9_680n); // credit-normal: 96.80 owed to the merchant
    const entry = await loadEntry(ledger.db, entryId);
    expect(entry?.kind).toBe('capture');
    expect(entry?.postings.map((p) => p.amount)).toEqual([10_000n, -10_000n, 320n, -320n]);
    const { rows } = await ledger.db.query<{ logical_id: string; n: bigint; used: bigint }>(
      "SELECT logical_id, count(*)::bigint AS n, count(*) FILTER (WHERE balance <> 0)::bigint AS used FROM ledger_accounts WHERE type = 'fee_revenue' GROUP BY logical_id",
    );
    expect(rows).toEqual([{ logical_id: 'fee_revenue:platform:USD', n: 16n, used: 1n }]); // all slots created on first use, one used
  });

  it('refuses, at the end of its statement, an unbalanced entry written with raw SQL', async () => {
    await ledger.db.transaction((tx) => ensureAccounts(tx, ['channel_receivable:card_a:USD', 'merchant_pending:mch_raw:USD']));
    type Tx = { query: (sql: string, params?: unknown[]) => Promise<unknown> };
    // An entry and its postings in one statement, as the database requires (0017).
    const insertEntryWithPostings = (tx: Tx, id: string, event: string, lines: readonly (readonly [string, bigint])[]) =>
      tx.query(
        `WITH e AS (INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at) VALUES ($1, $2, 'capture', 'mch_raw', now()) RETURNING id)
         INSERT INTO postings (entry_id, line, account_id, currency, amount)
         SELECT e.id, (d.n - 1)::integer, d.account_id, 'USD', d.amount FROM e, unnest($3::text[], $4::bigint[]) WITH ORDINALITY AS d(account_id, amount, n)`,
        [id, event, lines.map(([accountId]) => accountId), lines.map(([, amount]) => amount.toString())],
      );
    const insertEntry = (tx: Tx, id: string, event: string) =>
      tx.query("INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at) VALUES ($1, $2, 'capture', 'mch_raw', now())", [id, event]);
    const insertPosting = (tx: Tx, id: string, line: number, accountId: string, amount: bigint) =>
      tx.query("INSERT INTO postings (entry_id, line, account_id, currency, amount) VALUES ($1, $2, $3, 'USD', $4)", [id, line, accountId, amount.toString()]);
    const refusedStatement = async (work: (tx: Tx) => Promise<unknown>, message: RegExp) => {
      let statementRefused = false;
      await expect(
        ledger.db.transaction(async (tx) => {
          try {
            await work(tx);
          } catch (error) {
            statementRefused = true; // the statement itself fails, not the commit
            throw error;
          }
        }),
      ).rejects.toThrow(message);
      expect(statementRefused).toBe(true);
    };

    // An unbalanced set of postings, with its entry in one statement.
    const unbalancedId = 'jrn_0000000000000000000000u1';
    await refusedStatement(
      (tx) => insertEntryWithPostings(tx, unbalancedId, 'raw_unbalanced', [['channel_receivable:card_a:USD', 100n], ['merchant_pending:mch_raw:USD', -99n]]),
      /does not balance in USD/,
    );
    // An entry with a single posting.
    await refusedStatement((tx) => insertEntryWithPostings(tx, 'jrn_0000000000000000000000u3', 'raw_single', [['channel_receivable:card_a:USD', 100n]]), /has 1 posting\(s\)|does not balance in USD/);
    // An entry without postings, even if they were to follow in later statements of its transaction.
    const loneId = 'jrn_0000000000000000000000u2';
    await refusedStatement((tx) => insertEntry(tx, loneId, 'raw_lonely'), /has 0 posting\(s\)/);
    await refusedStatement(async (tx) => {
      await insertEntry(tx, loneId, 'raw_lonely');
      await insertPosting(tx, loneId, 0, 'channel_receivable:card_a:USD', 100n);
      await insertPosting(tx, loneId, 1, 'merchant_pending:mch_raw:USD', -100n);
    }, /has 0 posting\(s\)/);

    // A balanced entry written with its postings in one statement commits…
    const balancedId = 'jrn_0000000000000000000000b1';
    await ledger.db.transaction((tx) => insertEntryWithPostings(tx, balancedId, 'raw_balanced', [['channel_receivable:card_a:USD', 100n], ['merchant_pending:mch_raw:USD', -100n]]));
    // …and a posting added later to that committed entry is refused, as it unbalances it…
    await refusedStatement((tx) => insertPosting(tx, balancedId, 2, 'channel_receivable:card_a:USD', 5n), /does not balance/);
    // …in the same transaction as the entry too.
    await refusedStatement(async (tx) => {
      await insertEntryWithPostings(tx, 'jrn_0000000000000000000000u4', 'raw_then_more', [['channel_receivable:card_a:USD', 7n], ['merchant_pending:mch_raw:USD', -7n]]);
      await insertPosting(tx, 'jrn_0000000000000000000000u4', 2, 'merchant_pending:mch_raw:USD', -1n);
    }, /does not balance in USD/);

    const { rows } = await ledger.db.query<{ id: string }>("SELECT id FROM journal_entries WHERE event_id LIKE 'raw_%' ORDER BY id");
    expect(rows.map((r) => r.id)).toEqual([balancedId]);
    // The raw entry did not move balances (raw SQL bypasses the balance update): the check says so.
    const report = await checkLedger(ledger.db);
    expect(report.checks.find((c) => c.name === 'balances_equal_postings')?.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'entries_balance')?.ok).toBe(true);
    // Put the balances right, as the journal would have, so later tests start from a whole ledger.
    await ledger.db.query("UPDATE ledger_accounts SET balance = balance + 100 WHERE id = 'channel_receivable:card_a:USD'");
    await ledger.db.query("UPDATE ledger_accounts SET balance = balance - 100 WHERE id = 'merchant_pending:mch_raw:USD'");
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of entries and postings', async () => {
    const entryId = await posted(capture('pay_immutable', 'mch_immutable', 500n, 15n));
    const attempts = [
      ['UPDATE postings SET amount = amount * 2 WHERE entry_id = $1', [entryId]],
      ['DELETE FROM postings WHERE entry_id = $1', [entryId]],
      ["UPDATE journal_entries SET kind = 'refund' WHERE id = $1", [entryId]],
      ['DELETE FROM journal_entries WHERE id = $1', [entryId]],
      ['TRUNCATE postings', []],
      ['TRUNCATE journal_entries CASCADE', []],
    ] as const;
    for (const [sql, params] of attempts) {
      await expect(ledger.db.query(sql, [...params]), sql).rejects.toThrow(/immutable/);
    }
    expect((await loadEntry(ledger.db, entryId))?.postings.map((p) => p.amount)).toEqual([500n, -500n, 15n, -15n]);
  });

  it('refuses postings of an entry that does not exist, and deleting, truncating or re-keying an account', async () => {
    await ledger.db.transaction((tx) => ensureAccounts(tx, ['merchant_pending:mch_keys:USD', 'channel_receivable:card_a:USD']));
    await expect(
      ledger.db.query(`INSERT INTO postings (entry_id, line, account_id, currency, amount)
        VALUES ('jrn_0000000000000000000000m1', 0, 'channel_receivable:card_a:USD', 'USD', 5), ('jrn_0000000000000000000000m1', 1, 'merchant_pending:mch_keys:USD', 'USD', -5)`),
    ).rejects.toThrow(/journal entry jrn_0000000000000000000000m1, which does not exist/);
    for (const sql of [
      "DELETE FROM ledger_accounts WHERE id = 'merchant_pending:mch_keys:USD'",
      "UPDATE ledger_accounts SET id = 'merchant_pending:mch_other:USD' WHERE id = 'merchant_pending:mch_keys:USD'",
      "UPDATE ledger_accounts SET currency = 'EUR' WHERE id = 'merchant_pending:mch_keys:USD'",
      'TRUNCATE ledger_accounts CASCADE',
    ]) {
      await expect(ledger.db.query(sql), sql).rejects.toThrow(/never deleted, truncated nor re-keyed/);
    }
    const { rows } = await ledger.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM ledger_accounts WHERE logical_id = 'merchant_pending:mch_keys:USD'");
    expect(rows[0]!.n).toBeGreaterThan(0n);
  });

  it('refuses a posting in another currency than its account', async () => {
    const entryId = 'jrn_0000000000000000000000c1';
    await ledger.db.transaction((tx) => ensureAccounts(tx, ['merchant_pending:mch_fx:EUR', 'channel_receivable:card_a:EUR']));
    await expect(
      ledger.db.transaction(async (tx) => {
        await tx.query(
          `WITH e AS (INSERT INTO journal_entries (id, event_id, kind, merchant_id, created_at) VALUES ($1, 'raw_fx', 'capture', 'mch_fx', now()) RETURNING id)
           INSERT INTO postings (entry_id, line, account_id, currency, amount)
           SELECT e.id, d.line, d.account_id, 'USD', d.amount FROM e, (VALUES (0, 'channel_receivable:card_a:EUR', 100), (1, 'merchant_pending:mch_fx:EUR', -100)) AS d(line, account_id, amount)`,
          [entryId],
        );
      }),
    ).rejects.toThrow(/no such account in that currency/);
  });

  it('posts a replayed event once, and refuses a replay with other postings', async () => {
    const draft = capture('pay_replay', 'mch_replay', 2_000n, 60n);
    const first = await post(draft);
    const second = await post(draft);
    expect(first).toMatchObject({ ok: true, replayed: false });
    expect(second).toEqual({ ok: true, entryId: (first as { entryId: string }).entryId, replayed: true });
    expect(await balance(pending('mch_replay'))).toBe(-1_940n);
    const other = await post(capture('pay_replay', 'mch_replay', 2_000n, 61n));
    expect(other).toEqual({ ok: false, rejection: 'event_posted_with_other_postings', entryId: (first as { entryId: string }).entryId });
    const { rows } = await ledger.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM journal_entries WHERE event_id = 'pay_replay'");
    expect(rows[0]!.n).toBe(1n);
    expect(await balance(pending('mch_replay'))).toBe(-1_940n);
  });

  it('refuses to take an account that must not go negative below zero, writing nothing', async () => {
    await posted(capture('pay_floor', 'mch_floor', 1_000n, 30n));
    await posted(settle('settle_floor', 'mch_floor', 970n));
    expect(await balance(available('mch_floor'))).toBe(-970n);
    const refused = await ledger.db.transaction(async (tx) => {
      const result = await postEntry(tx, payout('po_floor_too_much', 'mch_floor', 971n));
      // The rejection wrote nothing and left the transaction usable.
      const { rows } = await tx.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM journal_entries WHERE event_id = 'po_floor_too_much'");
      expect(rows[0]!.n).toBe(0n);
      return result;
    });
    expect(refused).toEqual({ ok: false, rejection: 'insufficient_balance', account: 'merchant_available:mch_floor:USD', balance: -970n });
    await posted(payout('po_floor_exact', 'mch_floor', 970n));
    expect(await balance(available('mch_floor'))).toBe(0n);
    // The database's own CHECK backs the journal: a raw balance write below the floor is refused.
    await expect(ledger.db.query("UPDATE ledger_accounts SET balance = 1 WHERE id = 'merchant_available:mch_floor:USD'")).rejects.toThrow(
      /ledger_accounts_balance_not_negative/,
    );
  });

  it('refunds in part and in full, returning exactly the whole fee', async () => {
    const gross = usd(1_001n);
    const fee = usd(33n);
    await posted(captureEntry({ eventId: 'pay_refunds', merchantId: 'mch_refunds', channel: 'card_a', gross, fee }));
    let refunded = usd(0n);
    let feeBack = 0n;
    for (const [index, part] of [333n, 1n, 667n].entries()) {
      const result = refundEntry({
        eventId: `ref_refunds_${index}`, merchantId: 'mch_refunds', channel: 'card_a', gross, fee,
        refundedBefore: refunded, refund: usd(part), feePolicy: 'proportional', merchantAccount: 'merchant_pending',
      });
      if (!result.ok) throw new Error(result.rejection);
      await posted(result.entry);
      refunded = usd(refunded.amount + part);
      feeBack += result.feeReturned.amount;
    }
    expect(feeBack).toBe(33n);
    expect(await balance(pending('mch_refunds'))).toBe(0n);
    const over = refundEntry({
      eventId: 'ref_refunds_over', merchantId: 'mch_refunds', channel: 'card_a', gross, fee,
      refundedBefore: refunded, refund: usd(1n), feePolicy: 'proportional', merchantAccount: 'merchant_pending',
    });
    expect(over).toEqual({ ok: false, rejection: 'refund_exceeds_captured' });
  });

  it('reverses an entry: every balance row back where it was, and only once', async () => {
    const rowsBefore = async () =>
      (await ledger.db.query<{ id: string; balance: bigint }>("SELECT id, balance FROM ledger_accounts WHERE (id LIKE '%mch_reverse%' OR type IN ('fee_revenue', 'channel_receivable')) AND balance <> 0 ORDER BY id")).rows;
    await posted(capture('pay_reverse_seed', 'mch_reverse', 10n, 1n)); // rows that a slot may add later hold 0 and are left out
    const before = await rowsBefore();
    const entryId = await posted(capture('pay_reverse', 'mch_reverse', 7_777n, 222n));
    expect(await rowsBefore()).not.toEqual(before);
    const original = (await loadEntry(ledger.db, entryId))!;
    const reversal = await post(reversalEntry(original, 'reverse_pay_reverse'));
    expect(reversal).toMatchObject({ ok: true, replayed: false });
    expect(await rowsBefore()).toEqual(before);
    const reversed = await loadEntry(ledger.db, (reversal as { entryId: string }).entryId);
    expect(reversed?.reverses).toBe(entryId);
    const again = await post(reversalEntry(original, 'reverse_pay_reverse_again'));
    expect(again).toEqual({ ok: false, rejection: 'entry_already_reversed', entryId: (reversal as { entryId: string }).entryId });
  });

  it('checkLedger passes after many postings and finds a balance changed by hand', async () => {
    const currencies = ['USD', 'EUR', 'JPY'];
    for (let i = 0; i < 120; i++) {
      const currency = currencies[i % 3]!;
      const merchant = `mch_many_${i % 7}`;
      const gross = BigInt(100 + ((i * 7919) % 50_000));
      const fee = (gross * 29n) / 1_000n;
      await posted(capture(`pay_many_${i}`, merchant, gross, fee, currency));
      if (i % 4 === 0) {
        const result = refundEntry({
          eventId: `ref_many_${i}`, merchantId: merchant, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency),
          refundedBefore: money(0n, currency), refund: money(gross / 3n, currency), feePolicy: i % 8 === 0 ? 'retained' : 'proportional',
          merchantAccount: 'merchant_pending',
        });
        if (result.ok) await posted(result.entry);
      }
    }
    const report = await checkLedger(ledger.db);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['entries_balance', true],
      ['balances_equal_postings', true],
      ['trial_balance', true],
      ['captures_match_payments', true],
      ['refunds_match_refunds', true],
      ['late_successes_booked', true],
    ]);
    const { rows: slots } = await ledger.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM ledger_accounts WHERE logical_id = 'fee_revenue:platform:USD' AND balance <> 0");
    expect(slots[0]!.n).toBeGreaterThan(4n); // fee revenue spread over slots

    const victim = slotAccountId(pending('mch_many_3', 'EUR'), 0);
    await ledger.db.query('UPDATE ledger_accounts SET balance = balance - 1 WHERE id = $1', [victim]);
    const broken = await checkLedger(ledger.db);
    expect(broken.ok).toBe(false);
    const balances = broken.checks.find((c) => c.name === 'balances_equal_postings')!;
    expect(balances).toMatchObject({ ok: false, problems: 1 });
    expect(balances.detail).toContain(victim);
    expect(broken.checks.find((c) => c.name === 'trial_balance')).toMatchObject({ ok: false, detail: 'EUR balances sum to -1' });
    await ledger.db.query('UPDATE ledger_accounts SET balance = balance + 1 WHERE id = $1', [victim]);
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });

  it('posts a batch in one transaction: each entry its own result, a rejection writing nothing', async () => {
    await posted(capture('pay_batch_seed', 'mch_batch', 1_000n, 0n));
    await posted(settle('settle_batch_seed', 'mch_batch', 1_000n));
    const results = await ledger.db.transaction((tx) =>
      postEntries(tx, [
        capture('pay_batch_1', 'mch_batch', 300n, 9n),
        capture('pay_batch_seed', 'mch_batch', 1_000n, 0n), // a replay
        payout('po_batch_too_much', 'mch_batch', 1_001n),
        capture('pay_batch_2', 'mch_batch', 200n, 6n, 'EUR'),
        payout('po_batch', 'mch_batch', 400n),
      ]),
    );
    expect(results.map((r) => (r.ok ? (r.replayed ? 'replayed' : 'posted') : r.rejection))).toEqual(['posted', 'replayed', 'insufficient_balance', 'posted', 'posted']);
    expect(await balance(available('mch_batch'))).toBe(-600n);
    expect(await balance(pending('mch_batch'))).toBe(-291n);
    expect(await balance(pending('mch_batch', 'EUR'))).toBe(-194n);
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });

  it('posts a batch set-wise, checking floors on running balances within the batch', async () => {
    await posted(capture('pay_setwise_seed', 'mch_setwise', 1_000n, 0n));
    const results = await ledger.db.transaction((tx) =>
      postEntries(tx, [
        payout('po_setwise_early', 'mch_setwise', 100n), // nothing available yet
        settle('settle_setwise', 'mch_setwise', 700n),
        payout('po_setwise_1', 'mch_setwise', 500n),
        payout('po_setwise_2', 'mch_setwise', 201n), // 200 left
        payout('po_setwise_3', 'mch_setwise', 200n),
        capture('pay_setwise_1', 'mch_setwise', 50n, 2n),
      ]),
    );
    expect(results.map((r) => (r.ok ? 'posted' : r.rejection === 'insufficient_balance' ? `${r.rejection} ${r.account} ${r.balance}` : r.rejection))).toEqual([
      'insufficient_balance merchant_available:mch_setwise:USD 0',
      'posted',
      'posted',
      'insufficient_balance merchant_available:mch_setwise:USD -200',
      'posted',
      'posted',
    ]);
    expect(await balance(available('mch_setwise'))).toBe(0n);
    expect(await balance(pending('mch_setwise'))).toBe(-348n);
    const { rows } = await ledger.db.query<{ event_id: string }>("SELECT event_id FROM journal_entries WHERE event_id LIKE 'po_setwise%' ORDER BY event_id");
    expect(rows.map((r) => r.event_id)).toEqual(['po_setwise_1', 'po_setwise_3']);
    expect((await checkLedger(ledger.db)).ok).toBe(true);
  });

  it('reads fee revenue as the sum of its slots', async () => {
    const before = await balance(feeRevenueAccount('GBP'));
    for (let i = 0; i < 40; i++) await posted(capture(`pay_gbp_${i}`, 'mch_gbp', 1_000n, 25n, 'GBP'));
    expect((await balance(feeRevenueAccount('GBP'))) - before).toBe(-1_000n);
  });
});
