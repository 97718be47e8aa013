import { describe, expect, it } from 'vitest';
import { AttemptsInFlight } from './attempts-in-flight.ts';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('AttemptsInFlight', () => {
  it('lets a notification wait until the synchronous call has recorded its outcome', async () => {
    const inFlight = new AttemptsInFlight(10);
    const order: string[] = [];
    const call = inFlight.around('att_1', async () => {
      await later(30);
      order.push('recorded');
      return 'outcome';
    });
    expect(inFlight.size).toBe(1);
    await inFlight.settled('att_1', 5_000);
    order.push('notification applied');
    expect(order).toEqual(['recorded', 'notification applied']);
    await expect(call).resolves.toBe('outcome');
    expect(inFlight.size).toBe(0);
  });

  it('waits no longer than asked, and not at all for an attempt not in flight here', async () => {
    const inFlight = new AttemptsInFlight(10);
    const call = inFlight.around('att_slow', () => later(500));
    const started = performance.now();
    await inFlight.settled('att_slow', 20);
    expect(performance.now() - started).toBeLessThan(400);
    await inFlight.settled('att_other', 5_000);
    await call;
  });

  it('forgets an attempt whose call failed, and tracks no more than its maximum', async () => {
    const inFlight = new AttemptsInFlight(1);
    await expect(inFlight.around('att_fail', async () => { throw new Error('channel down'); })).rejects.toThrow('channel down');
    expect(inFlight.size).toBe(0);
    const first = inFlight.around('att_a', () => later(20));
    const second = inFlight.around('att_b', async () => 'untracked');
    expect(inFlight.size).toBe(1);
    await expect(second).resolves.toBe('untracked');
    await first;
    expect(() => new AttemptsInFlight(0)).toThrow();
  });
});
