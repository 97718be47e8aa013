// Builds the channel registry: with sandboxes on, each channel gets its own sandbox instance
// listening on a loopback port of its own; otherwise channels are configured from the
// environment and point at the real providers. Either way each connector is wrapped in its
// channel's circuit breaker and bulkhead (resilience.ts), whose transitions are logged and counted.
import type { Clock } from '../kernel/clock.ts';
import { createStripeSandbox } from '../../sandbox/stripe/index.ts';
import type { ChannelSandbox } from './sandbox.ts';
import type { Connector } from './contract.ts';
import { createAlipaySandbox, type AlipaySandbox } from '../../sandbox/alipay/index.ts';
import { createWechatPaySandbox, type WechatPaySandbox } from '../../sandbox/wechat/index.ts';
import { createAlipayConnector } from './alipay/index.ts';
import { createWechatPayConnector } from './wechat/index.ts';
import type { Logger } from 'pino';
import { createStripeConnector, type StripeConnector } from './stripe/connector.ts';
import { ChannelRegistry, type ChannelConfig } from './registry.ts';
import { limits } from '../kernel/limits.ts';
import { feeSchedule } from '../kernel/fees.ts';
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

/** The acquirers' prices: card_b is the cheaper account (1.8 % + 0.20), card_a the better-known one. */
const cardFees: Readonly<Record<string, ReturnType<typeof feeSchedule>>> = { card_a: feeSchedule(220, 25n), card_b: feeSchedule(180, 20n) };
/** card_a's account runs 3-D Secure (routing's risk fit sends payments in review there); card_b's does not. */
const cardStrongAuthentication: readonly string[] = ['card_a'];

const cardCurrencies = ['USD', 'EUR', 'GBP', 'CNY', 'HKD', 'SGD', 'JPY', 'AUD', 'CAD', 'CHF'];

function cardChannel(id: string): ChannelConfig {
  return { id, provider: 'stripe', methods: ['card'], currencies: cardCurrencies, amount_min: 50n, amount_max: limits.amount_minor_max, fees: cardFees[id] ?? feeSchedule(200, 20n), strong_customer_authentication: cardStrongAuthentication.includes(id) };
}

/** The wallets take CNY, from 0.01 yuan; the payer confirms in the wallet's app (strong customer authentication). */
function walletChannel(id: string, provider: 'alipay' | 'wechat_pay'): ChannelConfig {
  return { id, provider, methods: [provider], currencies: ['CNY'], amount_min: 1n, amount_max: limits.amount_minor_max, fees: feeSchedule(60, 0n), strong_customer_authentication: true };
}

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

export async function configureSandboxChannels(clock: Clock, logger: Logger, wiring: ResilienceWiring): Promise<ConfiguredChannels> {
  const registry = new ChannelRegistry();
  const sandboxes = new Map<string, ChannelSandbox>();
  const connectors: ClosableConnector[] = [];
  for (const id of sandboxCardChannels) {
    const sandbox = createStripeSandbox({ channel: id, clock });
    await sandbox.listen(0);
    const credentials = sandbox.credentials();
    const connector = createStripeConnector({
      channel: id, baseUrl: credentials.base_url, secretKey: credentials.secret_key, webhookSecret: credentials.webhook_secret,
      timeoutMs: limits.channel_call_timeout_ms, clock, logger: logger.child({ channel: id }),
    });
    connectors.push(connector);
    const wrapped = resilient(connector, wiring, logger);
    registry.add({ config: cardChannel(id), connector: wrapped, circuitState: wrapped.circuitState });
    sandboxes.set(id, sandbox);
  }
  const alipay = createAlipaySandbox({ channel: 'alipay', clock });
  const wechat = createWechatPaySandbox({ channel: 'wechat_pay', clock });
  await Promise.all([alipay.listen(0), wechat.listen(0)]);
  sandboxes.set('alipay', alipay);
  sandboxes.set('wechat_pay', wechat);
  return {
    registry,
    sandboxes,
    attach(publicUrl: string) {
      for (const connector of walletConnectors(publicUrl, alipay, wechat, clock, logger)) {
        connectors.push(connector);
        const wrapped = resilient(connector, wiring, logger);
        const provider = connector.channel === 'alipay' ? 'alipay' : 'wechat_pay';
        registry.add({ config: walletChannel(connector.channel, provider), connector: wrapped, circuitState: wrapped.circuitState });
      }
    },
    async close() {
      for (const connector of connectors) connector.close();
      await Promise.all([...sandboxes.values()].map((s) => s.close()));
    },
  };
}

function walletConnectors(publicUrl: string, alipay: AlipaySandbox, wechat: WechatPaySandbox, clock: Clock, logger: Logger): ClosableConnector[] {
  const a = alipay.credentials();
  const w = wechat.credentials();
  return [
    createAlipayConnector({
      channel: 'alipay', gatewayUrl: a.gateway_url, appId: a.app_id, appPrivateKey: a.app_private_key, alipayPublicKey: a.alipay_public_key,
      notifyUrl: `${publicUrl}/notify/alipay`, timeoutMs: limits.channel_call_timeout_ms, clock, logger: logger.child({ channel: 'alipay' }),
    }),
    createWechatPayConnector({
      channel: 'wechat_pay', baseUrl: w.base_url, mchid: w.mchid, appid: w.appid, merchantSerialNo: w.merchant_serial_no,
      merchantPrivateKey: w.merchant_private_key, apiV3Key: w.api_v3_key, platformPublicKey: w.platform_public_key, platformSerialNo: w.platform_serial_no,
      notifyUrl: `${publicUrl}/notify/wechat_pay`, timeoutMs: limits.channel_call_timeout_ms, clock, logger: logger.child({ channel: 'wechat_pay' }),
    }),
  ];
}

/** Real providers: a Stripe account from STRIPE_BASE_URL (default https://api.stripe.com), STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET. */
export function configureEnvironmentChannels(env: NodeJS.ProcessEnv, clock: Clock, logger: Logger, wiring: ResilienceWiring): ConfiguredChannels {
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
    const wrapped = resilient(connector, wiring, logger);
    registry.add({ config: cardChannel('card_a'), connector: wrapped, circuitState: wrapped.circuitState });
  }
  return {
    registry,
    sandboxes: new Map(),
    attach() {
      // Wallet accounts at the real providers are configured in a later step (issue 3).
    },
    async close() {
      for (const connector of connectors) connector.close();
    },
  };
}
