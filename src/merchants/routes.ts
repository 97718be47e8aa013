import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import type { AppContext } from '../http/context.ts';
import { errorResponses, idParams, idSchema, jsonTime, nameSchema, timestampSchema } from '../http/schemas.ts';
import { createMerchant, getMerchant, type Merchant } from './repository.ts';

const merchantSchema = {
  type: 'object',
  required: ['id', 'object', 'name', 'created_at'],
  properties: {
    id: idSchema('merchant'),
    object: { type: 'string', const: 'merchant' },
    name: { type: 'string' },
    api_key: { type: 'string', description: 'Shown once, at creation; stored only as a hash.' },
    created_at: timestampSchema,
  },
} as const;

function merchantView(merchant: Merchant, apiKey?: string) {
  return {
    id: merchant.id,
    object: 'merchant' as const,
    name: merchant.name,
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
    created_at: jsonTime(merchant.created_at),
  };
}

export function registerMerchantRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: { name: string } }>(
    '/v1/merchants',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['merchants'],
        summary: 'Create a merchant (admin). The API key is shown once.',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: nameSchema } },
        response: { 201: merchantSchema, ...errorResponses('forbidden') },
      },
    },
    async (request, reply) => {
      const { merchant, apiKey } = await createMerchant(ctx.db, request.body.name, ctx.clock.now());
      return reply.code(201).send(merchantView(merchant, apiKey));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/merchants/:id',
    {
      config: { auth: 'admin' },
      schema: { tags: ['merchants'], summary: 'Read a merchant (admin).', params: idParams('merchant'), response: { 200: merchantSchema, ...errorResponses('forbidden', 'not_found') } },
    },
    async (request) => {
      const merchant = await getMerchant(ctx.db, request.params.id);
      if (!merchant) throw new ClearwayError('not_found', `No merchant ${request.params.id}.`, { param: 'id' });
      return merchantView(merchant);
    },
  );
}
