// The webhook sender over node:http: keep-alive reuse, retries, and close() with deliveries in flight.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/kernel/clock.ts';
import { stripeSignatureHeader, WebhookDispatcher } from './webhooks.ts';

interface Endpoint {
  readonly url: string;
  readonly bodies: string[];
  readonly headers: IncomingHttpHeaders[];
  readonly remotePorts: number[];
}

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

/** An endpoint answering `statuses` in turn (200 once they run out), or never when `hang`. */
async function endpoint(statuses: number[] = [], hang = false): Promise<Endpoint> {
  const bodies: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const remotePorts: number[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      bodies.push(body);
      headers.push(request.headers);
      if (hang) return;
      response.writeHead(statuses.shift() ?? 200).end('ok');
    });
  });
  server.on('connection', (socket) => remotePorts.push(socket.remotePort ?? -1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/card_x?v=1`, bodies, headers, remotePorts };
}

function dispatcher(url: string): WebhookDispatcher {
  const made = new WebhookDispatcher({ secret: 'whsec_test_secret_value', clock: systemClock, url, backoff_base_ms: 10 });
  opened.push(made);
  return made;
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('webhook dispatcher', () => {
  it('delivers signed events one after another over one kept-alive connection', async () => {
    const hook = await endpoint();
    const sender = dispatcher(hook.url);
    for (const n of [1, 2, 3]) {
      sender.send(JSON.stringify({ id: `evt_${n}`, n }));
      await until(() => sender.counts().delivered === n);
    }
    expect(hook.bodies.map((body) => (JSON.parse(body) as { id: string }).id)).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(hook.remotePorts).toHaveLength(1);
    const [first] = hook.headers;
    const [body = ''] = hook.bodies;
    const timestamp = Number(/t=(\d+)/.exec(String(first?.['stripe-signature']))?.[1]);
    expect(first?.['stripe-signature']).toBe(stripeSignatureHeader(body, 'whsec_test_secret_value', timestamp));
    expect(first).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), connection: 'keep-alive' });
    expect(first).not.toHaveProperty('accept-encoding');
    expect(sender.counts()).toEqual({ delivered: 3, failed: 0, dropped: 0, pending: 0 });
  });

  it('retries a refused delivery with backoff, and gives up after the last attempt', async () => {
    const flaky = await endpoint([500, 503]);
    const sender = dispatcher(flaky.url);
    sender.send('{"id":"evt_retry"}');
    await until(() => sender.counts().delivered === 1);
    expect(flaky.bodies).toHaveLength(3);
    expect(flaky.remotePorts).toHaveLength(1); // the retries reuse the connection too

    const down = await endpoint([500, 500, 500, 500, 500, 500]);
    const giving = dispatcher(down.url);
    giving.send('{"id":"evt_never"}');
    await until(() => giving.counts().failed === 1);
    expect(down.bodies).toHaveLength(5);
    expect(giving.counts()).toEqual({ delivered: 0, failed: 1, dropped: 0, pending: 0 });
  });

  it('a refused connection counts as a failed attempt', async () => {
    const hook = await endpoint();
    const url = hook.url;
    await opened.pop()?.close();
    const sender = dispatcher(url);
    sender.send('{"id":"evt_refused"}');
    await until(() => sender.counts().failed === 1);
    expect(sender.counts().pending).toBe(0);
  });

  it('close() ends deliveries in flight as failed and sends nothing more', async () => {
    const hook = await endpoint([], true);
    const sender = dispatcher(hook.url);
    sender.send('{"id":"evt_a"}');
    sender.send('{"id":"evt_b"}');
    await until(() => hook.bodies.length === 2);
    sender.close();
    await until(() => sender.counts().pending === 0);
    expect(sender.counts()).toEqual({ delivered: 0, failed: 2, dropped: 0, pending: 0 });
    sender.send('{"id":"evt_c"}');
    expect(sender.counts().pending).toBe(0);
  });
});
