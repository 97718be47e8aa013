// Builds the channel registry: with sandboxes on, each channel gets its own sandbox instance
// listening on a loopback port of its own; otherwise channels are configured from the
// environment and point at the real providers. Either way each connector is wrapped in its
// channel's circuit breaker and bulkhead (resilience.ts), whose transitions are logged and counted.
import type { Clock } from '../kernel/clock.ts';
import { createStripeSandbox } from '../../sandbox/stripe/index.ts';
import type { ChannelSandbox } from './sandbox.ts';
import type { Connector } from './contract.ts';
import { createAlipaySandbox } from '../../sandbox/alipay/index.ts';
import { createWechatPaySandbox } from '../../sandbox/wechat/index.ts';
import { createAlipayConnector } from './alipay/index.ts';
import { createWechatPayConnector } from './wechat/index.ts';
import type { Logger } from 'pino';
import { createStripeConnector } from './stripe/connector.ts';
import { ChannelRegistry } from './registry.ts';
import { channelConfigOf, readChannelAccounts, type ChannelAccount } from './accounts-file.ts';
import { limits } from '../kernel/limits.ts';
import type { Metrics } from '../http/metrics.ts';
import { circuitStateGaugeValue, withResilience, type ResilienceSettings, type ResilientConnector } from './resilience.ts';

export interface ConfiguredChannels {
  readonly registry: ChannelRegistry;
  readonly sandboxes: Map<string, ChannelSandbox>;
  /**
   * Adds the channels whose requests name our notification URL (the wallets send `notify_url`
   * with every payment), once the server listens and its URL is known. Synchronous, so no
   * request is served between listening and having every channel.
   */
  attach(publicUrl: string): void;
  close(): Promise<void>;
}

/** A connector we hold on to in order to let go of its sockets at shutdown. */
type ClosableConnector = Connector & { close(): void };

/**
 * The sandbox acquirers' prices: card_a is the primary account, negotiated cheaper (1.8 % + 0.20);
 * card_b the backup (2.2 % + 0.25). Ranking by cost therefore puts card_a first while it is
 * healthy, and card_b takes over when card_a's circuit opens or its success rate falls.
 */
const cardFees: Readonly<Record<string, { percent_bps: number; fixed: number }>> = { card_a: { percent_bps: 180, fixed: 20 }, card_b: { percent_bps: 220, fixed: 25 } };
/** card_b's account runs 3-D Secure (routing's risk fit sends payments in review there); card_a's does not. */
const cardStrongAuthentication: readonly string[] = ['card_b'];
/** The sandbox wallets' price: 0.6 %; the payer confirms in the wallet's app (strong customer authentication). */
const walletFees = { percent_bps: 60, fixed: 0 };

/** The sandbox card channels, in configuration order: card_a is the first choice, card_b its backup. */
export const sandboxCardChannels: readonly string[] = ['card_a', 'card_b'];

/** What every channel's breaker and bulkhead report to, and how they are sized. */
export interface ResilienceWiring {
  readonly settings: ResilienceSettings;
  readonly metrics: Metrics;
}

/** Circuit breaker and bulkhead sizes: limits, with the half-open delay from the configuration. */
export function resilienceSettings(halfOpenAfterMs: number): ResilienceSettings {
  return {
    failures_threshold: limits.channel_circuit_failures_threshold,
    half_open_after_ms: halfOpenAfterMs,
    concurrent_calls_max: limits.channel_concurrent_calls_max,
    queued_calls_max: limits.channel_queued_calls_max,
  };
}

function resilient(connector: Connector, wiring: ResilienceWiring, logger: Logger): ResilientConnector {
  const channel = connector.channel;
  wiring.metrics.circuitState.set({ channel }, circuitStateGaugeValue.closed);
  return withResilience(connector, wiring.settings, {
    onTransition({ from, to, cause }) {
      wiring.metrics.circuitState.set({ channel }, circuitStateGaugeValue[to]);
      wiring.metrics.circuitTransitions.inc({ channel, from, to });
      const entry = { channel, circuit_from: from, circuit_to: to, ...(cause === null ? {} : { cause }) };
      if (to === 'open') logger.warn(entry, `channel ${channel}: circuit opened, new payments go to other channels`);
      else logger.info(entry, `channel ${channel}: circuit ${to === 'closed' ? 'closed' : 'half-open, letting a trial call through'}`);
    },
    onRejected({ flow, reason }) {
      wiring.metrics.channelRejections.inc({ channel, flow, reason });
    },
  });
}

/** How channels are built from accounts: the call timeout, and where breakers report. */
export interface ChannelWiring {
  readonly resilience: ResilienceWiring;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One account's connector (a wallet's names our notification URL). */
