import { describe, expect, it } from 'vitest';
import type { ChannelPaymentOutcome, ChannelPaymentRequest, ChannelRefundOutcome, Connector } from './contract.ts';
import { isBreakerFailure, withResilience, type CircuitTransition, type ResilienceSettings } from './resilience.ts';

const request: ChannelPaymentRequest = {
  out_trade_no: 'attempt_1', amount: 1000n, currency: 'USD', method: 'card', description: 'test', payment_method_data: {}, metadata: {},
};
const succeeded: ChannelPaymentOutcome = {
  kind: 'result', status: 'succeeded', channel_txn_id: 'pi_1', amount: 1000n, currency: 'USD', failure_code: null, failure_message: null, retryable_elsewhere: false, next_action: null,
};
const declined: ChannelPaymentOutcome = { ...succeeded, status: 'failed', failure_code: 'card_declined', retryable_elsewhere: true };
const refunded: ChannelRefundOutcome = { kind: 'result', status: 'succeeded', channel_refund_id: 're_1', amount: 1000n, currency: 'USD', failure_code: null };

/** A connector whose answers the test sets, counting every call it gets. */
function fakeConnector() {
  const state = {
    answer: succeeded as ChannelPaymentOutcome,
    creates: 0,
    queries: 0,
    refunds: 0,
    /** While set, calls wait on it (to fill the bulkhead). */
    gate: null as Promise<void> | null,
  };
  const connector: Connector = {
    channel: 'card_x',
    methods: ['card'],
    async createPayment() {
      state.creates++;
      if (state.gate) await state.gate;
      return state.answer;
    },
    async queryPayment() {
      state.queries++;
      if (state.gate) await state.gate;
      return state.answer;
    },
    async refund() {
      state.refunds++;
      if (state.gate) await state.gate;
      return refunded;
    },
    verifyNotification: () => ({ kind: 'rejected', reason: 'test' }),
  };
  return { state, connector };
}

