import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { paginate } from '../http/pagination.ts';
import { withFirstWriteClaim } from '../http/idempotency.ts';
import {
  amountOrZeroSchema, amountSchema, codeSchema, currencySchema, errorResponses, idParams, listQuerySchema, listResponse, metadataSchema, nameSchema,
} from '../http/schemas.ts';
import { findOrder, type OrderRow } from './repository.ts';
import { cancelOrder, createOrder, priceOrderRequest, type OrderRequest } from './service.ts';
import { orderPreviewSchema, orderSchema, orderView, previewView } from './views.ts';
import { paymentMethodsFor, paymentMethodsSchema } from '../payments/payment-methods.ts';

export const orderRequestSchema = {
  type: 'object',
  required: ['currency', 'items'],
  additionalProperties: false,
  properties: {
    currency: currencySchema,
    items: {
      type: 'array',
      minItems: 1,
      maxItems: limits.order_items_max,
      items: {
        type: 'object',
        required: ['name', 'unit_amount', 'quantity'],
        additionalProperties: false,
        properties: {
          name: nameSchema,
          unit_amount: amountSchema,
          quantity: { type: 'integer', minimum: 1, maximum: limits.item_quantity_max },
          sku: { type: 'string', minLength: 1, maxLength: limits.code_length_max },
        },
      },
    },
    coupon_codes: { type: 'array', maxItems: limits.order_coupons_max, items: codeSchema },
    customer: {
      type: 'object',
      additionalProperties: false,
      properties: { id: { type: 'string', minLength: 1, maxLength: limits.name_length_max }, email: { type: 'string', format: 'email', maxLength: limits.name_length_max } },
    },
    expected_amount_total: amountOrZeroSchema,
    metadata: metadataSchema,
  },
} as const;

const orderErrors = errorResponses('missing_param', 'unknown_param', 'unsupported_currency', 'amount_too_large', 'coupon_not_found', 'coupon_exhausted', 'amount_mismatch');

export function registerOrderRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: OrderRequest }>(
    '/v1/orders/preview',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['orders'], summary: 'Price an order without storing it (the front end\'s pre-calculation).', body: orderRequestSchema, response: { 200: orderPreviewSchema, ...orderErrors } },
    },
    async (request) => previewView(await priceOrderRequest(ctx, merchantIdOf(request.principal), request.body)),
  );

  app.post<{ Body: OrderRequest }>(
    '/v1/orders',
    {
      config: { auth: 'merchant', idempotency: 'with_first_write' },
      schema: {
        tags: ['orders'],
        summary: 'Create an order. With expected_amount_total, a different server price answers 409 amount_mismatch.',
        body: orderRequestSchema,
        response: { 201: orderSchema, ...orderErrors },
      },
    },
    // With an Idempotency-Key, the key is written with the order, its response already stored
    // (one statement), and that response is sent exactly as stored.
    async (request, reply) => withFirstWriteClaim(ctx, request, reply, async (held) => {
      const claim = held ? { held, render: (order: OrderRow) => ({ status: 201, body: JSON.stringify(orderView(order)) }) } : null;
      const { order, stored } = await createOrder(ctx, merchantIdOf(request.principal), request.body, claim);
      if (held && stored) {
        held.settled = true; // stored by the statement that wrote the order
        return reply.code(stored.status).type('application/json; charset=utf-8').send(stored.body);
      }
      return reply.code(201).send(orderView(order));
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/orders/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['orders'], params: idParams('order'), response: { 200: orderSchema, ...errorResponses('not_found') } } },
    async (request) => {
      const order = await findOrder(ctx.db, merchantIdOf(request.principal), request.params.id);
      if (!order) throw new ClearwayError('not_found', `No order ${request.params.id}.`, { param: 'id' });
      return orderView(order);
    },
  );

  app.get<{ Querystring: { limit: number; starting_after?: string } }>(
    '/v1/orders',
    { config: { auth: 'merchant' }, schema: { tags: ['orders'], querystring: listQuerySchema, response: { 200: listResponse(orderSchema), ...errorResponses() } } },
    async (request) => {
      const page = await paginate<OrderRow>(ctx.db, 'orders', merchantIdOf(request.principal), request.query);
      return { object: 'list', data: page.rows.map(orderView), has_more: page.hasMore };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/orders/:id/cancel',
    { config: { auth: 'merchant' }, schema: { tags: ['orders'], params: idParams('order'), response: { 200: orderSchema, ...errorResponses('not_found', 'order_not_cancellable') } } },
    async (request) => orderView(await cancelOrder(ctx, merchantIdOf(request.principal), request.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/orders/:id/payment_methods',
    { config: { auth: 'merchant' }, schema: { tags: ['orders'], params: idParams('order'), response: { 200: paymentMethodsSchema, ...errorResponses('not_found') } } },
    async (request) => {
      const order = await findOrder(ctx.db, merchantIdOf(request.principal), request.params.id);
      if (!order) throw new ClearwayError('not_found', `No order ${request.params.id}.`, { param: 'id' });
      return paymentMethodsFor(ctx, order);
    },
  );
}
