// Routing policies' reads and writes, the in-process policy cache of the payment hot path, and
// the experiment report (counted from payments.routing_policy_version / routing_arm).
import type { Queryable } from '../db/database.ts';
import { newId } from '../kernel/ids.ts';
import type { AppContext } from '../http/context.ts';
import type { RoutingExperiment, RoutingPolicy, RoutingRule } from './policy.ts';

interface PolicyRow {
  version: number;
  rules: RoutingRule[];
  experiment: RoutingExperiment | null;
  created_at: Date;
}

const noPolicy: RoutingPolicy = Object.freeze({ version: 0, rules: [], experiment: null, updated_at: null });

function policyOf(row: PolicyRow | undefined): RoutingPolicy {
  if (!row) return noPolicy;
  return { version: Number(row.version), rules: row.rules, experiment: row.experiment ?? null, updated_at: row.created_at };
}

export async function readRoutingPolicy(db: Queryable, merchantId: string): Promise<RoutingPolicy> {
  const { rows } = await db.query<PolicyRow>(
    'SELECT version, rules, experiment, created_at FROM routing_policies WHERE merchant_id = $1 ORDER BY version DESC LIMIT 1',
    [merchantId],
  );
  return policyOf(rows[0]);
}

const writeTriesMax = 5;

/** Writes the merchant's next policy version (earlier versions are kept). */
export async function writeRoutingPolicy(db: Queryable, merchantId: string, rules: readonly RoutingRule[], experiment: RoutingExperiment | null, now: Date): Promise<RoutingPolicy> {
  for (let tries = 0; tries < writeTriesMax; tries++) {
    // Two concurrent PUTs may pick the same next version: the loser inserts nothing and retries.
    const { rows } = await db.query<PolicyRow>(
      `INSERT INTO routing_policies (id, merchant_id, version, rules, experiment, created_at)
       SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3::jsonb, $4::jsonb, $5 FROM routing_policies WHERE merchant_id = $2
       ON CONFLICT (merchant_id, version) DO NOTHING
       RETURNING version, rules, experiment, created_at`,
      [newId('routing_policy'), merchantId, JSON.stringify(rules), experiment === null ? null : JSON.stringify(experiment), now],
    );
    if (rows.length === 1) return policyOf(rows[0]);
  }
  throw new Error(`routing policy of ${merchantId} kept changing while being written`);
}

/**
 * How long a process keeps a merchant's policy (a miss included) before reading it again: a
 * change made through the API applies to every process within this, and at once in the process
 * that made it.
 */
export const routingPolicyCacheMs = 1_000;
const cacheEntriesMax = 10_000;

interface CacheEntry {
  readonly policy: RoutingPolicy;
  readonly expires: number;
}

const caches = new WeakMap<AppContext, Map<string, CacheEntry>>();

function cacheOf(ctx: AppContext): Map<string, CacheEntry> {
  let cache = caches.get(ctx);
  if (!cache) caches.set(ctx, (cache = new Map()));
  return cache;
}

/** The merchant's policy for routing: at most one read per merchant per second per process. */
export async function cachedRoutingPolicy(ctx: AppContext, merchantId: string): Promise<RoutingPolicy> {
  const cache = cacheOf(ctx);
  const now = performance.now();
  const hit = cache.get(merchantId);
  if (hit && hit.expires > now) return hit.policy;
  const policy = await readRoutingPolicy(ctx.db, merchantId);
  cache.delete(merchantId);
  if (cache.size >= cacheEntriesMax) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(merchantId, { policy, expires: now + routingPolicyCacheMs });
  return policy;
}

/** Drops this process's cached policy of a merchant (after it wrote a new version). */
export function forgetRoutingPolicy(ctx: AppContext, merchantId: string): void {
  caches.get(ctx)?.delete(merchantId);
}

export interface ArmReport {
  readonly arm: 'a' | 'b';
  readonly count: number;
  readonly succeeded: number;
  /** succeeded / count; null before any payment. */
  readonly success_rate: number | null;
}

/** Payments per arm of one policy version, and how many succeeded. */
export async function experimentReport(db: Queryable, merchantId: string, version: number): Promise<ArmReport[]> {
  const { rows } = await db.query<{ arm: 'a' | 'b'; count: bigint | number | string; succeeded: bigint | number | string }>(
    `SELECT routing_arm AS arm, count(*) AS count, count(*) FILTER (WHERE status = 'succeeded') AS succeeded
     FROM payments WHERE merchant_id = $1 AND routing_policy_version = $2 AND routing_arm IS NOT NULL GROUP BY routing_arm`,
    [merchantId, version],
  );
  return (['a', 'b'] as const).map((arm) => {
    const row = rows.find((r) => r.arm === arm);
    const count = Number(row?.count ?? 0);
    const succeeded = Number(row?.succeeded ?? 0);
    return { arm, count, succeeded, success_rate: count === 0 ? null : succeeded / count };
  });
}
