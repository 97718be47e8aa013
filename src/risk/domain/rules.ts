// A merchant's risk rules: one validated document, with defaults for a merchant that has none.
// Pure: no I/O. Amounts are integers of minor units in the document (the API's JSON form) and
// are compared as bigint.

/** The customer and card facts a payment can be screened on. */
export const signalKeys = ['customer_id', 'email', 'ip', 'card_fingerprint'] as const;
export type SignalKey = (typeof signalKeys)[number];

export interface RiskSignals {
  customer_id?: string;
  email?: string;
  ip?: string;
  card_fingerprint?: string;
  /** ISO 3166-1 alpha-2, upper case: where the customer is (checkout IP or billing country). */
  country?: string;
}

export interface VelocityRule {
  readonly key: SignalKey;
  readonly window_seconds: number;
  /** Payments allowed per key in the window, this one included. */
  readonly max_count: number;
}

export interface ListEntry {
  readonly type: SignalKey;
  readonly value: string;
}

/** Each rule family adds its weight (0..100) to the score once per reason it triggers. */
export const ruleFamilies = ['amount_limit', 'velocity', 'blocklist', 'currency_country_mismatch', 'new_customer_high_amount'] as const;
export type RuleFamily = (typeof ruleFamilies)[number];

export interface RiskRules {
  /** Currency -> largest amount (minor units) accepted; above it: `amount_above_limit`. */
  readonly amount_limits: Readonly<Record<string, number>>;
  readonly velocity: readonly VelocityRule[];
  readonly blocklist: readonly ListEntry[];
  /** A match approves the payment whatever else triggers (reason `allowlisted_<type>`). */
  readonly allowlist: readonly ListEntry[];
  readonly currency_country_mismatch: boolean;
  /** Currency -> amount (minor units) from which a customer with no succeeded payment is flagged. */
  readonly new_customer_amount_thresholds: Readonly<Record<string, number>>;
  /** Score from which a payment is reviewed, and declined (1 <= review <= decline <= 100). */
  readonly thresholds: { readonly review: number; readonly decline: number };
  readonly weights: Readonly<Record<RuleFamily, number>>;
}

export const score_max = 100;

export const defaultRiskRules: RiskRules = Object.freeze<RiskRules>({
  amount_limits: {},
  velocity: [
    { key: 'customer_id', window_seconds: 3_600, max_count: 20 },
    { key: 'email', window_seconds: 3_600, max_count: 20 },
    { key: 'ip', window_seconds: 3_600, max_count: 50 },
    { key: 'card_fingerprint', window_seconds: 3_600, max_count: 20 },
  ],
  blocklist: [],
  allowlist: [],
  currency_country_mismatch: true,
  new_customer_amount_thresholds: {},
  thresholds: { review: 50, decline: 80 },
  weights: { amount_limit: 100, velocity: 60, blocklist: 100, currency_country_mismatch: 30, new_customer_high_amount: 40 },
});

/** The same spelling for a signal wherever it comes from (request, order, list entry). */
export function normalizeSignal(key: SignalKey, value: string): string {
  const trimmed = value.trim();
  return key === 'email' || key === 'ip' ? trimmed.toLowerCase() : trimmed;
}

/** Fills what a stored or submitted document leaves out with the defaults, and normalizes lists. */
export function completeRules(partial: Partial<RiskRules>): RiskRules {
  const normalizeList = (list: readonly ListEntry[]) => list.map((entry) => ({ type: entry.type, value: normalizeSignal(entry.type, entry.value) }));
  const upper = (record: Readonly<Record<string, number>>) => Object.fromEntries(Object.entries(record).map(([currency, amount]) => [currency.toUpperCase(), amount]));
  return {
    amount_limits: upper(partial.amount_limits ?? defaultRiskRules.amount_limits),
    velocity: partial.velocity ?? defaultRiskRules.velocity,
    blocklist: normalizeList(partial.blocklist ?? defaultRiskRules.blocklist),
    allowlist: normalizeList(partial.allowlist ?? defaultRiskRules.allowlist),
    currency_country_mismatch: partial.currency_country_mismatch ?? defaultRiskRules.currency_country_mismatch,
    new_customer_amount_thresholds: upper(partial.new_customer_amount_thresholds ?? defaultRiskRules.new_customer_amount_thresholds),
    thresholds: partial.thresholds ?? defaultRiskRules.thresholds,
    weights: { ...defaultRiskRules.weights, ...partial.weights },
  };
}

export interface RulesRejection {
  readonly code: 'invalid_param' | 'unsupported_currency';
  readonly param: string;
  readonly message: string;
}

/** What a schema cannot say about a document: a named rejection, or null when it is sound. */
export function rulesRejection(rules: RiskRules, isSupportedCurrency: (code: string) => boolean): RulesRejection | null {
  if (rules.thresholds.review > rules.thresholds.decline) return { code: 'invalid_param', param: 'thresholds.review', message: 'thresholds.review must not exceed thresholds.decline.' };
  for (const [field, record] of [['amount_limits', rules.amount_limits], ['new_customer_amount_thresholds', rules.new_customer_amount_thresholds]] as const) {
    for (const currency of Object.keys(record)) {
      if (!isSupportedCurrency(currency)) return { code: 'unsupported_currency', param: `${field}.${currency}`, message: `${currency} is not a supported currency.` };
    }
  }
  const seen = new Set<string>();
  for (const [index, rule] of rules.velocity.entries()) {
    const key = `${rule.key}/${rule.window_seconds}`;
    if (seen.has(key)) return { code: 'invalid_param', param: `velocity[${index}]`, message: `A velocity rule for ${rule.key} over ${rule.window_seconds} s is given twice.` };
    seen.add(key);
  }
  return null;
}
