-- Payments and refunds book themselves in the ledger (DESIGN.md "Ledger"): a payment's success
-- posts its capture entry (event `capture:{payment_id}`) and a refund's success its refund entry
-- (event `refund:{refund_id}`) in the same transaction as the state change. The fees fixed at
-- that moment are kept on the rows, so a later refund, settlement or statement reads the same
-- figures the ledger holds.

-- Our fee on the capture (per the merchant's pricing then) and what the channel charged us.
ALTER TABLE payments ADD COLUMN fee_amount bigint CHECK (fee_amount >= 0);
ALTER TABLE payments ADD COLUMN channel_fee_amount bigint CHECK (channel_fee_amount >= 0);
-- Payments that succeeded before this migration were never booked: their fees read 0 and the
-- ledger check reports their missing capture entries.
UPDATE payments SET fee_amount = 0, channel_fee_amount = 0 WHERE status = 'succeeded';
ALTER TABLE payments ADD CONSTRAINT payments_fees_booked_on_success
  CHECK ((status = 'succeeded') = (fee_amount IS NOT NULL AND channel_fee_amount IS NOT NULL));

-- The part of the capture's fee this refund gave back to the merchant.
ALTER TABLE refunds ADD COLUMN fee_returned bigint CHECK (fee_returned >= 0);
UPDATE refunds SET fee_returned = 0 WHERE status = 'succeeded';
ALTER TABLE refunds ADD CONSTRAINT refunds_fee_booked_on_success CHECK ((status = 'succeeded') = (fee_returned IS NOT NULL));

-- Per-merchant pricing (src/pricing/domain/pricing.ts), versioned like routing policies: every PUT
-- writes a new version; the highest is in force; no row: the platform's default prices.
-- rules: [{ method, currency?, percent_bps, fixed_amount, refund_fee: proportional | retained }]
CREATE TABLE merchant_pricing (
  merchant_id  text NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  rules        jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (merchant_id, version)
);

-- A merchant's account statement reads its entries newest first.
CREATE INDEX postings_account_entry_idx ON postings (account_id, entry_id);
