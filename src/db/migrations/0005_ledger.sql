-- The double-entry ledger (DESIGN.md "Ledger"). What the database itself guarantees, whatever
-- code or person writes to it:
--   (a) every journal entry has two or more postings and its postings sum to zero per currency,
--       checked at commit by deferred constraint triggers;
--   (b) journal entries and postings are immutable: UPDATE, DELETE and TRUNCATE are refused
--       (a correction is a reversal entry; an entry can be reversed once);
--   (c) a posting's currency is its account's currency (composite foreign key);
--   (d) an account with allow_negative = false never goes below zero in the direction of its
--       normal balance (CHECK on the balance);
--   (e) one entry per business event (event_id UNIQUE), so a replay cannot post twice.
-- Balances are signed: debits minus credits. A credit-normal account (merchant_pending) holding
-- money therefore has a negative balance; "below zero" means against its normal direction.
--
-- Hot accounts: a logical account (logical_id, e.g. fee_revenue:platform:USD) may be split into
-- several physical rows (slots, id fee_revenue:platform:USD#07). A posting goes to one slot,
-- chosen by a hash of its event id; a balance is the sum of its slots. Only accounts that may go
-- negative can have more than one slot (a per-slot floor would refuse what the sum allows).

CREATE TABLE ledger_accounts (
  id              text PRIMARY KEY,
  logical_id      text NOT NULL,
  slot            integer NOT NULL DEFAULT 0 CHECK (slot >= 0 AND slot < 256),
  type            text NOT NULL CHECK (type IN ('channel_receivable', 'merchant_pending', 'merchant_available', 'fee_revenue',
                                                'channel_fee_expense', 'payout_in_transit', 'bank_cash')),
  owner           text NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  normal_balance  text NOT NULL CHECK (normal_balance IN ('debit', 'credit')),
  allow_negative  boolean NOT NULL,
  balance         bigint NOT NULL DEFAULT 0,
  version         bigint NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, currency),
  UNIQUE (logical_id, slot),
  CHECK ((slot = 0) = (id = logical_id)),
  CHECK (slot = 0 OR allow_negative),
  CONSTRAINT ledger_accounts_balance_not_negative CHECK (
    allow_negative
    OR (normal_balance = 'debit' AND balance >= 0)
    OR (normal_balance = 'credit' AND balance <= 0)
  )
);

CREATE TABLE journal_entries (
  id           text PRIMARY KEY CHECK (id ~ '^jrn_[0-9a-z]{24}$'),
  event_id     text NOT NULL UNIQUE CHECK (length(event_id) BETWEEN 1 AND 255),
  kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,39}$'),
  merchant_id  text,
  reverses     text UNIQUE REFERENCES journal_entries(id),
  created_at   timestamptz NOT NULL,
  CHECK (reverses IS NULL OR reverses <> id)
);

CREATE INDEX journal_entries_merchant_idx ON journal_entries (merchant_id, created_at) WHERE merchant_id IS NOT NULL;

CREATE TABLE postings (
  entry_id    text NOT NULL REFERENCES journal_entries(id),
  line        integer NOT NULL CHECK (line >= 0),
  account_id  text NOT NULL,
  currency    text NOT NULL,
  amount      bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (entry_id, line),
  FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency)
);

CREATE INDEX postings_account_idx ON postings (account_id);

-- (a) An entry balances: two or more postings, zero per currency. Deferred to commit, so the
-- entry and its postings can be inserted by separate statements of one transaction.
CREATE FUNCTION ledger_assert_entry_balanced(p_entry_id text) RETURNS void AS $$
DECLARE
  posting_count integer;
  unbalanced_currency text;
BEGIN
  SELECT count(*) INTO posting_count FROM postings WHERE entry_id = p_entry_id;
  IF posting_count < 2 THEN
    RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs two or more', p_entry_id, posting_count
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  SELECT currency INTO unbalanced_currency FROM postings WHERE entry_id = p_entry_id
    GROUP BY currency HAVING sum(amount) <> 0 ORDER BY currency LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger: journal entry % does not balance in %', p_entry_id, unbalanced_currency
      USING ERRCODE = '23514', CONSTRAINT = 'journal_entry_balanced';
  END IF;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION ledger_entry_balanced_trigger() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'journal_entries' THEN
    PERFORM ledger_assert_entry_balanced(NEW.id);
  ELSE
    PERFORM ledger_assert_entry_balanced(NEW.entry_id);
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_trigger();

CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_trigger();

-- (b) Immutability.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % on % is refused; journal entries and postings are immutable (post a reversal)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = '55000';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER journal_entries_immutable BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Posts one entry in one statement. Returns one row (outcome, entry_id, account_id, balance):
--   posted                 the entry, its postings and the balances were written;
--   replayed               an entry with this event_id exists (entry_id names it); nothing written;
--   already_reversed       p_reverses was reversed by entry_id; nothing written;
--   account_missing        account_id does not exist (the caller creates it and calls again);
--   insufficient_balance   account_id (balance = its balance now) would go below zero.
-- Accounts are locked in id order, so two posters never deadlock on them; balances are updated
-- in place (balance = balance + delta) under those locks, so no update is lost. The CHECK on
-- ledger_accounts stays the last word if this function ever misjudged a floor.
CREATE FUNCTION ledger_post_entry(
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

  INSERT INTO journal_entries (id, event_id, kind, merchant_id, reverses, created_at)
    VALUES (p_entry_id, p_event_id, p_kind, p_merchant_id, p_reverses, p_created_at)
    ON CONFLICT (event_id) DO NOTHING;
  IF NOT FOUND THEN
    -- A concurrent poster of the same event committed first.
    SELECT e.id INTO existing_id FROM journal_entries e WHERE e.event_id = p_event_id;
    RETURN QUERY SELECT 'replayed'::text, existing_id, NULL::text, NULL::bigint;
    RETURN;
  END IF;

  UPDATE ledger_accounts a SET balance = a.balance + s.delta, version = a.version + 1
    FROM (SELECT d.id, sum(d.amount) AS delta FROM unnest(p_account_ids, p_amounts) AS d(id, amount) GROUP BY d.id) s
    WHERE a.id = s.id;

  INSERT INTO postings (entry_id, line, account_id, currency, amount)
    SELECT p_entry_id, (d.ordinality - 1)::integer, d.id, d.currency, d.amount
    FROM unnest(p_account_ids, p_currencies, p_amounts) WITH ORDINALITY AS d(id, currency, amount, ordinality);

  RETURN QUERY SELECT 'posted'::text, p_entry_id, NULL::text, NULL::bigint;
END
$$ LANGUAGE plpgsql;
