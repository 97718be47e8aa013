-- Every purchase writes four outbox events and updates its order, payment and attempt twice;
-- each index on those rows is another write per row (and more WAL). Measured with npm run bench.
--
-- Outbox: seq is the key and the relay's order; the event id stays unique per event by
-- construction (random 120-bit ids) and consumers deduplicate by it, so it needs no index of its
-- own. A per-merchant index comes back with the first consumer that reads by merchant.
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_id_key;
DROP INDEX outbox_merchant;

-- Leave room on each page so that status updates can stay on the page (HOT updates, no new index
-- entries) whenever no indexed column changes.
ALTER TABLE orders SET (fillfactor = 80);
ALTER TABLE payments SET (fillfactor = 80);
ALTER TABLE attempts SET (fillfactor = 80);
ALTER TABLE idempotency_keys SET (fillfactor = 80);
