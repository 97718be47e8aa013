// A payment, end to end: record the intent, call the channel with no transaction open, record
// the outcome; fail over only when the previous attempt certainly took no money.
import { channelPaymentNotFound, type ChannelMethod, type ChannelPaymentOutcome } from '../channels/contract.ts';
import type { Channel } from '../channels/registry.ts';
import { ClearwayError } from '../kernel/errors.ts';
import { ClaimNotWritten, type HeldKey } from '../http/idempotency.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import type { AppContext, OrderFacts } from '../http/context.ts';
import { findOrder } from '../orders/repository.ts';
import { transitionOrder } from '../orders/domain/order-state.ts';
import { recordAttemptOutcome, type NextChannel, type StoredResponse } from './record-outcome.ts';
import type { AttemptRow, PaymentRow } from './repository.ts';
import { writeStart } from './start-writes.ts';
import { screenPayment, type PaymentCustomer, type StoredRiskAssessment } from '../risk/engine.ts';
import { insertDeclinedPaymentGuarded } from '../risk/store.ts';
import type { RoutingArm, RoutingPolicy } from '../routing/policy.ts';
import { planByPolicy } from '../routing/plan.ts';
import { successWindowOf } from '../routing/success-window.ts';
import { cachedRoutingPolicy } from '../routing/store.ts';

export interface PaymentRequest {
  order_id: string;
  method: ChannelMethod;
  payment_method_data?: Record<string, string>;
  preferred_channel?: string;
  /** Checkout-time facts the risk rules screen on (docs/risk.md). */
  customer?: PaymentCustomer;
}

interface PlannedChannel {
  readonly channel: Channel;
  readonly routing_reason: string;
}

/** The routing policy a payment is planned with, and the experiment arm its id falls in. */
export interface PolicyRouting {
  readonly policy: RoutingPolicy;
  readonly paymentId: string;
  /** The risk engine's decision: routing's risk fit reads it. */
  readonly risk?: { readonly decision: string } | null;
}

/** What the plan records on the payment: the policy version and arm that routed it. */
export interface RoutingChoice {
  readonly policy_version: number | null;
  readonly arm: RoutingArm | null;
}

interface Plan {
  readonly channels: PlannedChannel[];
  readonly choice: RoutingChoice;
}

/**
 * The channels to try, in order. Channels whose circuit is open are left out (the registry's
 * route), unless every one is open. The candidates are ranked by the merchant's routing policy,
 * or, without one, by the default ranking: the customer's preferred channel, availability, fee
 * cost for this amount, recent success rate, risk fit (src/routing/plan.ts, rank.ts).
 */
export function planChannels(ctx: AppContext, method: ChannelMethod, currency: string, amount: bigint, preferred: string | undefined, routing: PolicyRouting): PlannedChannel[] {
  return planRoute(ctx, method, currency, amount, preferred, routing).channels;
}

function planRoute(ctx: AppContext, method: ChannelMethod, currency: string, amount: bigint, preferred: string | undefined, routing: PolicyRouting): Plan {
  return planByPolicy({
    route: ctx.channels.route(method, currency, amount), method, currency, amount, preferred, policy: routing.policy, paymentId: routing.paymentId,
    risk: routing.risk ?? null, now: ctx.clock.now(), successes: successWindowOf(ctx.channels),
  });
}

function unavailable(ctx: AppContext, method: ChannelMethod, currency: string, amount: bigint): ClearwayError {
  const availability = ctx.channels.availability(method, currency, amount);
  return new ClearwayError('payment_method_unavailable', `No channel can take ${method} for this order${availability.available ? '' : `: ${availability.reason}`}.`, { param: 'method' });
}

interface StartedPayment {
  readonly payment: PaymentRow;
  /** Null for a payment the risk engine declined: no attempt, no channel, an empty plan. */
  readonly attempt: AttemptRow | null;
  readonly plan: PlannedChannel[];
}

/**
 * A risk decline, recorded as a failed payment with no attempt while its order is pending_payment
 * (it stays so). Returns null when the order was not payable (the caller reads it to say why).
 */
