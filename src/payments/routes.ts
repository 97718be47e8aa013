import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { paginate } from '../http/pagination.ts';
import { withFirstWriteClaim } from '../http/idempotency.ts';
import { amountSchema, errorResponses, idParams, idSchema, listQuerySchema, listResponse } from '../http/schemas.ts';
import { paymentMethodNames } from './payment-methods.ts';
import { createRefund } from './refunds.ts';
import { attemptsOf, findPayment, type AttemptRow, type PaymentRow, type RefundRow } from './repository.ts';
import { createPayment, type PaymentRequest } from './service.ts';
import { paymentSchema, paymentView, refundSchema, refundView } from './views.ts';

const paymentRequestSchema = {
  type: 'object',
  required: ['order_id', 'method'],
  additionalProperties: false,
  properties: {
    order_id: idSchema('order'),
    method: { type: 'string', enum: paymentMethodNames },
    payment_method_data: {
      type: 'object',
      maxProperties: 10,
      propertyNames: { maxLength: 40 },
      additionalProperties: { type: 'string', maxLength: 200 },
    },
    preferred_channel: { type: 'string', minLength: 1, maxLength: limits.code_length_max },
    // Screened by the risk rules (docs/risk.md); id and email default to the order's customer.
    customer: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string', minLength: 1, maxLength: limits.risk_signal_length_max },
        email: { type: 'string', format: 'email', maxLength: limits.risk_signal_length_max },
        ip: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }], maxLength: limits.risk_signal_length_max },
        country: { type: 'string', pattern: '^[A-Za-z]{2}$' },
      },
    },
  },
} as const;

async function loadPaymentView(ctx: AppContext, merchantId: string, id: string) {
  const payment = await findPayment(ctx.db, merchantId, id);
  if (!payment) throw new ClearwayError('not_found', `No payment ${id}.`, { param: 'id' });
  const attempts = await attemptsOf(ctx.db, [payment.id]);
  return paymentView(payment, attempts.get(payment.id) ?? []);
}

export function registerPaymentRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: PaymentRequest }>(
    '/v1/payments',
    {
      config: { auth: 'merchant', idempotency: 'with_first_write' },
      schema: {
        tags: ['payments'],
        summary: 'Pay an order through a channel. Declines answer 201 with status failed; the attempts say why. A risk decline answers 201 with status failed, failure_code risk_declined and no attempt: no channel is called.',
        body: paymentRequestSchema,
        response: { 201: paymentSchema, ...errorResponses('missing_param', 'unknown_param', 'not_found', 'order_not_payable', 'payment_method_unavailable', 'idempotency_key_reused', 'idempotency_key_in_use') },
      },
    },
    // With an Idempotency-Key, the key is claimed by the statement that starts the payment, the
    // response stored by the same statement that records the payment's outcome, and sent exactly
    // as stored (so a replay is byte-for-byte the same).
    async (request, reply) => withFirstWriteClaim(ctx, request, reply, async (claim) => {
      const held = request.idempotency;
      const responseStore = held ? { owner: held.owner, key: held.key, render: (p: PaymentRow, a: readonly AttemptRow[]) => ({ status: 201, body: JSON.stringify(paymentView(p, a)) }) } : null;
      const result = await createPayment(ctx, merchantIdOf(request.principal), request.body, responseStore, claim);
      if (held && result.storedResponse) {
        held.settled = true;
        return reply.code(result.storedResponse.status).type('application/json; charset=utf-8').send(result.storedResponse.body);
      }
      return reply.code(201).send(paymentView(result.payment, result.attempts));
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payments/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['payments'], params: idParams('payment'), response: { 200: paymentSchema, ...errorResponses('not_found') } } },
    async (request) => loadPaymentView(ctx, merchantIdOf(request.principal), request.params.id),
  );

  app.get<{ Querystring: { limit: number; starting_after?: string } }>(
    '/v1/payments',
    { config: { auth: 'merchant' }, schema: { tags: ['payments'], querystring: listQuerySchema, response: { 200: listResponse(paymentSchema), ...errorResponses() } } },
    async (request) => {
      const page = await paginate<PaymentRow>(ctx.db, 'payments', merchantIdOf(request.principal), request.query);
      const attempts = await attemptsOf(ctx.db, page.rows.map((p) => p.id));
      return { object: 'list', data: page.rows.map((p) => paymentView(p, attempts.get(p.id) ?? [])), has_more: page.hasMore };
    },
  );

  app.post<{ Params: { id: string }; Body: { amount?: number } | undefined }>(
    '/v1/payments/:id/refunds',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['refunds'],
        summary: 'Refund a succeeded payment, in full or in part; the refunded total never exceeds the captured amount.',
        params: idParams('payment'),
        body: { type: 'object', additionalProperties: false, properties: { amount: amountSchema } },
        response: { 201: refundSchema, ...errorResponses('not_found', 'payment_not_refundable', 'refund_exceeds_captured', 'refund_limit_reached') },
      },
    },
    async (request, reply) => {
      const amount = request.body?.amount;
      const refund = await createRefund(ctx, merchantIdOf(request.principal), request.params.id, amount === undefined ? undefined : BigInt(amount));
      return reply.code(201).send(refundView(refund));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; starting_after?: string } }>(
    '/v1/payments/:id/refunds',
    { config: { auth: 'merchant' }, schema: { tags: ['refunds'], params: idParams('payment'), querystring: listQuerySchema, response: { 200: listResponse(refundSchema), ...errorResponses('not_found') } } },
    async (request) => {
      const merchantId = merchantIdOf(request.principal);
      const payment = await findPayment(ctx.db, merchantId, request.params.id);
      if (!payment) throw new ClearwayError('not_found', `No payment ${request.params.id}.`, { param: 'id' });
      const page = await paginate<RefundRow>(ctx.db, 'refunds', merchantId, request.query, 'AND payment_id = $3', [payment.id]);
      return { object: 'list', data: page.rows.map(refundView), has_more: page.hasMore };
    },
  );
}
