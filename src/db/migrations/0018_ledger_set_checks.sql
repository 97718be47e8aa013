-- The ledger's rules stay exactly as 0005 and 0017 state them; a batch of entries now pays for
-- them once per statement instead of once per row.
--
-- 1. An entry balances (rule a of 0005). Every statement that writes postings leaves every entry
--    balanced (0017), postings are never updated or deleted, and a posting is never zero. So the
--    postings one statement adds to an entry keep it balanced exactly when they balance among
--    themselves, per currency: sum(all) = sum(before, zero) + sum(new). And a set that balances
--    has two or more postings (one posting alone is non-zero). postings_balanced now reads only
--    the statement's own postings (its transition table, one hash aggregate), not each touched
--    entry's postings by index. journal_entries_balanced keeps its per-entry probe, cut to "has a
--    posting" (the count and the sum are the postings trigger's).
-- 2. The postings' foreign keys (to journal_entries, and to ledger_accounts by id and currency)
--    become the same postings trigger's set-based checks: each distinct entry and each distinct
--    (account, currency) of the statement is probed once, where a foreign key checks (and
--    KEY SHARE-locks, writing WAL) once per posting row. What the foreign keys also refused,
--    deleting or re-keying a referenced row, stays refused: entries are immutable (0005), and
--    ledger accounts now refuse DELETE, TRUNCATE and a change of id or currency.
-- 3. journal_entries.reverses: its UNIQUE constraint indexed every entry (NULL included); a
--    partial unique index over the reversals alone keeps "an entry is reversed at most once".
--
-- The probes are correlated LATERAL subqueries with LIMIT 1: the plan plpgsql caches stays an
-- index probe whatever the tables' size when it was made (see 0017).

ALTER TABLE postings DROP CONSTRAINT postings_entry_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_account_id_currency_fkey;

ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_reverses_key;
CREATE UNIQUE INDEX journal_entries_reversed_once ON journal_entries (reverses) WHERE reverses IS NOT NULL;

CREATE OR REPLACE FUNCTION ledger_new_entries_have_postings() RETURNS trigger AS $$
DECLARE
  bad_id text;
BEGIN
  SELECT n.id INTO bad_id
    FROM ledger_new_entries n
    LEFT JOIN LATERAL (SELECT 1 AS found FROM postings p WHERE p.entry_id = n.id LIMIT 1) t ON true
    WHERE t.found IS NULL
    ORDER BY n.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: journal entry % has 0 posting(s); an entry needs two or more (write an entry and its postings in one statement)', bad_id
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_touched_entries_balance() RETURNS trigger AS $$
DECLARE
  bad_id text;
  bad_currency text;
  posting_count integer;
BEGIN
  -- The statement's postings balance per entry and currency (see 1 above).
  SELECT t.entry_id, t.currency, t.n INTO bad_id, bad_currency, posting_count
    FROM (SELECT entry_id, currency, count(*)::integer AS n, sum(amount) AS total FROM ledger_new_postings GROUP BY entry_id, currency) t
    WHERE t.total <> 0
    ORDER BY t.entry_id, t.currency LIMIT 1;
  IF FOUND THEN
    -- (Only to word the error: an entry whose one posting is all it has.)
    IF posting_count = 1 AND (SELECT count(*) FROM postings p WHERE p.entry_id = bad_id) = 1 THEN
      RAISE EXCEPTION 'ledger: journal entry % has 1 posting(s); an entry needs two or more', bad_id
        USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
    END IF;
    RAISE EXCEPTION 'ledger: journal entry % does not balance in %', bad_id, bad_currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  -- Each posting's entry exists.
  SELECT d.entry_id INTO bad_id
    FROM (SELECT DISTINCT entry_id FROM ledger_new_postings) d
    LEFT JOIN LATERAL (SELECT 1 AS found FROM journal_entries e WHERE e.id = d.entry_id LIMIT 1) t ON true
    WHERE t.found IS NULL
    ORDER BY d.entry_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: postings name journal entry %, which does not exist', bad_id
      USING ERRCODE = '23503', CONSTRAINT = 'postings_entry_exists';
  END IF;
  -- Each posting's account exists, in the posting's currency.
  SELECT d.account_id, d.currency INTO bad_id, bad_currency
    FROM (SELECT DISTINCT account_id, currency FROM ledger_new_postings) d
    LEFT JOIN LATERAL (SELECT 1 AS found FROM ledger_accounts a WHERE a.id = d.account_id AND a.currency = d.currency LIMIT 1) t ON true
    WHERE t.found IS NULL
    ORDER BY d.account_id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: a posting names account % in %: no such account in that currency', bad_id, bad_currency
      USING ERRCODE = '23503', CONSTRAINT = 'postings_account_exists';
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- What the foreign keys refused on the accounts' side.
CREATE FUNCTION ledger_accounts_keep_keys() RETURNS trigger AS $$
BEGIN
  IF TG_LEVEL = 'ROW' AND TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.currency = OLD.currency THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ledger: ledger accounts are never deleted, truncated nor re-keyed (%)', TG_OP
    USING ERRCODE = '23503', CONSTRAINT = 'ledger_accounts_kept';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_accounts_kept BEFORE UPDATE OF id, currency OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_keep_keys();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_keep_keys();
