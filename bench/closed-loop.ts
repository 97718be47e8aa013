// Closed loop: C virtual customers, each paying one order after another as fast as the server
// answers. Payments completing inside the window [warm-up end, warm-up end + duration) count
// for rate and latency; latency is the whole purchase, order POST start to payment response.

import { performance } from 'node:perf_hooks';
import { PhaseStats, scheduleWindowHooks, type PhaseResult, type WindowHooks } from './phase-stats.ts';
import type { PayOnce } from './payment-flow.ts';

export interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly warmup_ms: number;
  readonly duration_ms: number;
  readonly pay: PayOnce;
  readonly window?: WindowHooks;
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<PhaseResult> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  if (!(options.duration_ms > 0) || !(options.warmup_ms >= 0)) throw new RangeError('duration must be positive, warm-up non-negative');
  const stats = new PhaseStats();
  const started = performance.now();
  const windowStart = started + options.warmup_ms;
  const windowEnd = windowStart + options.duration_ms;

  const customer = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const begin = performance.now();
      const outcome = await options.pay();
      const end = performance.now();
      if (!outcome.ok) stats.recordError(outcome.error);
      else if (end >= windowStart && end < windowEnd) stats.recordSuccess(end - begin);
      else stats.recordSuccessOutsideWindow();
    }
  };
  const finishWindow = scheduleWindowHooks(options.warmup_ms, options.duration_ms, options.window);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, customer));
  } finally {
    finishWindow();
  }
  return stats.result('closed_loop', options.duration_ms / 1000);
}
