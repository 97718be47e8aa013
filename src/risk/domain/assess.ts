// The rule engine: triggered rules -> score -> decision. Pure; the facts that need the database
// (velocity counts, whether the customer has paid before) are gathered first and passed in.
import { isCurrencyCountryMismatch } from './countries.ts';
import { score_max, signalKeys, type ListEntry, type RiskRules, type RiskSignals, type RuleFamily, type SignalKey, type VelocityRule } from './rules.ts';

export type RiskDecision = 'approve' | 'review' | 'decline';

export interface RiskAssessment {
  readonly decision: RiskDecision;
  readonly score: number;
  readonly reasons: string[];
}

/** One triggered rule: the reason stored on the payment and the family whose weight it adds. */
export interface TriggeredRule {
  readonly reason: string;
  readonly family: RuleFamily;
}

export interface RiskFacts {
  readonly amount: bigint;
  readonly currency: string;
  readonly signals: RiskSignals;
  /** Earlier payments in each velocity rule's window, in the order of `rules.velocity` (null: no such signal). */
  readonly velocity_counts: readonly (number | null)[];
  /** No succeeded payment yet for this customer (null: no customer identity to tell). */
  readonly new_customer: boolean | null;
}

/** Velocity rules whose signal the payment carries: what the database must count. */
export function velocityLookups(rules: RiskRules, signals: RiskSignals): ({ rule: VelocityRule; value: string } | null)[] {
  return rules.velocity.map((rule) => {
    const value = signals[rule.key];
    return value === undefined ? null : { rule, value };
  });
}

/** The identity "new customer" is judged by: the customer id, else the email. */
export function customerIdentity(signals: RiskSignals): { key: 'customer_id' | 'email'; value: string } | null {
  if (signals.customer_id !== undefined) return { key: 'customer_id', value: signals.customer_id };
  if (signals.email !== undefined) return { key: 'email', value: signals.email };
  return null;
}

function listMatches(list: readonly ListEntry[], signals: RiskSignals): SignalKey[] {
  return signalKeys.filter((key) => signals[key] !== undefined && list.some((entry) => entry.type === key && entry.value === signals[key]));
}

/** The allowlist entry types the payment matches; any match approves it. */
export function allowlistMatches(rules: RiskRules, signals: RiskSignals): SignalKey[] {
  return listMatches(rules.allowlist, signals);
}

/** Every rule the payment triggers, in a stable order. */
export function triggeredRules(rules: RiskRules, facts: RiskFacts): TriggeredRule[] {
  if (facts.velocity_counts.length !== rules.velocity.length) throw new Error('assertion failed: one velocity count per velocity rule');
  const triggered: TriggeredRule[] = [];
  const limit = rules.amount_limits[facts.currency];
  if (limit !== undefined && facts.amount > BigInt(limit)) triggered.push({ reason: 'amount_above_limit', family: 'amount_limit' });
  const exceeded = new Set<SignalKey>();
  rules.velocity.forEach((rule, index) => {
    const count = facts.velocity_counts[index];
    // `count` earlier payments: this one is number count + 1.
    if (count !== null && count !== undefined && count + 1 > rule.max_count) exceeded.add(rule.key);
  });
  for (const key of signalKeys) if (exceeded.has(key)) triggered.push({ reason: `velocity_${key}_exceeded`, family: 'velocity' });
  for (const key of listMatches(rules.blocklist, facts.signals)) triggered.push({ reason: `blocklisted_${key}`, family: 'blocklist' });
  if (rules.currency_country_mismatch && facts.signals.country !== undefined && isCurrencyCountryMismatch(facts.currency, facts.signals.country)) {
    triggered.push({ reason: 'currency_country_mismatch', family: 'currency_country_mismatch' });
  }
  const threshold = rules.new_customer_amount_thresholds[facts.currency];
  if (threshold !== undefined && facts.new_customer === true && facts.amount >= BigInt(threshold)) {
    triggered.push({ reason: 'new_customer_high_amount', family: 'new_customer_high_amount' });
  }
  return triggered;
}

/** Sum of the triggered rules' weights, capped at score_max. Never lowered by one more rule. */
export function riskScore(weights: Readonly<Record<RuleFamily, number>>, triggered: readonly TriggeredRule[]): number {
  const sum = triggered.reduce((total, rule) => total + weights[rule.family], 0);
  const score = Math.min(score_max, sum);
  if (!(score >= 0 && score <= score_max)) throw new Error(`assertion failed: score ${score} out of 0..${score_max}`);
  return score;
}

export function riskDecision(thresholds: RiskRules['thresholds'], score: number): RiskDecision {
  if (thresholds.review > thresholds.decline) throw new Error('assertion failed: review threshold above decline threshold');
  if (score >= thresholds.decline) return 'decline';
  if (score >= thresholds.review) return 'review';
  return 'approve';
}

/** The assessment of one payment: an allowlist match approves; otherwise the score decides. */
export function assessRisk(rules: RiskRules, facts: RiskFacts): RiskAssessment {
  const allowed = allowlistMatches(rules, facts.signals);
  if (allowed.length > 0) return { decision: 'approve', score: 0, reasons: allowed.map((key) => `allowlisted_${key}`) };
  const triggered = triggeredRules(rules, facts);
  const score = riskScore(rules.weights, triggered);
  return { decision: riskDecision(rules.thresholds, score), score, reasons: triggered.map((rule) => rule.reason) };
}
