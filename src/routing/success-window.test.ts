import { describe, expect, it } from 'vitest';
import { SuccessWindow } from './success-window.ts';

describe('routing success window', () => {
  it('counts the last outcomes per channel and method, within the time window only', () => {
    const window = new SuccessWindow(4, 60_000, 10);
    for (const ok of [true, true, false, false, false]) window.record('card_a', 'card', ok, 1_000);
    expect(window.recent('card_a', 'card', 1_000)).toEqual({ succeeded: 1, total: 4 }); // the oldest fell out of the ring
    expect(window.recent('card_a', 'alipay', 1_000)).toEqual({ succeeded: 0, total: 0 });
    expect(window.recent('card_b', 'card', 1_000)).toEqual({ succeeded: 0, total: 0 });
    window.record('card_a', 'card', true, 70_000);
    expect(window.recent('card_a', 'card', 70_000)).toEqual({ succeeded: 1, total: 1 }); // older than 60 s: not counted
  });

  it('keeps a bounded number of windows', () => {
    const window = new SuccessWindow(4, 60_000, 2);
    window.record('a', 'card', true, 0);
    window.record('b', 'card', true, 0);
    window.record('c', 'card', true, 0); // past the bound: starts over
    expect(window.recent('a', 'card', 0).total).toBe(0);
    expect(window.recent('c', 'card', 0).total).toBe(1);
  });
});
