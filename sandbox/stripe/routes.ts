import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkAuthorization } from './auth.ts';
import type { Endpoint, EndpointContext } from './context.ts';
import { errorBody } from './errors.ts';
import type { FaultState } from './faults.ts';
import { canonicalParams, parseForm } from './form.ts';
import type { Holds } from './holds.ts';
import { dropConnection } from '../shared/lifecycle.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { stripeId } from './ids.ts';
import { sandboxLimits } from './limits.ts';
import { listPaymentIntents, searchPaymentIntents } from './listing.ts';
import { stripeApiVersion } from './objects.ts';
import { cancelPaymentIntent, confirmPaymentIntent, createPaymentIntent, retrievePaymentIntent } from './payments.ts';
import { createRefund, retrieveCharge, retrieveRefund } from './refunds.ts';

// Stripe's paths on a fastify instance, and the order every request goes through:
// outage -> latency -> auth -> injected 500 -> parameters -> idempotency -> endpoint ->
// save under the idempotency key -> timeout hold -> response.

export interface RouteDeps {
  readonly context: EndpointContext;
  readonly idempotency: IdempotencyStore;
  readonly faults: FaultState;
  readonly holds: Holds;
  readonly secretKey: string;
  readonly timeoutHoldMs: number;
  now_ms(): number;
}

interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly name: string;
  readonly endpoint: Endpoint;
}

const routes: readonly RouteSpec[] = [
  { method: 'POST', url: '/v1/payment_intents', name: 'payment_intents.create', endpoint: createPaymentIntent },
  { method: 'GET', url: '/v1/payment_intents', name: 'payment_intents.list', endpoint: listPaymentIntents },
  { method: 'GET', url: '/v1/payment_intents/search', name: 'payment_intents.search', endpoint: searchPaymentIntents },
  { method: 'GET', url: '/v1/payment_intents/:id', name: 'payment_intents.retrieve', endpoint: retrievePaymentIntent },
  { method: 'POST', url: '/v1/payment_intents/:id/confirm', name: 'payment_intents.confirm', endpoint: confirmPaymentIntent },
  { method: 'POST', url: '/v1/payment_intents/:id/cancel', name: 'payment_intents.cancel', endpoint: cancelPaymentIntent },
  { method: 'POST', url: '/v1/refunds', name: 'refunds.create', endpoint: createRefund },
  { method: 'GET', url: '/v1/refunds/:id', name: 'refunds.retrieve', endpoint: retrieveRefund },
  { method: 'GET', url: '/v1/charges/:id', name: 'charges.retrieve', endpoint: retrieveCharge },
];

export async function registerStripeRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  // Form bodies whatever the declared type (Stripe reads v1 bodies as forms); scoped to this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: sandboxLimits.request_body_bytes_max }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? 400 : 500;
    const type = status === 400 ? 'invalid_request_error' : 'api_error';
    return reply.code(status).type('application/json').send(errorBody(type, error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const message = `Unrecognized request URL (${request.method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`;
    return reply.code(404).type('application/json').send(errorBody('invalid_request_error', message));
  });
  for (const spec of routes) {
    app.route({ method: spec.method, url: spec.url, handler: (request, reply) => handle(deps, spec, request, reply) });
  }
}

async function handle(deps: RouteDeps, spec: RouteSpec, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const request_id = stripeId('req');
  const version = request.headers['stripe-version'];
  reply.header('request-id', request_id).header('stripe-version', typeof version === 'string' ? version : stripeApiVersion);
  if (deps.faults.get().outage) {
    return send(reply.header('stripe-should-retry', 'true'), 503, errorBody('api_error', 'Stripe is temporarily unavailable (sandbox outage).'));
  }
  if ((await deps.holds.wait(deps.faults.get().latency_ms)) === 'closed') return dropConnection(request, reply);
  const auth = checkAuthorization(request.headers.authorization, deps.secretKey);
  if (!auth.ok) return send(reply, 401, auth.body);
  if (deps.faults.roll('error_rate')) {
    return send(reply.header('stripe-should-retry', 'true'), 500, errorBody('api_error', 'An unknown error occurred (sandbox injected error; nothing was processed).'));
  }
  const raw = spec.method === 'POST' ? (typeof request.body === 'string' ? request.body : '') : (request.raw.url ?? '').split('?')[1] ?? '';
  const params = parseForm(raw);
  if (!params.ok) return send(reply, 400, errorBody('invalid_request_error', params.message, { code: 'parameter_invalid', param: params.param }));
  const key = spec.method === 'POST' ? idempotencyKey(request) : null;
  if (key !== null && (key.length === 0 || key.length > sandboxLimits.idempotency_key_length_max)) {
    return send(reply, 400, errorBody('invalid_request_error', `Idempotency-Key must be 1..${sandboxLimits.idempotency_key_length_max} characters.`));
  }
  const path = request.params as Record<string, string>;
  const fingerprint = `${spec.name} ${canonicalParams(path)} ${canonicalParams(params.value)}`;
  if (key !== null) {
    reply.header('idempotency-key', key);
    const found = deps.idempotency.lookup(key, fingerprint, deps.now_ms());
    if (found.kind === 'replay') {
      reply.header('idempotent-replayed', 'true').header('original-request', found.saved.request_id);
      return sendJson(reply, found.saved.status, found.saved.body_json);
    }
    if (found.kind === 'mismatch') {
      const message = `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`;
      return send(reply, 400, errorBody('idempotency_error', message));
    }
  }
  const result = spec.endpoint(deps.context, { params: params.value, path, request: { request_id, idempotency_key: key } });
  const body_json = JSON.stringify(result.body);
  if (key !== null && result.saved) {
    deps.idempotency.save(key, fingerprint, { status: result.status, body_json, request_id }, deps.now_ms());
  }
  if (deps.faults.roll('timeout_rate') && (await deps.holds.wait(deps.timeoutHoldMs)) === 'closed') return dropConnection(request, reply);
  return sendJson(reply, result.status, body_json);
}

function idempotencyKey(request: FastifyRequest): string | null {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : value;
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return sendJson(reply, status, JSON.stringify(body));
}

function sendJson(reply: FastifyReply, status: number, json: string): FastifyReply {
  return reply.code(status).type('application/json').send(json);
}

