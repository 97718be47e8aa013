// A per-process cache of values read from the database, each kept for `ttlMs` (a miss included)
// and bounded in entries: a change made through the API applies at once in the process that made
// it (it calls `forget`) and within `ttlMs` everywhere else. Time comes from the caller's clock.
// When full, the entry fetched longest ago is dropped.
import type { Clock } from './clock.ts';
import { assert } from './errors.ts';

export class TimedCache<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly fetchedAtMs: number }>();

  constructor(private readonly ttlMs: number, private readonly entriesMax: number, private readonly clock: Clock) {
    assert(ttlMs >= 0 && entriesMax >= 1, 'TimedCache: a non-negative ttl and at least one entry');
  }

  /** The value while it is at most `ttlMs` old, else undefined. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || this.clock.now().getTime() - entry.fetchedAtMs > this.ttlMs) return undefined;
    return entry.value;
  }

  set(key: string, value: V): void {
    // A refreshed entry moves to the end of the Map's order, so eviction drops the one fetched longest ago.
    this.entries.delete(key);
    if (this.entries.size >= this.entriesMax) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, fetchedAtMs: this.clock.now().getTime() });
    assert(this.entries.size <= this.entriesMax, 'TimedCache: size within its maximum');
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** The cached value, or the loaded one (then cached). */
  async through(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const value = await load();
    this.set(key, value);
    return value;
  }
}

/**
 * One TimedCache per owner (an app context: each app in a process has its own), made on first
 * use with the owner's clock; the owner being weakly held, a closed app's cache goes with it.
 */
export function timedCachePerOwner<V>(ttlMs: number, entriesMax: number): (owner: { readonly clock: Clock }) => TimedCache<V> {
  const caches = new WeakMap<object, TimedCache<V>>();
  return (owner) => {
    let cache = caches.get(owner);
    if (cache === undefined) {
      cache = new TimedCache<V>(ttlMs, entriesMax, owner.clock);
      caches.set(owner, cache);
    }
    return cache;
  };
}
