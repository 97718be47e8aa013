-- Late successes and abandoned payments (docs/payments.md).
--
-- late_success_refunds: money a channel captured on an attempt whose payment was already final
-- (failed, canceled, or succeeded through another attempt). It is not part of the payment's
-- amount_captured, so it is not a merchant refund: it goes back to the payer through its own row,
-- written in the same statement that records the late success, one per attempt (the unique key),
-- and sent by the late_success_refund worker with its id as the channel's idempotency key
-- (out_refund_no). Claimed with FOR UPDATE SKIP LOCKED and a lease (locked_until); send_count is
-- bumped by every claim and is the lease token the outcome is recorded under.
CREATE TABLE late_success_refunds (
  id                 text PRIMARY KEY CHECK (id ~ '^lsr_[0-9a-z]{24}$'),
  merchant_id        text NOT NULL,
  payment_id         text NOT NULL REFERENCES payments(id),
  attempt_id         text NOT NULL UNIQUE REFERENCES attempts(id),
  channel            text NOT NULL,
  out_trade_no       text NOT NULL,
  channel_txn_id     text,
  amount             bigint NOT NULL CHECK (amount > 0),
  currency           text NOT NULL,
  status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  channel_refund_id  text,
  failure_code       text,
  send_count         integer NOT NULL DEFAULT 0 CHECK (send_count >= 0),
  next_attempt_at    timestamptz NOT NULL,
  locked_until       timestamptz,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE INDEX late_success_refunds_due ON late_success_refunds (next_attempt_at) WHERE status = 'pending';
CREATE INDEX late_success_refunds_payment ON late_success_refunds (payment_id);

-- Abandoned QR / redirect payments: the close job leases the waiting attempt while it closes the
-- trade at the channel, so several processes never close the same one at once.
ALTER TABLE attempts ADD COLUMN close_locked_until timestamptz;
CREATE INDEX attempts_awaiting_action ON attempts (created_at) WHERE status = 'requires_action';
