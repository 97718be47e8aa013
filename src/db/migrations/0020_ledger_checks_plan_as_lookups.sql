-- The ledger's statement-level checks (0018) probe postings and journal_entries once per new
-- entry. PL/pgSQL plans each probe once per connection and keeps the plan: planned on a fresh
-- database whose postings were still nearly empty, the probe became a sequential scan, kept as the
-- table grew (measured in the payment benchmark: 21 ms per batch of captures, PostgreSQL's CPU per
-- payment doubled). The probes are key lookups on primary keys; plan them as such, whatever the
-- tables' sizes were when a connection first fired the trigger.
ALTER FUNCTION ledger_new_entries_have_postings() SET enable_seqscan = off;
ALTER FUNCTION ledger_touched_entries_balance() SET enable_seqscan = off;
