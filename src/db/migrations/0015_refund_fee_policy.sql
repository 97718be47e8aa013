-- A payment's refund fee policy is fixed when its capture is booked, like its fee (fee_amount):
-- a refund returns the fee under the policy of the pricing the payment was charged under, not
-- under whatever pricing the merchant has when the refund comes. NULL for payments captured
-- before this column existed (their refunds read the merchant's pricing, as before).
ALTER TABLE payments ADD COLUMN refund_fee_policy text CHECK (refund_fee_policy IN ('proportional', 'retained'));
