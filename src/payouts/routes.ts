// Payout routes: the merchant's settings and payouts, the banks' signed notifications
// (POST /notify/bank/:bank) and, in sandbox mode, the bank sandboxes' control routes
// (/sandbox/bank_api/..., /sandbox/bank_file/...: faults with return_rate, books, credentials,
// and each bank's own paths mounted under its prefix).
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { normalizeCurrency } from '../kernel/currency.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { paginate } from '../http/pagination.ts';
import { amountOrZeroSchema, amountSchema, currencySchema, errorResponses, idParams, listQuerySchema, listResponse } from '../http/schemas.ts';
import { payoutSchedules, type PayoutSchedule } from './domain/schedule.ts';
import type { BankAccount } from './banks/contract.ts';
import { payoutBanksOf, type PayoutBanks } from './configure.ts';
import { attemptsOfPayouts, findPayout, readPayoutSettings, writePayoutSettings, type PayoutRow } from './repository.ts';
import { createManualPayout } from './service.ts';
import { bankAccountSchema, payoutSchema, payoutSettingsSchema, payoutSettingsView, payoutView } from './views.ts';
import { applyBankUpdates } from './worker.ts';

interface SettingsBody {
  schedule: PayoutSchedule;
  weekly_day?: number;
  minimum_amount: number;
  currency: string;
  bank_account: BankAccount;
}

function currencyOf(input: string): string {
  const currency = normalizeCurrency(input);
  if (currency === undefined) throw new ClearwayError('unsupported_currency', `${input} is not a supported currency.`, { param: 'currency' });
  return currency;
}

export function registerPayoutRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.put<{ Body: SettingsBody }>(
    '/v1/payout_settings',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['payouts'],
        summary: 'Set how the merchant is paid out: schedule (daily, weekly on weekly_day 0-6, manual), minimum amount, currency and bank account.',
        body: {
          type: 'object',
          required: ['schedule', 'minimum_amount', 'currency', 'bank_account'],
          additionalProperties: false,
          properties: {
            schedule: { type: 'string', enum: payoutSchedules },
            weekly_day: { type: 'integer', minimum: 0, maximum: 6 },
            minimum_amount: amountOrZeroSchema,
            currency: currencySchema,
            bank_account: bankAccountSchema,
          },
        },
        response: { 200: payoutSettingsSchema, ...errorResponses('missing_param', 'unknown_param', 'unsupported_currency') },
      },
    },
    async (request) => {
      const body = request.body;
      if ((body.schedule === 'weekly') !== (body.weekly_day !== undefined)) {
        throw new ClearwayError(body.schedule === 'weekly' ? 'missing_param' : 'invalid_param', 'weekly_day is given with, and only with, the weekly schedule.', { param: 'weekly_day' });
      }
      const settings = await writePayoutSettings(ctx.db, {
        merchant_id: merchantIdOf(request.principal), schedule: body.schedule, weekly_day: body.weekly_day ?? null,
        minimum_amount: BigInt(body.minimum_amount), currency: currencyOf(body.currency), bank_account: body.bank_account,
      }, ctx.clock.now());
      return payoutSettingsView(settings);
    },
  );

  app.get(
    '/v1/payout_settings',
    { config: { auth: 'merchant' }, schema: { tags: ['payouts'], response: { 200: payoutSettingsSchema, ...errorResponses('not_found') } } },
    async (request) => {
      const settings = await readPayoutSettings(ctx.db, merchantIdOf(request.principal));
      if (settings === null) throw new ClearwayError('not_found', 'No payout settings yet: PUT /v1/payout_settings.');
      return payoutSettingsView(settings);
    },
  );

  app.post<{ Body: { amount?: number; currency: string } }>(
    '/v1/payouts',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['payouts'],
        summary: 'Pay out the available balance (or `amount` of it) to the bank account of the payout settings.',
        body: { type: 'object', required: ['currency'], additionalProperties: false, properties: { amount: amountSchema, currency: currencySchema } },
        response: {
          201: payoutSchema,
          ...errorResponses('missing_param', 'unknown_param', 'unsupported_currency', 'payout_settings_missing', 'payout_exceeds_available', 'payout_below_minimum', 'payout_currency_mismatch', 'idempotency_key_reused', 'idempotency_key_in_use'),
        },
      },
    },
    async (request, reply) => {
      const { amount, currency } = request.body;
      const payout = await createManualPayout(ctx, merchantIdOf(request.principal), currencyOf(currency), amount === undefined ? undefined : BigInt(amount));
      return reply.code(201).send(payoutView(payout, []));
    },
  );

  app.get<{ Querystring: { limit: number; starting_after?: string } }>(
    '/v1/payouts',
    { config: { auth: 'merchant' }, schema: { tags: ['payouts'], querystring: listQuerySchema, response: { 200: listResponse(payoutSchema), ...errorResponses() } } },
    async (request) => {
      const page = await paginate<PayoutRow>(ctx.db, 'payouts', merchantIdOf(request.principal), request.query);
      const attempts = await attemptsOfPayouts(ctx.db, page.rows.map((p) => p.id));
      return { object: 'list', data: page.rows.map((p) => payoutView(p, attempts.get(p.id) ?? [])), has_more: page.hasMore };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/payouts/:id',
    { config: { auth: 'merchant' }, schema: { tags: ['payouts'], params: idParams('payout'), response: { 200: payoutSchema, ...errorResponses('not_found') } } },
    async (request) => {
      const payout = await findPayout(ctx.db, merchantIdOf(request.principal), request.params.id);
      if (payout === null) throw new ClearwayError('not_found', `No payout ${request.params.id}.`, { param: 'id' });
      return payoutView(payout, (await attemptsOfPayouts(ctx.db, [payout.id])).get(payout.id) ?? []);
    },
  );

  registerBankNotificationRoute(app, ctx);
}

