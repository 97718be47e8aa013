// The shared notification sender: acceptance rules, per-attempt headers, bounds, schemes, close().
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotificationSender, type NotificationSenderOptions } from './notification-sender.ts';

interface Endpoint {
  readonly url: string;
  readonly headers: IncomingHttpHeaders[];
  readonly bodies: string[];
}

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

/** Answers `answers` in turn ([status, body]; [200, 'ok'] once they run out), or never when `hang`. */
async function endpoint(answers: [number, string][] = [], hang = false): Promise<Endpoint> {
  const headers: IncomingHttpHeaders[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      headers.push(request.headers);
      bodies.push(body);
      if (hang) return;
      const [status, text] = answers.shift() ?? [200, 'ok'];
      response.writeHead(status).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({ close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify?x=1`, headers, bodies };
}

function sender(overrides: Partial<NotificationSenderOptions> = {}): NotificationSender {
  const made = new NotificationSender({
    limits: { deliveries_max: 100, attempts_max: 3, attempt_timeout_ms: 5_000, sockets_max: 4, idle_socket_ms: 1_000 },
    backoff_base_ms: 5,
    content_type: 'text/plain',
    user_agent: 'test-agent',
    accept: '2xx',
    ...overrides,
  });
  opened.push(made);
  return made;
}

const until = (check: () => boolean): Promise<void> => vi.waitFor(() => expect(check()).toBe(true), { timeout: 3_000, interval: 5 });

describe('NotificationSender', () => {
  it('retries until a 2xx, with headers computed afresh for each attempt', async () => {
    const target = await endpoint([[500, ''], [503, '']]);
    let signed = 0;
    const made = sender({ sign: (payload) => ({ 'x-signature': `${payload}#${++signed}` }) });
    made.send(target.url, 'hello');
    await until(() => made.counts().delivered === 1);
    expect(made.counts()).toEqual({ delivered: 1, failed: 0, dropped: 0, pending: 0, attempts: 3 });
    expect(target.bodies).toEqual(['hello', 'hello', 'hello']);
    expect(target.headers.map((h) => h['x-signature'])).toEqual(['hello#1', 'hello#2', 'hello#3']);
    expect(target.headers[0]).toMatchObject({ 'content-type': 'text/plain', 'user-agent': 'test-agent', 'content-length': '5' });
  });

  it('with an exact-body acceptance, retries a 200 whose body is not the one required', async () => {
    const target = await endpoint([[200, 'fail'], [500, 'success'], [200, 'success']]);
    const made = sender({ accept: { status: 200, body: 'success' }, limits: { deliveries_max: 100, attempts_max: 5, attempt_timeout_ms: 5_000, sockets_max: 4, idle_socket_ms: 1_000 } });
    made.send(target.url, 'a=1');
    await until(() => made.counts().delivered === 1);
    expect(made.counts().attempts).toBe(3);
  });

  it('gives up after attempts_max and fails a URL whose scheme the transport refuses', async () => {
    const target = await endpoint([[500, ''], [500, ''], [500, '']]);
    const made = sender({ transport: (url) => (url.protocol === 'http:' ? 'http:' : null) });
    made.send(target.url, 'x');
    made.send('https://127.0.0.1:1/none', 'y');
    await until(() => made.counts().failed === 2);
    expect(made.counts()).toEqual({ delivered: 0, failed: 2, dropped: 0, pending: 0, attempts: 6 });
    expect(target.bodies).toHaveLength(3);
  });

  it('reads a destination function at each attempt; null fails the delivery', async () => {
    const target = await endpoint([[500, '']]);
    let url: string | null = target.url;
    const made = sender({ backoff_base_ms: 50 });
    made.send(() => url, 'x');
    await until(() => target.bodies.length === 1);
    url = null;
    await until(() => made.counts().failed === 1);
    expect(made.counts().attempts).toBe(1);
  });

  it('drops deliveries beyond deliveries_max, and close() ends those in flight as failed', async () => {
    const target = await endpoint([], true);
    const made = sender({ limits: { deliveries_max: 2, attempts_max: 3, attempt_timeout_ms: 5_000, sockets_max: 4, idle_socket_ms: 1_000 } });
    for (let i = 0; i < 3; i += 1) made.send(target.url, `n${i}`);
    await until(() => target.bodies.length === 2);
    expect(made.counts()).toMatchObject({ pending: 2, dropped: 1 });
    made.close();
    await until(() => made.counts().pending === 0);
    expect(made.counts()).toMatchObject({ delivered: 0, failed: 2, dropped: 1 });
    made.send(target.url, 'after');
    expect(made.counts().pending).toBe(0);
  });
});
