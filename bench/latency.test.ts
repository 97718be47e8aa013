import { describe, expect, it } from 'vitest';
import { LatencyRecorder, percentileOfSorted } from './latency.ts';

describe('percentileOfSorted (nearest rank)', () => {
  const oneToHundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the nearest-rank value', () => {
    expect(percentileOfSorted(oneToHundred, 50)).toBe(50);
    expect(percentileOfSorted(oneToHundred, 95)).toBe(95);
    expect(percentileOfSorted(oneToHundred, 99)).toBe(99);
    expect(percentileOfSorted(oneToHundred, 100)).toBe(100);
    expect(percentileOfSorted(oneToHundred, 0)).toBe(1);
  });

  it('rounds the rank up', () => {
    const ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    expect(percentileOfSorted(ten, 50)).toBe(50);
    expect(percentileOfSorted(ten, 51)).toBe(60);
    expect(percentileOfSorted(ten, 95)).toBe(100);
    expect(percentileOfSorted(ten, 99)).toBe(100);
    expect(percentileOfSorted([7], 99)).toBe(7);
  });

  it('answers null for no values and rejects a percent out of range', () => {
    expect(percentileOfSorted([], 50)).toBeNull();
    expect(() => percentileOfSorted([1], 101)).toThrow(RangeError);
    expect(() => percentileOfSorted([1], -1)).toThrow(RangeError);
    expect(() => percentileOfSorted([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('LatencyRecorder', () => {
  it('summarises recorded latencies, sorting numerically and keeping sub-millisecond values', () => {
    const recorder = new LatencyRecorder(1000);
    for (const value of [100, 9, 0.25, 10, 2.5]) recorder.record(value);
    const summary = recorder.summary();
    expect(summary.count).toBe(5);
    expect(summary.min_ms).toBe(0.25);
    expect(summary.max_ms).toBe(100);
    expect(summary.p50_ms).toBe(9);
    expect(summary.p99_ms).toBe(100);
    expect(summary.mean_ms).toBeCloseTo(24.35, 10);
  });

  it('percentiles of a shuffled 1..1000 are exact while under capacity', () => {
    const recorder = new LatencyRecorder(1000);
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    for (let i = values.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    for (const value of values) recorder.record(value);
    const summary = recorder.summary();
    expect(summary.p50_ms).toBe(500);
    expect(summary.p95_ms).toBe(950);
    expect(summary.p99_ms).toBe(990);
    expect(summary.max_ms).toBe(1000);
  });

  it('never holds more than its capacity, keeps count/min/max exact, and samples uniformly past it', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const recorder = new LatencyRecorder(2000, random);
    for (let i = 1; i <= 100_000; i++) recorder.record(i / 100);
    expect(recorder.count).toBe(100_000);
    expect(recorder.sampleCount).toBe(2000);
    const summary = recorder.summary();
    expect(summary.min_ms).toBe(0.01);
    expect(summary.max_ms).toBe(1000);
    // A uniform sample of 0.01..1000: the estimated median lies near 500, p99 near 990.
    expect(summary.p50_ms!).toBeGreaterThan(450);
    expect(summary.p50_ms!).toBeLessThan(550);
    expect(summary.p99_ms!).toBeGreaterThan(975);
    expect(summary.mean_ms).toBeCloseTo(500.005, 6);
  });

  it('answers nulls when empty and rejects invalid input', () => {
    const recorder = new LatencyRecorder(10);
    expect(recorder.summary()).toEqual({ count: 0, p50_ms: null, p95_ms: null, p99_ms: null, min_ms: null, max_ms: null, mean_ms: null });
    expect(() => recorder.record(-1)).toThrow(RangeError);
    expect(() => recorder.record(Number.NaN)).toThrow(RangeError);
    expect(() => new LatencyRecorder(0)).toThrow(RangeError);
  });
});