function connectorFor(account: ChannelAccount, publicUrl: string | null, wiring: ChannelWiring): ClosableConnector {
  const common = { timeoutMs: wiring.timeoutMs, clock: wiring.clock, logger: wiring.logger.child({ channel: account.id }) };
  switch (account.provider) {
    case 'stripe':
      return createStripeConnector({ channel: account.id, baseUrl: account.base_url, secretKey: account.secret_key, webhookSecret: account.webhook_secret, ...common });
    case 'alipay':
      if (publicUrl === null) throw new Error(`assertion failed: wallet channel ${account.id} is built once the public URL is known`);
      return createAlipayConnector({
        channel: account.id, gatewayUrl: account.gateway_url, appId: account.app_id, appPrivateKey: account.app_private_key, alipayPublicKey: account.alipay_public_key,
        notifyUrl: `${publicUrl}/notify/${account.id}`, ...common,
      });
    case 'wechat_pay':
      if (publicUrl === null) throw new Error(`assertion failed: wallet channel ${account.id} is built once the public URL is known`);
      return createWechatPayConnector({
        channel: account.id, baseUrl: account.base_url, mchid: account.mchid, appid: account.appid, merchantSerialNo: account.merchant_serial_no,
        merchantPrivateKey: account.merchant_private_key, apiV3Key: account.api_v3_key, platformPublicKey: account.platform_public_key,
        platformSerialNo: account.platform_serial_no, notifyUrl: `${publicUrl}/notify/${account.id}`, ...common,
      });
    default: {
      const unknown: never = account;
      throw new Error(`assertion failed: unknown provider of ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * A registry of these accounts, in their order: card accounts at once, wallet accounts when the
 * server's URL is known (attach), since their requests name our notification URL.
 */
function channelsOf(accounts: readonly ChannelAccount[], sandboxes: Map<string, ChannelSandbox>, wiring: ChannelWiring): ConfiguredChannels {
  const registry = new ChannelRegistry();
  const connectors: ClosableConnector[] = [];
  const add = (account: ChannelAccount, publicUrl: string | null): void => {
    const connector = connectorFor(account, publicUrl, wiring);
    connectors.push(connector);
    const wrapped = resilient(connector, wiring.resilience, wiring.logger);
    registry.add({ config: channelConfigOf(account), connector: wrapped, circuitState: wrapped.circuitState });
  };
  for (const account of accounts) if (account.provider === 'stripe') add(account, null);
  let attached = false;
  return {
    registry,
    sandboxes,
    attach(publicUrl: string) {
      if (attached) throw new Error('assertion failed: channels are attached once');
      attached = true;
      for (const account of accounts) if (account.provider !== 'stripe') add(account, publicUrl);
    },
    async close() {
      for (const connector of connectors) connector.close();
      await Promise.all([...sandboxes.values()].map((sandbox) => sandbox.close()));
    },
  };
}

/** Each sandbox channel on a sandbox instance of its own, listening on a loopback port of its own. */
export async function configureSandboxChannels(wiring: ChannelWiring): Promise<ConfiguredChannels> {
  const sandboxes = new Map<string, ChannelSandbox>();
  const accounts: ChannelAccount[] = [];
  for (const id of sandboxCardChannels) {
    const sandbox = createStripeSandbox({ channel: id, clock: wiring.clock });
    await sandbox.listen(0);
    const c = sandbox.credentials();
    accounts.push({
      id, provider: 'stripe', base_url: c.base_url, secret_key: c.secret_key, webhook_secret: c.webhook_secret,
      fees: cardFees[id] ?? { percent_bps: 200, fixed: 20 }, strong_customer_authentication: cardStrongAuthentication.includes(id),
    });
    sandboxes.set(id, sandbox);
  }
  const alipay = createAlipaySandbox({ channel: 'alipay', clock: wiring.clock });
  const wechat = createWechatPaySandbox({ channel: 'wechat_pay', clock: wiring.clock });
  await Promise.all([alipay.listen(0), wechat.listen(0)]);
  sandboxes.set('alipay', alipay);
  sandboxes.set('wechat_pay', wechat);
  const a = alipay.credentials();
  const w = wechat.credentials();
  accounts.push(
    { id: 'alipay', provider: 'alipay', gateway_url: a.gateway_url, app_id: a.app_id, app_private_key: a.app_private_key, alipay_public_key: a.alipay_public_key, fees: walletFees },
    {
      id: 'wechat_pay', provider: 'wechat_pay', base_url: w.base_url, mchid: w.mchid, appid: w.appid, merchant_serial_no: w.merchant_serial_no,
      merchant_private_key: w.merchant_private_key, api_v3_key: w.api_v3_key, platform_public_key: w.platform_public_key, platform_serial_no: w.platform_serial_no, fees: walletFees,
    },
  );
  return channelsOf(accounts, sandboxes, wiring);
}

/**
 * Accounts at the real providers: every account of CLEARWAY_CHANNELS_FILE (accounts-file.ts), or,
 * without one, a single Stripe account from STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and
 * STRIPE_BASE_URL (default https://api.stripe.com) as channel card_a.
 */
export function configureEnvironmentChannels(channelsFile: string | null, env: NodeJS.ProcessEnv, wiring: ChannelWiring): ConfiguredChannels {
  const accounts: ChannelAccount[] = channelsFile
    ? readChannelAccounts(channelsFile, env)
    : env.STRIPE_SECRET_KEY
      ? [{
          id: 'card_a', provider: 'stripe', base_url: env.STRIPE_BASE_URL || 'https://api.stripe.com', secret_key: env.STRIPE_SECRET_KEY,
          webhook_secret: env.STRIPE_WEBHOOK_SECRET ?? '', fees: { percent_bps: 0, fixed: 0 }, strong_customer_authentication: true,
        }]
      : [];
  return channelsOf(accounts, new Map(), wiring);
}
