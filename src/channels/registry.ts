import type { ChannelMethod, Connector } from './contract.ts';

/** A channel: a configured account at a provider, used through its connector. */
export interface ChannelConfig {
  readonly id: string;
  readonly provider: 'stripe';
  readonly methods: readonly ChannelMethod[];
  /** ISO 4217 codes, upper case. */
  readonly currencies: readonly string[];
  readonly amount_min: bigint;
  readonly amount_max: bigint;
}

export interface Channel {
  readonly config: ChannelConfig;
  readonly connector: Connector;
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

  /** Channels able to take this method, currency and amount, in configuration order. */
  candidates(method: ChannelMethod, currency: string, amount: bigint): Channel[] {
    return this.list().filter(
      (channel) =>
        channel.config.methods.includes(method) &&
        channel.config.currencies.includes(currency) &&
        amount >= channel.config.amount_min &&
        amount <= channel.config.amount_max,
    );
  }

  availability(method: ChannelMethod, currency: string, amount: bigint): Availability {
    const byMethod = this.list().filter((c) => c.config.methods.includes(method));
    if (byMethod.length === 0) return { available: false, reason: 'no_channel_for_method' };
    const byCurrency = byMethod.filter((c) => c.config.currencies.includes(currency));
    if (byCurrency.length === 0) return { available: false, reason: 'currency_not_supported' };
    if (this.candidates(method, currency, amount).length === 0) return { available: false, reason: 'amount_out_of_range' };
    return { available: true };
  }
}
