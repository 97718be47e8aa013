// HTTP mechanics per flow: one request each over node:http(s) through a keep-alive agent of the
// connector's own, a timer that destroys the request when the call's time is up, and the
// classification of what came back. A request that certainly never left (connection refused,
// DNS, TLS handshake) is `not_sent`; a timeout, reset or anything after the bytes may have left
// is `unknown`. Bodies are read as JSON; what they mean is the transformers' business.
//
// Why not fetch: on the hot path (one call per payment, often over loopback) its web streams,
// AbortSignal and decompression machinery cost a visible share of the event loop. Here a call
// is one write (headers and body corked together by a single end(buffer)) on a reused socket,
// and the response is read as plain Buffers. No Accept-Encoding is sent; a compressed answer
// anyway is decoded when it is gzip, deflate or br, and refused as `unknown` otherwise.
import type { Agent as HttpAgent, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { ChannelCallFailure } from '../contract.ts';
import { createKeepAliveAgent, httpExchange, httpTargetOf, type ResponseReader } from '../shared/http-exchange.ts';
import { encodeForm, type FormFields } from './form.ts';
import { stripeConnectorLimits } from './limits.ts';

/** The API version this connector's transformers are written against (sent as Stripe-Version). */
export const stripeApiVersion = '2025-08-27.basil';

/** What the connector logs through: a pino logger fits. `isLevelEnabled`, when there, spares building debug records nobody keeps. */
export interface StripeLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface StripeHttpConfig {
  readonly baseUrl: string;
  readonly secretKey: string;
  readonly timeoutMs: number;
  /** Named in the log records. */
  readonly channel?: string;
  /** Every request and response, redacted: debug; transport failures: warn. None: no logging work at all. */
  readonly logger?: StripeLogger;
}

/** One connector's way to Stripe: its settings, where they point, and the keep-alive agent its calls share. */
export interface StripeHttp {
  readonly config: StripeHttpConfig;
  readonly target: StripeTarget;
  readonly agent: HttpAgent;
  /** Destroys the agent's sockets, idle or busy (busy calls end as `unknown`). */
  close(): void;
}

export type StripeExchange = { readonly kind: 'response'; readonly status: number; readonly body: unknown } | ChannelCallFailure;

interface RequestOptions {
  readonly form?: FormFields;
  readonly query?: FormFields;
  readonly idempotencyKey?: string;
}

/** The base URL taken apart once, and the headers every call sends. */
export interface StripeTarget {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
  /** The base URL's path without its trailing slashes ('' for none). */
  readonly basePath: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function createStripeHttp(config: StripeHttpConfig): StripeHttp {
  const url = new URL(config.baseUrl); // throws on a malformed URL
  const { secure, hostname, port } = httpTargetOf(url, 'createStripeHttp: baseUrl');
  const agent = createKeepAliveAgent(secure, stripeConnectorLimits);
  const target: StripeTarget = Object.freeze({
    secure,
    hostname,
    port,
    basePath: url.pathname.replace(/\/+$/, ''),
    headers: Object.freeze({
      authorization: `Bearer ${config.secretKey}`,
      'stripe-version': stripeApiVersion,
      'user-agent': 'Clearway/0.1 (stripe connector)',
      accept: 'application/json',
    }),
  });
  return Object.freeze({ config, target, agent, close: () => agent.destroy() });
}

export { classifyTransportError } from '../shared/http-exchange.ts';

/** The request path: the base URL's path, Stripe's path, and the query if any. */
export function pathFor(basePath: string, path: string, query?: FormFields): string {
  return query === undefined ? `${basePath}${path}` : `${basePath}${path}?${encodeForm(query)}`;
}

// ---------------------------------------------------------------- one exchange

function send(http: StripeHttp, method: 'GET' | 'POST', path: string, options: RequestOptions): Promise<StripeExchange> {
  const { config: { timeoutMs, logger }, target } = http;
  const headers: OutgoingHttpHeaders = { ...target.headers };
  const body = options.form === undefined ? null : Buffer.from(encodeForm(options.form), 'utf8');
  if (body !== null) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = body.length; // with end(body): headers and body leave in one write
  }
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const started = logger === undefined ? 0 : performance.now();

  return httpExchange({
    target,
    agent: http.agent,
    method,
    path: pathFor(target.basePath, path, options.query),
    headers,
    body,
    timeoutMs,
    reader: stripeReader,
    settled: logger === undefined ? undefined : (exchange) => logExchange(logger, http.config, method, path, options, exchange, performance.now() - started),
  });
}

const stripeReader: ResponseReader<StripeExchange> = {
  bodyBytesMax: stripeConnectorLimits.response_body_bytes_max,
  before: (status: number, response: IncomingMessage): StripeExchange | undefined => {
    const coding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (!decoders.has(coding)) return { kind: 'unknown', reason: `http ${status} answered in content-encoding "${coding}", which was not asked for and cannot be read` };
    // As any over-long body: the status stands, the body is not read.
    if (Number(response.headers['content-length']) > stripeConnectorLimits.response_body_bytes_max) return { kind: 'response', status, body: undefined };
    return undefined;
  },
  overMax: (status) => ({ kind: 'response', status, body: undefined }),
  complete: (status, raw, response) => {
    const coding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    return { kind: 'response', status, body: parseBody(raw, decoders.get(coding) ?? null) };
  },
};

type Decoder = ((raw: Buffer) => Buffer) | null;

const maxOutputLength = stripeConnectorLimits.response_body_bytes_max;
// Keyed by Content-Encoding; a coding not listed (or a list of several) is refused.
const decoders: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  ['identity', null],
  ['gzip', (raw) => gunzipSync(raw, { maxOutputLength })],
  ['x-gzip', (raw) => gunzipSync(raw, { maxOutputLength })],
  ['deflate', (raw) => inflateSync(raw, { maxOutputLength })],
  ['br', (raw) => brotliDecompressSync(raw, { maxOutputLength })],
]);

