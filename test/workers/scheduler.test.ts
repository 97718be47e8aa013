// The worker scheduler: a run that stopped at its cap with work left is followed after
// backlogIntervalMs, any other (or a failed one) after intervalMs; runs never overlap; stopping
// waits for the run in progress.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppContext } from '../../src/http/context.ts';
import { startWorkers, type Worker } from '../../src/workers/scheduler.ts';

const ctx = { logger: pino({ level: 'silent' }) } as unknown as AppContext; // the scheduler reads only the logger

describe('worker scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs again soon while a run stops at its cap with work left, then at the usual interval', async () => {
    const runsAt: number[] = [];
    let cappedRuns = 3;
    const worker: Worker = {
      name: 'drain', intervalMs: 1_000, backlogIntervalMs: 50,
      run: async () => {
        runsAt.push(Date.now());
        if (cappedRuns === 0) return false;
        cappedRuns--;
        return true;
      },
    };
    const start = Date.now();
    const stop = startWorkers(ctx, [worker]);
    await vi.advanceTimersByTimeAsync(1_000 + 3 * 50 + 1_000);
    await stop();
    expect(runsAt.map((at) => at - start)).toEqual([1_000, 1_050, 1_100, 1_150, 2_150]);
  });

  it('ignores a work-left answer from a worker without a backlog interval', async () => {
    let runs = 0;
    const stop = startWorkers(ctx, [{ name: 'plain', intervalMs: 1_000, run: async () => ++runs > 0 }]);
    await vi.advanceTimersByTimeAsync(3_500);
    await stop();
    expect(runs).toBe(3);
  });

  it('never overlaps a run with itself, and goes on at the usual interval after a failure', async () => {
    let active = 0;
    let overlapped = false;
    const runsAt: number[] = [];
    const start = Date.now();
    const slow: Worker = {
      name: 'slow', intervalMs: 100, backlogIntervalMs: 10,
      run: async () => {
        runsAt.push(Date.now() - start);
        active++;
        overlapped ||= active > 1;
        await new Promise((resolve) => setTimeout(resolve, 250));
        active--;
        throw new Error('channel down');
      },
    };
    const stop = startWorkers(ctx, [slow]);
    await vi.advanceTimersByTimeAsync(1_000);
    const stopped = stop(); // the run started at 800 ms is still waiting for its timer
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
    expect(overlapped).toBe(false);
    expect(runsAt).toEqual([100, 450, 800]);
  });

  it('stops: waits for the run in progress and starts no other', async () => {
    let finished = 0;
    let runs = 0;
    const worker: Worker = {
      name: 'busy', intervalMs: 100, backlogIntervalMs: 1,
      run: async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        finished++;
        return true;
      },
    };
    const stop = startWorkers(ctx, [worker]);
    await vi.advanceTimersByTimeAsync(120);
    const stopped = stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
    expect({ runs, finished }).toEqual({ runs: 1, finished: 1 });
  });
});
