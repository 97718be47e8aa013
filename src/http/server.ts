import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { createAuthenticator, ownerOf } from './auth.ts';
import type { AppContext } from './context.ts';
import { sendError, toClearwayError } from './error-response.ts';
import { createIdempotency } from './idempotency.ts';
import { validatorCompiler } from './validation.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerMerchantRoutes } from '../merchants/routes.ts';
import { registerCouponRoutes } from '../orders/coupon-routes.ts';
import { registerOrderRoutes } from '../orders/routes.ts';
import { registerPaymentRoutes } from '../payments/routes.ts';
import { registerNotificationRoutes } from '../payments/notification-routes.ts';
import { registerWebhookRoutes } from '../webhooks/routes.ts';
import { registerRiskRoutes } from '../risk/routes.ts';
import { registerRoutingRoutes } from '../routing/routes.ts';
import { registerFinanceRoutes } from '../stream/routes.ts';
import { registerPricingRoutes } from '../pricing/routes.ts';
import { registerBalanceRoutes } from '../ledger/routes.ts';

export interface ServerExtras {
  /** Mounts more routes (the sandboxes, in `serve`). */
  readonly register?: (app: FastifyInstance) => Promise<void>;
}

export async function buildServer(ctx: AppContext, extras: ServerExtras = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    // Per-request lines are off: the onResponse hook counts and times every request instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.request_body_bytes_max,
    genReqId: () => newId('request'),
    requestIdHeader: false,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.setValidatorCompiler(validatorCompiler);
  // The API speaks JSON only: any other media type is a 415, not a string body.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  app.decorateRequest('idempotency', null);

  const authenticate = createAuthenticator(ctx);
  const idempotency = createIdempotency(ctx);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
  });
  app.addHook('onRequest', authenticate);
  app.addHook('preHandler', idempotency.claim);
  app.addHook('onSend', async (request, reply, payload) => {
    await idempotency.settle(request, reply, payload);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, request, reply) => {
    const coded = toClearwayError(error as FastifyError);
    if (coded.code === 'internal_error') request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, coded);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new ClearwayError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`)));

  await app.register(rateLimit, {
    global: true,
    max: ctx.config.rateLimitPerMinute,
    timeWindow: 60_000,
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? ownerOf(request.principal) : request.ip),
    errorResponseBuilder: (_request, context) =>
      Object.assign(new ClearwayError('rate_limited', `Rate limit of ${context.max} requests a minute reached; retry after ${context.after}.`), {
        statusCode: 429,
      }),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Clearway API', version: '1', description: 'Orders, payments and refunds. Amounts are integers in minor units.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // A sandbox's provider paths (/sandbox/card_a/v1/..., /sandbox/alipay/gateway.do) are the
    // provider's protocol, not ours; our own sandbox control routes are under /sandbox/:channel.
    transform: ({ schema, url }) => ({ schema: (url.startsWith('/sandbox/') && !url.startsWith('/sandbox/:channel') ? { ...schema, hide: true } : schema) as typeof schema, url }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, async () => app.swagger());

  registerHealthRoutes(app, ctx);
  registerMerchantRoutes(app, ctx);
  registerCouponRoutes(app, ctx);
  registerOrderRoutes(app, ctx);
  registerPaymentRoutes(app, ctx);
  registerNotificationRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerRiskRoutes(app, ctx);
  registerRoutingRoutes(app, ctx);
  registerFinanceRoutes(app, ctx);
  registerPricingRoutes(app, ctx);
  registerBalanceRoutes(app, ctx);
  if (extras.register) await extras.register(app);
  return app;
}
