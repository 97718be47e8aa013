// Merchant webhook routes: endpoints, their delivery log, manual redelivery.
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { paginate } from '../http/pagination.ts';
import { errorResponses, idParams, listQuerySchema, listResponse } from '../http/schemas.ts';
import { allEvents, webhookEventTypes } from './domain/event.ts';
import { attemptsOf, findEndpoint, type DeliveryRow, type EndpointRow } from './repository.ts';
import { createEndpoint, disableEndpoint, redeliver, type EndpointRequest } from './service.ts';
import { createdEndpointSchema, createdEndpointView, deliverySchema, deliveryView, endpointSchema, endpointView } from './views.ts';

const endpointRequestSchema = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', minLength: 1, maxLength: limits.webhook_url_length_max },
    events: { type: 'array', minItems: 1, maxItems: webhookEventTypes.length + 1, items: { type: 'string', enum: [allEvents, ...webhookEventTypes] } },
    description: { type: 'string', maxLength: limits.webhook_description_length_max },
  },
} as const;

type ListQuery = { limit: number; starting_after?: string };

export function registerWebhookRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: EndpointRequest }>(
    '/v1/webhook_endpoints',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['webhooks'],
        summary: 'Create a webhook endpoint. The response carries its signing secret, shown only this once.',
        body: endpointRequestSchema,
        response: { 201: createdEndpointSchema, ...errorResponses('missing_param', 'unknown_param', 'webhook_endpoints_limit_reached') },
      },
    },
    async (request, reply) => reply.code(201).send(createdEndpointView(await createEndpoint(ctx, merchantIdOf(request.principal), request.body))),
  );

  app.get<{ Querystring: ListQuery }>(
    '/v1/webhook_endpoints',
    { config: { auth: 'merchant' }, schema: { tags: ['webhooks'], querystring: listQuerySchema, response: { 200: listResponse(endpointSchema), ...errorResponses() } } },
    async (request) => {
      const page = await paginate<EndpointRow>(ctx.db, 'webhook_endpoints', merchantIdOf(request.principal), request.query);
      return { object: 'list', data: page.rows.map(endpointView), has_more: page.hasMore };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/webhook_endpoints/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['webhooks'], params: idParams('webhook_endpoint'), response: { 200: endpointSchema, ...errorResponses('not_found') } } },
    async (request) => endpointView(await endpointOr404(ctx, merchantIdOf(request.principal), request.params.id)),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhook_endpoints/:id/disable',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['webhooks'],
        summary: 'Disable a webhook endpoint (idempotent): nothing more is sent to it; its pending deliveries end as failed.',
        params: idParams('webhook_endpoint'),
        response: { 200: endpointSchema, ...errorResponses('not_found') },
      },
    },
    async (request) => endpointView(await disableEndpoint(ctx, merchantIdOf(request.principal), request.params.id)),
  );

  app.get<{ Params: { id: string }; Querystring: ListQuery }>(
    '/v1/webhook_endpoints/:id/deliveries',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['webhooks'],
        summary: 'The delivery log of an endpoint, newest first: each delivery with every attempt.',
        params: idParams('webhook_endpoint'),
        querystring: listQuerySchema,
        response: { 200: listResponse(deliverySchema), ...errorResponses('not_found') },
      },
    },
    async (request) => {
      const merchantId = merchantIdOf(request.principal);
      const endpoint = await endpointOr404(ctx, merchantId, request.params.id);
      const page = await paginate<DeliveryRow>(ctx.db, 'webhook_deliveries', merchantId, request.query, 'AND endpoint_id = $3', [endpoint.id]);
      const attempts = await attemptsOf(ctx.db, merchantId, page.rows.map((row) => row.id));
      return { object: 'list', data: page.rows.map((row) => deliveryView(row, attempts.get(row.id) ?? [])), has_more: page.hasMore };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhook_deliveries/:id/redeliver',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['webhooks'],
        summary: 'Send a delivery again now (once more if it was delivered or failed).',
        params: idParams('webhook_delivery'),
        response: { 200: deliverySchema, ...errorResponses('not_found', 'webhook_endpoint_disabled') },
      },
    },
    async (request) => {
      const merchantId = merchantIdOf(request.principal);
      const delivery = await redeliver(ctx, merchantId, request.params.id);
      const attempts = await attemptsOf(ctx.db, merchantId, [delivery.id]);
      return deliveryView(delivery, attempts.get(delivery.id) ?? []);
    },
  );
}

async function endpointOr404(ctx: AppContext, merchantId: string, id: string): Promise<EndpointRow> {
  const endpoint = await findEndpoint(ctx.db, merchantId, id);
  if (!endpoint) throw new ClearwayError('not_found', `No webhook endpoint ${id}.`, { param: 'id' });
  return endpoint;
}
