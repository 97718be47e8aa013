-- Routing policies per merchant (docs in src/routing/policy.ts): every PUT writes a new version;
-- the highest version is the one in force. A merchant without a row routes by the registry's
-- order. No foreign key to merchants (see 0003).
--
-- rules: an ordered list of { method?, currency?, amount_min?, amount_max?, prefer: [channel ids],
--   exclude?: [channel ids] }; the first rule matching the payment's method, currency and amount
--   (bounds inclusive) orders the candidates by `prefer` and drops `exclude`.
-- experiment: null, or { percent_b, rules_b }: an A/B split between `rules` (arm a) and `rules_b`
--   (arm b), the arm chosen by a stable hash of the payment id (sha256, first 4 bytes mod 100 < percent_b).

CREATE TABLE routing_policies (
  id           text PRIMARY KEY,
  merchant_id  text NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  rules        jsonb NOT NULL,
  experiment   jsonb,
  created_at   timestamptz NOT NULL,
  UNIQUE (merchant_id, version)
);

-- Which policy version and experiment arm routed each payment (null: no policy / no experiment),
-- written in the payment's own insert; the experiment report counts payments per arm from these.
ALTER TABLE payments ADD COLUMN routing_policy_version integer;
ALTER TABLE payments ADD COLUMN routing_arm text CHECK (routing_arm IN ('a', 'b'));
CREATE INDEX payments_routing_experiment ON payments (merchant_id, routing_policy_version, routing_arm) WHERE routing_arm IS NOT NULL;
