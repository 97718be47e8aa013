// The finance projection over HTTP: a merchant's daily totals, and the consistency check (admin).
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { errorResponses, jsonAmount, jsonTime } from '../http/schemas.ts';
import { dailyColumns, type DailyColumn } from './domain/finance-event.ts';
import { checkFinanceConsistency, consistencyChecks } from './consistency.ts';
import { streamLimits } from './limits.ts';

const dateSchema = { type: 'string', format: 'date' } as const;
const integerSchema = { type: 'integer' } as const;

const daySchema = {
  type: 'object',
  required: ['object', 'day', 'currency', ...dailyColumns, 'net_amount'],
  properties: {
    object: { type: 'string', const: 'finance_day' },
    day: dateSchema,
    currency: { type: 'string' },
    ...Object.fromEntries(dailyColumns.map((column) => [column, integerSchema])),
    net_amount: { ...integerSchema, description: 'gross - fee - refunded + fee returned: what the day earned the merchant, before payouts.' },
  },
} as const;

const consistencySchema = {
  type: 'object',
  required: ['object', 'consistent', 'checked_at', 'window_from', 'unlinked', 'checks'],
  properties: {
    object: { type: 'string', const: 'finance_consistency' },
    consistent: { type: 'boolean' },
    checked_at: { type: 'string', format: 'date-time' },
    window_from: dateSchema,
    unlinked: { type: 'integer', description: 'Projected events that name no journal entry yet (not compared with the ledger).' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'differences', 'details'],
        properties: {
          name: { type: 'string', enum: [...consistencyChecks] },
          differences: { type: 'integer' },
          details: {
            type: 'array',
            items: {
              type: 'object',
              required: ['merchant_id', 'subject', 'detail'],
              properties: { merchant_id: { type: 'string' }, subject: { type: 'string' }, detail: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;

type DailyRow = { day: string; currency: string } & Record<DailyColumn, bigint>;

const dayMs = 86_400_000;

export function registerFinanceRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/finance/daily',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['finance'],
        summary: 'Daily revenue, fees, refunds and payouts per currency (UTC days, from and to included), from the finance stream projection.',
        querystring: { type: 'object', required: ['from', 'to'], additionalProperties: false, properties: { from: dateSchema, to: dateSchema } },
        response: { 200: { type: 'object', required: ['object', 'data'], properties: { object: { type: 'string', const: 'list' }, data: { type: 'array', items: daySchema } } }, ...errorResponses() },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / dayMs;
      if (!(span >= 0)) throw new ClearwayError('invalid_param', 'to must be on or after from.', { param: 'to' });
      if (span >= streamLimits.daily_range_days_max) throw new ClearwayError('invalid_param', `At most ${streamLimits.daily_range_days_max} days at once.`, { param: 'to' });
      const { rows } = await ctx.db.query<DailyRow>(
        `SELECT day::text AS day, currency, ${dailyColumns.join(', ')} FROM finance_daily
         WHERE merchant_id = $1 AND day BETWEEN $2::date AND $3::date ORDER BY day, currency`,
        [merchantIdOf(request.principal), from, to],
      );
      return { object: 'list', data: rows.map(dayView) };
    },
  );

  app.get<{ Querystring: { grace_seconds?: number } }>(
    '/v1/admin/finance/consistency',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['finance'],
        summary: 'Runs the finance consistency check now: the projection against payments, refunds and the ledger, over the last days.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 86_400, description: 'Succeeded payments and refunds younger than this are not yet expected in the projection.' } },
        },
        response: { 200: consistencySchema, ...errorResponses('forbidden') },
      },
    },
    async (request) => {
      const grace = request.query.grace_seconds;
      const report = await checkFinanceConsistency(ctx, grace === undefined ? {} : { graceMs: grace * 1000 });
      return { object: 'finance_consistency', ...report, checked_at: jsonTime(report.checked_at) };
    },
  );
}

function dayView(row: DailyRow): Record<string, unknown> {
  const amounts = Object.fromEntries(dailyColumns.map((column) => [column, jsonAmount(row[column])]));
  const net = row.gross_amount - row.fee_amount - row.refunded_amount + row.fee_returned_amount;
  return { object: 'finance_day', day: row.day, currency: row.currency, ...amounts, net_amount: jsonAmount(net) };
}
