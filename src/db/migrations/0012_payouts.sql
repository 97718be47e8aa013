-- Merchant payouts (docs/payouts.md): from merchant_available to the merchant's bank account,
-- through one of several bank channels.
--
-- payout_settings: one row per merchant: schedule (daily, weekly on weekly_day, manual), the
--   minimum amount a scheduled payout needs, the currency and the bank account.
-- payouts: the merchant's object. Status follows the transition table of
--   src/payouts/domain/payout-state.ts. A scheduled payout carries schedule_key (e.g.
--   'daily:2026-01-02'), unique per merchant, so two schedulers never create the same one.
--   next_action_at is the work queue and the lease: a worker claims due rows with
--   FOR UPDATE SKIP LOCKED and pushes next_action_at past the lease before calling a bank.
-- payout_attempts: one call chain to one bank. Its id is the idempotency key (and the
--   end-to-end id) the bank sees; every retry of the attempt sends the same one. At most one
--   attempt per payout and bank, and at most one that is not failed: a payout never has two
--   attempts that may both pay (failover happens only after a definite failure).
-- payout_bank_cursors: how far the status files of a file-exchange bank have been read.

CREATE TABLE payout_settings (
  merchant_id     text PRIMARY KEY,
  schedule        text NOT NULL CHECK (schedule IN ('daily', 'weekly', 'manual')),
  weekly_day      smallint CHECK (weekly_day BETWEEN 0 AND 6),
  minimum_amount  bigint NOT NULL CHECK (minimum_amount >= 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  bank_account    jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CHECK ((schedule = 'weekly') = (weekly_day IS NOT NULL))
);
CREATE INDEX payout_settings_scheduled ON payout_settings (schedule) WHERE schedule <> 'manual';

CREATE TABLE payouts (
  id              text PRIMARY KEY CHECK (id ~ '^po_[0-9a-z]{24}$'),
  merchant_id     text NOT NULL,
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status          text NOT NULL CHECK (status IN ('created', 'submitted', 'paid', 'failed', 'returned')),
  method          text NOT NULL CHECK (method IN ('manual', 'daily', 'weekly')),
  schedule_key    text,
  bank_account    jsonb NOT NULL,
  bank            text,
  failure_code    text,
  failure_message text,
  return_reason   text,
  next_action_at  timestamptz NOT NULL,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (merchant_id, schedule_key)
);
CREATE INDEX payouts_merchant ON payouts (merchant_id, created_at);
CREATE INDEX payouts_due ON payouts (next_action_at) WHERE status IN ('created', 'submitted');

CREATE TABLE payout_attempts (
  id              text PRIMARY KEY CHECK (id ~ '^poa_[0-9a-z]{24}$'),
  payout_id       text NOT NULL REFERENCES payouts(id),
  merchant_id     text NOT NULL,
  bank            text NOT NULL,
  status          text NOT NULL CHECK (status IN ('created', 'submitted', 'paid', 'failed', 'returned')),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL,
  sends           integer NOT NULL DEFAULT 0 CHECK (sends >= 0),
  bank_reference  text,
  failure_code    text,
  failure_message text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (payout_id, bank)
);
CREATE UNIQUE INDEX payout_attempts_one_live ON payout_attempts (payout_id) WHERE status <> 'failed';
CREATE INDEX payout_attempts_payout ON payout_attempts (payout_id, created_at);

CREATE TABLE payout_bank_cursors (
  bank        text PRIMARY KEY,
  last_file   text NOT NULL,
  updated_at  timestamptz NOT NULL
);
