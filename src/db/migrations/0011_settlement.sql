-- Daily settlement (docs/settlement.md): per merchant, currency and day, the day's captures and
-- refunds are summed, checked against the ledger with control totals, and the net is moved from
-- merchant_pending to merchant_available by one journal entry (event settlement:{merchant}:{currency}:{date}).
--
-- settlement_settings: one row per merchant that chose its own time zone and cut-off; no row:
--   the platform's default (CLEARWAY_SETTLEMENT_TIME_ZONE, CLEARWAY_SETTLEMENT_CUT_OFF; UTC 00:00).
-- settlement_batches: one row per merchant, currency and day. A batch is settled (posted) or
--   failed (controls did not match; nothing posted; `failure` holds the report). The window it
--   covered is kept, so a re-run reads exactly the same transactions; consecutive batches of a
--   merchant meet exactly (a batch starts where the merchant's previous one ended).

CREATE TABLE settlement_settings (
  merchant_id      text PRIMARY KEY,
  time_zone        text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  cut_off_minutes  integer NOT NULL CHECK (cut_off_minutes >= 0 AND cut_off_minutes < 1440),
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);

CREATE TABLE settlement_batches (
  id                 text PRIMARY KEY CHECK (id ~ '^stl_[0-9a-z]{24}$'),
  merchant_id        text NOT NULL,
  currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  settlement_date    date NOT NULL,
  status             text NOT NULL CHECK (status IN ('settled', 'failed')),
  time_zone          text NOT NULL,
  cut_off_minutes    integer NOT NULL CHECK (cut_off_minutes >= 0 AND cut_off_minutes < 1440),
  window_start       timestamptz NOT NULL,
  window_end         timestamptz NOT NULL,
  transaction_count  bigint NOT NULL CHECK (transaction_count >= 1),
  capture_count      bigint NOT NULL CHECK (capture_count >= 0),
  refund_count       bigint NOT NULL CHECK (refund_count >= 0),
  gross              bigint NOT NULL,
  refunds            bigint NOT NULL,
  fees_charged       bigint NOT NULL,
  fees_returned      bigint NOT NULL,
  fees               bigint NOT NULL,
  net                bigint NOT NULL,
  carried_in         bigint NOT NULL CHECK (carried_in <= 0),
  amount_settled     bigint NOT NULL CHECK (amount_settled >= 0),
  carried_out        bigint NOT NULL CHECK (carried_out <= 0),
  -- {chunk_transactions, chunks, chunks_verified, business: {count, gross, fee, net}, ledger: {...}}
  controls           jsonb NOT NULL,
  -- the stop report of a failed batch (docs/settlement.md, "When a check fails")
  failure            jsonb,
  event_id           text NOT NULL UNIQUE,
  journal_entry_id   text,
  run_count          integer NOT NULL DEFAULT 1 CHECK (run_count >= 1),
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  UNIQUE (merchant_id, currency, settlement_date),
  CHECK (window_end > window_start),
  CHECK (fees = fees_charged - fees_returned),
  CHECK (net = gross - refunds - fees),
  CHECK ((status = 'failed') = (failure IS NOT NULL)),
  CHECK (status = 'settled' OR (amount_settled = 0 AND carried_out = 0 AND journal_entry_id IS NULL)),
  CHECK (status = 'failed' OR amount_settled + carried_out = net + carried_in),
  CHECK ((journal_entry_id IS NOT NULL) = (status = 'settled' AND amount_settled > 0))
);

CREATE INDEX settlement_batches_merchant_created ON settlement_batches (merchant_id, created_at DESC, id DESC);
CREATE INDEX settlement_batches_merchant_date ON settlement_batches (merchant_id, settlement_date);
