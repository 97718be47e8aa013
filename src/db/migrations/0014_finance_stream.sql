-- The finance event stream (docs/stream.md).
--
-- Outbox order that a reader can trust: seq is assigned at insert, so rows can commit out of seq
-- order and a reader of `seq > cursor` could skip a row that commits later. The relay assigns
-- published_seq instead, in seq order within its batch and continuing from the largest one, in
-- the same UPDATE that sets published_at. Relay transactions are serialized by an advisory lock
-- whose release follows the commit, so published_seq order is commit order: a consumer reading
-- `published_seq > cursor` never skips an event.
ALTER TABLE outbox_events ADD COLUMN published_seq bigint;
-- Events published before this migration keep their outbox order.
UPDATE outbox_events SET published_seq = seq WHERE published_at IS NOT NULL;
CREATE UNIQUE INDEX outbox_events_published_seq ON outbox_events (published_seq) WHERE published_seq IS NOT NULL;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_published_together CHECK ((published_at IS NULL) = (published_seq IS NULL));

-- Where each embedded consumer is in the outbox (its last applied published_seq). Consumers of
-- NATS JetStream keep their position in JetStream (durable consumers) and have no row here.
CREATE TABLE stream_consumers (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
  position    bigint NOT NULL DEFAULT 0 CHECK (position >= 0),
  updated_at  timestamptz NOT NULL
);

-- Deduplication: one row per (consumer, event) applied, written in the same transaction as what
-- the consumer did with the event, so a redelivered event is recognised and ignored.
CREATE TABLE processed_events (
  consumer      text NOT NULL,
  event_id      text NOT NULL,
  processed_at  timestamptz NOT NULL,
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

-- The finance projection, one row per money event applied (the detail the consistency job
-- compares with payments, refunds and the ledger) ...
CREATE TABLE finance_entries (
  event_id            text PRIMARY KEY,
  merchant_id         text NOT NULL,
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  day                 date NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('payment', 'refund', 'payout_paid', 'payout_returned')),
  object_id           text NOT NULL,
  amount              bigint NOT NULL CHECK (amount >= 0),
  fee_amount          bigint NOT NULL CHECK (fee_amount >= 0),
  channel_fee_amount  bigint NOT NULL CHECK (channel_fee_amount >= 0),
  journal_entry_id    text,
  created_at          timestamptz NOT NULL
);
CREATE INDEX finance_entries_merchant_day ON finance_entries (merchant_id, day);
CREATE INDEX finance_entries_object ON finance_entries (object_id);

-- ... and its daily totals per merchant and currency (UTC day of the event).
CREATE TABLE finance_daily (
  merchant_id              text NOT NULL,
  currency                 text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  day                      date NOT NULL,
  payments_count           bigint NOT NULL DEFAULT 0,
  gross_amount             bigint NOT NULL DEFAULT 0,
  fee_amount               bigint NOT NULL DEFAULT 0,
  channel_fee_amount       bigint NOT NULL DEFAULT 0,
  refunds_count            bigint NOT NULL DEFAULT 0,
  refunded_amount          bigint NOT NULL DEFAULT 0,
  fee_returned_amount      bigint NOT NULL DEFAULT 0,
  payouts_count            bigint NOT NULL DEFAULT 0,
  payouts_amount           bigint NOT NULL DEFAULT 0,
  payout_returns_count     bigint NOT NULL DEFAULT 0,
  payout_returns_amount    bigint NOT NULL DEFAULT 0,
  updated_at               timestamptz NOT NULL,
  PRIMARY KEY (merchant_id, currency, day)
);