function parseBody(raw: Buffer, decode: Decoder): unknown {
  try {
    const bytes = decode === null ? raw : decode(raw); // throws beyond maxOutputLength
    if (bytes.length > stripeConnectorLimits.response_body_bytes_max) return undefined;
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- logging

const redacted = '[redacted]';
/** Form fields that carry card or payment method data: never logged. */
const secretFields = new Set(['payment_method', 'payment_method_data', 'card', 'source']);

function isSecretField(name: string): boolean {
  const bracket = name.indexOf('[');
  return secretFields.has(bracket === -1 ? name : name.slice(0, bracket));
}

/** The form as logged: card and payment method data replaced, whole subtrees included. */
export function redactForm(form: FormFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(form)) out[name] = isSecretField(name) ? redacted : value;
  return out;
}

/** What a response body says about itself, and nothing more (an error's payment_intent or payment_method stays out). */
function summarize(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const key of ['id', 'object', 'status'] as const) if (typeof record[key] === 'string') summary[key] = record[key];
  const error = record['error'];
  if (typeof error === 'object' && error !== null) {
    const view = error as Record<string, unknown>;
    for (const key of ['type', 'code', 'decline_code'] as const) if (typeof view[key] === 'string') summary[`error_${key}`] = view[key];
  }
  return summary;
}

function logExchange(logger: StripeLogger, config: StripeHttpConfig, method: string, path: string, options: RequestOptions, exchange: StripeExchange, elapsed: number): void {
  const record: Record<string, unknown> = { provider: 'stripe', channel: config.channel, method, path, duration_ms: Math.round(elapsed * 10) / 10 };
  if (options.idempotencyKey !== undefined) record['idempotency_key'] = options.idempotencyKey;
  if (exchange.kind !== 'response') {
    record['outcome'] = exchange.kind;
    record['reason'] = exchange.reason;
    logger.warn(record, 'stripe call failed');
    return;
  }
  if (logger.isLevelEnabled !== undefined && !logger.isLevelEnabled('debug')) return;
  if (options.query !== undefined) record['query'] = options.query;
  if (options.form !== undefined) record['form'] = redactForm(options.form);
  record['status'] = exchange.status;
  record['response'] = summarize(exchange.body);
  logger.debug(record, 'stripe call');
}

// ---------------------------------------------------------------- flows

/** POST /v1/payment_intents (create and confirm), idempotent on our trade number. */
export function createPaymentIntent(http: StripeHttp, form: FormFields, out_trade_no: string): Promise<StripeExchange> {
  return send(http, 'POST', '/v1/payment_intents', { form, idempotencyKey: out_trade_no });
}

/** GET /v1/payment_intents/search?query=... */
export function searchPaymentIntents(http: StripeHttp, query: string): Promise<StripeExchange> {
  return send(http, 'GET', '/v1/payment_intents/search', { query: { query, limit: String(stripeConnectorLimits.search_page_size) } });
}

/** GET /v1/payment_intents?created[gte]=...: newest first, strongly consistent. */
export function listPaymentIntents(http: StripeHttp, created_gte_seconds: number, starting_after: string | null): Promise<StripeExchange> {
  const query: Record<string, string | Record<string, string>> = {
    limit: String(stripeConnectorLimits.list_page_size),
    created: { gte: String(created_gte_seconds) },
  };
  if (starting_after !== null) query['starting_after'] = starting_after;
  return send(http, 'GET', '/v1/payment_intents', { query });
}

/** POST /v1/refunds, idempotent on our refund number. */
export function createRefund(http: StripeHttp, form: FormFields, out_refund_no: string): Promise<StripeExchange> {
  return send(http, 'POST', '/v1/refunds', { form, idempotencyKey: out_refund_no });
}
