import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runClosedLoop } from './closed-loop.ts';
import { runOpenLoop } from './open-loop.ts';
import type { PaymentOutcome, PayOnce } from './payment-flow.ts';

const slowPurchase = (delay_ms: number, failEvery = 0): PayOnce => {
  let calls = 0;
  return async (): Promise<PaymentOutcome> => {
    calls += 1;
    await sleep(delay_ms);
    if (failEvery > 0 && calls % failEvery === 0) {
      return { ok: false, error: { step: 'payment', request: 'POST /v1/payments {}', status: 500, body: '{}', kind: 'payment 500 internal_error' } };
    }
    return { ok: true };
  };
};

const hookRecorder = () => {
  const events: string[] = [];
  return { events, hooks: { start: () => events.push('start'), end: () => events.push('end') } };
};

describe('runClosedLoop', () => {
  it('counts window completions as the rate, all failures as errors, and opens and closes the window once', async () => {
    const { events, hooks } = hookRecorder();
    const result = await runClosedLoop({ concurrency: 4, warmup_ms: 100, duration_ms: 400, pay: slowPurchase(10, 5), window: hooks });
    expect(events).toEqual(['start', 'end']);
    // 4 customers x ~40 purchases in 400 ms, a fifth of them failing.
    expect(result.succeeded).toBeGreaterThan(60);
    expect(result.succeeded).toBeLessThanOrEqual(4 * 40);
    expect(result.payments_per_second).toBeCloseTo(result.succeeded / 0.4, 6);
    expect(result.errors).toBeGreaterThan(0);
    expect(result.errors_by_kind['payment 500 internal_error']).toBe(result.errors);
    expect(result.error_samples.length).toBeLessThanOrEqual(5);
    expect(result.purchases_total).toBeGreaterThanOrEqual(result.succeeded + result.errors);
    expect(result.latency.p50_ms!).toBeGreaterThanOrEqual(9);
  });
});

describe('runOpenLoop', () => {
  it('starts purchases on schedule, closes the window, and sheds none when the server keeps up', async () => {
    const { events, hooks } = hookRecorder();
    const result = await runOpenLoop({ rate_per_second: 200, warmup_ms: 100, duration_ms: 500, outstanding_max: 50, slow_threshold_ms: 100, pay: slowPurchase(2), window: hooks });
    expect(events).toEqual(['start', 'end']);
    expect(result.scheduled).toBe(100);
    expect(result.shed).toBe(0);
    expect(result.succeeded).toBe(100);
    expect(result.payments_per_second).toBeCloseTo(200, 6);
    expect(result.errors).toBe(0);
    expect(result.slow).toMatchObject({ threshold_ms: 100, slow: 0, slowest_slices: [] });
  });

  it('sheds arrivals once outstanding_max purchases are in flight, and measures from the schedule', async () => {
    const result = await runOpenLoop({ rate_per_second: 200, warmup_ms: 0, duration_ms: 300, outstanding_max: 2, slow_threshold_ms: 30, pay: slowPurchase(50) });
    expect(result.scheduled).toBe(60);
    expect(result.shed).toBeGreaterThan(40);
    expect(result.succeeded + result.shed).toBe(60);
    expect(result.outstanding_peak).toBe(2);
    expect(result.latency.min_ms!).toBeGreaterThanOrEqual(49);
    expect(result.slow.slow).toBe(result.succeeded); // every purchase took 50 ms, over 30
  });
});
