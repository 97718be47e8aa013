// HTTP mechanics of the gateway: one POST per call over node:http(s) through a keep-alive agent
// of the connector's own, the common parameters in the query string and biz_content in the form
// body (as Alipay's own SDKs send them), a timer that destroys the request when the call's time
// is up, and the transport classification shared by the connectors (../shared/http-exchange.ts): never
// sent -> `not_sent`; timeout, reset or anything after the bytes may have left -> `unknown`.
// The body is returned as text: its signature covers the exact bytes of the response node.
import type { Agent as HttpAgent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ChannelCallFailure } from '../contract.ts';
import { createKeepAliveAgent, httpExchange, httpTargetOf, type ResponseReader } from '../shared/http-exchange.ts';
import { alipayConnectorLimits } from './limits.ts';

export interface AlipayLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AlipayHttp {
  readonly gateway: URL;
  readonly timeoutMs: number;
  readonly agent: HttpAgent;
  readonly channel: string;
  readonly logger: AlipayLogger | undefined;
  close(): void;
}

export type AlipayExchange = { readonly kind: 'response'; readonly status: number; readonly text: string } | ChannelCallFailure;

export function createAlipayHttp(gatewayUrl: string, timeoutMs: number, channel: string, logger?: AlipayLogger): AlipayHttp {
  const gateway = new URL(gatewayUrl);
  const agent = createKeepAliveAgent(httpTargetOf(gateway, 'createAlipayHttp: gatewayUrl').secure, alipayConnectorLimits);
  return Object.freeze({ gateway, timeoutMs, agent, channel, logger, close: () => agent.destroy() });
}

/** POST the signed fields to the gateway. biz_content travels in the body, everything else in the query. */
export function postToGateway(http: AlipayHttp, fields: Readonly<Record<string, string>>): Promise<AlipayExchange> {
  const query = new URLSearchParams();
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) (name === 'biz_content' ? form : query).append(name, value);
  const body = Buffer.from(form.toString(), 'utf8');
  const base = http.gateway;
  const path = `${base.pathname}${base.search === '' ? '?' : `${base.search}&`}${query.toString()}`;
  const started = performance.now();
  return httpExchange({
    target: httpTargetOf(base, 'postToGateway: gateway'),
    agent: http.agent,
    method: 'POST',
    path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
      'content-length': body.length,
      accept: 'application/json',
      'user-agent': 'Clearway/0.1 (alipay connector)',
    },
    body,
    timeoutMs: http.timeoutMs,
    reader: alipayReader,
    settled: (exchange) => log(http, fields['method'] ?? '', exchange, performance.now() - started),
  });
}

const alipayReader: ResponseReader<AlipayExchange> = {
  bodyBytesMax: alipayConnectorLimits.response_body_bytes_max,
  overMax: () => ({ kind: 'unknown', reason: `response body over ${alipayConnectorLimits.response_body_bytes_max} bytes` }),
  complete: (status, raw) => ({ kind: 'response', status, text: raw.toString('utf8') }),
};

function log(http: AlipayHttp, method: string, exchange: AlipayExchange, elapsed: number): void {
  if (http.logger === undefined) return;
  // Fields and bodies carry no secrets (the sign is public), but the private key never is in them anyway.
  const record: Record<string, unknown> = { provider: 'alipay', channel: http.channel, method, duration_ms: Math.round(elapsed * 10) / 10 };
  if (exchange.kind !== 'response') {
    http.logger.warn({ ...record, outcome: exchange.kind, reason: exchange.reason }, 'alipay call failed');
    return;
  }
  http.logger.debug({ ...record, status: exchange.status, bytes: exchange.text.length }, 'alipay call');
}
