-- The ledger's balance rule, (a) of 0005, checked once per statement instead of once per row at
-- commit. The rule itself is unchanged and now holds earlier: at the end of every statement that
-- writes journal entries or postings (not only at commit),
--   (a) every journal entry has two or more postings and its postings sum to zero per currency.
-- Two statement-level AFTER INSERT triggers enforce it, each one query over the rows the
-- statement inserted (its transition table), reading each entry's postings by its index (a
-- correlated LATERAL probe per entry: the plan plpgsql caches stays an index probe whatever the
-- table's size was when it was made; a join would be planned once, possibly as a scan of the
-- whole postings table while it was small, and kept):
--   journal_entries_balanced   every entry the statement inserted has two or more postings;
--   postings_balanced          every entry the statement added postings to has two or more
--                              postings and they sum to zero per currency (all its postings,
--                              read from the table, not only the new ones).
-- A statement-level trigger cannot be deferred, so an entry and its postings must now be written
-- by ONE statement: `WITH e AS (INSERT INTO journal_entries ... RETURNING id) INSERT INTO postings
-- ...`. The AFTER triggers of every sub-statement of such a statement fire at its end and see all
-- its rows (on PostgreSQL 15 and on PGlite alike; test/ledger/journal.test.ts runs on both).
-- Inside a function each of its SQL statements is a statement here. What is refused, each at the
-- end of the statement that does it:
--   an entry inserted without postings (or with one);
--   postings that do not sum to zero per currency for their entry;
--   a posting added later to an existing entry that unbalances it.
-- (A later statement adding postings that keep an entry balanced passes, as it did under 0005.)
-- The rest of 0005 stands as it was: (b) immutability, (c) currency of the account, (d) floors,
-- (e) one entry per event.
--
-- ledger_post_entry keeps its signature and outcomes; it now writes the entry and its postings in
-- one statement.

DROP TRIGGER journal_entries_balanced ON journal_entries;
DROP TRIGGER postings_balanced ON postings;
DROP FUNCTION ledger_entry_balanced_trigger();
DROP FUNCTION ledger_assert_entry_balanced(text);

CREATE FUNCTION ledger_new_entries_have_postings() RETURNS trigger AS $$
DECLARE
  bad_id text;
  posting_count integer;
BEGIN
  SELECT n.id, t.n INTO bad_id, posting_count
    FROM ledger_new_entries n
    CROSS JOIN LATERAL (SELECT count(*)::integer AS n FROM postings p WHERE p.entry_id = n.id) t
    WHERE t.n < 2
    ORDER BY n.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs two or more (write an entry and its postings in one statement)', bad_id, posting_count
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION ledger_touched_entries_balance() RETURNS trigger AS $$
DECLARE
  bad_id text;
  posting_count integer;
  unbalanced_currency text;
BEGIN
  SELECT n.entry_id, t.n, t.unbalanced_currency INTO bad_id, posting_count, unbalanced_currency
    FROM (SELECT DISTINCT entry_id FROM ledger_new_postings) n
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(c.n), 0)::integer AS n, min(c.currency) FILTER (WHERE c.total <> 0) AS unbalanced_currency
        FROM (SELECT p.currency, count(*) AS n, sum(p.amount) AS total FROM postings p WHERE p.entry_id = n.entry_id GROUP BY p.currency) c
    ) t
    WHERE t.n < 2 OR t.unbalanced_currency IS NOT NULL
    ORDER BY n.entry_id LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF unbalanced_currency IS NOT NULL THEN
    RAISE EXCEPTION 'ledger: journal entry % does not balance in %', bad_id, unbalanced_currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs two or more', bad_id, posting_count
    USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  REFERENCING NEW TABLE AS ledger_new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_new_entries_have_postings();

CREATE TRIGGER postings_balanced AFTER INSERT ON postings
  REFERENCING NEW TABLE AS ledger_new_postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_touched_entries_balance();

