// Alipay's asynchronous notification delivery: a form POST of the signed fields to the
// notify URL, repeated with exponential backoff until the answer is HTTP 200 with the exact
// body `success` (anything else, including `fail`, a 500 or a timeout, is retried), at most
// notify_attempts_max times. Bounded: beyond notify_deliveries_max waiting, new ones are dropped
// and counted. One keep-alive agent per dispatcher.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { alipaySandboxLimits } from './limits.ts';

export interface NotifyStats {
  delivered: number;
  failed: number;
  dropped: number;
  pending: number;
  attempts: number;
}

export class NotifyDispatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cancels = new Set<() => void>();
  private readonly agent = new HttpAgent({
    keepAlive: true,
    maxSockets: alipaySandboxLimits.notify_sockets_max,
    maxFreeSockets: alipaySandboxLimits.notify_sockets_max,
    timeout: alipaySandboxLimits.notify_idle_socket_ms,
  });
  private readonly stats: NotifyStats = { delivered: 0, failed: 0, dropped: 0, pending: 0, attempts: 0 };
  private closed = false;

  constructor(private readonly backoff_base_ms: number) {}

  counts(): NotifyStats {
    return { ...this.stats };
  }

  send(url: string, body: string): void {
    if (this.closed) return;
    if (this.stats.pending >= alipaySandboxLimits.notify_deliveries_max) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.pending += 1;
    this.schedule(() => this.attempt(url, body, 1), 0);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const cancel of [...this.cancels]) cancel();
    this.agent.destroy();
  }

  private schedule(run: () => Promise<void>, delay_ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void run();
    }, delay_ms);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(url: string, body: string, attempt: number): Promise<void> {
    if (this.closed) return this.finish('failed');
    this.stats.attempts += 1;
    if (await this.post(url, body)) return this.finish('delivered');
    if (attempt >= alipaySandboxLimits.notify_attempts_max || this.closed) return this.finish('failed');
    this.schedule(() => this.attempt(url, body, attempt + 1), this.backoff_base_ms * 2 ** (attempt - 1));
  }

  /** One attempt: true only on HTTP 200 with the body exactly `success`. */
  private post(url: string, body: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve(false);
        return;
      }
      if (target.protocol !== 'http:') return resolve(false); // the sandbox notifies over plain http only
      const payload = Buffer.from(body, 'utf8');
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
        finish(false);
        request?.destroy();
      };
      const timeout = setTimeout(cancel, alipaySandboxLimits.notify_attempt_timeout_ms);
      timeout.unref();
      this.cancels.add(cancel);
      try {
        request = httpRequest({
          hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: target.port === '' ? undefined : Number(target.port),
          path: `${target.pathname}${target.search}`,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': payload.length, 'user-agent': 'Mozilla/4.0' },
          agent: this.agent,
        });
      } catch {
        finish(false);
        return;
      }
      const sent = request;
      sent.on('error', () => finish(false));
      sent.on('close', () => finish(false)); // a no-op when the response already decided
      sent.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 1024) chunks.push(chunk);
        });
        response.on('end', () => finish(response.statusCode === 200 && Buffer.concat(chunks).toString('utf8') === 'success'));
        response.on('error', () => finish(false));
      });
      sent.end(payload);
    });
  }

  private finish(outcome: 'delivered' | 'failed'): void {
    this.stats.pending -= 1;
    this.stats[outcome] += 1;
  }
}
