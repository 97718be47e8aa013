// Each merchant's risk rules, kept in this process for a short time so that screening a payment
// needs no read of them. A rules change applies at once in the process that made it and within
// `risk_rules_cache_ms` in every other process (the documented trade-off, docs/risk.md).
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import { timedCachePerOwner } from '../kernel/timed-cache.ts';
import type { RiskRules } from './domain/rules.ts';

const cacheOf = timedCachePerOwner<RiskRules>(limits.risk_rules_cache_ms, limits.facts_cache_entries_max);

export function cachedRules(ctx: AppContext, merchantId: string): RiskRules | undefined {
  return cacheOf(ctx).get(merchantId);
}

export function rememberRules(ctx: AppContext, merchantId: string, rules: RiskRules): void {
  cacheOf(ctx).set(merchantId, rules);
}

export function forgetRules(ctx: AppContext, merchantId: string): void {
  cacheOf(ctx).forget(merchantId);
}
