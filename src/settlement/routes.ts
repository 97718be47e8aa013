// Settlement over HTTP: a merchant's batches and statements, its schedule, and the admin run.
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { errorResponses, idParams, idSchema, listQuerySchema, listResponse } from '../http/schemas.ts';
import { canonicalTimeZone, isSettlementDate, parseCutOff } from './domain/day-window.ts';
import { statementCsv } from './domain/statement.ts';
import { findBatch, listBatches, type BatchRecord } from './repository.ts';
import { settleDay } from './service.ts';
import { settlementDepsOf } from './worker.ts';
import { saveSettlementSettings, settlementSettingsOf } from './settings.ts';
import { statementLines, statementSummaryOf } from './statement-lines.ts';
import { settlementLimits } from './limits.ts';
import { batchSchema, batchView, runSchema, runView, settingsSchema, settingsView, statementSchema, statementView } from './views.ts';

const dateSchema = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', maxLength: 10 } as const;
const cutOffSchema = { type: 'string', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', maxLength: 5 } as const;
const timeZoneSchema = { type: 'string', minLength: 1, maxLength: settlementLimits.time_zone_length_max } as const;

function checkedDate(date: string): string {
  if (!isSettlementDate(date)) throw new ClearwayError('invalid_param', `${date} is not a calendar date YYYY-MM-DD.`, { param: 'date' });
  return date;
}

export function registerSettlementRoutes(app: FastifyInstance, ctx: AppContext): void {
  const deps = settlementDepsOf(ctx);
  const loadBatch = async (merchantId: string, id: string): Promise<BatchRecord> => {
    const batch = await findBatch(ctx.db, merchantId, id);
    if (batch === null) throw new ClearwayError('not_found', `No settlement batch ${id}.`, { param: 'id' });
    return batch;
  };

  app.get<{ Querystring: { limit: number; starting_after?: string } }>(
    '/v1/settlements',
    { config: { auth: 'merchant' }, schema: { tags: ['settlements'], summary: 'The merchant\'s settlement batches, newest first.', querystring: listQuerySchema, response: { 200: listResponse(batchSchema), ...errorResponses() } } },
    async (request) => {
      const page = await listBatches(ctx.db, merchantIdOf(request.principal), request.query);
      return { object: 'list', data: page.rows.map(batchView), has_more: page.hasMore };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/settlements/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['settlements'], params: idParams('settlement_batch'), response: { 200: batchSchema, ...errorResponses('not_found') } } },
    async (request) => batchView(await loadBatch(merchantIdOf(request.principal), request.params.id)),
  );

  const statementErrors = errorResponses('not_found', 'settlement_not_settled', 'settlement_statement_too_large', 'settlement_statement_mismatch');
  app.get<{ Params: { id: string } }>(
    '/v1/settlements/:id/statement.json',
    { config: { auth: 'merchant' }, schema: { tags: ['settlements'], summary: 'The batch\'s statement: every transaction, signed from the merchant\'s side.', params: idParams('settlement_batch'), response: { 200: statementSchema, ...statementErrors } } },
    async (request) => {
      const batch = await loadBatch(merchantIdOf(request.principal), request.params.id);
      return statementView(batch, await statementLines(ctx.db, batch));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/settlements/:id/statement.csv',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['settlements'], summary: 'The batch\'s statement as CSV (RFC 4180), with total, carried_in, settled and carried_out rows.', params: idParams('settlement_batch'), response: { 200: { type: 'string' }, ...statementErrors } },
    },
    async (request, reply) => {
      const batch = await loadBatch(merchantIdOf(request.principal), request.params.id);
      const csv = statementCsv(statementSummaryOf(batch), await statementLines(ctx.db, batch));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="settlement-${batch.merchantId}-${batch.currency}-${batch.date}.csv"`)
        .send(csv);
    },
  );

  app.get(
    '/v1/settlement_settings',
    { config: { auth: 'merchant' }, schema: { tags: ['settlements'], response: { 200: settingsSchema, ...errorResponses() } } },
    async (request) => settingsView(await settlementSettingsOf(ctx.db, merchantIdOf(request.principal), deps.defaultSchedule)),
  );

  app.put<{ Body: { time_zone: string; cut_off: string } }>(
    '/v1/settlement_settings',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['settlements'],
        summary: 'The merchant\'s settlement time zone (IANA) and daily cut-off (HH:MM local; 00:00 is midnight at the end of the day). Applies to days not settled yet.',
        body: { type: 'object', required: ['time_zone', 'cut_off'], additionalProperties: false, properties: { time_zone: timeZoneSchema, cut_off: cutOffSchema } },
        response: { 200: settingsSchema, ...errorResponses('missing_param', 'unknown_param', 'unsupported_time_zone') },
      },
    },
    async (request) => {
      const timeZone = canonicalTimeZone(request.body.time_zone);
      if (timeZone === undefined) throw new ClearwayError('unsupported_time_zone', `${request.body.time_zone} is not an IANA time zone.`, { param: 'time_zone' });
      const cutOffMinutes = parseCutOff(request.body.cut_off)!;
      return settingsView(await saveSettlementSettings(ctx.db, merchantIdOf(request.principal), { timeZone, cutOffMinutes }, ctx.clock.now()));
    },
  );

  app.post<{ Body: { date: string; merchant_id?: string } }>(
    '/v1/admin/settlements/run',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['settlements'],
        summary: 'Settle a day (for one merchant or all). Re-running a settled day verifies it and posts nothing; a failed day is run again.',
        body: { type: 'object', required: ['date'], additionalProperties: false, properties: { date: dateSchema, merchant_id: idSchema('merchant') } },
        response: { 200: runSchema, ...errorResponses('missing_param', 'unknown_param', 'forbidden') },
      },
    },
    async (request) => {
      const date = checkedDate(request.body.date);
      const report = await settleDay(deps, { date, ...(request.body.merchant_id === undefined ? {} : { merchantId: request.body.merchant_id }) });
      return runView(report);
    },
  );
}
