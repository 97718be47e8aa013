// The ledger over HTTP: a merchant's balances (GET /v1/balance) and an account's statement
// (GET /v1/balance/history), and the platform's proof that the books are whole
// (GET /v1/admin/ledger/check, the same as `clearway ledger check`).
import type { FastifyInstance } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { isSupportedCurrency } from '../kernel/currency.ts';
import { merchantIdOf, type AppContext } from '../http/context.ts';
import { currencySchema, errorResponses, jsonAmount, jsonTime, listQuerySchema, listResponse } from '../http/schemas.ts';
import { accountStatement, merchantBalances, type MerchantAccountType } from './balances.ts';
import { checkLedger } from './check.ts';

const amountsSchema = {
  type: 'array',
  items: { type: 'object', required: ['amount', 'currency'], properties: { amount: { type: 'integer' }, currency: { type: 'string' } } },
} as const;

const balanceSchema = {
  type: 'object',
  required: ['object', 'pending', 'available', 'in_transit'],
  properties: {
    object: { type: 'string', const: 'balance' },
    /** Captured, not yet settled (merchant_pending). */
    pending: amountsSchema,
    /** Settled, can be paid out (merchant_available). */
    available: amountsSchema,
    /** Sent to the bank, not yet confirmed (payout_in_transit). */
    in_transit: amountsSchema,
  },
} as const;

const lineSchema = {
  type: 'object',
  required: ['object', 'entry_id', 'event_id', 'kind', 'amount', 'currency', 'created_at'],
  properties: {
    object: { type: 'string', const: 'balance_transaction' },
    entry_id: { type: 'string' },
    event_id: { type: 'string' },
    kind: { type: 'string' },
    /** Positive: the account grew in the merchant's favour. */
    amount: { type: 'integer' },
    currency: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

const accountNames: Record<string, MerchantAccountType> = { pending: 'merchant_pending', available: 'merchant_available', in_transit: 'payout_in_transit' };

const historyQuerySchema = {
  type: 'object',
  required: ['currency'],
  additionalProperties: false,
  properties: { ...listQuerySchema.properties, account: { type: 'string', enum: Object.keys(accountNames), default: 'pending' }, currency: currencySchema },
} as const;

const checkSchema = {
  type: 'object',
  required: ['ok', 'checks'],
  properties: {
    ok: { type: 'boolean' },
    checks: {
      type: 'array',
      items: { type: 'object', required: ['name', 'ok', 'problems', 'detail'], properties: { name: { type: 'string' }, ok: { type: 'boolean' }, problems: { type: 'integer' }, detail: { type: 'string' } } },
    },
  },
} as const;

export function registerBalanceRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get(
    '/v1/balance',
    {
      config: { auth: 'merchant' },
      schema: { tags: ['ledger'], summary: "The merchant's balances per currency, from the ledger.", response: { 200: balanceSchema, ...errorResponses() } },
    },
    async (request) => {
      const balances = await merchantBalances(ctx.db, merchantIdOf(request.principal));
      const of = (type: MerchantAccountType) => balances.filter((b) => b.type === type).map((b) => ({ amount: jsonAmount(b.amount), currency: b.currency }));
      return { object: 'balance', pending: of('merchant_pending'), available: of('merchant_available'), in_transit: of('payout_in_transit') };
    },
  );

  app.get<{ Querystring: { limit: number; starting_after?: string; account: keyof typeof accountNames; currency: string } }>(
    '/v1/balance/history',
    {
      config: { auth: 'merchant' },
      schema: {
        tags: ['ledger'],
        summary: 'One balance account’s statement, entry by entry, newest first.',
        querystring: historyQuerySchema,
        response: { 200: listResponse(lineSchema), ...errorResponses('unsupported_currency') },
      },
    },
    async (request) => {
      const currency = request.query.currency.toUpperCase();
      if (!isSupportedCurrency(currency)) throw new ClearwayError('unsupported_currency', `Currency ${request.query.currency} is not supported.`, { param: 'currency' });
      const type = accountNames[request.query.account]!;
      const page = { limit: request.query.limit, ...(request.query.starting_after === undefined ? {} : { starting_after: request.query.starting_after }) };
      const { lines, hasMore } = await accountStatement(ctx.db, merchantIdOf(request.principal), type, currency, page);
      return {
        object: 'list',
        data: lines.map((line) => ({ object: 'balance_transaction', ...line, amount: jsonAmount(line.amount), currency, created_at: jsonTime(line.created_at) })),
        has_more: hasMore,
      };
    },
  );

  app.get(
    '/v1/admin/ledger/check',
    {
      config: { auth: 'admin' },
      schema: { tags: ['ledger'], summary: 'Prove the books are whole (admin): entries balance, balances equal postings, one entry per capture and refund.', response: { 200: checkSchema, ...errorResponses('forbidden') } },
    },
    async () => checkLedger(ctx.db),
  );
}

