-- The ledger's guarantees stay exactly as 0005 states them; they cost less.
--
-- 1. An entry's balance check (deferred to commit, once per entry and once per posting row) reads
--    the entry's postings once instead of twice: one pass gives the posting count and, per
--    currency, the sum.
-- 2. postings_account_idx (account_id) is covered by postings_account_entry_idx (account_id,
--    entry_id) from 0010: one index less to maintain on every posting.

CREATE OR REPLACE FUNCTION ledger_assert_entry_balanced(p_entry_id text) RETURNS void AS $$
DECLARE
  posting_count integer;
  unbalanced_currency text;
BEGIN
  SELECT coalesce(sum(t.n), 0)::integer, min(t.currency) FILTER (WHERE t.total <> 0)
    INTO posting_count, unbalanced_currency
    FROM (SELECT currency, count(*) AS n, sum(amount) AS total FROM postings WHERE entry_id = p_entry_id GROUP BY currency) t;
  IF posting_count < 2 THEN
    RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs two or more', p_entry_id, posting_count
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  IF unbalanced_currency IS NOT NULL THEN
    RAISE EXCEPTION 'ledger: journal entry % does not balance in %', p_entry_id, unbalanced_currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
END
$$ LANGUAGE plpgsql;

DROP INDEX postings_account_idx;
