import { sandboxLimits } from './limits.ts';

// Waits that close() can cut short: the added latency and the held-back responses of the
// timeout fault. A wait resolves 'elapsed' normally and 'closed' when the sandbox closes
// (the caller then drops the connection).

export type WaitEnd = 'elapsed' | 'closed';

export class Holds {
  private readonly releases = new Set<() => void>();
  private closed = false;

  get size(): number {
    return this.releases.size;
  }

  wait(ms: number): Promise<WaitEnd> {
    if (this.closed) return Promise.resolve('closed');
    if (ms <= 0 || this.releases.size >= sandboxLimits.held_responses_max) return Promise.resolve('elapsed');
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.releases.delete(release);
        resolve('closed');
      };
      const timer = setTimeout(() => {
        this.releases.delete(release);
        resolve('elapsed');
      }, ms);
      timer.unref();
      this.releases.add(release);
    });
  }

  releaseAll(): void {
    this.closed = true;
    for (const release of [...this.releases]) release();
  }
}
