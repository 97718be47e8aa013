// One HTTP exchange over node:http(s), as every connector makes it: through the connector's own
// keep-alive agent, under one timer that covers everything (waiting for a socket, connecting,
// sending, and reading the whole body), with the response body capped, and the transport
// classification shared by all connectors: certainly never sent (connection refused, DNS, TLS
// handshake) -> `not_sent`; timeout, reset or anything after the bytes may have left -> `unknown`.
// What differs between connectors (headers, body, how a response is read into a result) is
// passed in; what a body means is the connector's business.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ChannelCallFailure } from '../contract.ts';

/** Where a base URL points, taken apart once. */
export interface HttpTarget {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
}

/** The target of an http(s) URL; `who` names the caller in the error for any other protocol. */
export function httpTargetOf(url: URL, who: string): HttpTarget {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${who} must be http(s)`);
  return {
    secure: url.protocol === 'https:',
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), // IPv6 literals come bracketed
    port: url.port === '' ? undefined : Number(url.port),
  };
}

export interface KeepAliveLimits {
  readonly sockets_max: number;
  readonly idle_socket_ms: number;
}

/** A connector's own keep-alive agent. */
export function createKeepAliveAgent(secure: boolean, limits: KeepAliveLimits): HttpAgent {
  const options = {
    keepAlive: true,
    scheduling: 'lifo' as const, // reuse the warmest socket; the surplus idles out
    maxSockets: limits.sockets_max,
    maxFreeSockets: limits.sockets_max,
    timeout: limits.idle_socket_ms, // idle sockets only: calls are bounded by their own timer
  };
  return secure ? new HttpsAgent(options) : new HttpAgent(options);
}

/** Error codes meaning the connection was never established, so no request bytes were sent. */
const neverSentCodes = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 3) return;
    const record = value as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof record.code === 'string') codes.push(record.code);
    visit(record.cause, depth + 1);
    if (Array.isArray(record.errors)) for (const inner of record.errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

export function classifyTransportError(error: unknown, timeoutMs: number): ChannelCallFailure {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'unknown', reason: `timeout after ${timeoutMs} ms` };
  const codes = errorCodes(error);
  const code = codes[0] ?? (error instanceof Error ? error.message : 'unknown transport error');
  // Every code seen must be a never-sent one: one reset among them makes it ambiguous.
  if (codes.length > 0 && codes.every((each) => neverSentCodes.has(each))) return { kind: 'not_sent', reason: `connection failed: ${code}` };
  return { kind: 'unknown', reason: `transport error: ${code}` };
}

const timedOut = Object.freeze({ name: 'TimeoutError' });

/** How a connector turns a response into its result. */
export interface ResponseReader<R> {
  readonly bodyBytesMax: number;
  /** Looked at before the body is read: a result ends the exchange there (and the request is destroyed). */
  readonly before?: (status: number, response: IncomingMessage) => R | ChannelCallFailure | undefined;
  /** The result when the body grows past bodyBytesMax (the request is destroyed). */
  readonly overMax: (status: number) => R | ChannelCallFailure;
  /** The result for a whole body. */
  readonly complete: (status: number, raw: Buffer, response: IncomingMessage) => R | ChannelCallFailure;
}

export interface HttpExchangeRequest<R> {
  readonly target: HttpTarget;
  readonly agent: HttpAgent;
  readonly method: string;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  /** Sent with end(body), so headers and body leave in one write; null: end() with no body. */
  readonly body: Buffer | null;
  readonly timeoutMs: number;
  readonly reader: ResponseReader<R>;
  /** Called once with the outcome, just before the promise resolves (logging). */
  readonly settled?: (outcome: R | ChannelCallFailure) => void;
}

/** One request and its whole response; never rejects. */
export function httpExchange<R>(exchange: HttpExchangeRequest<R>): Promise<R | ChannelCallFailure> {
  const { target, timeoutMs, reader } = exchange;
  return new Promise<R | ChannelCallFailure>((resolve) => {
    let settled = false;
    let request: ClientRequest | null = null;
    const finish = (outcome: R | ChannelCallFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      exchange.settled?.(outcome);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(classifyTransportError(timedOut, timeoutMs));
      request?.destroy();
    }, timeoutMs);
    try {
      request = (target.secure ? httpsRequest : httpRequest)({
        hostname: target.hostname,
        port: target.port,
        method: exchange.method,
        path: exchange.path,
        headers: exchange.headers,
        agent: exchange.agent,
      });
    } catch (error) {
      finish(classifyTransportError(error, timeoutMs)); // e.g. a header value Node refuses
      return;
    }
    const sent = request;
    // Before 'connect' this is ECONNREFUSED, ENOTFOUND, a TLS failure...: not_sent; after, unknown.
    sent.on('error', (error) => finish(classifyTransportError(error, timeoutMs)));
    sent.on('response', (response) => readResponse(sent, response, timeoutMs, reader, finish));
    if (exchange.body === null) sent.end();
    else sent.end(exchange.body);
  });
}

function readResponse<R>(request: ClientRequest, response: IncomingMessage, timeoutMs: number, reader: ResponseReader<R>, finish: (outcome: R | ChannelCallFailure) => void): void {
  const status = response.statusCode ?? 0;
  const early = reader.before?.(status, response);
  if (early !== undefined) {
    finish(early);
    request.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > reader.bodyBytesMax) {
      finish(reader.overMax(status));
      request.destroy(); // the socket is not reused with half a body in it
      return;
    }
    chunks.push(chunk);
  });
  response.on('end', () => {
    const raw = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
    finish(reader.complete(status, raw, response));
  });
  response.on('error', (error) => finish(classifyTransportError(error, timeoutMs)));
  response.on('close', () => {
    if (!response.complete) finish(classifyTransportError({ code: 'ECONNRESET', message: 'response cut short' }, timeoutMs));
  });
}
