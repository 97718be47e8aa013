-- A foreign key to merchants makes every insert of an order, payment, attempt or refund take a
-- KEY SHARE lock on its merchant's row. For a big merchant that is one hot row shared by every
-- concurrent write (and, past one locker, a MultiXact per insert): it serializes the merchant's
-- traffic for no benefit, since merchants are never deleted and every request is authenticated
-- against an existing merchant. Per-object keys (payment -> order, attempt -> payment) stay.
ALTER TABLE coupons DROP CONSTRAINT coupons_merchant_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_merchant_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_merchant_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_merchant_id_fkey;
ALTER TABLE refunds DROP CONSTRAINT refunds_merchant_id_fkey;