async function recordRiskDecline(ctx: AppContext, merchantId: string, body: PaymentRequest, order: OrderFacts, risk: StoredRiskAssessment, now: Date): Promise<StartedPayment | null> {
  const payment: PaymentRow = {
    id: newId('payment'), merchant_id: merchantId, order_id: body.order_id, status: 'failed', amount: order.amount_total, currency: order.currency,
    method: body.method, channel: null, amount_captured: 0n, amount_refunded: 0n, amount_refund_pending: 0n, fee_amount: null, channel_fee_amount: null, failure_code: 'risk_declined',
    failure_message: `Declined by risk rules: ${risk.reasons.join(', ')}.`, next_action: null, risk, payment_method_data: body.payment_method_data ?? {},
    version: 1, created_at: now, updated_at: now,
  };
  const payload = { payment_id: payment.id, order_id: body.order_id, amount: String(payment.amount), currency: payment.currency };
  const events = [
    { merchantId, type: 'payment.created' as const, objectId: payment.id, payload },
    { merchantId, type: 'payment.failed' as const, objectId: payment.id, payload: { ...payload, channel: null, failure_code: 'risk_declined' } },
  ];
  return (await insertDeclinedPaymentGuarded(ctx.db, payment, events, now)) ? { payment, attempt: null, plan: [] } : null;
}

/**
 * Step 1: move the order to paying and record the payment and its first attempt, in one guarded
 * statement, shared with the starts of concurrent requests (start-writes.ts). Nothing here calls
 * a channel.
 */
async function startPayment(ctx: AppContext, merchantId: string, body: PaymentRequest, claim: HeldKey | null): Promise<StartedPayment> {
  let risk: StoredRiskAssessment | null = null;
  // The request's key while no statement has written it; null once written (or without one).
  let unwritten = claim;
  // One cached read per merchant per second at most (src/routing/store.ts).
  const policy = await cachedRoutingPolicy(ctx, merchantId);
  for (let tries = 0; tries < limits.transaction_retries_max; tries++) {
    const now = ctx.clock.now();
    const cached = ctx.facts.orders.get(body.order_id);
    const order = cached?.merchant_id === merchantId ? cached : await payableOrder(ctx, merchantId, body.order_id);
    if (order.amount_total <= 0n) throw new ClearwayError('order_not_payable', `Order ${body.order_id} has nothing to pay.`, { param: 'order_id' });
    // Risk runs before routing, once per request; a decline never reaches a channel.
    risk ??= await screenPayment(ctx, merchantId, { order_id: body.order_id, amount: order.amount_total, currency: order.currency, customer: body.customer, payment_method_data: body.payment_method_data });
    if (risk.decision === 'decline') {
      // A decline writes its own statement: the key is claimed the ordinary way first.
      if (unwritten) throw new ClaimNotWritten(`the risk decline of order ${body.order_id}`);
      const declined = await recordRiskDecline(ctx, merchantId, body, order, risk, now);
      if (declined) return declined;
      await payableOrder(ctx, merchantId, body.order_id);
      continue;
    }
    // The payment id exists before planning: the experiment arm is a hash of it.
    const paymentId = newId('payment');
    const { channels: plan, choice } = planRoute(ctx, body.method, order.currency, order.amount_total, body.preferred_channel, { policy, paymentId, risk });
    const first = plan[0];
    if (first === undefined) throw unavailable(ctx, body.method, order.currency, order.amount_total);
    const payment: PaymentRow = {
      id: paymentId, merchant_id: merchantId, order_id: body.order_id, status: 'processing', amount: order.amount_total, currency: order.currency,
      method: body.method, channel: first.channel.config.id, amount_captured: 0n, amount_refunded: 0n, amount_refund_pending: 0n, fee_amount: null, channel_fee_amount: null, failure_code: null,
      failure_message: null, next_action: null, risk, payment_method_data: body.payment_method_data ?? {}, version: 1, created_at: now, updated_at: now,
    };
    const attemptId = newId('attempt');
    const attempt: AttemptRow = {
      id: attemptId, payment_id: payment.id, merchant_id: merchantId, channel: first.channel.config.id, status: 'created', out_trade_no: attemptId,
      channel_txn_id: null, amount: payment.amount, currency: payment.currency, routing_reason: first.routing_reason, failure_code: null,
      failure_message: null, version: 1, created_at: now, updated_at: now,
    };
    const events = [{ merchantId, type: 'payment.created' as const, objectId: payment.id, payload: { payment_id: payment.id, order_id: body.order_id, amount: String(payment.amount), currency: payment.currency } }];
    const written = await writeStart(ctx, { order: { id: body.order_id, merchant_id: merchantId }, payment, attempt, events, now, routing: choice, claim: unwritten });
    if (unwritten && written.claimed) {
      // The key is ours now (in flight), whether or not the payment started: its answer is this request's.
      unwritten.deferred!.written = true;
      unwritten = null;
    }
    if (written.started) return { payment, attempt, plan };
    // The key was taken: claimed the ordinary way (replay, 422 or 409), the request runs again.
    if (unwritten) throw new ClaimNotWritten(`the payment of order ${body.order_id}`);
    // Not pending_payment (another payment, a cancel, or no such order): read it to say why.
    await payableOrder(ctx, merchantId, body.order_id);
  }
  throw new ClearwayError('concurrent_update', `Order ${body.order_id} kept changing; retry.`);
}

