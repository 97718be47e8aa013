// Latency samples in milliseconds, kept in a fixed-size buffer, and their percentiles.
// Up to `capacity` samples are kept exactly; past that, reservoir sampling (Vitter's
// algorithm R) keeps a uniform sample of everything recorded. Count, minimum and maximum are
// always exact.

export const latency_sample_capacity_default = 250_000;

export interface LatencySummary {
  readonly count: number;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  readonly min_ms: number | null;
  readonly max_ms: number | null;
  readonly mean_ms: number | null;
}

/**
 * Nearest-rank percentile of values sorted in ascending order: the smallest value such that at
 * least `percent`% of the values are less than or equal to it. Null for no values.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, percent: number): number | null {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`percent must be within 0..100, got ${percent}`);
  const count = sorted.length;
  if (count === 0) return null;
  const rank = Math.max(1, Math.ceil((percent / 100) * count));
  const value = sorted[rank - 1];
  if (value === undefined) throw new Error('percentileOfSorted: rank out of range');
  return value;
}

export class LatencyRecorder {
  private readonly samples: Float64Array;
  private stored = 0;
  private recorded = 0;
  private sum_ms = 0;
  private min_ms = Number.POSITIVE_INFINITY;
  private max_ms = Number.NEGATIVE_INFINITY;

  constructor(
    readonly capacity: number = latency_sample_capacity_default,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.samples = new Float64Array(capacity);
  }

  record(latency_ms: number): void {
    if (!Number.isFinite(latency_ms) || latency_ms < 0) throw new RangeError(`latency must be a finite non-negative number, got ${latency_ms}`);
    this.recorded += 1;
    this.sum_ms += latency_ms;
    if (latency_ms < this.min_ms) this.min_ms = latency_ms;
    if (latency_ms > this.max_ms) this.max_ms = latency_ms;
    if (this.stored < this.capacity) {
      this.samples[this.stored] = latency_ms;
      this.stored += 1;
      return;
    }
    // Algorithm R: the n-th sample replaces a random slot with probability capacity / n.
    const slot = Math.floor(this.random() * this.recorded);
    if (slot < this.capacity) this.samples[slot] = latency_ms;
  }

  get count(): number {
    return this.recorded;
  }

  /** Number of samples held in the buffer (at most `capacity`). */
  get sampleCount(): number {
    return this.stored;
  }

  summary(): LatencySummary {
    if (this.recorded === 0) {
      return { count: 0, p50_ms: null, p95_ms: null, p99_ms: null, min_ms: null, max_ms: null, mean_ms: null };
    }
    const sorted = this.samples.slice(0, this.stored).sort();
    return {
      count: this.recorded,
      p50_ms: percentileOfSorted(sorted, 50),
      p95_ms: percentileOfSorted(sorted, 95),
      p99_ms: percentileOfSorted(sorted, 99),
      min_ms: this.min_ms,
      max_ms: this.max_ms,
      mean_ms: this.sum_ms / this.recorded,
    };
  }
}
