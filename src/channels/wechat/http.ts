// HTTP mechanics per flow for WeChat Pay API v3: each request signed with the merchant key
// (Authorization: WECHATPAY2-SHA256-RSA2048 ...), sent over node:http(s) through the
// connector's own keep-alive agent under a timer, and each response's Wechatpay-* signature
// verified with the platform key before its body is handed on. A request that certainly never
// left is `not_sent`; a timeout, reset or anything after the bytes may have left is `unknown`
// (classifyTransportError, in ../shared/http-exchange.ts). A response that is not signed by
// our platform key is `unknown`: it might be anyone's.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Agent as HttpAgent, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChannelCallFailure } from '../contract.ts';
import { createKeepAliveAgent, httpExchange, httpTargetOf, type ResponseReader } from '../shared/http-exchange.ts';
import { wechatConnectorLimits } from './limits.ts';
import { authorizationHeader, requestSignatureMessage, signSha256WithRsa, signedHeadersOf, verifyWechatSignature } from './signature.ts';

export interface WechatLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface WechatHttpConfig {
  readonly baseUrl: string;
  readonly mchid: string;
  readonly merchantSerialNo: string;
  readonly merchantPrivateKey: KeyObject;
  readonly platformSerialNo: string;
  readonly platformPublicKey: KeyObject;
  readonly timeoutMs: number;
  readonly channel: string;
  now_seconds(): number;
  readonly logger?: WechatLogger;
}

export interface WechatHttp {
  readonly config: WechatHttpConfig;
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number | undefined;
  readonly basePath: string;
  readonly agent: HttpAgent;
  close(): void;
}

/** A verified response: status and parsed JSON body (null for an empty body). */
export type WechatExchange = { readonly kind: 'response'; readonly status: number; readonly body: unknown } | ChannelCallFailure;

export function createWechatHttp(config: WechatHttpConfig): WechatHttp {
  const url = new URL(config.baseUrl);
  const { secure, hostname, port } = httpTargetOf(url, 'createWechatHttp: baseUrl');
  const agent = createKeepAliveAgent(secure, wechatConnectorLimits);
  return Object.freeze({
    config,
    secure,
    hostname,
    port,
    basePath: url.pathname.replace(/\/+$/, ''),
    agent,
    close: () => agent.destroy(),
  });
}

const nonceAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function newNonce(length: number = wechatConnectorLimits.nonce_length): string {
  let out = '';
  for (const byte of randomBytes(length)) out += nonceAlphabet[byte % nonceAlphabet.length]; // slight bias is harmless for a nonce
  return out;
}

/**
 * The Authorization header for one request. The signed URL is the path as WeChat sees it: a
 * base URL's path prefix (a sandbox mounted under /sandbox/...) is part of it.
 */
export function authorizationFor(config: Pick<WechatHttpConfig, 'mchid' | 'merchantSerialNo' | 'merchantPrivateKey'>, method: string, signedPath: string, body: string, timestamp: string, nonce: string): string {
  const signature = signSha256WithRsa(requestSignatureMessage(method, signedPath, timestamp, nonce, body), config.merchantPrivateKey);
  return authorizationHeader({ mchid: config.mchid, nonce_str: nonce, signature, timestamp, serial_no: config.merchantSerialNo });
}

