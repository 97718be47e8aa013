import { createHmac } from 'node:crypto';
import type { Clock } from '../../src/kernel/clock.ts';
import { sandboxLimits } from './limits.ts';

// Stripe webhook delivery: POST the event JSON to the endpoint with
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>
// A delivery is retried (fresh timestamp and signature each time) with exponential backoff
// until a 2xx or webhook_attempts_max attempts. Delivery never blocks an API response, and
// the number of deliveries waiting or in flight is bounded (beyond it they are dropped and
// counted).

export function stripeSignatureHeader(payload: string, secret: string, timestamp_seconds: number): string {
  if (!Number.isInteger(timestamp_seconds)) throw new Error('stripeSignatureHeader: timestamp must be whole seconds');
  const signature = createHmac('sha256', secret).update(`${timestamp_seconds}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp_seconds},v1=${signature}`;
}

export interface WebhookStats {
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
}

export interface WebhookDispatcherOptions {
  readonly secret: string;
  readonly clock: Clock;
  url: string | null;
  readonly backoff_base_ms?: number;
}

export class WebhookDispatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private readonly stats: WebhookStats = { delivered: 0, failed: 0, dropped: 0, pending: 0 };
  private closed = false;

  constructor(private readonly options: WebhookDispatcherOptions) {}

  setUrl(url: string | null): void {
    if (url !== null) new URL(url); // throws on a malformed URL: a caller bug
    this.options.url = url;
  }

  url(): string | null {
    return this.options.url;
  }

  counts(): WebhookStats {
    return { ...this.stats };
  }

  /** Queue one delivery of the event body (already serialized). */
  send(payload: string): void {
    if (this.closed || this.options.url === null) return;
    if (this.stats.pending >= sandboxLimits.webhook_deliveries_max) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.pending += 1;
    this.schedule(() => this.attempt(payload, 1), 0);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const abort of this.aborts) abort.abort();
    this.aborts.clear();
  }

  private schedule(run: () => Promise<void>, delay_ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void run();
    }, delay_ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(payload: string, attempt: number): Promise<void> {
    const url = this.options.url;
    if (this.closed || url === null) return this.finish('failed');
    const delivered = await this.post(url, payload);
    if (delivered) return this.finish('delivered');
    if (attempt >= sandboxLimits.webhook_attempts_max || this.closed) return this.finish('failed');
    const base = this.options.backoff_base_ms ?? sandboxLimits.webhook_backoff_base_ms;
    this.schedule(() => this.attempt(payload, attempt + 1), base * 2 ** (attempt - 1));
  }

  private async post(url: string, payload: string): Promise<boolean> {
    const abort = new AbortController();
    this.aborts.add(abort);
    const timeout = setTimeout(() => abort.abort(), sandboxLimits.webhook_attempt_timeout_ms);
    timeout.unref();
    try {
      const timestamp = Math.floor(this.options.clock.now().getTime() / 1000);
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': stripeSignatureHeader(payload, this.options.secret, timestamp),
        },
        body: payload,
        signal: abort.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    } finally {
      clearTimeout(timeout);
      this.aborts.delete(abort);
    }
  }

  private finish(outcome: 'delivered' | 'failed'): void {
    this.stats.pending -= 1;
    this.stats[outcome] += 1;
  }
}
