-- Risk rules per merchant (docs/risk.md) and the indexes behind the velocity rules.
-- A merchant without a row is screened with the defaults (src/risk/domain/rules.ts). No foreign
-- key to merchants (see 0003).

CREATE TABLE risk_rules (
  merchant_id  text PRIMARY KEY,
  -- The complete, validated rules document (defaults filled in when it was written).
  rules        jsonb NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  updated_at   timestamptz NOT NULL
);

-- Each payment stores the signals it was screened on in risk->'signals' (customer_id, email,
-- ip, card_fingerprint, country), in the same statement that records the payment. Velocity
-- rules count a merchant's payments per signal in a sliding window of created_at; these partial
-- expression indexes serve those counts, and the "has this customer paid before" check.
CREATE INDEX payments_risk_customer_id ON payments (merchant_id, (risk->'signals'->>'customer_id'), created_at)
  WHERE (risk->'signals'->>'customer_id') IS NOT NULL;
CREATE INDEX payments_risk_email ON payments (merchant_id, (risk->'signals'->>'email'), created_at)
  WHERE (risk->'signals'->>'email') IS NOT NULL;
CREATE INDEX payments_risk_ip ON payments (merchant_id, (risk->'signals'->>'ip'), created_at)
  WHERE (risk->'signals'->>'ip') IS NOT NULL;
CREATE INDEX payments_risk_card_fingerprint ON payments (merchant_id, (risk->'signals'->>'card_fingerprint'), created_at)
  WHERE (risk->'signals'->>'card_fingerprint') IS NOT NULL;
