// A bounded in-process cache for facts that never change once written (an order's currency and
// total, an attempt that succeeded). Being immutable, a cached fact is never stale: a process
// that misses simply reads the database. Eviction drops the oldest entry.
import { assert } from './errors.ts';

export class FactsCache<Value> {
  private readonly entries = new Map<string, Value>();

  constructor(private readonly entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, 'FactsCache: entriesMax must be a positive integer');
  }

  get(key: string): Value | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: Value): void {
    if (!this.entries.has(key) && this.entries.size >= this.entriesMax) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, value);
    assert(this.entries.size <= this.entriesMax, 'FactsCache: size within its maximum');
  }

  get size(): number {
    return this.entries.size;
  }
}
