// GET and PUT /v1/routing/policy: the merchant's routing policy, versioned (src/routing/policy.ts);
// GET /v1/routing/experiment: each arm of the policy in force, counted from its payments.
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { isSupportedCurrency } from '../kernel/currency.ts';
import { limits } from '../kernel/limits.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { amountOrZeroSchema, currencySchema, errorResponses, jsonTime } from '../http/schemas.ts';
import { normalizeRules, policyRejection, type RoutingExperiment, type RoutingPolicy, type RoutingRule } from './policy.ts';
import { experimentReport, forgetRoutingPolicy, readRoutingPolicy, writeRoutingPolicy } from './store.ts';
import { rankCriteria } from './rank.ts';
import { hoursFromPattern, hoursToPattern, weekdays } from './time-window.ts';

const channelListSchema = {
  type: 'array',
  maxItems: limits.routing_channels_per_rule_max,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

const ruleSchema = {
  type: 'object',
  required: ['prefer'],
  additionalProperties: false,
  properties: {
    method: { type: 'string', enum: ['card', 'alipay', 'wechat_pay'] },
    currency: currencySchema,
    amount_min: amountOrZeroSchema,
    amount_max: amountOrZeroSchema,
    prefer: channelListSchema,
    exclude: channelListSchema,
    rank_by: { type: 'array', maxItems: rankCriteria.length, uniqueItems: true, items: { type: 'string', enum: [...rankCriteria] } },
    hours: {
      type: 'object',
      required: ['from', 'to'],
      additionalProperties: false,
      properties: {
        from: { type: 'string', pattern: hoursFromPattern },
        to: { type: 'string', pattern: hoursToPattern },
        time_zone: { type: 'string', minLength: 1, maxLength: limits.routing_time_zone_length_max },
      },
    },
    days: { type: 'array', minItems: 1, maxItems: weekdays.length, uniqueItems: true, items: { type: 'string', enum: [...weekdays] } },
  },
} as const;

const rulesSchema = { type: 'array', maxItems: limits.routing_rules_max, items: ruleSchema } as const;

const experimentSchema = {
  type: ['object', 'null'],
  required: ['percent_b', 'rules_b'],
  additionalProperties: false,
  properties: { percent_b: { type: 'integer', minimum: 0, maximum: 100 }, rules_b: rulesSchema },
} as const;

const policyRequestSchema = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: { rules: rulesSchema, experiment: experimentSchema },
} as const;

const policyResponseSchema = {
  type: 'object',
  required: ['object', 'version', 'updated_at', 'rules', 'experiment'],
  properties: {
    object: { type: 'string', const: 'routing_policy' },
    /** 0 while the merchant has no policy (the registry's order applies). */
    version: { type: 'integer' },
    updated_at: { type: ['string', 'null'], format: 'date-time' },
    rules: rulesSchema,
    experiment: experimentSchema,
  },
} as const;

const armCostSchema = {
  type: 'object',
  required: ['currency', 'succeeded', 'channel_fee_total', 'channel_fee_average'],
  properties: { currency: { type: 'string' }, succeeded: { type: 'integer' }, channel_fee_total: { type: 'integer' }, channel_fee_average: { type: 'integer' } },
} as const;

const armLatencySchema = {
  type: ['object', 'null'],
  required: ['count', 'p50', 'p95'],
  properties: { count: { type: 'integer' }, p50: { type: 'number' }, p95: { type: 'number' } },
} as const;

const armSchema = {
  type: 'object',
  required: ['arm', 'count', 'succeeded', 'success_rate', 'cost', 'latency_ms'],
  properties: {
    arm: { type: 'string', enum: ['a', 'b'] },
    count: { type: 'integer' },
    succeeded: { type: 'integer' },
    success_rate: { type: ['number', 'null'] },
    /** Channel fees of the arm's succeeded payments, per currency (minor units). */
    cost: { type: 'array', items: armCostSchema },
    /** Creation to final, in milliseconds, over the arm's final payments; null before any. */
    latency_ms: armLatencySchema,
  },
} as const;

const experimentResponseSchema = {
  type: 'object',
  required: ['object', 'policy_version', 'percent_b', 'arms'],
  properties: {
    object: { type: 'string', const: 'routing_experiment' },
    policy_version: { type: 'integer' },
    /** Null when the policy in force runs no experiment. */
    percent_b: { type: ['integer', 'null'] },
    arms: { type: 'array', items: armSchema },
  },
} as const;

function policyView(policy: RoutingPolicy) {
  return { object: 'routing_policy', version: policy.version, updated_at: jsonTime(policy.updated_at), rules: policy.rules, experiment: policy.experiment };
}

export function registerRoutingRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/v1/routing/policy',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['routing'], summary: 'The routing policy in force (version 0 with no rules until the merchant sets one).', response: { 200: policyResponseSchema, ...errorResponses() } },
    },
    async (request) => policyView(await readRoutingPolicy(ctx.db, merchantIdOf(request.principal))),
  );

  app.put<{ Body: { rules: RoutingRule[]; experiment?: RoutingExperiment | null } }>(
    '/v1/routing/policy',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['routing'],
        summary: 'Replace the routing policy with a new version; it applies to every process within 1 s.',
        body: policyRequestSchema,
        response: { 200: policyResponseSchema, ...errorResponses('unknown_param', 'missing_param', 'unsupported_currency', 'unsupported_time_zone', 'time_window_empty') },
      },
    },
    async (request) => {
      const merchantId = merchantIdOf(request.principal);
      const rules = normalizeRules(request.body.rules);
      const experiment = request.body.experiment ? { percent_b: request.body.experiment.percent_b, rules_b: normalizeRules(request.body.experiment.rules_b) } : null;
      const rejection = policyRejection(rules, experiment, (id) => ctx.channels.get(id) !== undefined, isSupportedCurrency);
      if (rejection) throw new ClearwayError(rejection.code, rejection.message, { param: rejection.param });
      const written = await writeRoutingPolicy(ctx.db, merchantId, rules, experiment, ctx.clock.now());
      forgetRoutingPolicy(ctx, merchantId);
      return policyView(written);
    },
  );

  app.get(
    '/v1/routing/experiment',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['routing'], summary: 'Payments, successes, success rate, channel fees per currency and latency per arm of the policy in force.', response: { 200: experimentResponseSchema, ...errorResponses() } },
    },
    async (request) => {
      const merchantId = merchantIdOf(request.principal);
      const policy = await readRoutingPolicy(ctx.db, merchantId);
      return {
        object: 'routing_experiment',
        policy_version: policy.version,
        percent_b: policy.experiment?.percent_b ?? null,
        arms: await experimentReport(ctx.db, merchantId, policy.version),
      };
    },
  );
}
