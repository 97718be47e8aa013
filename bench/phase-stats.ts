// What one load phase measured: succeeded payments and their latencies inside the measured
// window, and every error of the whole phase (warm-up and drain included, so "zero errors"
// means none at all).

import { LatencyRecorder, type LatencySummary } from './latency.ts';
import type { PaymentError } from './payment-flow.ts';

/** Error descriptions kept verbatim for the report. */
export const error_samples_max = 5;

export interface PhaseResult {
  readonly phase: 'closed_loop' | 'open_loop';
  readonly duration_seconds: number;
  readonly succeeded: number;
  readonly payments_per_second: number;
  /** Purchases finished in the whole phase (warm-up, window and drain; succeeded or not). */
  readonly purchases_total: number;
  readonly latency: LatencySummary;
  /** Failed payments in the whole phase, including warm-up and the drain after the window. */
  readonly errors: number;
  readonly errors_by_kind: Record<string, number>;
  readonly error_samples: readonly PaymentError[];
}

/** Called when a phase's measured window opens and closes (e.g. to meter CPU over it). */
export interface WindowHooks {
  start(): void;
  end(): void;
}

/**
 * Fires the hooks at the window's start and end. Returns `finish`, to call when the phase is
 * over: it clears the timers and, when the window started but its end timer has not fired yet
 * (the phase ran out just before it), fires `end` at once so every started window is closed.
 */
export function scheduleWindowHooks(warmup_ms: number, duration_ms: number, hooks: WindowHooks | undefined): () => void {
  if (!hooks) return () => {};
  let started = false;
  let ended = false;
  const end = (): void => {
    if (started && !ended) {
      ended = true;
      hooks.end();
    }
  };
  const timers = [
    setTimeout(() => {
      started = true;
      hooks.start();
    }, warmup_ms),
    setTimeout(end, warmup_ms + duration_ms),
  ];
  return () => {
    timers.forEach(clearTimeout);
    end();
  };
}

export class PhaseStats {
  private readonly latency = new LatencyRecorder();
  private succeeded = 0;
  private succeededOutsideWindow = 0;
  private errors = 0;
  private readonly errorsByKind = new Map<string, number>();
  private readonly errorSamples: PaymentError[] = [];

  /** A payment that succeeded inside the measured window. */
  recordSuccess(latency_ms: number): void {
    this.succeeded += 1;
    this.latency.record(latency_ms);
  }

  /** A payment that succeeded during warm-up or the drain after the window. */
  recordSuccessOutsideWindow(): void {
    this.succeededOutsideWindow += 1;
  }

  /** A failed payment, wherever in the phase it happened. */
  recordError(error: PaymentError): void {
    this.errors += 1;
    this.errorsByKind.set(error.kind, (this.errorsByKind.get(error.kind) ?? 0) + 1);
    if (this.errorSamples.length < error_samples_max) this.errorSamples.push(error);
  }

  result(phase: PhaseResult['phase'], duration_seconds: number): PhaseResult {
    if (!(duration_seconds > 0)) throw new RangeError('duration_seconds must be positive');
    return {
      phase,
      duration_seconds,
      succeeded: this.succeeded,
      payments_per_second: this.succeeded / duration_seconds,
      purchases_total: this.succeeded + this.succeededOutsideWindow + this.errors,
      latency: this.latency.summary(),
      errors: this.errors,
      errors_by_kind: Object.fromEntries(this.errorsByKind),
      error_samples: [...this.errorSamples],
    };
  }
}
