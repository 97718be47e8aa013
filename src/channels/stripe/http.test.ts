// The transport under the connector, against a raw TCP server that shows what went over the wire:
// how many connections, what each write carried, and what a misbehaving server does to a call.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyTransportError, createPaymentIntent, createStripeHttp, redactForm, searchPaymentIntents, type StripeHttp } from './http.ts';
import { stripeConnectorLimits } from './limits.ts';

interface Wire {
  readonly url: string;
  /** One entry per connection: the chunks it received, in order. */
  readonly connections: Buffer[][];
  readonly server: Server;
}

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

/** A server that hands every chunk it receives to `answer` (one request per chunk is what a single write gives). */
async function wire(answer: (chunk: Buffer, socket: Socket) => void): Promise<Wire> {
  const connections: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    connections.push(chunks);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      answer(chunk, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections, server };
}

function reply(socket: Socket, status: number, body: string | Buffer, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const headers = { 'content-type': 'application/json', 'content-length': String(bytes.length), ...extra };
  const head = `HTTP/1.1 ${status} X\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(head), bytes]));
}

const intent = JSON.stringify({ id: 'pi_1', object: 'payment_intent', status: 'succeeded' });

function client(url: string, timeoutMs = 2_000): StripeHttp {
  const http = createStripeHttp({ baseUrl: url, secretKey: 'sk_test_wire', timeoutMs });
  opened.push(http);
  return http;
}

describe('classifyTransportError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'not_sent', /connection failed: ECONNREFUSED/],
    [{ cause: { code: 'ENOTFOUND' } }, 'not_sent', /ENOTFOUND/],
    [{ code: 'CERT_HAS_EXPIRED' }, 'not_sent', /CERT_HAS_EXPIRED/],
    [{ name: 'TimeoutError' }, 'unknown', /timeout after 250 ms/],
    [{ name: 'AbortError' }, 'unknown', /timeout after 250 ms/],
    [{ code: 'ECONNRESET' }, 'unknown', /transport error: ECONNRESET/],
    [{ code: 'EPIPE' }, 'unknown', /EPIPE/],
    [{ errors: [{ code: 'ECONNREFUSED' }, { code: 'ECONNRESET' }] }, 'unknown', /ECONNREFUSED/], // one reset makes it ambiguous
    [new Error('something odd'), 'unknown', /something odd/],
    ['not even an object', 'unknown', /unknown transport error/],
  ])('%o is %s', (error, kind, reason) => {
    expect(classifyTransportError(error, 250)).toMatchObject({ kind, reason: expect.stringMatching(reason) });
  });
});

describe('stripe http over node:http', () => {
  it('reuses one connection, sends headers and body in one write, and asks for no compression', async () => {
    const server = await wire((_chunk, socket) => reply(socket, 200, intent));
    const http = client(`${server.url}/prefix/`);
    const first = await createPaymentIntent(http, { amount: '1000', metadata: { out_trade_no: 'att_1' } }, 'att_1');
    const second = await createPaymentIntent(http, { amount: '2000' }, 'att_2');
    const third = await searchPaymentIntents(http, "metadata['out_trade_no']:'att_1'");
    for (const exchange of [first, second, third]) expect(exchange).toEqual({ kind: 'response', status: 200, body: JSON.parse(intent) });
    expect(server.connections).toHaveLength(1);
    const [requests = []] = server.connections;
    expect(requests).toHaveLength(3); // each request arrived whole, in one chunk
    const [head = '', body] = (requests[0] ?? Buffer.alloc(0)).toString('utf8').split('\r\n\r\n');
    expect(head).toMatch(/^POST \/prefix\/v1\/payment_intents HTTP\/1.1\r\n/);
    expect(body).toBe('amount=1000&metadata[out_trade_no]=att_1'); // brackets literal, as Stripe's libraries send them
    expect(head).toMatch(/\r\ncontent-length: 40\r\n/i);
    expect(head).toMatch(/\r\nidempotency-key: att_1\r\n/i);
    expect(head).toMatch(/\r\nauthorization: Bearer sk_test_wire\r\n/i);
    expect(head).toMatch(/\r\nconnection: keep-alive(\r\n|$)/i);
    expect(head).not.toMatch(/accept-encoding/i);
    expect((requests[2] ?? Buffer.alloc(0)).toString('utf8')).toMatch(/^GET \/prefix\/v1\/payment_intents\/search\?query=.*&limit=10 HTTP\/1.1\r\n/);
  });

  it('opens more connections for concurrent calls, and keeps them for the next ones', async () => {
    const server = await wire((_chunk, socket) => setTimeout(() => reply(socket, 200, intent), 20));
    const http = client(server.url);
    await Promise.all([1, 2, 3].map((n) => createPaymentIntent(http, { amount: String(n) }, `att_${n}`)));
    await Promise.all([4, 5, 6].map((n) => createPaymentIntent(http, { amount: String(n) }, `att_${n}`)));
    expect(server.connections).toHaveLength(3);
  });

  it('close() lets go of the sockets; a later call opens a new one', async () => {
    const server = await wire((_chunk, socket) => reply(socket, 200, intent));
    const http = client(server.url);
    await createPaymentIntent(http, { amount: '1' }, 'att_1');
    http.close();
    expect(await createPaymentIntent(http, { amount: '2' }, 'att_2')).toMatchObject({ kind: 'response', status: 200 });
    expect(server.connections).toHaveLength(2);
  });

  it('a refused connection is not_sent', async () => {
    const server = await wire(() => undefined);
    const url = server.url;
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    expect(await createPaymentIntent(client(url), { amount: '1' }, 'att_1')).toMatchObject({ kind: 'not_sent', reason: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('no answer within the timeout is unknown, and the connection is destroyed', async () => {
    let closed = false;
    const server = await wire((_chunk, socket) => socket.on('close', () => (closed = true)));
    const started = Date.now();
    expect(await createPaymentIntent(client(server.url, 200), { amount: '1' }, 'att_1')).toEqual({ kind: 'unknown', reason: 'timeout after 200 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);
    for (let tries = 0; tries < 50 && !closed; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closed).toBe(true);
  });

  it('a body that stops halfway is a timeout (unknown)', async () => {
    const server = await wire((_chunk, socket) => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"id":'));
    expect(await createPaymentIntent(client(server.url, 200), { amount: '1' }, 'att_1')).toEqual({ kind: 'unknown', reason: 'timeout after 200 ms' });
  });

  it('a reset after the request left is unknown', async () => {
    const server = await wire((_chunk, socket) => socket.resetAndDestroy());
    expect(await createPaymentIntent(client(server.url), { amount: '1' }, 'att_1')).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/ECONNRESET/) });
  });

  it('a connection closed mid-body is unknown', async () => {
    const server = await wire((_chunk, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"id":'));
    expect(await createPaymentIntent(client(server.url), { amount: '1' }, 'att_1')).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/transport error/) });
  });

  it('an over-long body keeps its status and is not read, whether announced or streamed', async () => {
    const big = Buffer.alloc(stripeConnectorLimits.response_body_bytes_max + 1, 0x20);
    const announced = await wire((_chunk, socket) => reply(socket, 200, big));
    expect(await createPaymentIntent(client(announced.url), { amount: '1' }, 'att_1')).toEqual({ kind: 'response', status: 200, body: undefined });
    const streamed = await wire((_chunk, socket) => {
      socket.write('HTTP/1.1 402 X\r\ntransfer-encoding: chunked\r\n\r\n');
      for (let sent = 0; sent <= big.length; sent += 64 * 1024) socket.write(`10000\r\n${' '.repeat(64 * 1024)}\r\n`);
    });
    expect(await createPaymentIntent(client(streamed.url), { amount: '1' }, 'att_1')).toEqual({ kind: 'response', status: 402, body: undefined });
  });

  it('reads a gzip answer it did not ask for, and refuses an encoding it cannot read', async () => {
    const gzipped = await wire((_chunk, socket) => reply(socket, 200, gzipSync(intent), { 'content-encoding': 'gzip' }));
    expect(await createPaymentIntent(client(gzipped.url), { amount: '1' }, 'att_1')).toEqual({ kind: 'response', status: 200, body: JSON.parse(intent) });
    const odd = await wire((_chunk, socket) => reply(socket, 200, intent, { 'content-encoding': 'compress' }));
    expect(await createPaymentIntent(client(odd.url), { amount: '1' }, 'att_1')).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/content-encoding "compress"/) });
  });

  it('a body that is not JSON is read as undefined', async () => {
    const server = await wire((_chunk, socket) => reply(socket, 500, '<html>oops</html>', { 'content-type': 'text/html' }));
    expect(await createPaymentIntent(client(server.url), { amount: '1' }, 'att_1')).toEqual({ kind: 'response', status: 500, body: undefined });
  });
});

describe('redactForm', () => {
  it('replaces card and payment method data, flat or nested, and keeps the rest', () => {
    expect(
      redactForm({
        amount: '1000',
        payment_method: 'pm_card_visa',
        payment_method_data: { type: 'card', 'card[number]': '4242424242424242' },
        'payment_method_data[card][cvc]': '123',
        card: { number: '4242424242424242' },
        metadata: { out_trade_no: 'att_1' },
        payment_method_types: ['card'],
      }),
    ).toEqual({
      amount: '1000',
      payment_method: '[redacted]',
      payment_method_data: '[redacted]',
      'payment_method_data[card][cvc]': '[redacted]',
      card: '[redacted]',
      metadata: { out_trade_no: 'att_1' },
      payment_method_types: ['card'],
    });
  });
});
