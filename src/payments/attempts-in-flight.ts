// Attempts whose synchronous channel call this process is making right now. A channel's
// notification about such an attempt often arrives before the call has returned (the provider
// notifies as it answers); applying it then would race the synchronous flow for the same rows,
// and the loser would lock, re-read and find nothing to change. The notification waits instead
// (bounded) until the synchronous flow has recorded its outcome, then finds it already applied.
// A notification for an attempt of another process, or after the wait, is applied as usual:
// this saves work, it never decides an outcome.
import { assert } from '../kernel/errors.ts';

export class AttemptsInFlight {
  private readonly calls = new Map<string, Promise<void>>();

  constructor(private readonly entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax > 0, 'AttemptsInFlight: entriesMax must be a positive integer');
  }

  /** Runs `work` (the call and the recording of its outcome) with the attempt marked in flight. */
  async around<T>(outTradeNo: string, work: () => Promise<T>): Promise<T> {
    if (this.calls.has(outTradeNo) || this.calls.size >= this.entriesMax) return work();
    let done!: () => void;
    this.calls.set(outTradeNo, new Promise<void>((resolve) => (done = resolve)));
    try {
      return await work();
    } finally {
      this.calls.delete(outTradeNo);
      done();
    }
  }

  /** Resolves when the attempt is no longer in flight here, or after `waitMaxMs`, whichever is first. */
  async settled(outTradeNo: string, waitMaxMs: number): Promise<void> {
    const call = this.calls.get(outTradeNo);
    if (!call) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMaxMs)));
    try {
      await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get size(): number {
    return this.calls.size;
  }
}
