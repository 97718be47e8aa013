// Circuit breakers and failover over real HTTP: card_a goes down (its sandbox answers 503 to
// everything, which the connector reports as unknown), its circuit opens, new payments move to
// card_b, and once the outage ends and the half-open delay passes, traffic returns to card_a.
// The oracle is the two sandboxes' own books: nothing charged twice, no payment charged on both.
import { beforeEach, describe, expect, it } from 'vitest';
import { limits } from '../../src/kernel/limits.ts';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

/** Long enough that the steps between "opened" and "still open" never outlast it, short enough to wait for. */
const halfOpenMs = 2_500;
const threshold = limits.channel_circuit_failures_threshold;

interface LedgerRow {
  out_trade_no: string;
  charged: number;
  refunded: number;
}

describe.each(stores)('circuit breakers and failover on %s', (store) => {
  const suite = useTestApp(store, { env: { CLEARWAY_CIRCUIT_HALF_OPEN_MS: String(halfOpenMs) } });
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });
  /** Every attempt this suite made: out_trade_no -> payment id and amount. */
  const attempts = new Map<string, { payment: string; amount: number }>();

  async function newOrder(amount: number) {
    const reply = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Lamp', unit_amount: amount, quantity: 1 }] } });
    expect(reply.status).toBe(201);
    return reply.body as { id: string };
  }
  async function pay(amount: number) {
    const order = await newOrder(amount);
    const reply = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(reply.status).toBe(201);
    for (const attempt of reply.body.attempts) attempts.set(attempt.out_trade_no, { payment: reply.body.id, amount });
    return reply.body;
  }
  const circuit = (channel: string) => t.app.ctx.channels.get(channel)!.circuitState();
  const setFaults = async (channel: string, faults: Record<string, unknown> | null) => {
    const reply = faults === null
      ? await t.request('DELETE', `/sandbox/${channel}/faults`, { key: t.adminKey })
      : await t.request('POST', `/sandbox/${channel}/faults`, { key: t.adminKey, body: faults });
    expect(reply.status).toBe(200);
  };
  const ledger = async (channel: string) => (await t.request('GET', `/sandbox/${channel}/ledger`, { key: t.adminKey })).body.data as LedgerRow[];
  async function waitForHalfOpen(channel: string) {
    const deadline = Date.now() + halfOpenMs * 4;
    while (circuit(channel) !== 'half_open') {
      if (Date.now() > deadline) throw new Error(`${channel} never became half-open`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('configures card_b after card_a, each on its own sandbox with its own credentials', async () => {
    expect(t.app.ctx.channels.list().filter((c) => c.config.methods.includes('card')).map((c) => c.config.id)).toEqual(['card_a', 'card_b']);
    const a = (await t.request('GET', '/sandbox/card_a/credentials', { key: t.adminKey })).body;
    const b = (await t.request('GET', '/sandbox/card_b/credentials', { key: t.adminKey })).body;
    expect(a.base_url).not.toBe(b.base_url);
    expect(a.secret_key).not.toBe(b.secret_key);
    expect((await pay(1_000)).channel).toBe('card_a');
  });

  it('keeps ambiguous payments on card_a processing, opens its circuit, then sends new payments to card_b', async () => {
    await setFaults('card_a', { outage: true });
    for (let i = 0; i < threshold; i++) {
      expect(circuit('card_a')).toBe('closed');
      const payment = await pay(2_000 + i);
      // A 503 may have been processed: never failed over, left for the repair job.
      expect(payment.status).toBe('processing');
      expect(payment.attempts).toHaveLength(1);
      expect(payment.attempts[0]).toMatchObject({ channel: 'card_a', status: 'unknown' });
    }
    expect(circuit('card_a')).toBe('open');
    for (let i = 0; i < 3; i++) {
      expect(circuit('card_a')).toBe('open');
      const payment = await pay(3_000 + i);
      expect(payment.status).toBe('succeeded');
      expect(payment.channel).toBe('card_b');
      expect(payment.attempts).toHaveLength(1);
      // card_a's open circuit left it out of the candidates: card_b is the only one.
      expect(payment.attempts[0].routing_reason).toBe(`default ranking for card USD ${3_000 + i}: card_b rank 1 of 1 as the only candidate; card_a circuit open`);
    }
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('clearway_channel_circuit_state{channel="card_a"} 2');
    expect(metrics).toContain('clearway_channel_circuit_state{channel="card_b"} 0');
    expect(metrics).toContain('clearway_channel_circuit_transitions_total{channel="card_a",from="closed",to="open"} 1');
  });

  it('closes the circuit again after the outage and the half-open delay, and traffic returns to card_a', async () => {
    await setFaults('card_a', null);
    await waitForHalfOpen('card_a');
    const trial = await pay(4_000);
    expect(trial.status).toBe('succeeded');
    expect(trial.channel).toBe('card_a');
    // Half-open ranks with closed, and card_a is the cheaper account: the trial call goes to it.
    expect(trial.attempts[0].routing_reason).toMatch(/^default ranking for card USD 4000: card_a rank 1 of 2 by cost \(card_a fee 92 < card_b 113\)/);
    expect(circuit('card_a')).toBe('closed');
    expect((await pay(4_001)).channel).toBe('card_a');
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('clearway_channel_circuit_state{channel="card_a"} 0');
    expect(metrics).toContain('clearway_channel_circuit_transitions_total{channel="card_a",from="half_open",to="closed"} 1');
  });

  it('greys the card out with circuit_open when every card circuit is open, and refuses payments before they leave', async () => {
    await setFaults('card_a', { outage: true });
    await setFaults('card_b', { outage: true });
    for (let i = 0; i < threshold; i++) expect((await pay(5_000 + i)).attempts[0].channel).toBe('card_a');
    expect(circuit('card_a')).toBe('open');
    for (let i = 0; i < threshold; i++) expect((await pay(6_000 + i)).attempts[0].channel).toBe('card_b');
    expect([circuit('card_a'), circuit('card_b')]).toEqual(['open', 'open']);

    const order = await newOrder(7_000);
    const methods = await t.request('GET', `/v1/orders/${order.id}/payment_methods`, { key: merchant.key });
    expect(methods.status).toBe(200);
    expect(methods.body.data.find((m: { method: string }) => m.method === 'card')).toEqual({ method: 'card', available: false, reason: 'circuit_open' });

    // Tried anyway, each circuit refuses without calling its channel: safe to fail over, nothing charged.
    const refused = await pay(7_001);
    expect(refused.status).toBe('failed');
    expect(refused.failure_code).toBe('channel_not_reached');
    expect(refused.attempts.map((a: any) => [a.channel, a.status, a.failure_code, a.failure_message])).toEqual([
      ['card_a', 'failed', 'channel_not_reached', 'circuit_open'],
      ['card_b', 'failed', 'channel_not_reached', 'circuit_open'],
    ]);
    expect(refused.attempts[0].routing_reason).toMatch(/^default ranking for card USD 7001: card_a rank 1 of 2 .*; card_a, card_b circuit open$/);
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('clearway_channel_calls_rejected_total{channel="card_a",flow="create",reason="circuit_open"}');
    await setFaults('card_a', null);
    await setFaults('card_b', null);
  });

  it('never charged an out_trade_no twice, nor one payment on both channels (the sandboxes\' own books)', async () => {
    const chargedOn = new Map<string, string[]>(); // payment id -> channels that charged it
    for (const channel of ['card_a', 'card_b']) {
      const rows = await ledger(channel);
      const seen = new Set<string>();
      for (const row of rows) {
        expect(seen.has(row.out_trade_no), `${row.out_trade_no} listed twice on ${channel}`).toBe(false);
        seen.add(row.out_trade_no);
        if (row.charged === 0) continue;
        const attempt = attempts.get(row.out_trade_no);
        expect(attempt, `${row.out_trade_no} charged on ${channel} is one of ours`).toBeDefined();
        expect(row.charged).toBe(attempt!.amount);
        chargedOn.set(attempt!.payment, [...(chargedOn.get(attempt!.payment) ?? []), channel]);
      }
    }
    for (const [payment, channels] of chargedOn) expect(channels, `payment ${payment}`).toHaveLength(1);
    // 1 + 3 on the backup + 2 after recovery succeeded; outage attempts charged nothing.
    expect([...chargedOn.values()].flat().sort()).toEqual(['card_a', 'card_a', 'card_a', 'card_b', 'card_b', 'card_b']);
  });
});
