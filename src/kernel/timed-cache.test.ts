import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { TimedCache, timedCachePerOwner } from './timed-cache.ts';

describe('TimedCache', () => {
  it('serves a value for ttlMs on the injected clock, then misses', () => {
    const clock = new ManualClock();
    const cache = new TimedCache<string>(1_000, 10, clock);
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 'first');
    expect(cache.get('a')).toBe('first');
    clock.advance(1_000);
    expect(cache.get('a')).toBe('first'); // exactly ttlMs old: still served
    clock.advance(1);
    expect(cache.get('a')).toBeUndefined();
  });

  it('forgets a key at once (a write in this process)', () => {
    const cache = new TimedCache<string>(1_000, 10, new ManualClock());
    cache.set('a', 'first');
    cache.forget('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('keeps at most entriesMax, dropping the entry fetched longest ago', () => {
    const clock = new ManualClock();
    const cache = new TimedCache<number>(60_000, 2, clock);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10); // refreshed: now the newest
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(10);
    expect(cache.get('c')).toBe(3);
  });

  it('loads through on a miss only, and caches what it loaded until the ttl passes', async () => {
    const clock = new ManualClock();
    const cache = new TimedCache<string>(500, 10, clock);
    let loads = 0;
    const load = async (): Promise<string> => `read ${++loads}`;
    expect(await cache.through('a', load)).toBe('read 1');
    expect(await cache.through('a', load)).toBe('read 1');
    clock.advance(501);
    expect(await cache.through('a', load)).toBe('read 2');
    expect(loads).toBe(2);
  });

  it('refuses a negative ttl or no room', () => {
    expect(() => new TimedCache(-1, 1, new ManualClock())).toThrow();
    expect(() => new TimedCache(0, 0, new ManualClock())).toThrow();
  });

  it('gives each owner a cache of its own, on its own clock', () => {
    const cacheOf = timedCachePerOwner<string>(1_000, 10);
    const first = { clock: new ManualClock() };
    const second = { clock: new ManualClock() };
    expect(cacheOf(first)).toBe(cacheOf(first));
    cacheOf(first).set('a', 'first');
    expect(cacheOf(second).get('a')).toBeUndefined();
    second.clock.advance(5_000);
    expect(cacheOf(first).get('a')).toBe('first');
    first.clock.advance(1_001);
    expect(cacheOf(first).get('a')).toBeUndefined();
  });
});
