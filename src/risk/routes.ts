// GET and PUT /v1/risk/rules: one rules document per merchant (docs/risk.md).
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { isSupportedCurrency } from '../kernel/currency.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { amountSchema, errorResponses, jsonTime } from '../http/schemas.ts';
import { completeRules, ruleFamilies, rulesRejection, score_max, signalKeys, type RiskRules } from './domain/rules.ts';
import { readRiskRules, writeRiskRules, type StoredRules } from './store.ts';
import { forgetRules } from './rules-cache.ts';

const currencyAmountsSchema = {
  type: 'object',
  maxProperties: limits.risk_currencies_max,
  propertyNames: { pattern: '^[A-Za-z]{3}$' },
  additionalProperties: amountSchema,
} as const;

const listEntrySchema = {
  type: 'object',
  required: ['type', 'value'],
  additionalProperties: false,
  properties: { type: { type: 'string', enum: signalKeys }, value: { type: 'string', minLength: 1, maxLength: limits.risk_signal_length_max } },
} as const;

const listSchema = { type: 'array', maxItems: limits.risk_list_entries_max, items: listEntrySchema } as const;
const scoreSchema = { type: 'integer', minimum: 0, maximum: score_max } as const;

const rulesProperties = {
  amount_limits: currencyAmountsSchema,
  velocity: {
    type: 'array',
    maxItems: limits.risk_velocity_rules_max,
    items: {
      type: 'object',
      required: ['key', 'window_seconds', 'max_count'],
      additionalProperties: false,
      properties: {
        key: { type: 'string', enum: signalKeys },
        window_seconds: { type: 'integer', minimum: 1, maximum: limits.risk_velocity_window_seconds_max },
        max_count: { type: 'integer', minimum: 1, maximum: limits.risk_velocity_count_max },
      },
    },
  },
  blocklist: listSchema,
  allowlist: listSchema,
  currency_country_mismatch: { type: 'boolean' },
  new_customer_amount_thresholds: currencyAmountsSchema,
  thresholds: {
    type: 'object',
    required: ['review', 'decline'],
    additionalProperties: false,
    properties: { review: { ...scoreSchema, minimum: 1 }, decline: { ...scoreSchema, minimum: 1 } },
  },
  weights: {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(ruleFamilies.map((family) => [family, scoreSchema])),
  },
} as const;

/** The PUT body: every field optional; what is left out takes its default. */
const rulesRequestSchema = { type: 'object', additionalProperties: false, properties: rulesProperties } as const;

const rulesResponseSchema = {
  type: 'object',
  required: ['object', 'version', 'updated_at', ...Object.keys(rulesProperties)],
  properties: {
    object: { type: 'string', const: 'risk_rules' },
    /** 0 while the merchant runs on the defaults. */
    version: { type: 'integer' },
    updated_at: { type: ['string', 'null'], format: 'date-time' },
    ...rulesProperties,
  },
} as const;

function rulesView(stored: StoredRules) {
  return { object: 'risk_rules', version: stored.version, updated_at: jsonTime(stored.updated_at), ...stored.rules };
}

export function registerRiskRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/v1/risk/rules',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['risk'], summary: 'The risk rules payments are screened with (the defaults, version 0, until the merchant sets some).', response: { 200: rulesResponseSchema, ...errorResponses() } },
    },
    async (request) => rulesView(await readRiskRules(ctx.db, merchantIdOf(request.principal))),
  );

  app.put<{ Body: Partial<RiskRules> }>(
    '/v1/risk/rules',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['risk'],
        summary: 'Replace the risk rules; fields left out take their defaults.',
        body: rulesRequestSchema,
        response: { 200: rulesResponseSchema, ...errorResponses('unknown_param', 'missing_param', 'unsupported_currency') },
      },
    },
    async (request) => {
      const rules = completeRules(request.body);
      const rejection = rulesRejection(rules, isSupportedCurrency);
      if (rejection) throw new ClearwayError(rejection.code, rejection.message, { param: rejection.param });
      const merchantId = merchantIdOf(request.principal);
      const written = await writeRiskRules(ctx.db, merchantId, rules, ctx.clock.now());
      forgetRules(ctx, merchantId); // this process screens with the new rules from the next payment on
      return rulesView(written);
    },
  );
}
