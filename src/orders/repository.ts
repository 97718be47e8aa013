import type { Queryable } from '../db/database.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { StatementBuilder } from '../db/statement.ts';
import { outboxInsertSql, type OutboxEvent } from '../outbox/outbox.ts';
import type { PricingStep } from './domain/pricing.ts';
import { transitionOrder, type OrderEvent, type OrderStatus } from './domain/order-state.ts';

export interface OrderItemRecord {
  name: string;
  sku: string | null;
  unit_amount: string; // minor units as decimal text inside jsonb
  quantity: number;
  amount_subtotal: string;
  amount_discount: string;
  amount_total: string;
}

export interface OrderRow {
  id: string;
  merchant_id: string;
  status: OrderStatus;
  currency: string;
  items: OrderItemRecord[];
  amount_subtotal: bigint;
  amount_discount: bigint;
  amount_total: bigint;
  amount_refunded: bigint;
  pricing_log: PricingStep[];
  coupon_ids: string[];
  customer: { id?: string; email?: string } | null;
  metadata: Record<string, string>;
  cancellation_reason: string | null;
  expires_at: Date;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type NewOrder = Omit<OrderRow, 'version' | 'updated_at' | 'amount_refunded' | 'cancellation_reason'>;

function orderValues(s: StatementBuilder, order: NewOrder): string {
  return [
    s.bind(order.id, '::text'), s.bind(order.merchant_id, '::text'), s.bind(order.status, '::text'), s.bind(order.currency, '::text'), s.bind(JSON.stringify(order.items), '::jsonb'),
    s.bind(order.amount_subtotal, '::bigint'), s.bind(order.amount_discount, '::bigint'), s.bind(order.amount_total, '::bigint'),
    s.bind(JSON.stringify(order.pricing_log), '::jsonb'), s.bind(order.coupon_ids, '::text[]'),
    s.bind(order.customer === null ? null : JSON.stringify(order.customer), '::jsonb'), s.bind(JSON.stringify(order.metadata), '::jsonb'),
    s.bind(order.expires_at, '::timestamptz'), s.bind(order.created_at, '::timestamptz'), s.bind(order.created_at, '::timestamptz'),
  ].join(', ');
}

const orderColumns = `id, merchant_id, status, currency, items, amount_subtotal, amount_discount, amount_total,
  pricing_log, coupon_ids, customer, metadata, expires_at, created_at, updated_at`;

export async function insertOrder(tx: Queryable, order: NewOrder): Promise<void> {
  const s = new StatementBuilder();
  await tx.query(`INSERT INTO orders (${orderColumns}) VALUES (${orderValues(s, order)})`, s.params);
}

/**
 * The order and its outbox events in one statement (one round trip, atomic). With `claim` (the
 * CTE `idempotency_claim`, src/http/idempotency.ts), the statement also writes the request's
 * idempotency key and writes the order only if the key was free. Returns whether it wrote.
 */
export async function insertOrderWithEvents(db: Queryable, order: NewOrder, events: readonly OutboxEvent[], now: Date, claim?: (s: StatementBuilder) => string): Promise<boolean> {
  const s = new StatementBuilder();
  const claimed = claim ? `${claim(s)},\n` : '';
  const values = orderValues(s, order);
  const outbox = outboxInsertSql(s, events, now, 'order_insert');
  const { rows } = await db.query<{ n: bigint }>(
    `WITH ${claimed}order_insert AS (INSERT INTO orders (${orderColumns}) SELECT ${values}${claim ? ' WHERE EXISTS (SELECT 1 FROM idempotency_claim)' : ''} RETURNING id)${outbox ? `, outbox AS (${outbox})` : ''}
     SELECT count(*) AS n FROM order_insert`,
    s.params,
  );
  return BigInt(rows[0]?.n ?? 0) === 1n;
}

export async function findOrder(db: Queryable, merchantId: string, id: string, lock = false): Promise<OrderRow | null> {
  const { rows } = await db.query<OrderRow>(
    `SELECT * FROM orders WHERE id = $1 AND merchant_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [id, merchantId],
  );
  return rows[0] ?? null;
}

/**
 * Moves an order by one event of its transition table, with a version check.
 * The caller holds the row lock (SELECT ... FOR UPDATE) in the same transaction.
 */
export async function applyOrderEvent(
  tx: Queryable,
  order: OrderRow,
  event: OrderEvent,
  now: Date,
  rejection: 'order_not_payable' | 'order_not_cancellable' | 'concurrent_update',
  extra: { cancellation_reason?: string } = {},
): Promise<OrderRow> {
  const next = transitionOrder(order.status, event);
  if (!next.ok) throw new ClearwayError(rejection, `Order ${order.id} is ${order.status}: ${next.rejection}.`);
  const result = await tx.query(
    `UPDATE orders SET status = $3, version = version + 1, updated_at = $4, cancellation_reason = COALESCE($5, cancellation_reason)
     WHERE id = $1 AND version = $2`,
    [order.id, order.version, next.state, now, extra.cancellation_reason ?? null],
  );
  if (result.rowCount !== 1) throw new ClearwayError('concurrent_update', `Order ${order.id} changed meanwhile.`);
  return { ...order, status: next.state, version: order.version + 1, updated_at: now, cancellation_reason: extra.cancellation_reason ?? order.cancellation_reason };
}

/**
 * Moves an order whose current status the caller knows from an invariant (a processing payment
 * means a paying order), in one statement: the status in the WHERE clause is the check.
 */
export async function applyOrderEventFrom(tx: Queryable, orderId: string, from: OrderStatus, event: OrderEvent, now: Date): Promise<OrderStatus> {
  const next = transitionOrder(from, event);
  if (!next.ok) throw new ClearwayError('concurrent_update', `Order ${orderId}: ${next.rejection}.`);
  const result = await tx.query(
    'UPDATE orders SET status = $3, version = version + 1, updated_at = $4 WHERE id = $1 AND status = $2',
    [orderId, from, next.state, now],
  );
  if (result.rowCount !== 1) throw new Error(`assertion failed: order ${orderId} of a live payment is ${from}`);
  return next.state;
}
