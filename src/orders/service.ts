import { newId } from '../kernel/ids.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { normalizeCurrency } from '../kernel/currency.ts';
import { limits } from '../kernel/limits.ts';
import type { AppContext } from '../http/context.ts';
import { appendEvents } from '../outbox/outbox.ts';
import { StatementBuilder } from '../db/statement.ts';
import { ClaimNotWritten, claimCte, type HeldKey } from '../http/idempotency.ts';
import { couponsByCodes, redeemCoupons, releaseCoupons, toPricingCoupon } from './coupons.ts';
import { priceOrder, type PricedOrder } from './domain/pricing.ts';
import { applyOrderEvent, findOrder, insertOrder, type OrderRow } from './repository.ts';
import { writeOrder } from './order-writes.ts';

export interface OrderRequest {
  currency: string;
  items: { name: string; unit_amount: number; quantity: number; sku?: string }[];
  coupon_codes?: string[];
  customer?: { id?: string; email?: string };
  expected_amount_total?: number;
  metadata?: Record<string, string>;
}

export async function priceOrderRequest(ctx: AppContext, merchantId: string, body: OrderRequest) {
  const currency = normalizeCurrency(body.currency);
  if (currency === undefined) throw new ClearwayError('unsupported_currency', `Unknown currency ${body.currency}.`, { param: 'currency' });
  const coupons = await couponsByCodes(ctx.db, merchantId, body.coupon_codes ?? []);
  const priced = priceOrder({
    currency,
    items: body.items.map((item) => ({ name: item.name, unit_amount: BigInt(item.unit_amount), quantity: item.quantity, sku: item.sku ?? null })),
    coupons: coupons.map(toPricingCoupon),
    now: ctx.clock.now(),
  });
  if (!priced.ok) throw new ClearwayError(priced.code, priced.message, { param: priced.param });
  if (body.expected_amount_total !== undefined && BigInt(body.expected_amount_total) !== priced.value.amount_total) {
    throw new ClearwayError(
      'amount_mismatch',
      `expected_amount_total ${body.expected_amount_total} differs from the priced total ${priced.value.amount_total}.`,
      { param: 'expected_amount_total' },
    );
  }
  return priced.value;
}

function couponParams(body: OrderRequest, priced: PricedOrder): string[] {
  const codes = body.coupon_codes ?? [];
  return priced.applied_coupons.map((coupon) => `coupon_codes[${codes.indexOf(coupon.code)}]`);
}

/** A response the route sends as it is, stored under the request's idempotency key by the same statement. */
export interface StoredBody {
  readonly status: number;
  readonly body: string;
}

/** How an order's creation claims the request's idempotency key with its own write. */
export interface OrderClaim {
  readonly held: HeldKey;
  render(order: OrderRow): StoredBody;
}

/**
 * Creates an order. With `claim`, the idempotency key is written with the order, answered at once
 * with the rendered response (returned as `stored`); a key already taken writes nothing and throws
 * ClaimNotWritten.
 */
export async function createOrder(ctx: AppContext, merchantId: string, body: OrderRequest, claim: OrderClaim | null = null): Promise<{ order: OrderRow; stored: StoredBody | null }> {
  const priced = await priceOrderRequest(ctx, merchantId, body);
  const now = ctx.clock.now();
  const order: OrderRow = {
    id: newId('order'),
    merchant_id: merchantId,
    status: 'pending_payment',
    currency: priced.currency,
    items: priced.items.map((item) => ({
      name: item.name,
      sku: item.sku,
      unit_amount: String(item.unit_amount),
      quantity: item.quantity,
      amount_subtotal: String(item.amount_subtotal),
      amount_discount: String(item.amount_discount),
      amount_total: String(item.amount_total),
    })),
    amount_subtotal: priced.amount_subtotal,
    amount_discount: priced.amount_discount,
    amount_total: priced.amount_total,
    amount_refunded: 0n,
    pricing_log: priced.pricing_log,
    coupon_ids: priced.applied_coupons.map((c) => c.id),
    customer: body.customer ?? null,
    metadata: body.metadata ?? {},
    cancellation_reason: null,
    expires_at: new Date(now.getTime() + ctx.config.orderTtlSeconds * 1000),
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const events = [{ merchantId, type: 'order.created' as const, objectId: order.id, payload: { order_id: order.id, amount_total: String(order.amount_total) } }];
  const stored = claim ? claim.render(order) : null;
  const claimSql = claim && stored ? (s: StatementBuilder) => claimCte(s, claim.held, stored) : undefined;
  if (order.coupon_ids.length === 0) {
    // Written with the orders of concurrent requests (order-writes.ts).
    if (!(await writeOrder(ctx, { order, events, now, claim: claim && stored ? { held: claim.held, response: stored } : null }))) throw new ClaimNotWritten(`order ${order.id}`);
  } else {
    await ctx.db.transaction(async (tx) => {
      if (claimSql) {
        const s = new StatementBuilder();
        const { rows } = await tx.query<{ n: bigint }>(`WITH ${claimSql(s)} SELECT count(*) AS n FROM idempotency_claim`, s.params);
        if (BigInt(rows[0]?.n ?? 0) !== 1n) throw new ClaimNotWritten(`order ${order.id}`);
      }
      await insertOrder(tx, order);
      await redeemCoupons(tx, order.id, order.coupon_ids, couponParams(body, priced));
      await appendEvents(tx, events, now);
    });
  }
  if (claim) claim.held.deferred!.written = true;
  ctx.facts.orders.set(order.id, { merchant_id: merchantId, currency: order.currency, amount_total: order.amount_total, customer: order.customer });
  return { order, stored };
}

export async function cancelOrder(ctx: AppContext, merchantId: string, orderId: string): Promise<OrderRow> {
  return ctx.db.transaction(async (tx) => {
    const order = await findOrder(tx, merchantId, orderId, true);
    if (!order) throw new ClearwayError('not_found', `No order ${orderId}.`, { param: 'id' });
    const now = ctx.clock.now();
    const cancelled = await applyOrderEvent(tx, order, 'cancel', now, 'order_not_cancellable', { cancellation_reason: 'requested_by_merchant' });
    await releaseCoupons(tx, order.id);
    await appendEvents(tx, [{ merchantId, type: 'order.cancelled', objectId: order.id, payload: { order_id: order.id, reason: 'requested_by_merchant' } }], now);
    return cancelled;
  });
}

/**
 * Cancels orders left unpaid past expires_at. Safe in several processes at once:
 * rows are claimed with FOR UPDATE SKIP LOCKED.
 */
export async function expireOrders(ctx: AppContext): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const { rows } = await tx.query<OrderRow>(
      `SELECT * FROM orders WHERE status = 'pending_payment' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limits.order_expiry_batch_max],
    );
    for (const order of rows) {
      await applyOrderEvent(tx, order, 'expire', now, 'concurrent_update', { cancellation_reason: 'expired' });
      await releaseCoupons(tx, order.id);
      await appendEvents(tx, [{ merchantId: order.merchant_id, type: 'order.cancelled', objectId: order.id, payload: { order_id: order.id, reason: 'expired' } }], now);
    }
    return rows.length;
  });
}
