-- A late success (a channel capturing money on an attempt whose payment was already final) is
-- booked: the money the channel holds for us is owed back to the payer until the late-success
-- refund gives it back. One more account type, late_success_payable:{channel} (docs/ledger.md).

ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_type_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_type_check CHECK (type IN ('channel_receivable', 'merchant_pending', 'merchant_available',
  'fee_revenue', 'channel_fee_expense', 'payout_in_transit', 'bank_cash', 'late_success_payable'));
