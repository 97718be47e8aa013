// Configuration from the environment, validated and frozen at start.
import { limits } from './kernel/limits.ts';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Base URL the server is reached at (for printed links and sandbox webhooks). */
  readonly publicUrl: string | null;
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly adminKey: string | null;
  readonly sandbox: boolean;
  readonly orderTtlSeconds: number;
  readonly rateLimitPerMinute: number;
  readonly logLevel: string;
  readonly workers: boolean;
  readonly databasePoolSize: number;
  /** How long a channel's open circuit stays open before a trial call (CLEARWAY_CIRCUIT_HALF_OPEN_MS). */
  readonly circuitHalfOpenMs: number;
  /**
   * How long a payment may wait on the payer (QR code, redirect) before it is taken as abandoned,
   * closed at its channel and canceled (CLEARWAY_ACTION_TTL_SECONDS).
   */
  readonly actionTtlSeconds: number;
  /** Channel accounts at the real providers, when the sandbox is off (CLEARWAY_CHANNELS_FILE; docs/channels.md). */
  readonly channelsFile: string | null;
  /** How long one call to a channel may take before its outcome is unknown (CLEARWAY_CHANNEL_TIMEOUT_MS). */
  readonly channelTimeoutMs: number;
  /** NATS server of the finance stream (NATS_URL); null: embedded, consumers read the outbox (docs/stream.md). */
  readonly natsUrl: string | null;
  /** Stream subjects are `<prefix>.<merchant_id>` (CLEARWAY_NATS_SUBJECT_PREFIX, default clearway.events). */
  readonly natsSubjectPrefix: string;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new Error(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

function natsSubjectPrefix(value: string): string {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,7}$/.test(value)) throw new Error(`CLEARWAY_NATS_SUBJECT_PREFIX must be dot-separated lowercase words, got ${JSON.stringify(value)}`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const adminKey = env.CLEARWAY_ADMIN_KEY || null;
  if (adminKey !== null && adminKey.length < 16) throw new Error('CLEARWAY_ADMIN_KEY must be at least 16 characters');
  return Object.freeze({
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    publicUrl: env.CLEARWAY_PUBLIC_URL || null,
    databaseUrl: env.DATABASE_URL || null,
    dataDir: env.CLEARWAY_DATA_DIR || './.clearway',
    adminKey,
    sandbox: flag(env, 'CLEARWAY_SANDBOX', true),
    orderTtlSeconds: integer(env, 'CLEARWAY_ORDER_TTL_SECONDS', 1800, 1, 30 * 24 * 3600),
    rateLimitPerMinute: integer(env, 'CLEARWAY_RATE_LIMIT_PER_MINUTE', limits.rate_limit_requests_per_minute_max, 1, 100_000_000),
    logLevel: env.LOG_LEVEL || 'info',
    workers: flag(env, 'CLEARWAY_WORKERS', true),
    databasePoolSize: integer(env, 'CLEARWAY_DB_POOL_SIZE', limits.database_pool_connections_max, 1, 500),
    circuitHalfOpenMs: integer(env, 'CLEARWAY_CIRCUIT_HALF_OPEN_MS', limits.channel_circuit_half_open_ms_default, 1, limits.channel_circuit_half_open_ms_max),
    actionTtlSeconds: integer(env, 'CLEARWAY_ACTION_TTL_SECONDS', limits.payment_action_ttl_seconds_default, 1, limits.payment_action_ttl_seconds_max),
    channelsFile: env.CLEARWAY_CHANNELS_FILE || null,
    channelTimeoutMs: integer(env, 'CLEARWAY_CHANNEL_TIMEOUT_MS', limits.channel_call_timeout_ms, 100, limits.channel_call_timeout_ms_max),
    natsUrl: env.NATS_URL || null,
    natsSubjectPrefix: natsSubjectPrefix(env.CLEARWAY_NATS_SUBJECT_PREFIX || 'clearway.events'),
  });
}
