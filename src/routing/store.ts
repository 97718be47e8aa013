// Routing policies' reads and writes, the in-process policy cache of the payment hot path, and
// the experiment report (counted from payments.routing_policy_version / routing_arm).
import type { Queryable } from '../db/database.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { timedCachePerOwner } from '../kernel/timed-cache.ts';
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

// A merchant's policy (a missing one included) is kept per process for routing_policy_cache_ms:
// a change made through the API applies at once in the process that made it, within that
// everywhere else.
const cacheOf = timedCachePerOwner<RoutingPolicy>(limits.routing_policy_cache_ms, limits.routing_policy_cache_entries_max);

/** The merchant's policy for routing: at most one read per merchant per routing_policy_cache_ms per process. */
export async function cachedRoutingPolicy(ctx: AppContext, merchantId: string): Promise<RoutingPolicy> {
  return cacheOf(ctx).through(merchantId, () => readRoutingPolicy(ctx.db, merchantId));
}

/** Drops this process's cached policy of a merchant (after it wrote a new version). */
export function forgetRoutingPolicy(ctx: AppContext, merchantId: string): void {
  cacheOf(ctx).forget(merchantId);
}

export interface ArmCost {
  readonly currency: string;
  /** Succeeded payments in this currency. */
  readonly succeeded: number;
  /** Sum of what the channels charged us for them (payments.channel_fee_amount, fixed at capture), minor units. */
  readonly channel_fee_total: number;
  /** channel_fee_total / succeeded, rounded HALF_UP to the minor unit. */
  readonly channel_fee_average: number;
}

export interface ArmLatency {
  /** Final (succeeded or failed) payments measured. */
  readonly count: number;
  /** From the payment's creation to the last change of its attempts, in milliseconds (app clock). */
  readonly p50: number;
  readonly p95: number;
}

export interface ArmReport {
  readonly arm: 'a' | 'b';
  readonly count: number;
  readonly succeeded: number;
  /** succeeded / count; null before any payment. */
  readonly success_rate: number | null;
  /** Per currency, in currency order. */
  readonly cost: ArmCost[];
  /** Null before any final payment. */
  readonly latency_ms: ArmLatency | null;
}

type Count = bigint | number | string;

/** A SQL integer aggregate (count, sum) as a safe JS integer. */
function integerOf(value: Count | null | undefined): number {
  const n = BigInt(String(value ?? 0));
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`assertion failed: report figure ${n} within the safe integers`);
  return Number(n);
}

/** Rounds to 0.1 ms. */
const tenths = (ms: number | string): number => Math.round(Number(ms) * 10) / 10;

/** Payments per arm of one policy version, how many succeeded, their channel fees per currency and their latency. */
export async function experimentReport(db: Queryable, merchantId: string, version: number): Promise<ArmReport[]> {
  // One statement for the counts and the fees, so that they agree with each other.
  const { rows } = await db.query<{ arm: 'a' | 'b'; currency: string; count: Count; succeeded: Count; fee_total: Count }>(
    `SELECT routing_arm AS arm, currency, count(*) AS count, count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       COALESCE(sum(channel_fee_amount) FILTER (WHERE status = 'succeeded'), 0) AS fee_total
     FROM payments WHERE merchant_id = $1 AND routing_policy_version = $2 AND routing_arm IS NOT NULL
     GROUP BY routing_arm, currency ORDER BY currency`,
    [merchantId, version],
  );
  // Latency of final payments: creation to the last change of an attempt (its outcome recorded).
  const latencies = await db.query<{ arm: 'a' | 'b'; count: Count; p50: number | string; p95: number | string }>(
    `SELECT arm, count(*) AS count, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95
     FROM (SELECT p.routing_arm AS arm, (EXTRACT(EPOCH FROM (max(a.updated_at) - p.created_at)) * 1000)::float8 AS ms
           FROM payments p JOIN attempts a ON a.payment_id = p.id
           WHERE p.merchant_id = $1 AND p.routing_policy_version = $2 AND p.routing_arm IS NOT NULL AND p.status IN ('succeeded', 'failed')
           GROUP BY p.id, p.routing_arm, p.created_at) final
     GROUP BY arm`,
    [merchantId, version],
  );
  return (['a', 'b'] as const).map((arm) => {
    const mine = rows.filter((r) => r.arm === arm);
    const count = mine.reduce((sum, r) => sum + integerOf(r.count), 0);
    const succeeded = mine.reduce((sum, r) => sum + integerOf(r.succeeded), 0);
    const cost = mine.filter((r) => integerOf(r.succeeded) > 0).map((r) => {
      const n = BigInt(String(r.succeeded));
      const total = BigInt(String(r.fee_total));
      return { currency: r.currency, succeeded: integerOf(r.succeeded), channel_fee_total: integerOf(total), channel_fee_average: integerOf((2n * total + n) / (2n * n)) };
    });
    const latency = latencies.rows.find((r) => r.arm === arm);
    const latency_ms = latency ? { count: integerOf(latency.count), p50: tenths(latency.p50), p95: tenths(latency.p95) } : null;
    if (succeeded > count || (latency_ms !== null && latency_ms.p50 > latency_ms.p95)) throw new Error(`assertion failed: arm ${arm}'s report is consistent`);
    return { arm, count, succeeded, success_rate: count === 0 ? null : succeeded / count, cost, latency_ms };
  });
}
