// Merchant pricing's reads and writes, and the in-process cache the payment hot path reads it
// through (a change applies at once in the process that made it, within pricing_cache_ms elsewhere).
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import { timedCachePerOwner } from '../kernel/timed-cache.ts';
import { noMerchantPricing, type MerchantPricing, type PricingRule } from './domain/pricing.ts';

export async function readMerchantPricing(db: Queryable, merchantId: string): Promise<MerchantPricing> {
  const { rows } = await db.query<{ version: number; rules: PricingRule[] }>(
    'SELECT version, rules FROM merchant_pricing WHERE merchant_id = $1 ORDER BY version DESC LIMIT 1',
    [merchantId],
  );
  const row = rows[0];
  return row ? { version: Number(row.version), rules: row.rules } : noMerchantPricing;
}

const writeTriesMax = 5;

/** Writes the merchant's next pricing version (earlier ones are kept, for the record). */
export async function writeMerchantPricing(db: Queryable, merchantId: string, rules: readonly PricingRule[], now: Date): Promise<MerchantPricing> {
  for (let tries = 0; tries < writeTriesMax; tries++) {
    // Two concurrent PUTs may pick the same next version: the loser inserts nothing and retries.
    const { rows } = await db.query<{ version: number }>(
      `INSERT INTO merchant_pricing (merchant_id, version, rules, created_at)
       SELECT $1, COALESCE(MAX(version), 0) + 1, $2::jsonb, $3 FROM merchant_pricing WHERE merchant_id = $1
       ON CONFLICT (merchant_id, version) DO NOTHING RETURNING version`,
      [merchantId, JSON.stringify(rules), now],
    );
    if (rows.length === 1) return { version: Number(rows[0]!.version), rules };
  }
  throw new Error(`pricing of ${merchantId} kept changing while being written`);
}

const cacheOf = timedCachePerOwner<MerchantPricing>(limits.pricing_cache_ms, limits.facts_cache_entries_max);

/** Through the cache; a miss reads with `db`, which must be the caller's transaction when it holds one (PGlite has one connection). */
export function merchantPricing(ctx: AppContext, merchantId: string, db: Queryable = ctx.db): Promise<MerchantPricing> {
  return cacheOf(ctx).through(merchantId, () => readMerchantPricing(db, merchantId));
}

export function forgetMerchantPricing(ctx: AppContext, merchantId: string): void {
  cacheOf(ctx).forget(merchantId);
}
