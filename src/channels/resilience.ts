// Per-channel resilience around a connector: a circuit breaker and a bulkhead (cockatiel). The
// per-call timeout stays inside the connector, where it can tell `not_sent` from `unknown`.
//
// What the breaker counts (create calls only): a failure is an `unknown` outcome (timeout, reset,
// 5xx), a `not_sent` outcome (connection refused) or a thrown error; any `result` (a success, a
// decline, a pending or requires_action answer) is a success: the channel answered. After
// `failures_threshold` consecutive failures the circuit opens; after `half_open_after_ms` the next
// create is the trial call (half-open): success closes it, failure opens it again.
//
// When the circuit is open or the bulkhead is full, `createPayment` answers
// `{ kind: 'not_sent', reason: 'circuit_open' | 'bulkhead_full' }` without calling the channel, so
// the payment may fail over (DESIGN.md, "No double charge").
//
// Queries, closes and refunds pass through the bulkhead but never wait on the circuit: a query is
// read-only and is the only way to resolve an ambiguous attempt (the repair job depends on it),
// and a refund carries its own idempotency key, so sending it to a struggling channel can at worst
// leave it pending. Holding either back while the circuit is open would only keep ambiguity and
// money owed to customers around longer. Their outcomes do not feed the breaker (it measures the
// create path, which is what routing decides on). When the bulkhead is full, a query answers
// `unknown` (it proves nothing) and a refund answers `unknown` too, so the refund stays pending and
// the repair job sends it again with the same key, instead of failing it for a reason that is ours.
//
// Timing: cockatiel measures the open period with Date.now(); `circuitState()` uses the same
// clock so the registry and the breaker agree on when the half-open delay has passed.
import {
  BulkheadRejectedError, CircuitState, ConsecutiveBreaker, bulkhead, circuitBreaker, handleAll, isBrokenCircuitError, type BulkheadPolicy, type CircuitBreakerPolicy,
} from 'cockatiel';
import type { ChannelCloseOutcome, ChannelPaymentOutcome, ChannelPaymentRequest, ChannelRefundOutcome, ChannelRefundRequest, Connector } from './contract.ts';

/** The circuit as routing sees it. `half_open`: a trial call may go through now. */
export type CircuitStateName = 'closed' | 'half_open' | 'open';

/** Gauge value of each state in `clearway_channel_circuit_state`. */
export const circuitStateGaugeValue: Readonly<Record<CircuitStateName, number>> = Object.freeze({ closed: 0, half_open: 1, open: 2 });

export type RejectionReason = 'circuit_open' | 'bulkhead_full';

export interface ResilienceSettings {
  /** Consecutive failed create calls that open the circuit. */
  readonly failures_threshold: number;
  /** How long the circuit stays open before a trial call is let through. */
  readonly half_open_after_ms: number;
  /** Calls in flight to the channel at once (per process). */
  readonly concurrent_calls_max: number;
  /** Calls waiting for a slot; beyond this a call is rejected. */
  readonly queued_calls_max: number;
}

export interface CircuitTransition {
  readonly channel: string;
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
  /** What made it open (the last failure), when it opened. */
  readonly cause: string | null;
}

export interface ResilienceHooks {
  onTransition?(transition: CircuitTransition): void;
  onRejected?(rejection: { readonly channel: string; readonly flow: 'create' | 'query' | 'refund' | 'close'; readonly reason: RejectionReason }): void;
}

export interface ResilientConnector extends Connector {
  /** The circuit of the create path, with `open` turned `half_open` once the delay has passed. */
  circuitState(): CircuitStateName;
}

export function checkResilienceSettings(settings: ResilienceSettings): void {
  const whole = (value: number, min: number): boolean => Number.isInteger(value) && value >= min;
  if (!whole(settings.failures_threshold, 1)) throw new Error('resilience: failures_threshold must be an integer >= 1');
  if (!whole(settings.half_open_after_ms, 1)) throw new Error('resilience: half_open_after_ms must be an integer >= 1');
  if (!whole(settings.concurrent_calls_max, 1)) throw new Error('resilience: concurrent_calls_max must be an integer >= 1');
  if (!whole(settings.queued_calls_max, 0)) throw new Error('resilience: queued_calls_max must be an integer >= 0');
}

/** Whether a create outcome counts against the channel. Pure. */
export function isBreakerFailure(outcome: ChannelPaymentOutcome): boolean {
  return outcome.kind === 'unknown' || outcome.kind === 'not_sent';
}

