import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Clock } from '../../src/kernel/clock.ts';
import { sandboxLimits } from './limits.ts';

// Stripe webhook delivery: POST the event JSON to the endpoint with
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>
// A delivery is retried (fresh timestamp and signature each time) with exponential backoff
// until a 2xx or webhook_attempts_max attempts. Delivery never blocks an API response, and
// the number of deliveries waiting or in flight is bounded (beyond it they are dropped and
// counted). Deliveries go over node:http(s) through keep-alive agents of the dispatcher's own
// (one write per delivery: headers and body leave together), so a steady stream of events
// reuses a few warm connections instead of opening one per event.

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
  /** One per attempt in flight: ends it (as not delivered unless a 2xx is already in) and destroys its request. */
  private readonly cancels = new Set<() => void>();
  private readonly agents: { http?: HttpAgent; https?: HttpsAgent } = {};
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
    // The requests first: one still queued in an agent would otherwise get a fresh socket.
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
    this.agents.http?.destroy();
    this.agents.https?.destroy();
  }

  private agentFor(secure: boolean): HttpAgent {
    const options = {
      keepAlive: true,
      scheduling: 'lifo' as const,
      maxSockets: sandboxLimits.webhook_sockets_max,
      maxFreeSockets: sandboxLimits.webhook_sockets_max,
      timeout: sandboxLimits.webhook_idle_socket_ms, // idle sockets only; attempts have their own timer
    };
    if (secure) return (this.agents.https ??= new HttpsAgent(options));
    return (this.agents.http ??= new HttpAgent(options));
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

  /** One attempt: true on a 2xx (the body is drained, and its loss does not matter), false on anything else. */
  private post(url: string, payload: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve(false);
        return;
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        resolve(false);
        return;
      }
      const secure = target.protocol === 'https:';
      const body = Buffer.from(payload, 'utf8');
      const timestamp = Math.floor(this.options.clock.now().getTime() / 1000);
      let answer: boolean | null = null; // set once the status line is in
      let done = false;
      let request: ClientRequest | null = null;
      const finish = (delivered: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timeout);
        this.cancels.delete(cancel);
        resolve(delivered);
      };
      const cancel = (): void => {
        finish(answer ?? false);
        request?.destroy();
      };
      const timeout = setTimeout(cancel, sandboxLimits.webhook_attempt_timeout_ms);
      timeout.unref();
      this.cancels.add(cancel);
      try {
        request = (secure ? httpsRequest : httpRequest)({
          hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-length': body.length,
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'stripe-signature': stripeSignatureHeader(payload, this.options.secret, timestamp),
          },
          agent: this.agentFor(secure),
        });
      } catch {
        finish(false);
        return;
      }
      const sent = request;
      sent.on('error', () => finish(answer ?? false));
      sent.on('close', () => finish(answer ?? false)); // the last word, whatever happened
      sent.on('response', (response) => {
        answer = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
        const delivered = answer;
        response.on('end', () => finish(delivered));
        response.on('error', () => finish(delivered));
        response.on('close', () => finish(delivered));
        response.resume(); // drained, so the socket goes back to the agent
      });
      sent.end(body);
    });
  }

  private finish(outcome: 'delivered' | 'failed'): void {
    this.stats.pending -= 1;
    this.stats[outcome] += 1;
  }
}
