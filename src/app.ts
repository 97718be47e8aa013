// Assembles Clearway: storage, migrations, keys, channels (and their sandboxes), the HTTP
// server and the workers. Used by `clearway serve`, the tests and the benchmark.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/open.ts';
import { migrate } from './db/migrate.ts';
import type { Database } from './db/database.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { checkLimits, limits } from './kernel/limits.ts';
import { createMetrics } from './http/metrics.ts';
import { buildServer } from './http/server.ts';
import type { AppContext, OrderFacts, SucceededAttempt } from './http/context.ts';
import { FactsCache } from './kernel/facts-cache.ts';
import { AttemptsInFlight } from './payments/attempts-in-flight.ts';
import { createLogger } from './logger.ts';
import { hashKey, newAdminKey, newMerchantKey } from './merchants/keys.ts';
import { createMerchant, readSetting, writeSettingOnce } from './merchants/repository.ts';
import { configureEnvironmentChannels, configureSandboxChannels, resilienceSettings } from './channels/configure.ts';
import { registerSandboxRoutes } from './channels/sandbox-routes.ts';
import { registerSettlementRoutes } from './settlement/routes.ts';
import { attachPayoutBanks, configurePayoutBanks } from './payouts/configure.ts';
import { registerBankSandboxRoutes, registerPayoutRoutes } from './payouts/routes.ts';
import { startWorkers } from './workers/scheduler.ts';
import type { ChannelSandbox } from './channels/sandbox.ts';
import { openNatsStream } from './stream/nats.ts';
import { attachNatsStream, detachNatsStream } from './stream/registry.ts';
import { checkStreamLimits } from './stream/limits.ts';

export interface StartOptions {
  readonly config?: Config;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Listen on config.host:config.port (default true). */
  readonly listen?: boolean;
}

export interface RunningApp {
  readonly ctx: AppContext;
  readonly server: FastifyInstance;
  /** Base URL when listening, e.g. http://127.0.0.1:8080. */
  readonly url: string | null;
  readonly adminKey: string;
  readonly sandboxes: Map<string, ChannelSandbox>;
  close(): Promise<void>;
}

async function resolveAdminKey(db: Database, config: Config): Promise<string> {
  if (config.adminKey) return config.adminKey;
  const stored = await readSetting(db, 'admin_key');
  return stored ?? writeSettingOnce(db, 'admin_key', newAdminKey());
}

/** The demo merchant of a sandbox install: created once, its key kept so every start can print it. */
export async function ensureDemoMerchant(db: Database, now: Date): Promise<{ id: string; apiKey: string }> {
  const id = await readSetting(db, 'demo_merchant_id');
  const apiKey = await readSetting(db, 'demo_merchant_key');
  if (id && apiKey) return { id, apiKey };
  return db.transaction(async (tx) => {
    const { merchant, apiKey: key } = await createMerchant(tx, 'Demo Shop', now, newMerchantKey());
    await tx.query("INSERT INTO platform_settings (key, value) VALUES ('demo_merchant_id', $1), ('demo_merchant_key', $2)", [merchant.id, key]);
    return { id: merchant.id, apiKey: key };
  });
}

export async function startApp(options: StartOptions = {}): Promise<RunningApp> {
  checkLimits();
  checkStreamLimits();
  const config = options.config ?? loadConfig();
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize });
  try {
    await migrate(db);
    const adminKey = await resolveAdminKey(db, config);
    const metrics = createMetrics();
    const wiring = { settings: resilienceSettings(config.circuitHalfOpenMs), metrics };
    const channelWiring = { resilience: wiring, timeoutMs: config.channelTimeoutMs, clock, logger };
    const channels = config.sandbox ? await configureSandboxChannels(channelWiring) : configureEnvironmentChannels(config.channelsFile, process.env, channelWiring);
    const facts = { orders: new FactsCache<OrderFacts>(limits.facts_cache_entries_max), succeededAttempts: new FactsCache<SucceededAttempt>(limits.facts_cache_entries_max) };
    const ctx: AppContext = { config, db, clock, logger, metrics, channels: channels.registry, adminKeyHash: hashKey(adminKey), facts, attemptsInFlight: new AttemptsInFlight(limits.attempts_in_flight_max) };
    const payoutBanks = await configurePayoutBanks({ sandbox: config.sandbox, clock, env: process.env });
    attachPayoutBanks(ctx, payoutBanks);
    if (config.natsUrl) attachNatsStream(ctx, await openNatsStream({ url: config.natsUrl, subjectPrefix: config.natsSubjectPrefix }));
    const server = await buildServer(ctx, {
      register: async (app) => {
        await registerSandboxRoutes(app, channels.sandboxes);
        registerSettlementRoutes(app, ctx);
        registerPayoutRoutes(app, ctx);
        await registerBankSandboxRoutes(app, payoutBanks);
      },
    });
    let url: string | null = null;
    if (options.listen ?? true) {
      await server.listen({ host: config.host, port: config.port });
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      url = config.publicUrl ?? `http://${config.host}:${port}`;
      channels.attach(url);
      for (const [id, sandbox] of channels.sandboxes) sandbox.setWebhookUrl(`${url}/notify/${id}`);
      payoutBanks.attach(url);
    } else {
      channels.attach(config.publicUrl ?? `http://${config.host}:${config.port}`);
    }
    const stopWorkers = config.workers ? startWorkers(ctx) : async () => {};
    return {
      ctx, server, url, adminKey, sandboxes: channels.sandboxes,
      async close() {
        await stopWorkers();
        await server.close();
        await detachNatsStream(ctx)?.close();
        await channels.close();
        await payoutBanks.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
