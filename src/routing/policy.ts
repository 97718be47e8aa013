// Routing policies (DESIGN.md "Routing and risk"): data, per merchant, versioned.
//
// A policy is an ordered list of rules; the first rule whose conditions all hold for the payment
// (method, currency, amount within amount_min..amount_max, bounds inclusive, the time window of
// `hours` and `days` (time-window.ts) at the app clock's now; a condition left out always holds)
// decides: its `exclude`d channels are dropped from the candidates and the rest are ranked
// (rank.ts) by the criteria in its `rank_by` order, the preference criterion putting the
// request's `preferred_channel` (the customer's choice) first and the rule's `prefer`red ones
// next in the listed order. No rule matching: ranked by the default criteria. Only candidates
// the registry offers (supporting the method, currency and amount, circuit not open) are ever
// ranked: a policy never adds a channel.
//
// An experiment splits traffic between the policy's `rules` (arm a) and `experiment.rules_b`
// (arm b): arm b when the first 4 bytes of sha256(payment id), as an unsigned integer, mod 100
// are below `percent_b`. The same payment id always lands in the same arm.
import { createHash } from 'node:crypto';
import type { ChannelMethod } from '../channels/contract.ts';
import type { RankCriterion } from './rank.ts';
import { describeTimeWindow, timeWindowHolds, timeWindowRejection, type RuleHours, type Weekday } from './time-window.ts';

export interface RoutingRule {
  readonly method?: ChannelMethod;
  readonly currency?: string;
  readonly amount_min?: number;
  readonly amount_max?: number;
  readonly prefer: readonly string[];
  readonly exclude?: readonly string[];
  /** Criteria in precedence order; those left out follow in the default order (rank.ts). */
  readonly rank_by?: readonly RankCriterion[];
  /** Local time of day the rule holds in (time-window.ts). */
  readonly hours?: RuleHours;
  /** Local weekdays the rule holds on, in hours.time_zone (UTC without hours). */
  readonly days?: readonly Weekday[];
}

export interface RoutingExperiment {
  /** Percentage of payments (0..100) routed by arm b. */
  readonly percent_b: number;
  readonly rules_b: readonly RoutingRule[];
}

export interface RoutingPolicy {
  /** 0 while the merchant has none. */
  readonly version: number;
  readonly rules: readonly RoutingRule[];
  readonly experiment: RoutingExperiment | null;
  readonly updated_at: Date | null;
}

export type RoutingArm = 'a' | 'b';

/** Stable A/B bucket of a payment id: 0..99. */
export function armBucket(paymentId: string): number {
  return createHash('sha256').update(paymentId).digest().readUInt32BE(0) % 100;
}

export function armOf(policy: RoutingPolicy, paymentId: string): RoutingArm | null {
  if (!policy.experiment) return null;
  return armBucket(paymentId) < policy.experiment.percent_b ? 'b' : 'a';
}

export function rulesOfArm(policy: RoutingPolicy, arm: RoutingArm | null): readonly RoutingRule[] {
  return arm === 'b' && policy.experiment ? policy.experiment.rules_b : policy.rules;
}

/** Whether the rule's conditions all hold; `now` is the app clock's (time windows). */
export function ruleMatches(rule: RoutingRule, method: ChannelMethod, currency: string, amount: bigint, now: Date): boolean {
  return (
    (rule.method === undefined || rule.method === method) &&
    (rule.currency === undefined || rule.currency === currency) &&
    (rule.amount_min === undefined || amount >= BigInt(rule.amount_min)) &&
    (rule.amount_max === undefined || amount <= BigInt(rule.amount_max)) &&
    timeWindowHolds(rule.hours, rule.days, now)
  );
}

/** A rule's conditions in words, for routing_reason: `card USD 0..100000 22:00-06:00 Asia/Shanghai`. */
export function describeRule(rule: RoutingRule): string {
  const parts = [rule.method ?? 'any method', rule.currency ?? 'any currency'];
  if (rule.amount_min !== undefined || rule.amount_max !== undefined) parts.push(`${rule.amount_min ?? 0}..${rule.amount_max ?? 'max'}`);
  if (rule.hours !== undefined || rule.days !== undefined) parts.push(describeTimeWindow(rule.hours, rule.days));
  return parts.join(' ');
}

export type PolicyRejectionCode = 'invalid_param' | 'unsupported_currency' | 'unsupported_time_zone' | 'time_window_empty';

/** Where a PUT's rules go wrong beyond the schema: unknown channels, amount ranges, currencies. */
export function policyRejection(
  rules: readonly RoutingRule[],
  experiment: RoutingExperiment | null,
  knownChannel: (id: string) => boolean,
  supportedCurrency: (code: string) => boolean,
): { code: PolicyRejectionCode; param: string; message: string } | null {
  const check = (list: readonly RoutingRule[], prefix: string) => {
    for (const [index, rule] of list.entries()) {
      const at = `${prefix}[${index}]`;
      if (rule.currency !== undefined && !supportedCurrency(rule.currency)) return { code: 'unsupported_currency' as const, param: `${at}.currency`, message: `Currency ${rule.currency} is not supported.` };
      if (rule.amount_min !== undefined && rule.amount_max !== undefined && rule.amount_min > rule.amount_max) {
        return { code: 'invalid_param' as const, param: `${at}.amount_min`, message: 'amount_min must not exceed amount_max.' };
      }
      for (const key of ['prefer', 'exclude'] as const) {
        for (const [position, id] of (rule[key] ?? []).entries()) {
          if (!knownChannel(id)) return { code: 'invalid_param' as const, param: `${at}.${key}[${position}]`, message: `No channel ${id}.` };
        }
      }
      const window = timeWindowRejection(rule.hours);
      if (window) return { code: window.code, param: `${at}.${window.field}`, message: window.message };
      const excluded = rule.exclude ?? [];
      const both = rule.prefer.findIndex((id) => excluded.includes(id));
      if (both >= 0) return { code: 'invalid_param' as const, param: `${at}.prefer[${both}]`, message: `Channel ${rule.prefer[both]} is both preferred and excluded.` };
    }
    return null;
  };
  return check(rules, 'rules') ?? (experiment ? check(experiment.rules_b, 'experiment.rules_b') : null);
}

/** Normalizes currencies to upper case (the registry's spelling). */
export function normalizeRules(rules: readonly RoutingRule[]): RoutingRule[] {
  return rules.map((rule) => ({ ...rule, ...(rule.currency !== undefined ? { currency: rule.currency.toUpperCase() } : {}) }));
}