/** Reads an order, answering 404 or 409 when it cannot take a payment now; remembers its facts. */
async function payableOrder(ctx: AppContext, merchantId: string, orderId: string): Promise<OrderFacts> {
  const order = await findOrder(ctx.db, merchantId, orderId);
  if (!order) throw new ClearwayError('not_found', `No order ${orderId}.`, { param: 'order_id' });
  const facts: OrderFacts = { merchant_id: order.merchant_id, currency: order.currency, amount_total: order.amount_total };
  ctx.facts.orders.set(order.id, facts);
  const next = transitionOrder(order.status, 'payment_started');
  if (!next.ok) throw new ClearwayError('order_not_payable', `Order ${order.id} is ${order.status}: ${next.rejection}.`, { param: 'order_id' });
  return facts;
}

async function callChannel(ctx: AppContext, channel: Channel, payment: PaymentRow, attempt: AttemptRow): Promise<ChannelPaymentOutcome> {
  const started = performance.now();
  let outcome = await channel.connector.createPayment({
    out_trade_no: attempt.out_trade_no, amount: attempt.amount, currency: attempt.currency, method: payment.method,
    description: `Clearway order ${payment.order_id}`, payment_method_data: payment.payment_method_data,
    metadata: { payment_id: payment.id, order_id: payment.order_id },
  });
  ctx.metrics.channelCalls.observe({ channel: channel.config.id, flow: 'create', outcome: outcome.kind === 'result' ? outcome.status : outcome.kind }, (performance.now() - started) / 1000);
  if (outcome.kind === 'unknown') {
    // Ambiguous: ask the channel before anything else. If it still cannot say, the repair job will.
    const ambiguous = outcome;
    outcome = await channel.connector.queryPayment(attempt.out_trade_no, { amount: attempt.amount, currency: attempt.currency });
    // "Not found" this soon may be a create still in flight at the channel: stay unknown.
    if (outcome.kind === 'result' && outcome.status === 'failed' && outcome.failure_code === channelPaymentNotFound) return ambiguous;
  }
  return outcome;
}

export interface PaymentResult {
  readonly payment: PaymentRow;
  readonly attempts: AttemptRow[];
  /** The response already stored under the request's idempotency key, with the last state change. */
  readonly storedResponse: StoredResponse | null;
}

/** How the caller's response is rendered and under which idempotency key it is stored. */
export interface ResponseStore {
  readonly owner: string;
  readonly key: string;
  render(payment: PaymentRow, attempts: readonly AttemptRow[]): { status: number; body: string };
}

/**
 * Pays an order. With `claim` (a request's idempotency key not claimed yet), the key is written,
 * in flight, by the statement that starts the payment; when that statement cannot write it, the
 * call throws ClaimNotWritten having written nothing (src/http/idempotency.ts withFirstWriteClaim).
 */
export async function createPayment(ctx: AppContext, merchantId: string, body: PaymentRequest, responseStore: ResponseStore | null = null, claim: HeldKey | null = null): Promise<PaymentResult> {
  if (body.preferred_channel !== undefined && !ctx.channels.get(body.preferred_channel)) {
    throw new ClearwayError('invalid_param', `No channel ${body.preferred_channel}.`, { param: 'preferred_channel' });
  }
  const started = await startPayment(ctx, merchantId, body, claim);
  const { plan } = started;
  let payment = started.payment;
  const attempts: AttemptRow[] = [];
  let storedResponse: StoredResponse | null = null;
  let attempt: AttemptRow | null = started.attempt;
  for (let index = 0; attempt !== null && index < plan.length; index++) {
    const following = plan[index + 1];
    const next: NextChannel | null = following ? { channel: following.channel.config.id, routing_reason: following.routing_reason } : null;
    const earlier = [...attempts];
    const finish = responseStore
      ? (after: PaymentRow, last: AttemptRow): StoredResponse => ({ owner: responseStore.owner, key: responseStore.key, ...responseStore.render(after, [...earlier, last]) })
      : undefined;
    const calling: AttemptRow = attempt;
    const known = { payment, attempt: calling, ...(finish ? { finish } : {}) };
    // In flight from the call until its outcome is recorded: a notification meanwhile waits for it.
    const recorded = await ctx.attemptsInFlight.around(calling.out_trade_no, async () =>
      recordAttemptOutcome(ctx, calling, await callChannel(ctx, plan[index]!.channel, payment, calling), next, known));
    payment = recorded.payment;
    attempts.push(recorded.attempt);
    storedResponse = recorded.storedResponse ?? null;
    attempt = recorded.nextAttempt;
  }
  return { payment, attempts, storedResponse };
}
