// The shared exchange against a raw TCP server: what a well-behaved, a silent, an over-long and a
// hanging-up server turn into, and the transport classification on its own.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelCallFailure } from '../contract.ts';
import { classifyTransportError, createKeepAliveAgent, httpExchange, httpTargetOf, type ResponseReader } from './http-exchange.ts';

type Result = { readonly kind: 'response'; readonly status: number; readonly text: string } | ChannelCallFailure;

const reader: ResponseReader<Result> = {
  bodyBytesMax: 64,
  overMax: (status) => ({ kind: 'unknown', reason: `http ${status} over 64` }),
  complete: (status, raw) => ({ kind: 'response', status, text: raw.toString('utf8') }),
};

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const item of opened.splice(0)) item.close();
});

async function raw(answer: (chunk: Buffer, socket: Socket) => void): Promise<{ url: URL; received: Buffer[] }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
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
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/base`), received };
}

function call(url: URL, options: { timeoutMs?: number; body?: Buffer | null; settled?: (outcome: Result) => void } = {}): Promise<Result> {
  const target = httpTargetOf(url, 'test: url');
  const agent = createKeepAliveAgent(target.secure, { sockets_max: 4, idle_socket_ms: 1_000 });
  opened.push({ close: () => agent.destroy() });
  const body = options.body === undefined ? Buffer.from('a=1', 'utf8') : options.body;
  return httpExchange<Result>({
    target,
    agent,
    method: 'POST',
    path: '/base/x?y=1',
    headers: body === null ? {} : { 'content-type': 'text/plain', 'content-length': body.length },
    body,
    timeoutMs: options.timeoutMs ?? 2_000,
    reader,
    ...(options.settled === undefined ? {} : { settled: options.settled }),
  });
}

const ok = (text: string): string => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;

describe('httpExchange', () => {
  it('sends headers and body in one write and reads the whole response', async () => {
    const server = await raw((_chunk, socket) => socket.write(ok('{"ok":true}')));
    const seen: Result[] = [];
    const result = await call(server.url, { settled: (outcome) => seen.push(outcome) });
    expect(result).toEqual({ kind: 'response', status: 200, text: '{"ok":true}' });
    expect(seen).toEqual([result]);
    expect(server.received).toHaveLength(1);
    const request = server.received[0]?.toString('utf8') ?? '';
    expect(request.startsWith('POST /base/x?y=1 HTTP/1.1\r\n')).toBe(true);
    expect(request.endsWith('\r\n\r\na=1')).toBe(true);
  });

  it('ends with no body when there is none', async () => {
    const server = await raw((_chunk, socket) => socket.write(ok('')));
    expect(await call(server.url, { body: null })).toEqual({ kind: 'response', status: 200, text: '' });
  });

  it('caps the body', async () => {
    const server = await raw((_chunk, socket) => socket.write(ok('x'.repeat(200))));
    expect(await call(server.url)).toEqual({ kind: 'unknown', reason: 'http 200 over 64' });
  });

  it('lets the reader answer before the body is read', async () => {
    const server = await raw((_chunk, socket) => socket.write(ok('ignored')));
    const target = httpTargetOf(server.url, 'test: url');
    const agent = createKeepAliveAgent(false, { sockets_max: 1, idle_socket_ms: 1_000 });
    opened.push({ close: () => agent.destroy() });
    const result = await httpExchange<Result>({
      target, agent, method: 'GET', path: '/', headers: {}, body: null, timeoutMs: 2_000,
      reader: { ...reader, before: (status) => ({ kind: 'response', status, text: 'early' }) },
    });
    expect(result).toEqual({ kind: 'response', status: 200, text: 'early' });
  });

  it('is unknown when the server says nothing in time', async () => {
    const server = await raw(() => undefined);
    expect(await call(server.url, { timeoutMs: 100 })).toEqual({ kind: 'unknown', reason: 'timeout after 100 ms' });
  });

  it('is unknown when the connection is reset after the request left', async () => {
    const server = await raw((_chunk, socket) => socket.destroy());
    expect((await call(server.url)).kind).toBe('unknown');
  });

  it('is unknown when the response is cut short', async () => {
    const server = await raw((_chunk, socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\npartial');
      setTimeout(() => socket.destroy(), 20);
    });
    expect((await call(server.url)).kind).toBe('unknown');
  });

  it('is not_sent when the connection is refused', async () => {
    const server = await raw(() => undefined);
    const url = server.url;
    for (const item of opened.splice(0)) item.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await call(url)).toEqual({ kind: 'not_sent', reason: 'connection failed: ECONNREFUSED' });
  });
});

describe('httpTargetOf', () => {
  it('takes a URL apart and refuses other protocols', () => {
    expect(httpTargetOf(new URL('https://[::1]:8443/x'), 'who')).toEqual({ secure: true, hostname: '::1', port: 8443 });
    expect(httpTargetOf(new URL('http://example.test/'), 'who')).toEqual({ secure: false, hostname: 'example.test', port: undefined });
    expect(() => httpTargetOf(new URL('ftp://example.test/'), 'who')).toThrow('who must be http(s)');
  });
});

describe('classifyTransportError', () => {
  it('is not_sent only when every code means the connection never was', () => {
    expect(classifyTransportError({ code: 'ECONNREFUSED' }, 5)).toEqual({ kind: 'not_sent', reason: 'connection failed: ECONNREFUSED' });
    expect(classifyTransportError({ code: 'ENOTFOUND', cause: { code: 'EAI_AGAIN' } }, 5).kind).toBe('not_sent');
    expect(classifyTransportError({ errors: [{ code: 'ECONNREFUSED' }, { code: 'ECONNRESET' }] }, 5).kind).toBe('unknown');
    expect(classifyTransportError({ code: 'ECONNRESET' }, 5)).toEqual({ kind: 'unknown', reason: 'transport error: ECONNRESET' });
    expect(classifyTransportError({ name: 'TimeoutError' }, 5)).toEqual({ kind: 'unknown', reason: 'timeout after 5 ms' });
    expect(classifyTransportError(new Error('odd'), 5)).toEqual({ kind: 'unknown', reason: 'transport error: odd' });
  });
});