const settings: ResilienceSettings = { failures_threshold: 3, half_open_after_ms: 60_000, concurrent_calls_max: 2, queued_calls_max: 1 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('channel resilience (circuit breaker and bulkhead)', () => {
  it('counts unknown and not_sent as failures, and any channel answer (a decline too) as a success', () => {
    expect(isBreakerFailure({ kind: 'unknown', reason: 'http 503' })).toBe(true);
    expect(isBreakerFailure({ kind: 'not_sent', reason: 'ECONNREFUSED' })).toBe(true);
    expect(isBreakerFailure(succeeded)).toBe(false);
    expect(isBreakerFailure(declined)).toBe(false);
  });

  it('opens after the threshold of consecutive failures, then answers not_sent circuit_open without calling the channel', async () => {
    const { state, connector } = fakeConnector();
    const transitions: CircuitTransition[] = [];
    const rejected: string[] = [];
    const wrapped = withResilience(connector, settings, { onTransition: (t) => transitions.push(t), onRejected: (r) => rejected.push(`${r.flow}:${r.reason}`) });
    state.answer = { kind: 'unknown', reason: 'http 503' };
    expect(wrapped.circuitState()).toBe('closed');
    for (let i = 0; i < settings.failures_threshold; i++) expect((await wrapped.createPayment(request)).kind).toBe('unknown');
    expect(state.creates).toBe(settings.failures_threshold);
    expect(wrapped.circuitState()).toBe('open');
    expect(transitions).toEqual([{ channel: 'card_x', from: 'closed', to: 'open', cause: 'unknown: http 503' }]);

    state.answer = succeeded;
    expect(await wrapped.createPayment(request)).toEqual({ kind: 'not_sent', reason: 'circuit_open' });
    expect(state.creates).toBe(settings.failures_threshold); // the channel was not called
    expect(rejected).toEqual(['create:circuit_open']);

    // Queries and refunds are still made while the circuit is open: they resolve ambiguity and owe money back.
    expect(await wrapped.queryPayment('attempt_1', { amount: 1000n, currency: 'USD' })).toEqual(succeeded);
    expect(await wrapped.refund({ out_trade_no: 'attempt_1', channel_txn_id: 'pi_1', out_refund_no: 'rf_1', amount: 1000n, currency: 'USD' })).toEqual(refunded);
    expect([state.queries, state.refunds]).toEqual([1, 1]);
    expect(wrapped.circuitState()).toBe('open');
  });

  it('a success resets the count; a decline is not a failure', async () => {
    const { state, connector } = fakeConnector();
    const wrapped = withResilience(connector, settings);
    for (let round = 0; round < 3; round++) {
      state.answer = { kind: 'not_sent', reason: 'ECONNREFUSED' };
      for (let i = 0; i < settings.failures_threshold - 1; i++) await wrapped.createPayment(request);
      state.answer = declined;
      expect(await wrapped.createPayment(request)).toEqual(declined);
    }
    expect(wrapped.circuitState()).toBe('closed');
  });

  it('counts a thrown error as a failure and lets it through', async () => {
    const { connector } = fakeConnector();
    const throwing: Connector = { ...connector, createPayment: async () => { throw new Error('boom'); } };
    const wrapped = withResilience(throwing, settings);
    for (let i = 0; i < settings.failures_threshold; i++) await expect(wrapped.createPayment(request)).rejects.toThrow('boom');
    expect(wrapped.circuitState()).toBe('open');
    expect(await wrapped.createPayment(request)).toEqual({ kind: 'not_sent', reason: 'circuit_open' });
  });

  it('after the half-open delay lets one trial through: success closes the circuit, failure opens it again', async () => {
    const { state, connector } = fakeConnector();
    const transitions: string[] = [];
    const wrapped = withResilience(connector, { ...settings, half_open_after_ms: 30 }, { onTransition: (t) => transitions.push(`${t.from}->${t.to}`) });
    state.answer = { kind: 'unknown', reason: 'timeout' };
    for (let i = 0; i < settings.failures_threshold; i++) await wrapped.createPayment(request);
    expect(wrapped.circuitState()).toBe('open');
    await sleep(40);
    expect(wrapped.circuitState()).toBe('half_open'); // routing may send the trial call now
    expect((await wrapped.createPayment(request)).kind).toBe('unknown'); // the trial fails
    expect(wrapped.circuitState()).toBe('open');
    await sleep(40);
    state.answer = succeeded;
    const creates = state.creates;
    expect(await wrapped.createPayment(request)).toEqual(succeeded);
    expect(state.creates).toBe(creates + 1);
    expect(wrapped.circuitState()).toBe('closed');
    expect(transitions).toEqual(['closed->open', 'open->half_open', 'half_open->open', 'open->half_open', 'half_open->closed']);
  });

  it('answers not_sent bulkhead_full without calling the channel when slots and queue are taken', async () => {
    const { state, connector } = fakeConnector();
    const rejected: string[] = [];
    const wrapped = withResilience(connector, settings, { onRejected: (r) => rejected.push(`${r.flow}:${r.reason}`) });
    let release!: () => void;
    state.gate = new Promise((resolve) => { release = resolve; });
    const held = Array.from({ length: settings.concurrent_calls_max + settings.queued_calls_max }, () => wrapped.createPayment(request));
    await sleep(5);
    expect(state.creates).toBe(settings.concurrent_calls_max); // the rest wait in the queue
    expect(await wrapped.createPayment(request)).toEqual({ kind: 'not_sent', reason: 'bulkhead_full' });
    // A query cannot be made either: it proves nothing, so it is unknown; a refund stays pending (unknown) for the repair job.
    expect((await wrapped.queryPayment('attempt_1', { amount: 1000n, currency: 'USD' })).kind).toBe('unknown');
    expect((await wrapped.refund({ out_trade_no: 'attempt_1', channel_txn_id: null, out_refund_no: 'rf_1', amount: 1000n, currency: 'USD' })).kind).toBe('unknown');
    expect([state.queries, state.refunds]).toEqual([0, 0]);
    expect(rejected).toEqual(['create:bulkhead_full', 'query:bulkhead_full', 'refund:bulkhead_full']);
    release();
    state.gate = null;
    for (const outcome of await Promise.all(held)) expect(outcome).toEqual(succeeded);
    expect(state.creates).toBe(settings.concurrent_calls_max + settings.queued_calls_max);
    expect(wrapped.circuitState()).toBe('closed'); // rejections by the bulkhead do not count against the channel
  });

  it('rejects settings without a limit', () => {
    const { connector } = fakeConnector();
    expect(() => withResilience(connector, { ...settings, failures_threshold: 0 })).toThrow(/failures_threshold/);
    expect(() => withResilience(connector, { ...settings, concurrent_calls_max: 0 })).toThrow(/concurrent_calls_max/);
  });
});
