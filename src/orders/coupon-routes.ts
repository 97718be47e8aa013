import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { normalizeCurrency } from '../kernel/currency.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import {
  amountOrZeroSchema, amountSchema, codeSchema, currencySchema, errorResponses, idParams, idSchema, jsonAmount, jsonTime, listQuerySchema, listResponse, timestampSchema,
} from '../http/schemas.ts';
import { paginate } from '../http/pagination.ts';
import { insertCoupon, type CouponRow, type NewCoupon } from './coupons.ts';

interface CouponBody {
  code: string;
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  min_subtotal?: number;
  max_redemptions?: number;
  valid_from?: string;
  valid_until?: string;
  stackable?: boolean;
}

const couponSchema = {
  type: 'object',
  required: ['id', 'object', 'code', 'times_redeemed', 'stackable', 'created_at'],
  properties: {
    id: idSchema('coupon'),
    object: { type: 'string', const: 'coupon' },
    code: { type: 'string' },
    percent_off: { type: ['number', 'null'] },
    amount_off: { type: ['integer', 'null'] },
    currency: { type: ['string', 'null'] },
    min_subtotal: { type: ['integer', 'null'] },
    max_redemptions: { type: ['integer', 'null'] },
    times_redeemed: { type: 'integer' },
    valid_from: { type: ['string', 'null'], format: 'date-time' },
    valid_until: { type: ['string', 'null'], format: 'date-time' },
    stackable: { type: 'boolean' },
    created_at: timestampSchema,
  },
} as const;

export function couponView(row: CouponRow) {
  return {
    id: row.id,
    object: 'coupon' as const,
    code: row.code,
    percent_off: row.percent_off_bps === null ? null : Number(row.percent_off_bps) / 100,
    amount_off: row.amount_off === null ? null : jsonAmount(row.amount_off),
    currency: row.currency,
    min_subtotal: row.min_subtotal === null ? null : jsonAmount(row.min_subtotal),
    max_redemptions: row.max_redemptions,
    times_redeemed: row.times_redeemed,
    valid_from: jsonTime(row.valid_from),
    valid_until: jsonTime(row.valid_until),
    stackable: row.stackable,
    created_at: jsonTime(row.created_at),
  };
}

function percentToBps(percent: number): bigint {
  const bps = Math.round(percent * 100);
  if (Math.abs(bps - percent * 100) > 1e-6 || bps < 1 || bps > 10_000) {
    throw new ClearwayError('invalid_param', 'percent_off must be between 0.01 and 100 with at most two decimals.', { param: 'percent_off' });
  }
  return BigInt(bps);
}

export function parseCouponBody(body: CouponBody): NewCoupon {
  const hasPercent = body.percent_off !== undefined;
  const hasAmount = body.amount_off !== undefined;
  if (hasPercent === hasAmount) {
    throw new ClearwayError(hasPercent ? 'invalid_param' : 'missing_param', 'Give exactly one of percent_off and amount_off.', { param: hasPercent ? 'amount_off' : 'percent_off' });
  }
  let currency: string | null = null;
  if (body.currency !== undefined) {
    currency = normalizeCurrency(body.currency) ?? null;
    if (currency === null) throw new ClearwayError('unsupported_currency', `Unknown currency ${body.currency}.`, { param: 'currency' });
  }
  if (hasAmount && currency === null) throw new ClearwayError('missing_param', 'An amount_off coupon needs a currency.', { param: 'currency' });
  const validFrom = body.valid_from === undefined ? null : new Date(body.valid_from);
  const validUntil = body.valid_until === undefined ? null : new Date(body.valid_until);
  if (validFrom && validUntil && validUntil <= validFrom) {
    throw new ClearwayError('invalid_param', 'valid_until must be after valid_from.', { param: 'valid_until' });
  }
  return {
    code: body.code,
    kind: hasPercent ? 'percent_off' : 'amount_off',
    percent_off_bps: hasPercent ? percentToBps(body.percent_off!) : null,
    amount_off: hasAmount ? BigInt(body.amount_off!) : null,
    currency,
    min_subtotal: body.min_subtotal === undefined ? null : BigInt(body.min_subtotal),
    max_redemptions: body.max_redemptions ?? null,
    valid_from: validFrom,
    valid_until: validUntil,
    stackable: body.stackable ?? true,
  };
}

export function registerCouponRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post<{ Body: CouponBody }>(
    '/v1/coupons',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['coupons'],
        summary: 'Create a coupon: percent_off or amount_off (with currency), optional minimum subtotal, redemption limit and validity window.',
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: {
            code: codeSchema,
            percent_off: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
            amount_off: amountSchema,
            currency: currencySchema,
            min_subtotal: amountOrZeroSchema,
            max_redemptions: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
            valid_from: timestampSchema,
            valid_until: timestampSchema,
            stackable: { type: 'boolean' },
          },
        },
        response: { 201: couponSchema, ...errorResponses('missing_param', 'unknown_param', 'unsupported_currency', 'coupon_code_taken') },
      },
    },
    async (request, reply) => {
      const coupon = parseCouponBody(request.body);
      const row = await insertCoupon(ctx.db, merchantIdOf(request.principal), coupon, ctx.clock.now());
      return reply.code(201).send(couponView(row));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/coupons/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['coupons'], params: idParams('coupon'), response: { 200: couponSchema, ...errorResponses('not_found') } } },
    async (request) => {
      const { rows } = await ctx.db.query<CouponRow>('SELECT * FROM coupons WHERE id = $1 AND merchant_id = $2', [request.params.id, merchantIdOf(request.principal)]);
      if (!rows[0]) throw new ClearwayError('not_found', `No coupon ${request.params.id}.`, { param: 'id' });
      return couponView(rows[0]);
    },
  );

  app.get<{ Querystring: { limit: number; starting_after?: string } }>(
    '/v1/coupons',
    { config: { auth: 'merchant' }, schema: { tags: ['coupons'], querystring: listQuerySchema, response: { 200: listResponse(couponSchema), ...errorResponses() } } },
    async (request) => {
      const page = await paginate<CouponRow>(ctx.db, 'coupons', merchantIdOf(request.principal), request.query);
      return { object: 'list', data: page.rows.map(couponView), has_more: page.hasMore };
    },
  );
}
