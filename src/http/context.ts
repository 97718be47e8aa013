import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Clock } from '../kernel/clock.ts';
import type { ChannelRegistry } from '../channels/registry.ts';
import type { Metrics } from './metrics.ts';
import type { FactsCache } from '../kernel/facts-cache.ts';
import type { AttemptsInFlight } from '../payments/attempts-in-flight.ts';
import type { HeldKey } from './idempotency.ts';

/** What never changes about an order once created: enough to plan its payment. */
export interface OrderFacts {
  readonly merchant_id: string;
  readonly currency: string;
  readonly amount_total: bigint;
  /** The order's customer as created (null: none given); absent when this process did not learn it. */
  readonly customer?: { id?: string; email?: string } | null;
}

/** An attempt this process saw succeed, with what it charged. */
export interface SucceededAttempt {
  readonly amount: bigint;
  readonly currency: string;
}

/** Process-local caches of immutable facts; each saves a read on the hot path. */
export interface FactsCaches {
  readonly orders: FactsCache<OrderFacts>;
  readonly succeededAttempts: FactsCache<SucceededAttempt>;
}

/** Everything a route or worker needs, built once at start. */
export interface AppContext {
  readonly config: Config;
  readonly db: Database;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly channels: ChannelRegistry;
  readonly logger: Logger;
  /** The admin key's hash (the key itself is never kept in memory longer than start-up). */
  readonly adminKeyHash: string;
  readonly facts: FactsCaches;
  /** The attempts whose synchronous channel call this process is making (notifications wait for them). */
  readonly attemptsInFlight: AttemptsInFlight;
}

export type Principal = { readonly kind: 'admin' } | { readonly kind: 'merchant'; readonly merchantId: string };

export type RouteAuth = 'none' | 'admin' | 'merchant' | 'any';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    idempotency: HeldKey | null;
  }
  interface FastifyContextConfig {
    auth?: RouteAuth;
    /** 'with_first_write': the route writes its idempotency claim with its first statement (src/http/idempotency.ts). */
    idempotency?: 'with_first_write';
  }
}

export function merchantIdOf(principal: Principal | null): string {
  if (principal?.kind !== 'merchant') throw new Error('assertion failed: route requires a merchant principal');
  return principal.merchantId;
}
