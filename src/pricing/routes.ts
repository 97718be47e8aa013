// Merchant pricing over HTTP: the admin sets a merchant's prices (PUT /v1/merchants/:id/pricing,
// a new version each time); a merchant reads what it pays (GET /v1/pricing), defaults included.
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { isSupportedCurrency } from '../kernel/currency.ts';
import { feeBpsMax } from '../kernel/fees.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { errorResponses, idParams } from '../http/schemas.ts';
import { getMerchant } from '../merchants/repository.ts';
import { defaultPricing, type MerchantPricing, type PricingRule } from './domain/pricing.ts';
import { forgetMerchantPricing, readMerchantPricing, writeMerchantPricing } from './store.ts';

const ruleSchema = {
  type: 'object',
  required: ['method', 'percent_bps', 'fixed_amount'],
  additionalProperties: false,
  properties: {
    method: { type: 'string', enum: ['card', 'alipay', 'wechat_pay'] },
    currency: { type: 'string', pattern: '^[A-Za-z]{3}$' },
    percent_bps: { type: 'integer', minimum: 0, maximum: feeBpsMax },
    fixed_amount: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    refund_fee: { type: 'string', enum: ['proportional', 'retained'], default: 'proportional' },
  },
} as const;

const rulesSchema = { type: 'array', maxItems: limits.pricing_rules_max, items: ruleSchema } as const;

const pricingResponseSchema = {
  type: 'object',
  required: ['object', 'version', 'rules', 'defaults'],
  properties: {
    object: { type: 'string', const: 'pricing' },
    /** 0 while the merchant pays the platform's defaults. */
    version: { type: 'integer' },
    rules: rulesSchema,
    defaults: rulesSchema,
  },
} as const;

function pricingView(pricing: MerchantPricing) {
  return { object: 'pricing', version: pricing.version, rules: pricing.rules, defaults: Object.values(defaultPricing) };
}

function normalized(rules: readonly PricingRule[]): PricingRule[] {
  return rules.map((rule, index) => {
    if (rule.currency === undefined) return { ...rule, refund_fee: rule.refund_fee ?? 'proportional' };
    const currency = rule.currency.toUpperCase();
    if (!isSupportedCurrency(currency)) throw new ClearwayError('unsupported_currency', `Currency ${rule.currency} is not supported.`, { param: `rules[${index}].currency` });
    return { ...rule, currency, refund_fee: rule.refund_fee ?? 'proportional' };
  });
}

export function registerPricingRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/v1/pricing',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['pricing'], summary: 'What this merchant pays per payment: its rules, then the platform defaults.', response: { 200: pricingResponseSchema, ...errorResponses() } },
    },
    async (request) => pricingView(await readMerchantPricing(ctx.db, merchantIdOf(request.principal))),
  );

  app.put<{ Params: { id: string }; Body: { rules: PricingRule[] } }>(
    '/v1/merchants/:id/pricing',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['pricing'],
        summary: "Replace a merchant's pricing with a new version (admin); applies to payments succeeding from then on, in every process within 1 s.",
        params: idParams('merchant'),
        body: { type: 'object', required: ['rules'], additionalProperties: false, properties: { rules: rulesSchema } },
        response: { 200: pricingResponseSchema, ...errorResponses('forbidden', 'not_found', 'unsupported_currency') },
      },
    },
    async (request) => {
      const merchantId = request.params.id;
      if (!(await getMerchant(ctx.db, merchantId))) throw new ClearwayError('not_found', `No merchant ${merchantId}.`, { param: 'id' });
      const written = await writeMerchantPricing(ctx.db, merchantId, normalized(request.body.rules), ctx.clock.now());
      forgetMerchantPricing(ctx, merchantId);
      return pricingView(written);
    },
  );
}
