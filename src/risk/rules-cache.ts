// Each merchant's risk rules, kept in this process for a short time so that screening a payment
// needs no read of them. A rules change applies at once in the process that made it and within
// `risk_rules_cache_ms` in every other process (the documented trade-off, docs/risk.md).
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import type { RiskRules } from './domain/rules.ts';

interface Entry {
  readonly rules: RiskRules;
  readonly fetched_at_ms: number;
}

const caches = new WeakMap<AppContext, Map<string, Entry>>();

function cacheOf(ctx: AppContext): Map<string, Entry> {
  let cache = caches.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    caches.set(ctx, cache);
  }
  return cache;
}

export function cachedRules(ctx: AppContext, merchantId: string): RiskRules | undefined {
  const entry = cacheOf(ctx).get(merchantId);
  if (entry === undefined || ctx.clock.now().getTime() - entry.fetched_at_ms > limits.risk_rules_cache_ms) return undefined;
  return entry.rules;
}

export function rememberRules(ctx: AppContext, merchantId: string, rules: RiskRules): void {
  const cache = cacheOf(ctx);
  if (!cache.has(merchantId) && cache.size >= limits.facts_cache_entries_max) cache.delete(cache.keys().next().value!);
  cache.set(merchantId, { rules, fetched_at_ms: ctx.clock.now().getTime() });
}

export function forgetRules(ctx: AppContext, merchantId: string): void {
  cacheOf(ctx).delete(merchantId);
}
