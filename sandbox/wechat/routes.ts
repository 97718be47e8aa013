// WeChat Pay's /v3 paths on a fastify instance, and the order every request goes through:
// outage (503, unsigned, as from a load balancer) -> latency -> Authorization check (401
// SIGN_ERROR) -> injected 500 SYSTEM_ERROR (nothing done) -> JSON body -> endpoint -> timeout
// hold (done, answer held back) -> response signed with the platform key.
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FaultState } from '../stripe/faults.ts';
import type { Holds } from '../stripe/holds.ts';
import { dropConnection } from '../shared/lifecycle.ts';
import { parseAuthorization, platformSignature, randomString, verifyMerchantSignature } from './crypto.ts';
import { closeTrade, createRefund, error, nativePay, queryRefund, queryTrade, type Answer, type EndpointContext } from './endpoints.ts';
import { wechatSandboxLimits } from './limits.ts';

export interface RouteDeps {
  readonly context: EndpointContext;
  readonly faults: FaultState;
  readonly holds: Holds;
  readonly merchantSerial: string;
  readonly merchantPublicKey: KeyObject;
  readonly platformPrivateKey: KeyObject;
  readonly platformSerial: string;
  readonly timeoutHoldMs: number;
  now_seconds(): number;
}

interface Parsed {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: unknown;
}

interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly run: (context: EndpointContext, input: Parsed) => Answer;
}

const routes: readonly RouteSpec[] = [
  { method: 'POST', url: '/v3/pay/transactions/native', run: (c, i) => nativePay(c, i.body) },
  { method: 'GET', url: '/v3/pay/transactions/out-trade-no/:out_trade_no', run: (c, i) => queryTrade(c, i.params['out_trade_no'] ?? '', i.query['mchid']) },
  { method: 'POST', url: '/v3/pay/transactions/out-trade-no/:out_trade_no/close', run: (c, i) => closeTrade(c, i.params['out_trade_no'] ?? '', i.body) },
  { method: 'POST', url: '/v3/refund/domestic/refunds', run: (c, i) => createRefund(c, i.body) },
  { method: 'GET', url: '/v3/refund/domestic/refunds/:out_refund_no', run: (c, i) => queryRefund(c, i.params['out_refund_no'] ?? '') },
];

export async function registerWechatRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  // The raw body is what the merchant signed: keep it as a string, parse it here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: wechatSandboxLimits.request_body_bytes_max }, (_request, body, done) => done(null, body));
  app.setErrorHandler((failure: { statusCode?: number; message: string }, _request, reply) => {
    const client = failure.statusCode !== undefined && failure.statusCode >= 400 && failure.statusCode < 500;
    return signed(deps, reply, client ? error(400, 'PARAM_ERROR', failure.message) : error(500, 'SYSTEM_ERROR', '系统错误'));
  });
  app.setNotFoundHandler((_request, reply) => signed(deps, reply, error(404, 'NOT_FOUND', '请求的资源不存在')));
  for (const spec of routes) app.route({ method: spec.method, url: spec.url, handler: (request, reply) => handle(deps, spec, request, reply) });
}

async function handle(deps: RouteDeps, spec: RouteSpec, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('Request-ID', randomString(32));
  if (deps.faults.get().outage) {
    return reply.code(503).type('application/json').send(JSON.stringify({ code: 'SYSTEM_ERROR', message: '系统繁忙，请稍后重试 (sandbox outage)' }));
  }
  if ((await deps.holds.wait(deps.faults.get().latency_ms)) === 'closed') return dropConnection(request, reply);
  const raw = typeof request.body === 'string' ? request.body : '';
  const refusal = checkAuthorization(deps, request, raw);
  if (refusal !== null) return signed(deps, reply, error(401, 'SIGN_ERROR', refusal));
  if (deps.faults.roll('error_rate')) return signed(deps, reply, error(500, 'SYSTEM_ERROR', '系统错误 (sandbox injected error; nothing was processed)'));
  let body: unknown = null;
  if (spec.method === 'POST') {
    try {
      body = JSON.parse(raw);
    } catch {
      return signed(deps, reply, error(400, 'PARAM_ERROR', '请求体不是合法的JSON'));
    }
  }
  const answer = spec.run(deps.context, { params: request.params as Record<string, string>, query: request.query as Record<string, string | undefined>, body });
  if (deps.faults.roll('timeout_rate') && (await deps.holds.wait(deps.timeoutHoldMs)) === 'closed') return dropConnection(request, reply);
  return signed(deps, reply, answer);
}

/** Null when the Authorization header is the merchant's, fresh, and signs this very request; else why not. */
function checkAuthorization(deps: RouteDeps, request: FastifyRequest, raw: string): string | null {
  const header = request.headers.authorization;
  const auth = parseAuthorization(typeof header === 'string' ? header : undefined);
  if (auth === null) return 'Authorization 头缺失或格式错误';
  if (auth.mchid !== deps.context.mchid) return '商户号与签名不匹配';
  if (auth.serial_no !== deps.merchantSerial) return '商户证书序列号不正确';
  if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(deps.now_seconds() - Number(auth.timestamp)) > wechatSandboxLimits.request_timestamp_tolerance_seconds) return '请求时间戳已过期';
  if (!verifyMerchantSignature(auth, request.method, request.raw.url ?? '', raw, deps.merchantPublicKey)) return '签名错误';
  return null;
}

function signed(deps: RouteDeps, reply: FastifyReply, answer: Answer): FastifyReply {
  const json = answer.body === null ? '' : JSON.stringify(answer.body);
  const headers = platformSignature(json, deps.now_seconds(), deps.platformPrivateKey, deps.platformSerial);
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  if (answer.body === null) return reply.code(answer.status).send();
  return reply.code(answer.status).type('application/json; charset=utf-8').send(json);
}

