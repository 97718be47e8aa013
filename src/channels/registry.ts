import type { ChannelMethod, Connector } from './contract.ts';
import type { CircuitStateName } from './resilience.ts';
import type { FeeSchedule } from '../kernel/fees.ts';

/** A channel: a configured account at a provider, used through its connector. */
export interface ChannelConfig {
  readonly id: string;
  readonly provider: 'stripe' | 'alipay' | 'wechat_pay';
  readonly methods: readonly ChannelMethod[];
  /** ISO 4217 codes, upper case. */
  readonly currencies: readonly string[];
  readonly amount_min: bigint;
  readonly amount_max: bigint;
  /** What the provider charges us per payment on this account (the capability manifest's fee schedule). */
  readonly fees: FeeSchedule;
  /** The channel authenticates the payer strongly (3-D Secure, a wallet's in-app confirmation): routing's risk fit prefers it for payments in review. Default false. */
  readonly strong_customer_authentication?: boolean;
}

export interface Channel {
  readonly config: ChannelConfig;
  /** The connector behind the channel's circuit breaker and bulkhead (see resilience.ts). */
  readonly connector: Connector;
  /** The circuit of the channel's create path, as routing sees it. */
  circuitState(): CircuitStateName;
}

/** The channels a payment may go to, and which were left out because their circuit is open. */
export interface Route {
  /** In configuration order; every supporting channel when all their circuits are open. */
  readonly channels: Channel[];
  /** Channels supporting the method, currency and amount, whatever their circuit. */
  readonly supporting: number;
  /** Ids of supporting channels whose circuit is open. */
  readonly open: string[];
}

export type Availability = { available: true } | { available: false; reason: string };

export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();

  add(channel: Channel): void {
    if (this.channels.has(channel.config.id)) throw new Error(`channel ${channel.config.id} configured twice`);
    if (channel.connector.channel !== channel.config.id) throw new Error(`connector of ${channel.config.id} names another channel`);
    this.channels.set(channel.config.id, channel);
  }

  get(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  list(): Channel[] {
    return [...this.channels.values()];
  }

  /** Channels able to take this method, currency and amount, in configuration order, whatever their circuit. */
  supporting(method: ChannelMethod, currency: string, amount: bigint): Channel[] {
    return this.list().filter(
      (channel) =>
        channel.config.methods.includes(method) &&
        channel.config.currencies.includes(currency) &&
        amount >= channel.config.amount_min &&
        amount <= channel.config.amount_max,
    );
  }

  /**
   * The supporting channels whose circuit is not open. When every one is open they are all
   * returned: each call is then refused before it leaves (`not_sent`, `circuit_open`), which is
   * safe, and a half-open delay that passes meanwhile lets the trial call through.
   */
  route(method: ChannelMethod, currency: string, amount: bigint): Route {
    const supporting = this.supporting(method, currency, amount);
    const open = supporting.filter((channel) => channel.circuitState() === 'open').map((channel) => channel.config.id);
    const closedOrTrial = supporting.filter((channel) => !open.includes(channel.config.id));
    const channels = closedOrTrial.length > 0 ? closedOrTrial : supporting;
    if (supporting.length > 0 && channels.length === 0) throw new Error('assertion failed: a route keeps at least one supporting channel');
    return { channels, supporting: supporting.length, open };
  }

  /** Channels to try for this method, currency and amount: see `route`. */
  candidates(method: ChannelMethod, currency: string, amount: bigint): Channel[] {
    return this.route(method, currency, amount).channels;
  }

  availability(method: ChannelMethod, currency: string, amount: bigint): Availability {
    const byMethod = this.list().filter((c) => c.config.methods.includes(method));
    if (byMethod.length === 0) return { available: false, reason: 'no_channel_for_method' };
    const byCurrency = byMethod.filter((c) => c.config.currencies.includes(currency));
    if (byCurrency.length === 0) return { available: false, reason: 'currency_not_supported' };
    const route = this.route(method, currency, amount);
    if (route.supporting === 0) return { available: false, reason: 'amount_out_of_range' };
    if (route.open.length === route.supporting) return { available: false, reason: 'circuit_open' };
    return { available: true };
  }
}
