import { describe, expect, it } from 'vitest';
import type { Connector } from './contract.ts';
import { ChannelRegistry, type ChannelConfig } from './registry.ts';
import { feeSchedule } from '../kernel/fees.ts';
import type { CircuitStateName } from './resilience.ts';

function registryWith(states: Record<string, CircuitStateName>): ChannelRegistry {
  const registry = new ChannelRegistry();
  for (const id of Object.keys(states)) {
    const config: ChannelConfig = { id, provider: 'stripe', methods: ['card'], currencies: ['USD'], amount_min: 50n, amount_max: 1_000_000n, fees: feeSchedule(200, 20n) };
    const connector = { channel: id, methods: ['card'] } as unknown as Connector;
    registry.add({ config, connector, circuitState: () => states[id]! });
  }
  return registry;
}

describe('channel registry and circuits', () => {
  it('leaves out channels whose circuit is open, keeps half-open ones for their trial call', () => {
    const route = registryWith({ card_a: 'open', card_b: 'closed' }).route('card', 'USD', 1_000n);
    expect(route.channels.map((c) => c.config.id)).toEqual(['card_b']);
    expect(route).toMatchObject({ supporting: 2, open: ['card_a'] });
    expect(registryWith({ card_a: 'half_open', card_b: 'closed' }).candidates('card', 'USD', 1_000n).map((c) => c.config.id)).toEqual(['card_a', 'card_b']);
  });

  it('tries every channel when all are open, and reports the method unavailable with circuit_open', () => {
    const registry = registryWith({ card_a: 'open', card_b: 'open' });
    expect(registry.candidates('card', 'USD', 1_000n).map((c) => c.config.id)).toEqual(['card_a', 'card_b']);
    expect(registry.availability('card', 'USD', 1_000n)).toEqual({ available: false, reason: 'circuit_open' });
    expect(registryWith({ card_a: 'open', card_b: 'half_open' }).availability('card', 'USD', 1_000n)).toEqual({ available: true });
    // Reasons that are not about circuits come first.
    expect(registry.availability('card', 'EUR', 1_000n)).toEqual({ available: false, reason: 'currency_not_supported' });
    expect(registry.availability('card', 'USD', 10n)).toEqual({ available: false, reason: 'amount_out_of_range' });
  });
});
