// Notification delivery, as WeChat Pay does it: POST the JSON body to the order's notify_url
// (or the sandbox's webhook URL when set), signed with the platform key in Wechatpay-* headers,
// and retried with exponential backoff until the merchant answers 2xx or notify_attempts_max
// attempts. Deliveries waiting or in flight are bounded (beyond it they are dropped and
// counted). Over node:http(s) through keep-alive agents of the notifier's own.
import type { KeyObject } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Clock } from '../../src/kernel/clock.ts';
import { platformSignature } from './crypto.ts';
import { wechatSandboxLimits } from './limits.ts';

export interface NotifyStats {
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
  attempts: number;
}

export interface NotifierOptions {
  readonly clock: Clock;
  readonly platformPrivateKey: KeyObject;
  readonly platformSerial: string;
  readonly backoff_base_ms: number;
}

export class Notifier {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cancels = new Set<() => void>();
  private readonly agents: { http?: HttpAgent; https?: HttpsAgent } = {};
  private readonly stats: NotifyStats = { delivered: 0, failed: 0, dropped: 0, pending: 0, attempts: 0 };
  private closed = false;

  constructor(private readonly options: NotifierOptions) {}

  counts(): NotifyStats {
    return { ...this.stats };
  }

  /** Queue one delivery of a serialized notification body to url. */
  send(url: string, payload: string): void {
    if (this.closed) return;
    if (this.stats.pending >= wechatSandboxLimits.notify_deliveries_max) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.pending += 1;
    this.schedule(() => this.attempt(url, payload, 1), 0);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
    this.agents.http?.destroy();
    this.agents.https?.destroy();
  }

  private schedule(run: () => Promise<void>, delay_ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void run();
    }, delay_ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(url: string, payload: string, attempt: number): Promise<void> {
    if (this.closed) return this.finish('failed');
    this.stats.attempts += 1;
    if (await this.post(url, payload)) return this.finish('delivered');
    if (attempt >= wechatSandboxLimits.notify_attempts_max || this.closed) return this.finish('failed');
    const delay = Math.min(this.options.backoff_base_ms * 2 ** (attempt - 1), wechatSandboxLimits.notify_backoff_ms_max);
    this.schedule(() => this.attempt(url, payload, attempt + 1), delay);
  }

  private agentFor(secure: boolean): HttpAgent {
    const options = {
      keepAlive: true,
      maxSockets: wechatSandboxLimits.notify_sockets_max,
      maxFreeSockets: wechatSandboxLimits.notify_sockets_max,
      timeout: wechatSandboxLimits.notify_idle_socket_ms,
    };
    if (secure) return (this.agents.https ??= new HttpsAgent(options));
    return (this.agents.http ??= new HttpAgent(options));
  }

  /** One attempt, freshly signed: true on a 2xx, false on anything else. */
  private post(url: string, payload: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve(false);
        return;
      }
      const secure = target.protocol === 'https:';
      const body = Buffer.from(payload, 'utf8');
      const timestamp = Math.floor(this.options.clock.now().getTime() / 1000);
      let answer: boolean | null = null;
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
      const timeout = setTimeout(cancel, wechatSandboxLimits.notify_attempt_timeout_ms);
      timeout.unref();
      this.cancels.add(cancel);
      try {
        request = (secure ? httpsRequest : httpRequest)({
          hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': 'Mozilla/4.0',
            ...platformSignature(payload, timestamp, this.options.platformPrivateKey, this.options.platformSerial),
          },
          agent: this.agentFor(secure),
        });
      } catch {
        finish(false);
        return;
      }
      const sent = request;
      sent.on('error', () => finish(answer ?? false));
      sent.on('close', () => finish(answer ?? false));
      sent.on('response', (response) => {
        answer = response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
        const delivered = answer;
        response.on('end', () => finish(delivered));
        response.on('error', () => finish(delivered));
        response.on('close', () => finish(delivered));
        response.resume();
      });
      sent.end(body);
    });
  }

  private finish(outcome: 'delivered' | 'failed'): void {
    this.stats.pending -= 1;
    this.stats[outcome] += 1;
  }
}
