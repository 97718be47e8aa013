// Notification delivery as the payment platforms do it, shared by the three sandboxes: POST a
// serialized body to a URL, retried with exponential backoff until the answer is accepted or
// attempts_max attempts. Delivery never blocks the caller, and the deliveries waiting or in
// flight are bounded (beyond it they are dropped and counted). Deliveries go over node:http(s)
// through keep-alive agents of the sender's own (one write per attempt: headers and body leave
// together), so a steady stream reuses a few warm connections. close() cancels everything.
//
// What differs per platform is a parameter: the headers of each attempt (a signature over a
// fresh timestamp is computed afresh every time), what counts as accepted, which URL schemes
// are delivered, and the limits.
import type { OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface NotificationStats {
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
  attempts: number;
}

export interface NotificationLimits {
  /** Deliveries waiting or in flight; beyond it new ones are dropped. */
  readonly deliveries_max: number;
  readonly attempts_max: number;
  readonly attempt_timeout_ms: number;
  /** Keep-alive sockets per agent, and how long one may idle. */
  readonly sockets_max: number;
  readonly idle_socket_ms: number;
  /** Longest delay between attempts (default: none). */
  readonly backoff_ms_max?: number;
}

/**
 * What counts as accepted. '2xx': the status line alone decides (the body is drained unread),
 * and an attempt cut short after it keeps that answer. Otherwise this exact status and body
 * (read up to 1 KiB) are needed, and an attempt cut short before the end is not accepted.
 */
export type Acceptance = '2xx' | { readonly status: number; readonly body: string };

/** The scheme a URL is delivered over, or null to fail the attempt without sending. */
export type Transport = (target: URL) => 'http:' | 'https:' | null;

/** http: and https: as themselves; anything else is not delivered. */
export const httpOrHttps: Transport = (target) => (target.protocol === 'http:' || target.protocol === 'https:' ? target.protocol : null);

export interface NotificationSenderOptions {
  readonly limits: NotificationLimits;
  /** First retry delay; doubles each attempt. */
  readonly backoff_base_ms: number;
  readonly content_type: string;
  readonly user_agent: string;
  /** Headers added to each attempt, computed afresh every time (e.g. a signature over a fresh timestamp). */
  readonly sign?: (payload: string) => OutgoingHttpHeaders;
  readonly accept: Acceptance;
  /** Default httpOrHttps. */
  readonly transport?: Transport;
}

/** Where a delivery goes: a fixed URL, or one read afresh at each attempt (null: fail it). */
export type Destination = string | (() => string | null);

const acceptedBodyBytesMax = 1024;

export class NotificationSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** One per attempt in flight: ends it (as not accepted unless the answer is already in) and destroys its request. */
  private readonly cancels = new Set<() => void>();
  private readonly agents: { http?: HttpAgent; https?: HttpsAgent } = {};
  private readonly stats: NotificationStats = { delivered: 0, failed: 0, dropped: 0, pending: 0, attempts: 0 };
  private closed = false;

  constructor(private readonly options: NotificationSenderOptions) {}

  counts(): NotificationStats {
    return { ...this.stats };
  }

  /** Queue one delivery of a serialized body. */
  send(to: Destination, payload: string): void {
    if (this.closed) return;
    if (this.stats.pending >= this.options.limits.deliveries_max) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.pending += 1;
    this.schedule(() => this.attempt(to, payload, 1), 0);
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
      maxSockets: this.options.limits.sockets_max,
      maxFreeSockets: this.options.limits.sockets_max,
      timeout: this.options.limits.idle_socket_ms, // idle sockets only; attempts have their own timer
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

  private async attempt(to: Destination, payload: string, attempt: number): Promise<void> {
    const url = typeof to === 'string' ? to : to();
    if (this.closed || url === null) return this.finish('failed');
    this.stats.attempts += 1;
    if (await this.post(url, payload)) return this.finish('delivered');
    const { attempts_max, backoff_ms_max } = this.options.limits;
    if (attempt >= attempts_max || this.closed) return this.finish('failed');
    const delay = Math.min(this.options.backoff_base_ms * 2 ** (attempt - 1), backoff_ms_max ?? Infinity);
    this.schedule(() => this.attempt(to, payload, attempt + 1), delay);
  }

  /** One attempt: true when accepted, false on anything else. */
  private post(url: string, payload: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve(false);
        return;
      }
      const scheme = (this.options.transport ?? httpOrHttps)(target);
      if (scheme === null) {
        resolve(false);
        return;
      }
      const secure = scheme === 'https:';
      const body = Buffer.from(payload, 'utf8');
      const accept = this.options.accept;
      let answer: boolean | null = null; // with '2xx', set once the status line is in
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
      const timeout = setTimeout(cancel, this.options.limits.attempt_timeout_ms);
      timeout.unref();
      this.cancels.add(cancel);
      try {
        request = (secure ? httpsRequest : httpRequest)({
          hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers: {
            'content-type': this.options.content_type,
            'content-length': body.length,
            'user-agent': this.options.user_agent,
            ...this.options.sign?.(payload),
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
        if (accept === '2xx') {
          answer = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
          const delivered = answer;
          response.on('end', () => finish(delivered));
          response.on('error', () => finish(delivered));
          response.on('close', () => finish(delivered));
          response.resume(); // drained, so the socket goes back to the agent
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= acceptedBodyBytesMax) chunks.push(chunk);
        });
        response.on('end', () => finish(response.statusCode === accept.status && Buffer.concat(chunks).toString('utf8') === accept.body));
        response.on('error', () => finish(false));
      });
      sent.end(body);
    });
  }

  private finish(outcome: 'delivered' | 'failed'): void {
    this.stats.pending -= 1;
    this.stats[outcome] += 1;
  }
}
