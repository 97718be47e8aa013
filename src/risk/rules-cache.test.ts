import { describe, expect, it } from 'vitest';
import type { AppContext } from '../http/context.ts';
import { ManualClock } from '../kernel/clock.ts';
import { limits } from '../kernel/limits.ts';
import { completeRules } from './domain/rules.ts';
import { cachedRules, forgetRules, rememberRules } from './rules-cache.ts';

describe('the per-process risk rules cache', () => {
  it('serves rules for risk_rules_cache_ms, then asks for a fresh read; forgetting drops them at once', () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const ctx = { clock } as unknown as AppContext; // the cache reads only ctx.clock
    const rules = completeRules({});
    expect(cachedRules(ctx, 'mch_a')).toBeUndefined();
    rememberRules(ctx, 'mch_a', rules);
    expect(cachedRules(ctx, 'mch_a')).toBe(rules);
    expect(cachedRules(ctx, 'mch_b')).toBeUndefined();
    clock.advance(limits.risk_rules_cache_ms);
    expect(cachedRules(ctx, 'mch_a')).toBe(rules);
    clock.advance(1);
    expect(cachedRules(ctx, 'mch_a')).toBeUndefined();
    rememberRules(ctx, 'mch_a', rules);
    forgetRules(ctx, 'mch_a');
    expect(cachedRules(ctx, 'mch_a')).toBeUndefined();
  });
});