export function send(http: WechatHttp, method: 'GET' | 'POST', path: string, json: object | null): Promise<WechatExchange> {
  const { config } = http;
  const fullPath = `${http.basePath}${path}`;
  const body = json === null ? '' : JSON.stringify(json);
  const bytes = Buffer.from(body, 'utf8');
  const headers: OutgoingHttpHeaders = {
    authorization: authorizationFor(config, method, fullPath, body, String(config.now_seconds()), newNonce()),
    accept: 'application/json',
    'user-agent': 'Clearway/0.1 (wechatpay connector)',
  };
  if (json !== null) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = bytes.length;
  }
  const started = performance.now();
  const reader: ResponseReader<WechatExchange> = {
    bodyBytesMax: wechatConnectorLimits.response_body_bytes_max,
    overMax: (status) => ({ kind: 'unknown', reason: `http ${status} with a body over ${wechatConnectorLimits.response_body_bytes_max} bytes` }),
    complete: (status, raw, response) => verified(config, status, response.headers, raw.toString('utf8')),
  };
  return httpExchange({
    target: http,
    agent: http.agent,
    method,
    path: fullPath,
    headers,
    body: bytes,
    timeoutMs: config.timeoutMs,
    reader,
    settled: (exchange) => logExchange(config, method, path, exchange, performance.now() - started),
  });
}

/** The response, once its signature names and verifies with our platform key; `unknown` otherwise. */
export function verified(config: WechatHttpConfig, status: number, headers: Readonly<Record<string, string | string[] | undefined>>, raw: string): WechatExchange {
  const check = verifyWechatSignature(
    signedHeadersOf(headers),
    raw,
    { serial_no: config.platformSerialNo, public_key: config.platformPublicKey },
    config.now_seconds(),
    wechatConnectorLimits.signature_tolerance_seconds,
  );
  if (!check.ok) return { kind: 'unknown', reason: `http ${status} response not believed: ${check.reason}` };
  if (raw === '') return { kind: 'response', status, body: null };
  try {
    return { kind: 'response', status, body: JSON.parse(raw) as unknown };
  } catch {
    return { kind: 'unknown', reason: `http ${status} with a signed body that is not JSON` };
  }
}

function summarize(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const key of ['code', 'trade_state', 'status', 'out_trade_no', 'out_refund_no', 'transaction_id'] as const) if (typeof record[key] === 'string') summary[key] = record[key];
  return summary;
}

function logExchange(config: WechatHttpConfig, method: string, path: string, exchange: WechatExchange, elapsed: number): void {
  const logger = config.logger;
  if (logger === undefined) return;
  const record: Record<string, unknown> = { provider: 'wechatpay', channel: config.channel, method, path: path.split('?')[0], duration_ms: Math.round(elapsed * 10) / 10 };
  if (exchange.kind !== 'response') {
    logger.warn({ ...record, outcome: exchange.kind, reason: exchange.reason }, 'wechatpay call failed');
    return;
  }
  if (logger.isLevelEnabled !== undefined && !logger.isLevelEnabled('debug')) return;
  logger.debug({ ...record, status: exchange.status, response: summarize(exchange.body) }, 'wechatpay call');
}

// ---------------------------------------------------------------- flows

export const nativePath = '/v3/pay/transactions/native';
export const queryPath = (out_trade_no: string, mchid: string): string => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(out_trade_no)}?mchid=${encodeURIComponent(mchid)}`;
export const closePath = (out_trade_no: string): string => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(out_trade_no)}/close`;
export const refundsPath = '/v3/refund/domestic/refunds';
export const refundQueryPath = (out_refund_no: string): string => `/v3/refund/domestic/refunds/${encodeURIComponent(out_refund_no)}`;

export const createNative = (http: WechatHttp, body: object): Promise<WechatExchange> => send(http, 'POST', nativePath, body);
export const queryByTradeNumber = (http: WechatHttp, out_trade_no: string): Promise<WechatExchange> => send(http, 'GET', queryPath(out_trade_no, http.config.mchid), null);
export const closeByTradeNumber = (http: WechatHttp, out_trade_no: string): Promise<WechatExchange> => send(http, 'POST', closePath(out_trade_no), { mchid: http.config.mchid });
export const createRefund = (http: WechatHttp, body: object): Promise<WechatExchange> => send(http, 'POST', refundsPath, body);
export const queryRefund = (http: WechatHttp, out_refund_no: string): Promise<WechatExchange> => send(http, 'GET', refundQueryPath(out_refund_no), null);
