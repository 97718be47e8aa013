// HTTP mechanics per flow: one request each, Node's fetch with an AbortSignal timeout, and the
// classification of what came back. A request that certainly never left (connection refused,
// DNS, TLS handshake) is `not_sent`; a timeout, reset or anything after the bytes may have left
// is `unknown`. Bodies are read as JSON; what they mean is the transformers' business.
import type { ChannelCallFailure } from '../contract.ts';
import { encodeForm, type FormFields } from './form.ts';
import { stripeConnectorLimits } from './limits.ts';

/** The API version this connector's transformers are written against (sent as Stripe-Version). */
export const stripeApiVersion = '2025-08-27.basil';

export interface StripeHttpConfig {
  readonly baseUrl: string;
  readonly secretKey: string;
  readonly timeoutMs: number;
}

export type StripeExchange = { readonly kind: 'response'; readonly status: number; readonly body: unknown } | ChannelCallFailure;

interface RequestOptions {
  readonly form?: FormFields;
  readonly query?: FormFields;
  readonly idempotencyKey?: string;
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

export function urlFor(baseUrl: string, path: string, query?: FormFields): string {
  const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
  return query === undefined ? url : `${url}?${encodeForm(query)}`;
}

async function send(config: StripeHttpConfig, method: 'GET' | 'POST', path: string, options: RequestOptions): Promise<StripeExchange> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${config.secretKey}`,
    'stripe-version': stripeApiVersion,
    'user-agent': 'Clearway/0.1 (stripe connector)',
    accept: 'application/json',
  };
  if (options.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const signal = AbortSignal.timeout(config.timeoutMs);
  try {
    const response = await fetch(urlFor(config.baseUrl, path, options.query), {
      method,
      headers,
      body: options.form === undefined ? undefined : encodeForm(options.form),
      signal,
    });
    const text = await response.text(); // under the same timeout signal
    return { kind: 'response', status: response.status, body: parseBody(text) };
  } catch (error) {
    return classifyTransportError(error, config.timeoutMs);
  }
}

function parseBody(text: string): unknown {
  if (text.length > stripeConnectorLimits.response_body_bytes_max) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- flows

/** POST /v1/payment_intents (create and confirm), idempotent on our trade number. */
export function createPaymentIntent(config: StripeHttpConfig, form: FormFields, out_trade_no: string): Promise<StripeExchange> {
  return send(config, 'POST', '/v1/payment_intents', { form, idempotencyKey: out_trade_no });
}

/** GET /v1/payment_intents/search?query=... */
export function searchPaymentIntents(config: StripeHttpConfig, query: string): Promise<StripeExchange> {
  return send(config, 'GET', '/v1/payment_intents/search', { query: { query, limit: String(stripeConnectorLimits.search_page_size) } });
}

/** GET /v1/payment_intents?created[gte]=...: newest first, strongly consistent. */
export function listPaymentIntents(config: StripeHttpConfig, created_gte_seconds: number, starting_after: string | null): Promise<StripeExchange> {
  const query: Record<string, string | Record<string, string>> = {
    limit: String(stripeConnectorLimits.list_page_size),
    created: { gte: String(created_gte_seconds) },
  };
  if (starting_after !== null) query['starting_after'] = starting_after;
  return send(config, 'GET', '/v1/payment_intents', { query });
}

/** POST /v1/refunds, idempotent on our refund number. */
export function createRefund(config: StripeHttpConfig, form: FormFields, out_refund_no: string): Promise<StripeExchange> {
  return send(config, 'POST', '/v1/refunds', { form, idempotencyKey: out_refund_no });
}
