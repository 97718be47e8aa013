// Where in the open loop the slow purchases were: the measured window cut into short slices by
// scheduled start, each counting its purchases and those over the latency target. A p99 over
// the target made of one or two stalls (every purchase of a slice slow) reads differently from
// one spread over the whole run; the slowest slices' times can be matched against the server's
// and PostgreSQL's logs. Memory is one counter triple per slice, whatever the rate.

export const slice_ms = 250;
/** Slices listed in the result, those with the most slow purchases first. */
export const slowest_slices_listed = 5;
/** Slices kept at most (a 4-hour window); later purchases fall in the last one. */
const slices_max = 57_600;

export interface SlowSlice {
  /** Start of the slice, ms after the measured window opened. */
  readonly at_ms: number;
  readonly purchases: number;
  readonly slow: number;
  readonly max_ms: number;
}

export interface SlowPurchases {
  readonly threshold_ms: number;
  readonly slice_ms: number;
  /** Purchases in the window over threshold_ms. */
  readonly slow: number;
  /** Slices holding at least one slow purchase. */
  readonly slices_with_slow: number;
  readonly slowest_slices: readonly SlowSlice[];
}

export class SlowPurchaseMap {
  private readonly purchases: Uint32Array;
  private readonly slow: Uint32Array;
  private readonly max: Float64Array;

  constructor(private readonly threshold_ms: number, duration_ms: number) {
    if (!(threshold_ms > 0) || !(duration_ms > 0)) throw new RangeError('threshold and duration must be positive');
    const slices = Math.min(slices_max, Math.ceil(duration_ms / slice_ms));
    this.purchases = new Uint32Array(slices);
    this.slow = new Uint32Array(slices);
    this.max = new Float64Array(slices);
  }

  /** One purchase, by its scheduled start (ms after the window opened) and its latency. */
  record(scheduled_at_ms: number, latency_ms: number): void {
    const slice = Math.min(this.purchases.length - 1, Math.max(0, Math.floor(scheduled_at_ms / slice_ms)));
    this.purchases[slice]! += 1;
    if (latency_ms > this.threshold_ms) this.slow[slice]! += 1;
    if (latency_ms > this.max[slice]!) this.max[slice] = latency_ms;
  }

  result(): SlowPurchases {
    const slices: SlowSlice[] = [];
    let slow = 0;
    for (let i = 0; i < this.purchases.length; i++) {
      if (this.slow[i] === 0) continue;
      slow += this.slow[i]!;
      slices.push({ at_ms: i * slice_ms, purchases: this.purchases[i]!, slow: this.slow[i]!, max_ms: this.max[i]! });
    }
    slices.sort((a, b) => b.slow - a.slow || a.at_ms - b.at_ms);
    return { threshold_ms: this.threshold_ms, slice_ms, slow, slices_with_slow: slices.length, slowest_slices: slices.slice(0, slowest_slices_listed) };
  }
}
