-- Merchant webhooks (docs/webhooks.md). The outbox relay fans each outbox event out to one
-- delivery per matching enabled endpoint of its merchant; the delivery worker POSTs it, signed,
-- and logs every attempt. Like the other big tables, deliveries carry merchant_id and a time
-- column, and no foreign key to merchants (see 0003).

CREATE TABLE webhook_endpoints (
  id           text PRIMARY KEY CHECK (id ~ '^whe_[0-9a-z]{24}$'),
  merchant_id  text NOT NULL,
  url          text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  -- Event types, or '*' for all of them.
  events       text[] NOT NULL CHECK (cardinality(events) >= 1),
  description  text,
  -- The signing secret. It must be readable to sign with, so it is not hashed; production
  -- deployments should encrypt this column at rest.
  secret       text NOT NULL CHECK (secret ~ '^whsec_'),
  status       text NOT NULL CHECK (status IN ('enabled', 'disabled')),
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_created ON webhook_endpoints (merchant_id, created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY CHECK (id ~ '^whd_[0-9a-z]{24}$'),
  merchant_id      text NOT NULL,
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints(id),
  event_id         text NOT NULL,
  -- The event's outbox seq: deliveries to one endpoint are sent in this order.
  event_seq        bigint NOT NULL,
  event_type       text NOT NULL,
  -- The exact bytes POSTed (and signed), the same on every attempt.
  body             text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  -- Attempts started; bumped when a worker claims the delivery, so it is also the lease token.
  attempt_count    integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  next_attempt_at  timestamptz NOT NULL,
  locked_until     timestamptz,
  -- No automatic attempt is scheduled after this.
  retry_until      timestamptz NOT NULL,
  last_status_code integer,
  last_error       text,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (endpoint_id, event_id),
  CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The head of each endpoint's queue (the pending delivery with the lowest event_seq).
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, event_seq) WHERE status = 'pending';
-- The delivery log of one endpoint, newest first.
CREATE INDEX webhook_deliveries_endpoint_created ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

-- One row per POST: the delivery log.
CREATE TABLE webhook_delivery_attempts (
  delivery_id      text NOT NULL REFERENCES webhook_deliveries(id),
  attempt          integer NOT NULL CHECK (attempt >= 1),
  merchant_id      text NOT NULL,
  started_at       timestamptz NOT NULL,
  duration_ms      integer NOT NULL CHECK (duration_ms >= 0),
  status_code      integer,
  error            text,
  outcome          text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
  next_attempt_at  timestamptz,
  PRIMARY KEY (delivery_id, attempt)
);