function describeFailure(reason: { error: Error } | { value: unknown } | { isolated: true }): string {
  if ('error' in reason) return `error: ${reason.error.message}`;
  if ('isolated' in reason) return 'isolated';
  const value = reason.value as ChannelPaymentOutcome;
  return value.kind === 'result' ? `result ${value.status}` : `${value.kind}: ${value.reason}`;
}

/** The breaker of one channel's create path, reporting its transitions, with the state routing reads. */
function channelBreaker(channel: string, settings: ResilienceSettings, hooks: ResilienceHooks): { breaker: CircuitBreakerPolicy; circuitState: () => CircuitStateName } {
  const breaker = circuitBreaker(
    handleAll.orWhenResult((value) => isBreakerFailure(value as ChannelPaymentOutcome)),
    { halfOpenAfter: settings.half_open_after_ms, breaker: new ConsecutiveBreaker(settings.failures_threshold) },
  );
  let openedAt_ms = 0;
  let reported: CircuitStateName = 'closed';
  let lastCause: string | null = null;
  breaker.onBreak((reason) => {
    openedAt_ms = Date.now();
    lastCause = describeFailure(reason);
  });
  breaker.onStateChange((state) => {
    const to: CircuitStateName = state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half_open' : 'open';
    const from = reported;
    reported = to;
    if (from !== to) hooks.onTransition?.({ channel, from, to, cause: to === 'open' ? lastCause : null });
  });
  function circuitState(): CircuitStateName {
    switch (breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      case CircuitState.Open:
        // cockatiel moves to half-open only when a call arrives: say so once the delay has passed,
        // or routing would never send the trial call.
        return Date.now() - openedAt_ms >= settings.half_open_after_ms ? 'half_open' : 'open';
      case CircuitState.Isolated:
        return 'open';
    }
  }
  return { breaker, circuitState };
}

export function withResilience(inner: Connector, settings: ResilienceSettings, hooks: ResilienceHooks = {}): ResilientConnector {
  checkResilienceSettings(settings);
  const { breaker, circuitState } = channelBreaker(inner.channel, settings, hooks);
  const slots: BulkheadPolicy = bulkhead(settings.concurrent_calls_max, settings.queued_calls_max);

  /** Runs a call in a bulkhead slot; `null` when the bulkhead refused it. */
  async function inSlot<T>(flow: 'create' | 'query' | 'refund' | 'close', call: () => Promise<T>): Promise<T | null> {
    try {
      return await slots.execute(call);
    } catch (error) {
      if (error instanceof BulkheadRejectedError) {
        hooks.onRejected?.({ channel: inner.channel, flow, reason: 'bulkhead_full' });
        return null;
      }
      throw error;
    }
  }

  return {
    channel: inner.channel,
    methods: inner.methods,
    circuitState,
    async createPayment(request: ChannelPaymentRequest): Promise<ChannelPaymentOutcome> {
      let refused = false;
      const outcome = await inSlot('create', async () => {
        try {
          return await breaker.execute(() => inner.createPayment(request));
        } catch (error) {
          if (!isBrokenCircuitError(error)) throw error;
          refused = true;
          return null;
        }
      });
      if (outcome === null && refused) {
        hooks.onRejected?.({ channel: inner.channel, flow: 'create', reason: 'circuit_open' });
        return { kind: 'not_sent', reason: 'circuit_open' };
      }
      if (outcome === null) return { kind: 'not_sent', reason: 'bulkhead_full' };
      return outcome;
    },
    async queryPayment(out_trade_no, expected): Promise<ChannelPaymentOutcome> {
      const outcome = await inSlot('query', () => inner.queryPayment(out_trade_no, expected));
      return outcome ?? { kind: 'unknown', reason: 'query not made: bulkhead_full' };
    },
    async refund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      const outcome = await inSlot('refund', () => inner.refund(request));
      // Never sent, but answered as pending: the repair job sends it again with the same key.
      return outcome ?? { kind: 'unknown', reason: 'refund not sent yet: bulkhead_full' };
    },
    // A close, like a query, is never held back by the circuit: it is how an abandoned trade is
    // made safe. A close refused by the bulkhead proves nothing (`unknown`): the job tries again.
    ...(inner.closePayment
      ? {
          async closePayment(out_trade_no: string): Promise<ChannelCloseOutcome> {
            const outcome = await inSlot('close', () => inner.closePayment!(out_trade_no));
            return outcome ?? { kind: 'unknown', reason: 'close not made: bulkhead_full' };
          },
        }
      : {}),
    verifyNotification(rawBody, headers) {
      return inner.verifyNotification(rawBody, headers);
    },
    ...(inner.answerNotification ? { answerNotification: inner.answerNotification.bind(inner) } : {}),
  };
}
