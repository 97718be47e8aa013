import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assessRisk, riskDecision, riskScore, triggeredRules, type TriggeredRule } from './assess.ts';
import { completeRules, defaultRiskRules, ruleFamilies, rulesRejection, score_max, signalKeys, type RiskRules } from './rules.ts';

const family = fc.constantFrom(...ruleFamilies);
const triggered = fc.array(fc.record({ reason: fc.string({ minLength: 1, maxLength: 8 }), family }), { maxLength: 12 });
const weights = fc.record(Object.fromEntries(ruleFamilies.map((f) => [f, fc.integer({ min: 0, max: score_max })])) as Record<(typeof ruleFamilies)[number], fc.Arbitrary<number>>);
const thresholds = fc.tuple(fc.integer({ min: 1, max: score_max }), fc.integer({ min: 1, max: score_max })).map(([a, b]) => ({ review: Math.min(a, b), decline: Math.max(a, b) }));
const decisionRank = { approve: 0, review: 1, decline: 2 } as const;

describe('risk score and decision', () => {
  it('never lowers the score when one more rule triggers, and stays within 0..score_max', () => {
    fc.assert(
      fc.property(weights, triggered, fc.record({ reason: fc.string(), family }), (w, rules, extra) => {
        const before = riskScore(w, rules);
        const after = riskScore(w, [...rules, extra]);
        expect(after).toBeGreaterThanOrEqual(before);
        expect(before).toBeGreaterThanOrEqual(0);
        expect(after).toBeLessThanOrEqual(score_max);
      }),
    );
  });

  it('respects the thresholds, and a higher score never gets a milder decision', () => {
    fc.assert(
      fc.property(thresholds, fc.integer({ min: 0, max: score_max }), fc.integer({ min: 0, max: score_max }), (t, a, b) => {
        const decision = riskDecision(t, a);
        expect(decision).toBe(a >= t.decline ? 'decline' : a >= t.review ? 'review' : 'approve');
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(decisionRank[riskDecision(t, high)]).toBeGreaterThanOrEqual(decisionRank[riskDecision(t, low)]);
      }),
    );
  });

  it('assesses monotonically: one more triggered rule never softens the decision', () => {
    fc.assert(
      fc.property(weights, thresholds, triggered, family, (w, t, rules, extra) => {
        const r = { ...defaultRiskRules, weights: w, thresholds: t };
        const d1 = riskDecision(r.thresholds, riskScore(r.weights, rules));
        const d2 = riskDecision(r.thresholds, riskScore(r.weights, [...rules, { reason: 'x', family: extra } as TriggeredRule]));
        expect(decisionRank[d2]).toBeGreaterThanOrEqual(decisionRank[d1]);
      }),
    );
  });

  it('names each rule it triggers, and an allowlist match approves whatever else triggers', () => {
    const rules: RiskRules = completeRules({
      amount_limits: { usd: 10_000 },
      velocity: [{ key: 'ip', window_seconds: 60, max_count: 3 }],
      blocklist: [{ type: 'email', value: 'Bad@Example.com' }],
      allowlist: [{ type: 'customer_id', value: 'vip' }],
      new_customer_amount_thresholds: { USD: 5_000 },
    });
    const facts = { amount: 20_000n, currency: 'USD', signals: { email: 'bad@example.com', ip: '10.0.0.1', country: 'CN' }, velocity_counts: [3], new_customer: true };
    expect(triggeredRules(rules, facts).map((r) => r.reason)).toEqual(['amount_above_limit', 'velocity_ip_exceeded', 'blocklisted_email', 'currency_country_mismatch', 'new_customer_high_amount']);
    expect(assessRisk(rules, facts)).toEqual({ decision: 'decline', score: 100, reasons: ['amount_above_limit', 'velocity_ip_exceeded', 'blocklisted_email', 'currency_country_mismatch', 'new_customer_high_amount'] });
    expect(assessRisk(rules, { ...facts, signals: { ...facts.signals, customer_id: 'vip' } })).toEqual({ decision: 'approve', score: 0, reasons: ['allowlisted_customer_id'] });
    // Below every limit: approved with no reasons.
    expect(assessRisk(rules, { amount: 100n, currency: 'USD', signals: { ip: '10.0.0.1', country: 'US' }, velocity_counts: [2], new_customer: false })).toEqual({ decision: 'approve', score: 0, reasons: [] });
  });

  it('rejects documents a schema cannot catch, by name', () => {
    const ok = (c: string) => ['USD', 'EUR'].includes(c);
    expect(rulesRejection(completeRules({ thresholds: { review: 90, decline: 50 } }), ok)?.param).toBe('thresholds.review');
    expect(rulesRejection(completeRules({ amount_limits: { XXX: 1 } }), ok)).toMatchObject({ code: 'unsupported_currency', param: 'amount_limits.XXX' });
    expect(rulesRejection(completeRules({ velocity: [{ key: 'ip', window_seconds: 60, max_count: 1 }, { key: 'ip', window_seconds: 60, max_count: 2 }] }), ok)?.param).toBe('velocity[1]');
    expect(rulesRejection(defaultRiskRules, ok)).toBeNull();
    expect(signalKeys.length).toBe(4);
  });
});
