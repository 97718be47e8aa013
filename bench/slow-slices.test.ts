import { describe, expect, it } from 'vitest';
import { SlowPurchaseMap, slice_ms } from './slow-slices.ts';

describe('SlowPurchaseMap', () => {
  it('counts slow purchases per slice of scheduled start and lists the worst slices first', () => {
    const map = new SlowPurchaseMap(100, 2_000);
    for (let at = 0; at < 2_000; at += 10) map.record(at, 5); // 200 fast purchases
    map.record(510, 150);
    map.record(520, 180);
    map.record(1_760, 120);
    map.record(1_999.9, 101);
    expect(map.result()).toEqual({
      threshold_ms: 100, slice_ms, slow: 4, slices_with_slow: 2,
      slowest_slices: [
        { at_ms: 500, purchases: 27, slow: 2, max_ms: 180 },
        { at_ms: 1_750, purchases: 27, slow: 2, max_ms: 120 },
      ],
    });
  });

  it('a purchase at exactly the threshold is not slow; one past the window lands in the last slice', () => {
    const map = new SlowPurchaseMap(100, 1_000);
    map.record(100, 100);
    map.record(5_000, 300);
    expect(map.result()).toMatchObject({ slow: 1, slowest_slices: [{ at_ms: 750, purchases: 1, slow: 1, max_ms: 300 }] });
  });

  it('refuses a threshold or duration that is not positive', () => {
    expect(() => new SlowPurchaseMap(0, 1_000)).toThrow(RangeError);
    expect(() => new SlowPurchaseMap(100, 0)).toThrow(RangeError);
  });
});
