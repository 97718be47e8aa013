// Writing new orders: orders created while earlier ones are being written are written together
// by one set-based statement (src/db/group-commit.ts), one round trip and one commit for the
// batch. Each order writes its request's idempotency key first when it carries one (answered at
// once with the order) and nothing unless that key was free, exactly as alone
// (insertOrderWithEvents). Only orders without coupons come here: redeeming a coupon takes a
// transaction of its own (service.ts).
import { GroupsPerDatabase } from '../db/group-commit.ts';
import { StatementBuilder } from '../db/statement.ts';
import { claimCte, claimsCte, keyIdentity, type ClaimToWrite } from '../http/idempotency.ts';
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { outboxSetInsertSql, type OutboxEvent } from '../outbox/outbox.ts';
import { insertOrderWithEvents, type NewOrder } from './repository.ts';

/** One order to write, with its events and the request's key to claim, answered with `response`. */
export interface OrderWrite {
  readonly order: NewOrder;
  readonly events: readonly OutboxEvent[];
  readonly now: Date;
  readonly claim: ClaimToWrite | null;
}

const groups = new GroupsPerDatabase<OrderWrite, boolean>();

/** Whether these orders can be written by one statement: no idempotency key twice. */
export function ordersFitOneStatement(writes: readonly OrderWrite[]): boolean {
  const claims = writes.flatMap((write) => (write.claim ? [keyIdentity(write.claim.held.owner, write.claim.held.key)] : []));
  return new Set(claims).size === claims.length;
}

function writeOne(ctx: AppContext, write: OrderWrite): Promise<boolean> {
  const claim = write.claim;
  const claimSql = claim ? (s: StatementBuilder) => claimCte(s, claim.held, claim.response) : undefined;
  return insertOrderWithEvents(ctx.db.keyed, write.order, write.events, write.now, claimSql);
}

/** Writes the orders whose key was free (or that carry none), all in one statement; says, per order, whether it was written. */
async function insertOrdersSet(ctx: AppContext, writes: readonly OrderWrite[]): Promise<boolean[]> {
  const s = new StatementBuilder();
  for (const write of writes) assert(write.order.coupon_ids.length === 0, 'insertOrdersSet: orders without coupons');
  const input = [
    s.column(writes, 'text', (w) => w.order.id), s.column(writes, 'text', (w) => w.order.merchant_id), s.column(writes, 'text', (w) => w.order.status),
    s.column(writes, 'text', (w) => w.order.currency), s.column(writes, 'text', (w) => JSON.stringify(w.order.items)),
    s.column(writes, 'bigint', (w) => w.order.amount_subtotal), s.column(writes, 'bigint', (w) => w.order.amount_discount), s.column(writes, 'bigint', (w) => w.order.amount_total),
    s.column(writes, 'text', (w) => JSON.stringify(w.order.pricing_log)), s.column(writes, 'text', (w) => (w.order.customer === null ? null : JSON.stringify(w.order.customer))),
    s.column(writes, 'text', (w) => JSON.stringify(w.order.metadata)), s.column(writes, 'timestamptz', (w) => w.order.expires_at),
    s.column(writes, 'timestamptz', (w) => w.order.created_at),
    s.column(writes, 'text', (w) => w.claim?.held.owner ?? null), s.column(writes, 'text', (w) => w.claim?.held.key ?? null),
  ];
  const claims = claimsCte(s, writes.map((write) => write.claim));
  const events = writes.flatMap((write) => write.events.map((event) => ({ event, now: write.now, key: write.order.id })));
  const sql = `WITH input AS (
      SELECT * FROM unnest(${input.join(', ')}) AS i(id, merchant_id, status, currency, items, amount_subtotal, amount_discount, amount_total,
        pricing_log, customer, metadata, expires_at, created_at, claim_owner, claim_key)),
    ${claims},
    order_insert AS (
      INSERT INTO orders (id, merchant_id, status, currency, items, amount_subtotal, amount_discount, amount_total, pricing_log, coupon_ids, customer, metadata,
        expires_at, created_at, updated_at)
      SELECT i.id, i.merchant_id, i.status, i.currency, i.items::jsonb, i.amount_subtotal, i.amount_discount, i.amount_total, i.pricing_log::jsonb, '{}'::text[],
        i.customer::jsonb, i.metadata::jsonb, i.expires_at, i.created_at, i.created_at
      FROM input i
      WHERE i.claim_owner IS NULL OR EXISTS (SELECT 1 FROM idempotency_claim c WHERE c.owner = i.claim_owner AND c.key = i.claim_key)
      RETURNING id),
    outbox AS (${outboxSetInsertSql(s, events, 'order_insert', 'id')})
    SELECT (SELECT coalesce(array_agg(id), '{}') FROM order_insert) AS written, (SELECT count(*) FROM outbox) AS events`;
  // Rows found by key only: one cached plan on the keyed lane (Database.keyed).
  const { rows } = await ctx.db.keyed.query<{ written: string[] }>(sql, s.params, { plan: 'keyed' });
  const written = new Set(rows[0]?.written ?? []);
  return writes.map((write) => written.has(write.order.id));
}

/**
 * Writes one order without coupons, with its events and its request's key; says whether it did
 * (false: the key was taken, nothing written). Concurrent orders on one database are written together.
 */
export function writeOrder(ctx: AppContext, write: OrderWrite): Promise<boolean> {
  return groups.groupOf(ctx.db, () => ({
    writeOne: (one) => writeOne(ctx, one),
    writeBatch: (writes) => insertOrdersSet(ctx, writes),
    fitsBatch: ordersFitOneStatement,
    batchMax: limits.order_batch_max,
    batchesInFlightMax: limits.order_batches_in_flight_max,
    onBatch: (size, outcome) => ctx.metrics.orderBatches.observe({ outcome }, size),
  })).submit(write);
}