-- As 0005's, but the entry and its postings are inserted by one statement (the triggers above
-- check them at its end), and the balances are updated only once the entry is in.
CREATE OR REPLACE FUNCTION ledger_post_entry(
  p_entry_id text, p_event_id text, p_kind text, p_merchant_id text, p_reverses text, p_created_at timestamptz,
  p_account_ids text[], p_currencies text[], p_amounts bigint[]
) RETURNS TABLE (outcome text, entry_id text, account_id text, balance bigint) AS $$
#variable_conflict use_column
DECLARE
  existing_id text;
  locked_count integer;
  wanted_count integer;
  missing_id text;
  short_id text;
  short_balance bigint;
  inserted_count integer;
  posted_count integer;
BEGIN
  SELECT e.id INTO existing_id FROM journal_entries e WHERE e.event_id = p_event_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'replayed'::text, existing_id, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  IF p_reverses IS NOT NULL THEN
    SELECT e.id INTO existing_id FROM journal_entries e WHERE e.reverses = p_reverses;
    IF FOUND THEN
      RETURN QUERY SELECT 'already_reversed'::text, existing_id, NULL::text, NULL::bigint;
      RETURN;
    END IF;
  END IF;

  -- Missing accounts are reported before any lock is taken, so the caller creates them holding
  -- no account lock (creators then wait on each other in id order only).
  SELECT d INTO missing_id FROM unnest(p_account_ids) AS d
    WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = d) ORDER BY d LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT 'account_missing'::text, NULL::text, missing_id, NULL::bigint;
    RETURN;
  END IF;
  SELECT count(DISTINCT d) INTO wanted_count FROM unnest(p_account_ids) AS d;
  SELECT count(*) INTO locked_count FROM (
    SELECT a.id FROM ledger_accounts a WHERE a.id = ANY (p_account_ids) ORDER BY a.id FOR NO KEY UPDATE
  ) locked;
  PERFORM clearway_assert(locked_count = wanted_count, 'ledger_post_entry: every account locked');

  SELECT a.id, a.balance INTO short_id, short_balance
    FROM ledger_accounts a
    JOIN (SELECT d.id, sum(d.amount) AS delta FROM unnest(p_account_ids, p_amounts) AS d(id, amount) GROUP BY d.id) s ON s.id = a.id
    WHERE NOT a.allow_negative
      AND ((a.normal_balance = 'debit' AND a.balance + s.delta < 0) OR (a.normal_balance = 'credit' AND a.balance + s.delta > 0))
    ORDER BY a.id LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT 'insufficient_balance'::text, NULL::text, short_id, short_balance;
    RETURN;
  END IF;

  -- The entry and its postings, one statement.
  WITH e AS (
    INSERT INTO journal_entries (id, event_id, kind, merchant_id, reverses, created_at)
      VALUES (p_entry_id, p_event_id, p_kind, p_merchant_id, p_reverses, p_created_at)
      ON CONFLICT (event_id) DO NOTHING
      RETURNING journal_entries.id
  ), p AS (
    INSERT INTO postings (entry_id, line, account_id, currency, amount)
      SELECT e.id, (d.ordinality - 1)::integer, d.id, d.currency, d.amount
      FROM e CROSS JOIN unnest(p_account_ids, p_currencies, p_amounts) WITH ORDINALITY AS d(id, currency, amount, ordinality)
      RETURNING 1
  )
  SELECT (SELECT count(*) FROM e)::integer, (SELECT count(*) FROM p)::integer INTO inserted_count, posted_count;
  IF inserted_count = 0 THEN
    -- A concurrent poster of the same event committed first.
    SELECT e.id INTO existing_id FROM journal_entries e WHERE e.event_id = p_event_id;
    RETURN QUERY SELECT 'replayed'::text, existing_id, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  PERFORM clearway_assert(posted_count = cardinality(p_account_ids), 'ledger_post_entry: every posting inserted');

  UPDATE ledger_accounts a SET balance = a.balance + s.delta, version = a.version + 1
    FROM (SELECT d.id, sum(d.amount) AS delta FROM unnest(p_account_ids, p_amounts) AS d(id, amount) GROUP BY d.id) s
    WHERE a.id = s.id;

  RETURN QUERY SELECT 'posted'::text, p_entry_id, NULL::text, NULL::bigint;
END
$$ LANGUAGE plpgsql;
