// HTTP mechanics of the gateway: one POST per call over node:http(s) through a keep-alive agent
// of the connector's own, the common parameters in the query string and biz_content in the form
// body (as Alipay's own SDKs send them), a timer that destroys the request when the call's time
// is up, and the transport classification shared with the Stripe connector: certainly never
// sent -> `not_sent`; timeout, reset or anything after the bytes may have left -> `unknown`.
// The body is returned as text: its signature covers the exact bytes of the response node.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { ChannelCallFailure } from '../contract.ts';
import { classifyTransportError } from '../stripe/http.ts';
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
  if (gateway.protocol !== 'https:' && gateway.protocol !== 'http:') throw new Error('createAlipayHttp: gatewayUrl must be http(s)');
  const options = {
    keepAlive: true,
    scheduling: 'lifo' as const,
    maxSockets: alipayConnectorLimits.sockets_max,
    maxFreeSockets: alipayConnectorLimits.sockets_max,
    timeout: alipayConnectorLimits.idle_socket_ms,
  };
  const agent = gateway.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
  return Object.freeze({ gateway, timeoutMs, agent, channel, logger, close: () => agent.destroy() });
}

const timedOut = Object.freeze({ name: 'TimeoutError' });

/** POST the signed fields to the gateway. biz_content travels in the body, everything else in the query. */
export function postToGateway(http: AlipayHttp, fields: Readonly<Record<string, string>>): Promise<AlipayExchange> {
  const query = new URLSearchParams();
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) (name === 'biz_content' ? form : query).append(name, value);
  const body = Buffer.from(form.toString(), 'utf8');
  const base = http.gateway;
  const path = `${base.pathname}${base.search === '' ? '?' : `${base.search}&`}${query.toString()}`;
  const started = performance.now();
  return new Promise<AlipayExchange>((resolve) => {
    let settled = false;
    let request: ClientRequest | null = null;
    const finish = (exchange: AlipayExchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      log(http, fields['method'] ?? '', exchange, performance.now() - started);
      resolve(exchange);
    };
    const timer = setTimeout(() => {
      finish(classifyTransportError(timedOut, http.timeoutMs));
      request?.destroy();
    }, http.timeoutMs);
    try {
      request = (base.protocol === 'https:' ? httpsRequest : httpRequest)({
        hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: base.port === '' ? undefined : Number(base.port),
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
          'content-length': body.length,
          accept: 'application/json',
          'user-agent': 'Clearway/0.1 (alipay connector)',
        },
        agent: http.agent,
      });
    } catch (error) {
      finish(classifyTransportError(error, http.timeoutMs));
      return;
    }
    const sent = request;
    sent.on('error', (error) => finish(classifyTransportError(error, http.timeoutMs)));
    sent.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > alipayConnectorLimits.response_body_bytes_max) {
          finish({ kind: 'unknown', reason: `response body over ${alipayConnectorLimits.response_body_bytes_max} bytes` });
          sent.destroy();
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => finish({ kind: 'response', status, text: Buffer.concat(chunks, size).toString('utf8') }));
      response.on('error', (error) => finish(classifyTransportError(error, http.timeoutMs)));
      response.on('close', () => {
        if (!response.complete) finish(classifyTransportError({ code: 'ECONNRESET', message: 'response cut short' }, http.timeoutMs));
      });
    });
    sent.end(body);
  });
}

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
