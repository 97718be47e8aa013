import { describe, expect, it } from 'vitest';
import { FactsCache } from './facts-cache.ts';

describe('FactsCache', () => {
  it('keeps at most its maximum, dropping the oldest', () => {
    const cache = new FactsCache<number>(3);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(3);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get('k4')).toBe(4);
    cache.set('k2', 22);
    expect(cache.size).toBe(3);
    expect(cache.get('k2')).toBe(22);
  });
});
