// Builds the channel registry: with sandboxes on, each channel gets its own sandbox instance
// listening on a loopback port of its own; otherwise channels are configured from the
// environment and point at the real providers.
import type { Clock } from '../kernel/clock.ts';
import { createStripeSandbox, type StripeSandbox } from '../../sandbox/stripe/index.ts';
import type { Logger } from 'pino';
import { createStripeConnector, type StripeConnector } from './stripe/connector.ts';
import { ChannelRegistry, type ChannelConfig } from './registry.ts';
import { limits } from '../kernel/limits.ts';

export interface ConfiguredChannels {
  readonly registry: ChannelRegistry;
  readonly sandboxes: Map<string, StripeSandbox>;
  close(): Promise<void>;
}

const cardCurrencies = ['USD', 'EUR', 'GBP', 'CNY', 'HKD', 'SGD', 'JPY', 'AUD', 'CAD', 'CHF'];

function cardChannel(id: string): ChannelConfig {
  return { id, provider: 'stripe', methods: ['card'], currencies: cardCurrencies, amount_min: 50n, amount_max: limits.amount_minor_max };
}

export async function configureSandboxChannels(clock: Clock, logger: Logger): Promise<ConfiguredChannels> {
  const registry = new ChannelRegistry();
  const sandboxes = new Map<string, StripeSandbox>();
  const connectors: StripeConnector[] = [];
  for (const id of ['card_a']) {
    const sandbox = createStripeSandbox({ channel: id, clock });
    await sandbox.listen(0);
    const credentials = sandbox.credentials();
    const connector = createStripeConnector({
      channel: id, baseUrl: credentials.base_url, secretKey: credentials.secret_key, webhookSecret: credentials.webhook_secret,
      timeoutMs: limits.channel_call_timeout_ms, clock, logger: logger.child({ channel: id }),
    });
    connectors.push(connector);
    registry.add({ config: cardChannel(id), connector });
    sandboxes.set(id, sandbox);
  }
  return {
    registry,
    sandboxes,
    async close() {
      for (const connector of connectors) connector.close();
      await Promise.all([...sandboxes.values()].map((s) => s.close()));
    },
  };
}

/** Real providers: a Stripe account from STRIPE_BASE_URL (default https://api.stripe.com), STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. */
export function configureEnvironmentChannels(env: NodeJS.ProcessEnv, clock: Clock, logger: Logger): ConfiguredChannels {
  const registry = new ChannelRegistry();
  const connectors: StripeConnector[] = [];
  if (env.STRIPE_SECRET_KEY) {
    const connector = createStripeConnector({
      channel: 'card_a',
        baseUrl: env.STRIPE_BASE_URL || 'https://api.stripe.com',
        secretKey: env.STRIPE_SECRET_KEY,
        webhookSecret: env.STRIPE_WEBHOOK_SECRET ?? '',
        timeoutMs: limits.channel_call_timeout_ms,
        clock,
        logger: logger.child({ channel: 'card_a' }),
      });
    connectors.push(connector);
    registry.add({ config: cardChannel('card_a'), connector });
  }
  return {
    registry,
    sandboxes: new Map(),
    async close() {
      for (const connector of connectors) connector.close();
    },
  };
}
