import { createHmac } from 'node:crypto';
import type { Clock } from '../../src/kernel/clock.ts';
import { NotificationSender } from '../shared/notification-sender.ts';
import { sandboxLimits } from './limits.ts';

// Stripe webhook delivery: POST the event JSON to the endpoint with
//   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>
// A delivery is retried (fresh timestamp and signature each time) with exponential backoff
// until a 2xx or webhook_attempts_max attempts, over http: or https:, bounded and cancelled on
// close (../shared/notification-sender.ts).

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

/** The endpoint URL (changeable) in front of the shared sender, configured as Stripe delivers. */
export class WebhookDispatcher {
  private readonly sender: NotificationSender;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.sender = new NotificationSender({
      limits: {
        deliveries_max: sandboxLimits.webhook_deliveries_max,
        attempts_max: sandboxLimits.webhook_attempts_max,
        attempt_timeout_ms: sandboxLimits.webhook_attempt_timeout_ms,
        sockets_max: sandboxLimits.webhook_sockets_max,
        idle_socket_ms: sandboxLimits.webhook_idle_socket_ms,
      },
      backoff_base_ms: options.backoff_base_ms ?? sandboxLimits.webhook_backoff_base_ms,
      content_type: 'application/json; charset=utf-8',
      user_agent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      sign: (payload) => ({ 'stripe-signature': stripeSignatureHeader(payload, options.secret, Math.floor(options.clock.now().getTime() / 1000)) }),
      accept: '2xx',
    });
  }

  setUrl(url: string | null): void {
    if (url !== null) new URL(url); // throws on a malformed URL: a caller bug
    this.options.url = url;
  }

  url(): string | null {
    return this.options.url;
  }

  counts(): WebhookStats {
    const { delivered, failed, dropped, pending } = this.sender.counts();
    return { delivered, failed, dropped, pending };
  }

  /** Queue one delivery of the event body (already serialized) to the URL current at each attempt. */
  send(payload: string): void {
    if (this.options.url === null) return;
    this.sender.send(() => this.options.url, payload);
  }

  close(): void {
    this.sender.close();
  }
}
