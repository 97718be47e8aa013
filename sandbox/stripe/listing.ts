import type { Endpoint } from './context.ts';
import { invalidParam, resourceMissing } from './errors.ts';
import type { FormObject } from './form.ts';
import { renderPaymentIntent, type PaymentIntentRecord } from './objects.ts';
import * as read from './params.ts';
import { matches, parseSearchQuery } from './search.ts';

// GET /v1/payment_intents (newest first; limit, starting_after, ending_before, created filters)
// and GET /v1/payment_intents/search (query, limit, page).

type CreatedFilter = { gt?: number; gte?: number; lt?: number; lte?: number };

function readCreated(params: FormObject): read.Read<CreatedFilter> {
  const value = params['created'];
  if (value === undefined) return { ok: true, value: {} };
  if (typeof value === 'string') {
    if (!/^\d{1,12}$/.test(value)) return { ok: false, error: invalidParam(`Invalid integer: ${value}`, 'created', 'parameter_invalid_integer') };
    return { ok: true, value: { gte: Number(value), lte: Number(value) } };
  }
  if (Array.isArray(value)) return { ok: false, error: invalidParam('created must be an integer or a hash.', 'created') };
  const filter: CreatedFilter = {};
  for (const [operator, bound] of Object.entries(value)) {
    if (operator !== 'gt' && operator !== 'gte' && operator !== 'lt' && operator !== 'lte') {
      return { ok: false, error: invalidParam(`Received unknown parameter: created[${operator}]`, `created[${operator}]`, 'parameter_unknown') };
    }
    if (typeof bound !== 'string' || !/^\d{1,12}$/.test(bound)) {
      return { ok: false, error: invalidParam('Invalid integer.', `created[${operator}]`, 'parameter_invalid_integer') };
    }
    filter[operator] = Number(bound);
  }
  return { ok: true, value: filter };
}

function inRange(created: number, filter: CreatedFilter): boolean {
  return (
    (filter.gt === undefined || created > filter.gt) &&
    (filter.gte === undefined || created >= filter.gte) &&
    (filter.lt === undefined || created < filter.lt) &&
    (filter.lte === undefined || created <= filter.lte)
  );
}

export const listPaymentIntents: Endpoint = (context, { params }) => {
  const unknown = read.rejectUnknown(params, ['limit', 'starting_after', 'ending_before', 'created', 'expand']);
  if (unknown !== null) return unknown;
  const limit = read.pageLimit(params);
  if (!limit.ok) return limit.error;
  const created = readCreated(params);
  if (!created.ok) return created.error;
  const after = read.optionalString(params, 'starting_after', 255);
  if (!after.ok) return after.error;
  const before = read.optionalString(params, 'ending_before', 255);
  if (!before.ok) return before.error;
  if (after.value !== null && before.value !== null) return invalidParam('Use starting_after or ending_before, not both.', 'ending_before');
  let newestFirst = [...context.store.paymentIntents.values()].reverse().filter((pi) => inRange(pi.created, created.value));
  let page: PaymentIntentRecord[];
  let hasMore: boolean;
  if (before.value !== null) {
    const index = newestFirst.findIndex((pi) => pi.id === before.value);
    if (index === -1) return resourceMissing('payment_intent', before.value, 'ending_before');
    newestFirst = newestFirst.slice(0, index);
    page = newestFirst.slice(Math.max(0, newestFirst.length - limit.value));
    hasMore = newestFirst.length > limit.value;
  } else {
    if (after.value !== null) {
      const index = newestFirst.findIndex((pi) => pi.id === after.value);
      if (index === -1) return resourceMissing('payment_intent', after.value, 'starting_after');
      newestFirst = newestFirst.slice(index + 1);
    }
    page = newestFirst.slice(0, limit.value);
    hasMore = newestFirst.length > limit.value;
  }
  return { status: 200, body: { object: 'list', url: '/v1/payment_intents', has_more: hasMore, data: page.map(renderPaymentIntent) }, saved: true };
};

export const searchPaymentIntents: Endpoint = (context, { params }) => {
  const unknown = read.rejectUnknown(params, ['query', 'limit', 'page', 'expand']);
  if (unknown !== null) return unknown;
  const query = read.requiredString(params, 'query');
  if (!query.ok) return query.error;
  const limit = read.pageLimit(params);
  if (!limit.ok) return limit.error;
  const page = read.optionalString(params, 'page', 100);
  if (!page.ok) return page.error;
  const offset = page.value === null ? 0 : decodePage(page.value);
  if (offset === null) return invalidParam('Invalid page cursor.', 'page');
  const parsed = parseSearchQuery(query.value);
  if (!parsed.ok) return invalidParam(parsed.message, 'query', 'parameter_invalid_string');
  const byTradeNumber = parsed.clauses.find((clause) => clause.field === 'metadata' && clause.key === 'out_trade_no');
  const candidates =
    byTradeNumber === undefined ? [...context.store.paymentIntents.values()] : context.store.paymentIntentsByTradeNumber(byTradeNumber.value);
  const found = candidates.filter((pi) => matches(pi, parsed.clauses)).reverse();
  const data = found.slice(offset, offset + limit.value);
  const hasMore = found.length > offset + limit.value;
  return {
    status: 200,
    body: {
      object: 'search_result',
      url: '/v1/payment_intents/search',
      has_more: hasMore,
      next_page: hasMore ? encodePage(offset + limit.value) : null,
      data: data.map(renderPaymentIntent),
    },
    saved: true,
  };
};

function encodePage(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePage(page: string): number | null {
  const match = /^offset:(\d{1,9})$/.exec(Buffer.from(page, 'base64url').toString('utf8'));
  return match === null ? null : Number(match[1]);
}