function registerBankNotificationRoute(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 256 * 1024 }, (_request, body, done) => done(null, body));
    scope.post<{ Params: { bank: string }; Body: Buffer }>(
      '/notify/bank/:bank',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['notifications'],
          summary: 'A bank\'s signed payout status notification; verified over the raw body before anything is read.',
          params: { type: 'object', required: ['bank'], properties: { bank: { type: 'string', maxLength: 64 } } },
          response: { 200: { type: 'object', properties: { received: { type: 'boolean' } } }, 400: { type: 'object', properties: { received: { type: 'boolean' }, reason: { type: 'string' } } }, 404: { type: 'object', properties: { received: { type: 'boolean' }, reason: { type: 'string' } } } },
        },
      },
      async (request, reply) => {
        const banks = payoutBanksOf(ctx);
        const connector = banks.connectors.get(request.params.bank);
        if (connector?.verifyNotification === undefined) return reply.code(404).send({ received: false, reason: 'unknown_bank' });
        const verdict = connector.verifyNotification(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), request.headers);
        if (verdict.kind === 'rejected') {
          request.log.warn({ bank: request.params.bank, reason: verdict.reason }, 'bank notification rejected');
          return reply.code(400).send({ received: false, reason: verdict.reason });
        }
        await applyBankUpdates(ctx, banks, request.params.bank, [verdict.update]);
        return { received: true };
      },
    );
  });
}

/** The bank sandboxes' control routes and their own paths under /sandbox/:bank (static paths: they take precedence over the channels' /sandbox/:channel routes). */
export async function registerBankSandboxRoutes(app: FastifyInstance, banks: PayoutBanks): Promise<void> {
  const faultsSchema = {
    type: 'object',
    additionalProperties: false,
    properties: {
      error_rate: { type: 'number', minimum: 0, maximum: 1 }, timeout_rate: { type: 'number', minimum: 0, maximum: 1 }, latency_ms: { type: 'integer', minimum: 0, maximum: 60_000 },
      outage: { type: 'boolean' }, return_rate: { type: 'number', minimum: 0, maximum: 1 },
    },
  } as const;
  const faultsResponse = { 200: { type: 'object', properties: { bank: { type: 'string' }, faults: faultsSchema } }, ...errorResponses('forbidden') } as const;
  for (const [bank, sandbox] of banks.sandboxes) {
    await sandbox.register(app, `/sandbox/${bank}`);
    app.post<{ Body: Record<string, unknown> }>(`/sandbox/${bank}/faults`, { config: { auth: 'admin' }, schema: { tags: ['sandbox'], summary: `Faults of the ${bank} sandbox from now on.`, body: faultsSchema, response: faultsResponse } }, async (request) => {
      sandbox.setFaults(request.body);
      return { bank, faults: sandbox.faults() };
    });
    app.delete(`/sandbox/${bank}/faults`, { config: { auth: 'admin' }, schema: { tags: ['sandbox'], summary: `Reset the ${bank} sandbox to no faults.`, response: faultsResponse } }, async () => {
      sandbox.resetFaults();
      return { bank, faults: sandbox.faults() };
    });
    app.get(`/sandbox/${bank}/credentials`, { config: { auth: 'admin' }, schema: { tags: ['sandbox'], response: { 200: { type: 'object', additionalProperties: { type: 'string' } }, ...errorResponses('forbidden') } } }, async () => sandbox.credentials());
    app.get(
      `/sandbox/${bank}/ledger`,
      {
        config: { auth: 'any' },
        schema: {
          tags: ['sandbox'],
          summary: `What the ${bank} sandbox itself paid and got back, per end-to-end id, with the payout reference.`,
          response: {
            200: {
              type: 'object',
              properties: {
                data: { type: 'array', items: { type: 'object', properties: { reference: { type: 'string' }, end_to_end_id: { type: 'string' }, currency: { type: 'string' }, paid: { type: 'integer' }, returned: { type: 'integer' } } } },
              },
            },
            ...errorResponses(),
          },
        },
      },
      async () => ({ data: sandbox.ledger() }),
    );
  }
}
