// Open loop: purchases start on a fixed schedule (arrival i at start + i / rate), whether or not
// earlier ones have answered, so a slow server cannot slow the offered load down. Latency runs
// from the scheduled start, not the actual send, so the generator's own lag counts against the
// result rather than hiding it (no coordinated omission). When `outstanding_max` purchases are
// already in flight, a due arrival is not sent and counts as shed.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PhaseStats, scheduleWindowHooks, type PhaseResult, type WindowHooks } from './phase-stats.ts';
import type { PayOnce } from './payment-flow.ts';
import { SlowPurchaseMap, type SlowPurchases } from './slow-slices.ts';

export interface OpenLoopOptions {
  readonly rate_per_second: number;
  readonly warmup_ms: number;
  readonly duration_ms: number;
  readonly outstanding_max: number;
  /** Purchases slower than this are mapped by when they were scheduled (the latency target). */
  readonly slow_threshold_ms: number;
  readonly pay: PayOnce;
  readonly window?: WindowHooks;
}

export interface OpenLoopResult extends PhaseResult {
  readonly offered_rate_per_second: number;
  readonly scheduled: number;
  /** Arrivals in the window not sent because outstanding_max purchases were in flight. */
  readonly shed: number;
  readonly outstanding_max: number;
  /** Largest number of purchases in flight at once. */
  readonly outstanding_peak: number;
  /** Succeeded purchases of the window over slow_threshold_ms, and when they were scheduled. */
  readonly slow: SlowPurchases;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(options.rate_per_second > 0) || !Number.isFinite(options.rate_per_second)) throw new RangeError('rate_per_second must be positive');
  if (!Number.isInteger(options.outstanding_max) || options.outstanding_max < 1) throw new RangeError('outstanding_max must be a positive integer');
  if (!(options.duration_ms > 0) || !(options.warmup_ms >= 0)) throw new RangeError('duration must be positive, warm-up non-negative');
  const stats = new PhaseStats();
  const slow = new SlowPurchaseMap(options.slow_threshold_ms, options.duration_ms);
  const interval_ms = 1000 / options.rate_per_second;
  const started = performance.now();
  const windowStart = started + options.warmup_ms;
  const windowEnd = windowStart + options.duration_ms;
  const inFlight = new Set<Promise<void>>();
  let outstandingPeak = 0;
  let scheduled = 0;
  let shed = 0;

  const launch = (scheduledAt: number): void => {
    const inWindow = scheduledAt >= windowStart;
    if (inWindow) scheduled += 1;
    if (inFlight.size >= options.outstanding_max) {
      if (inWindow) shed += 1;
      return;
    }
    const purchase = options.pay().then((outcome) => {
      const latency_ms = performance.now() - scheduledAt;
      if (!outcome.ok) stats.recordError(outcome.error);
      else if (inWindow) {
        stats.recordSuccess(latency_ms);
        slow.record(scheduledAt - windowStart, latency_ms);
      }
      else stats.recordSuccessOutsideWindow();
      inFlight.delete(purchase);
    });
    inFlight.add(purchase);
    outstandingPeak = Math.max(outstandingPeak, inFlight.size);
  };

  const finishWindow = scheduleWindowHooks(options.warmup_ms, options.duration_ms, options.window);
  try {
    for (let arrival = 0; ; ) {
      const due = started + arrival * interval_ms;
      if (due >= windowEnd) break;
      const now = performance.now();
      if (due > now) {
        await sleep(due - now);
        continue;
      }
      launch(due);
      arrival += 1;
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  } finally {
    finishWindow();
  }

  const base = stats.result('open_loop', options.duration_ms / 1000);
  return {
    ...base,
    offered_rate_per_second: options.rate_per_second,
    scheduled,
    shed,
    outstanding_max: options.outstanding_max,
    outstanding_peak: outstandingPeak,
    slow: slow.result(),
  };
}
