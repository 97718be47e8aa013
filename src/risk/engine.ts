// Screening one payment before routing: read the rules and the facts the rules need, then let
// the pure engine (domain/assess.ts) score and decide. Declines are recorded by the caller
// (src/payments/service.ts) without ever reaching a channel.
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import { assessRisk, customerIdentity, velocityLookups, type RiskAssessment } from './domain/assess.ts';
import { normalizeSignal, type RiskRules, type RiskSignals } from './domain/rules.ts';
import { allowlistMatches } from './domain/assess.ts';
import { countRecentPayments, hasSucceededPayment, readScreeningInputs } from './store.ts';
import { cachedRules, rememberRules } from './rules-cache.ts';

/** The customer as the payment request gives it (checkout-time facts). */
export interface PaymentCustomer {
  id?: string;
  email?: string;
  ip?: string;
  country?: string;
}

export interface ScreeningRequest {
  readonly order_id: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly customer?: PaymentCustomer | undefined;
  readonly payment_method_data?: Readonly<Record<string, string>> | undefined;
}

/** What is stored in payments.risk: the assessment, and the signals later velocity counts read. */
export interface StoredRiskAssessment extends RiskAssessment {
  readonly signals: RiskSignals;
}

/** The payment's signals: the request's customer first, then the order's; the card fingerprint if given. */
export function paymentSignals(request: ScreeningRequest, orderCustomer: { id?: string; email?: string } | null): RiskSignals {
  const signals: RiskSignals = {};
  const customerId = request.customer?.id ?? orderCustomer?.id;
  const email = request.customer?.email ?? orderCustomer?.email;
  const fingerprint = request.payment_method_data?.['card_fingerprint'];
  if (customerId !== undefined && customerId.trim() !== '') signals.customer_id = normalizeSignal('customer_id', customerId);
  if (email !== undefined && email.trim() !== '') signals.email = normalizeSignal('email', email);
  if (request.customer?.ip !== undefined) signals.ip = normalizeSignal('ip', request.customer.ip);
  if (fingerprint !== undefined && fingerprint.trim() !== '') signals.card_fingerprint = normalizeSignal('card_fingerprint', fingerprint);
  if (request.customer?.country !== undefined) signals.country = request.customer.country.toUpperCase();
  return signals;
}

async function velocityCounts(ctx: AppContext, merchantId: string, rules: RiskRules, signals: RiskSignals, now: Date): Promise<(number | null)[]> {
  return Promise.all(
    velocityLookups(rules, signals).map((lookup) => {
      if (lookup === null) return null;
      const since = new Date(now.getTime() - lookup.rule.window_seconds * 1000);
      return countRecentPayments(ctx.db, merchantId, lookup.rule.key, lookup.value, since, Math.min(lookup.rule.max_count, limits.risk_velocity_count_max));
    }),
  );
}

async function newCustomer(ctx: AppContext, merchantId: string, rules: RiskRules, request: ScreeningRequest, signals: RiskSignals): Promise<boolean | null> {
  const identity = customerIdentity(signals);
  // Asked only when the answer can matter: a threshold for this currency that the amount reaches.
  const threshold = rules.new_customer_amount_thresholds[request.currency];
  if (identity === null || threshold === undefined || request.amount < BigInt(threshold)) return null;
  return !(await hasSucceededPayment(ctx.db, merchantId, identity.key, identity.value));
}

/** The rules and the order's customer: from this process's caches when it has both, else one read. */
async function screeningInputs(ctx: AppContext, merchantId: string, orderId: string): Promise<{ rules: RiskRules; orderCustomer: { id?: string; email?: string } | null }> {
  const rules = cachedRules(ctx, merchantId);
  const order = ctx.facts.orders.get(orderId);
  if (rules !== undefined && order?.merchant_id === merchantId && order.customer !== undefined) return { rules, orderCustomer: order.customer };
  const read = await readScreeningInputs(ctx.db, merchantId, orderId);
  rememberRules(ctx, merchantId, read.rules);
  return read;
}

export async function screenPayment(ctx: AppContext, merchantId: string, request: ScreeningRequest): Promise<StoredRiskAssessment> {
  const now = ctx.clock.now();
  const { rules, orderCustomer } = await screeningInputs(ctx, merchantId, request.order_id);
  const signals = paymentSignals(request, orderCustomer);
  const allowlisted = allowlistMatches(rules, signals).length > 0;
  const [counts, isNew] = allowlisted
    ? [rules.velocity.map(() => null), null]
    : await Promise.all([velocityCounts(ctx, merchantId, rules, signals, now), newCustomer(ctx, merchantId, rules, request, signals)]);
  const assessment = assessRisk(rules, { amount: request.amount, currency: request.currency, signals, velocity_counts: counts, new_customer: isNew });
  ctx.logger.debug({ merchant_id: merchantId, order_id: request.order_id, risk: assessment }, 'risk screened');
  return { ...assessment, signals };
}
