// Recent success rate per channel and method: a sliding window kept in this process (bounded:
// the last `routing_success_window_outcomes_max` final outcomes of each channel and method, of
// which only those within the last `routing_success_window_ms` count). Fed from
// recordAttemptOutcome, the one place every attempt outcome passes; read by the routing decision
// without any I/O. Times come from the app clock.
import { channelPaymentNotFound } from '../channels/contract.ts';
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import type { RecentOutcomes } from './rank.ts';

/** One channel and method: a ring of (time, succeeded). */
class OutcomeRing {
  private readonly times: Float64Array;
  private readonly succeeded: Uint8Array;
  private next = 0;
  private size = 0;

  constructor(capacity: number) {
    assert(capacity >= 1, 'OutcomeRing: capacity >= 1');
    this.times = new Float64Array(capacity);
    this.succeeded = new Uint8Array(capacity);
  }

  add(atMs: number, succeeded: boolean): void {
    this.times[this.next] = atMs;
    this.succeeded[this.next] = succeeded ? 1 : 0;
    this.next = (this.next + 1) % this.times.length;
    this.size = Math.min(this.size + 1, this.times.length);
  }

  recent(sinceMs: number): RecentOutcomes {
    let total = 0;
    let succeeded = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.times[i]! < sinceMs) continue;
      total++;
      succeeded += this.succeeded[i]!;
    }
    return { succeeded, total };
  }
}

const none: RecentOutcomes = Object.freeze({ succeeded: 0, total: 0 });

export class SuccessWindow {
  private readonly rings = new Map<string, Map<string, OutcomeRing>>();
  private count = 0;

  constructor(
    private readonly outcomesMax: number = limits.routing_success_window_outcomes_max,
    private readonly windowMs: number = limits.routing_success_window_ms,
    private readonly ringsMax: number = limits.routing_success_windows_max,
  ) {}

  /** A final outcome of an attempt on `channel` for `method`, at `atMs` (app clock). */
  record(channel: string, method: string, succeeded: boolean, atMs: number): void {
    let byMethod = this.rings.get(channel);
    let ring = byMethod?.get(method);
    if (!ring) {
      // A bounded number of windows: past it (more channel × method pairs than configured), start over.
      if (this.count >= this.ringsMax) {
        this.rings.clear();
        this.count = 0;
        byMethod = undefined;
      }
      if (!byMethod) this.rings.set(channel, (byMethod = new Map()));
      byMethod.set(method, (ring = new OutcomeRing(this.outcomesMax)));
      this.count++;
    }
    ring.add(atMs, succeeded);
  }

  /** Outcomes of `channel` for `method` within the window ending at `nowMs`. */
  recent(channel: string, method: string, nowMs: number): RecentOutcomes {
    const ring = this.rings.get(channel)?.get(method);
    return ring ? ring.recent(nowMs - this.windowMs) : none;
  }
}

/** One window per channel registry, i.e. per running app (tests run several apps in one process). */
const windows = new WeakMap<object, SuccessWindow>();

export function successWindowOf(registry: object): SuccessWindow {
  let window = windows.get(registry);
  if (!window) windows.set(registry, (window = new SuccessWindow()));
  return window;
}

/** What recordAttemptOutcome passes: only a change to a final attempt status counts. */
export interface ObservedOutcome {
  readonly changed: boolean;
  readonly payment: { readonly method: string };
  readonly attempt: { readonly channel: string; readonly status: string; readonly failure_code: string | null };
}

/**
 * Failures that are not the channel's decision about the payment but a technical one (the call
 * never reached it, its outcome stayed unknown, the channel never received the create). Those are
 * the circuit breaker's business (availability); the success window measures how often the
 * channel approves what it decides on, so a channel back from an outage is not held back by it.
 */
const technicalFailures: ReadonlySet<string> = new Set(['channel_not_reached', 'channel_outcome_unknown', channelPaymentNotFound]);

/** Feeds the window from a recorded outcome: an attempt that just succeeded, or was declined by its channel. */
export function observeAttemptOutcome(ctx: { readonly channels: object; readonly clock: { now(): Date } }, recorded: ObservedOutcome): void {
  if (!recorded.changed) return;
  const status = recorded.attempt.status;
  if (status !== 'succeeded' && status !== 'failed') return;
  if (status === 'failed' && technicalFailures.has(recorded.attempt.failure_code ?? '')) return;
  successWindowOf(ctx.channels).record(recorded.attempt.channel, recorded.payment.method, status === 'succeeded', ctx.clock.now().getTime());
}
