-- Clearway core schema: merchants, coupons, orders, payments, attempts, refunds,
-- idempotency keys and the transactional outbox. Money is bigint minor units.
-- Big tables carry merchant_id and a time column so they can be partitioned later.

CREATE TABLE platform_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE merchants (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  api_key_hash  text NOT NULL UNIQUE,
  api_key_last4 text NOT NULL,
  created_at    timestamptz NOT NULL
);

CREATE TABLE coupons (
  id               text PRIMARY KEY,
  merchant_id      text NOT NULL REFERENCES merchants(id),
  code             text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('percent_off', 'amount_off')),
  percent_off_bps  bigint CHECK (percent_off_bps BETWEEN 1 AND 10000),
  amount_off       bigint CHECK (amount_off > 0),
  currency         text,
  min_subtotal     bigint CHECK (min_subtotal >= 0),
  max_redemptions  integer CHECK (max_redemptions > 0),
  times_redeemed   integer NOT NULL DEFAULT 0,
  valid_from       timestamptz,
  valid_until      timestamptz,
  stackable        boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL,
  UNIQUE (merchant_id, code),
  CHECK ((kind = 'percent_off') = (percent_off_bps IS NOT NULL)),
  CHECK ((kind = 'amount_off') = (amount_off IS NOT NULL AND currency IS NOT NULL)),
  CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions),
  CHECK (times_redeemed >= 0)
);

CREATE TABLE orders (
  id               text PRIMARY KEY,
  merchant_id      text NOT NULL REFERENCES merchants(id),
  status           text NOT NULL CHECK (status IN ('pending_payment', 'paying', 'paid', 'cancelled')),
  currency         text NOT NULL,
  items            jsonb NOT NULL,
  amount_subtotal  bigint NOT NULL CHECK (amount_subtotal >= 0),
  amount_discount  bigint NOT NULL CHECK (amount_discount >= 0),
  amount_total     bigint NOT NULL CHECK (amount_total >= 0),
  amount_refunded  bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount_total),
  pricing_log      jsonb NOT NULL,
  coupon_ids       text[] NOT NULL DEFAULT '{}',
  customer         jsonb,
  metadata         jsonb NOT NULL DEFAULT '{}',
  cancellation_reason text,
  expires_at       timestamptz NOT NULL,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  CHECK (amount_subtotal - amount_discount = amount_total)
);
CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at DESC, id DESC);
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment';

CREATE TABLE coupon_redemptions (
  coupon_id  text NOT NULL REFERENCES coupons(id),
  order_id   text NOT NULL REFERENCES orders(id),
  released   boolean NOT NULL DEFAULT false,
  PRIMARY KEY (coupon_id, order_id)
);

CREATE TABLE payments (
  id                  text PRIMARY KEY,
  merchant_id         text NOT NULL REFERENCES merchants(id),
  order_id            text NOT NULL REFERENCES orders(id),
  status              text NOT NULL CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed', 'canceled')),
  amount              bigint NOT NULL CHECK (amount > 0),
  currency            text NOT NULL,
  method              text NOT NULL,
  channel             text,
  amount_captured     bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0 AND amount_captured <= amount),
  amount_refunded     bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  amount_refund_pending bigint NOT NULL DEFAULT 0 CHECK (amount_refund_pending >= 0),
  failure_code        text,
  failure_message     text,
  next_action         jsonb,
  risk                jsonb NOT NULL,
  payment_method_data jsonb NOT NULL DEFAULT '{}',
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  CHECK (amount_refunded + amount_refund_pending <= amount_captured)
);
CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at DESC, id DESC);
CREATE INDEX payments_order ON payments (order_id);
-- At most one payment in flight per order: the database itself refuses a second one.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id)
  WHERE status IN ('processing', 'requires_action', 'succeeded');

CREATE TABLE attempts (
  id               text PRIMARY KEY,
  payment_id       text NOT NULL REFERENCES payments(id),
  merchant_id      text NOT NULL REFERENCES merchants(id),
  channel          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('created', 'sent', 'requires_action', 'succeeded', 'failed', 'unknown')),
  out_trade_no     text NOT NULL UNIQUE,
  channel_txn_id   text,
  amount           bigint NOT NULL CHECK (amount > 0),
  currency         text NOT NULL,
  routing_reason   text NOT NULL,
  failure_code     text,
  failure_message  text,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
CREATE INDEX attempts_payment ON attempts (payment_id, created_at);
CREATE INDEX attempts_unresolved ON attempts (updated_at) WHERE status IN ('created', 'sent', 'unknown', 'requires_action');

CREATE TABLE refunds (
  id                 text PRIMARY KEY,
  merchant_id        text NOT NULL REFERENCES merchants(id),
  payment_id         text NOT NULL REFERENCES payments(id),
  attempt_id         text NOT NULL REFERENCES attempts(id),
  amount             bigint NOT NULL CHECK (amount > 0),
  currency           text NOT NULL,
  status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  channel_refund_id  text,
  failure_code       text,
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);
CREATE INDEX refunds_unresolved ON refunds (updated_at) WHERE status = 'pending';

CREATE TABLE idempotency_keys (
  owner            text NOT NULL,
  key              text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
  response_status  integer,
  response_body    text,
  locked_until     timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE outbox_events (
  seq           bigserial PRIMARY KEY,
  id            text NOT NULL UNIQUE,
  merchant_id   text NOT NULL,
  type          text NOT NULL,
  object_id     text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox_events (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_merchant ON outbox_events (merchant_id, seq);
