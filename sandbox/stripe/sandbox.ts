import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import { createSandboxLifecycle } from '../shared/lifecycle.ts';
import type { EndpointContext, RequestInfo } from './context.ts';
import { FaultState, type Faults } from './faults.ts';
import { Holds } from './holds.ts';
import { IdempotencyStore } from './idempotency.ts';
import { randomBase62, stripeId } from './ids.ts';
import { sandboxLimits } from './limits.ts';
import { renderEvent, type Json } from './objects.ts';
import { registerStripeRoutes } from './routes.ts';
import { SandboxStore } from './store.ts';
import { WebhookDispatcher, type WebhookStats } from './webhooks.ts';

// A simulated Stripe for one channel: the v1 wire protocol (form bodies, JSON objects, errors,
// idempotency, webhooks signed with Stripe-Signature), its state in bounded in-memory maps,
// and fault injection. Mount it on the platform's server, listen on a port of its own (what the
// official library and the connector's base URL use), or both; both views share one state.

export interface StripeSandboxOptions {
  readonly channel: string;
  readonly secretKey?: string;
  readonly publishableKey?: string;
  readonly webhookSecret?: string;
  readonly webhookUrl?: string | null;
  readonly clock?: Clock;
  /** Source of randomness for the faults; default Math.random. Must return [0, 1). */
  readonly random?: () => number;
  /** How long the timeout fault holds a response back (default 30 s; close() cuts it short). */
  readonly timeoutHoldMs?: number;
  /** How long a late success stays `processing` (default 250 ms). */
  readonly lateSuccessDelayMs?: number;
  /** First webhook retry delay; doubles each attempt (default 100 ms). */
  readonly webhookBackoffBaseMs?: number;
  /** PaymentIntents, refunds and idempotent responses kept before the oldest are evicted (limits.ts). */
  readonly capacity?: number;
}

export interface StripeCredentials {
  readonly base_url: string;
  readonly secret_key: string;
  readonly publishable_key: string;
  readonly webhook_secret: string;
}

export interface LedgerRow {
  readonly out_trade_no: string;
  readonly charged: number;
  readonly refunded: number;
}

export interface StripeSandbox {
  readonly channel: string;
  /** Mount Stripe's paths (/v1/...) on a fastify instance under a prefix, e.g. '/sandbox/card_a'. */
  register(app: FastifyInstance, prefix: string): Promise<void>;
  /** Listen on a loopback port of its own at Stripe's own paths; resolves to e.g. http://127.0.0.1:PORT. */
  listen(port?: number): Promise<string>;
  /** Cuts held responses, stops late successes and webhook retries, closes its own port. */
  close(): Promise<void>;
  /** base_url: the own port once listening; before that the mount prefix (relative), or '' when neither. */
  credentials(): StripeCredentials;
  setFaults(faults: Partial<Faults>): void;
  resetFaults(): void;
  faults(): Faults;
  /** What the sandbox charged and refunded (minor units) per trade number. */
  ledger(): LedgerRow[];
  setWebhookUrl(url: string | null): void;
  webhookStats(): WebhookStats;
}

interface Settings {
  readonly channel: string;
  readonly secretKey: string;
  readonly publishableKey: string;
  readonly webhookSecret: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly timeoutHoldMs: number;
  readonly lateSuccessDelayMs: number;
  readonly webhookBackoffBaseMs: number;
  readonly capacity: number;
}

function settle(options: StripeSandboxOptions): Settings {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createStripeSandbox: bad channel id ${options.channel}`);
  const secretKey = options.secretKey ?? `sk_test_${randomBase62(40)}`;
  const publishableKey = options.publishableKey ?? `pk_test_${randomBase62(40)}`;
  const webhookSecret = options.webhookSecret ?? `whsec_${randomBase62(32)}`;
  if (!/^sk_(test|live)_\S{8,}$/.test(secretKey)) throw new Error('createStripeSandbox: secretKey must look like sk_test_...');
  if (!/^whsec_\S{8,}$/.test(webhookSecret)) throw new Error('createStripeSandbox: webhookSecret must look like whsec_...');
  const durations = {
    timeoutHoldMs: options.timeoutHoldMs ?? sandboxLimits.timeout_hold_ms_default,
    lateSuccessDelayMs: options.lateSuccessDelayMs ?? sandboxLimits.late_success_delay_ms_default,
    webhookBackoffBaseMs: options.webhookBackoffBaseMs ?? sandboxLimits.webhook_backoff_base_ms,
  };
  for (const [name, value] of Object.entries(durations)) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 10 * 60_000)) throw new Error(`createStripeSandbox: ${name} must be 0..600000 ms`);
  }
  const capacity = options.capacity ?? sandboxLimits.capacity_default;
  if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= sandboxLimits.capacity_max)) throw new Error('createStripeSandbox: bad capacity');
  const random = options.random ?? Math.random;
  return Object.freeze({ channel: options.channel, secretKey, publishableKey, webhookSecret, clock: options.clock ?? systemClock, random, capacity, ...durations });
}

export function createStripeSandbox(options: StripeSandboxOptions): StripeSandbox {
  const settings = settle(options);
  const store = new SandboxStore(settings.capacity);
  const faults = new FaultState(settings.random);
  const holds = new Holds();
  const idempotency = new IdempotencyStore(settings.capacity);
  const webhooks = new WebhookDispatcher({ secret: settings.webhookSecret, clock: settings.clock, url: null, backoff_base_ms: settings.webhookBackoffBaseMs });
  webhooks.setUrl(options.webhookUrl ?? null);
  const nowSeconds = (): number => Math.floor(settings.clock.now().getTime() / 1000);
  const lifecycle = createSandboxLifecycle({
    routes: async (scoped) => registerStripeRoutes(scoped, deps),
    bodyLimit: sandboxLimits.request_body_bytes_max,
    return503OnClosing: true,
    holds,
    outbound: webhooks,
  });

  const context: EndpointContext = {
    store,
    faults,
    late_success_delay_ms: settings.lateSuccessDelayMs,
    now_seconds: nowSeconds,
    emit(type: string, object: Json, request: RequestInfo): void {
      const event = renderEvent({ id: stripeId('evt'), type, created: nowSeconds(), object, ...request });
      const payload = JSON.stringify(event, null, 2);
      webhooks.send(payload);
      if (faults.roll('duplicate_notify_rate')) webhooks.send(payload);
    },
    later: (delay_ms: number, run: () => void): void => lifecycle.later(delay_ms, run),
  };
  const deps = { context, idempotency, faults, holds, secretKey: settings.secretKey, timeoutHoldMs: settings.timeoutHoldMs, now_ms: () => settings.clock.now().getTime() };

  return {
    channel: settings.channel,
    register: (app, prefix) => lifecycle.register(app, prefix),
    listen: (port) => lifecycle.listen(port),
    close: () => lifecycle.close(),
    credentials() {
      const base_url = lifecycle.baseUrl();
      return { base_url, secret_key: settings.secretKey, publishable_key: settings.publishableKey, webhook_secret: settings.webhookSecret };
    },
    setFaults: (patch) => faults.set(patch),
    resetFaults: () => faults.reset(),
    faults: () => faults.get(),
    ledger: () => store.ledgerRows(),
    setWebhookUrl: (url) => webhooks.setUrl(url),
    webhookStats: () => webhooks.counts(),
  };
}
