// Pure translation between the connector contract and Stripe's PaymentIntents and Refunds:
// request bodies, the exhaustive status maps, the decline map, and the check that every
// response matches its request before it is believed. No I/O here.
import type {
  ChannelCallFailure,
  ChannelPaymentOutcome,
  ChannelPaymentRequest,
  ChannelPaymentResult,
  ChannelPaymentStatus,
  ChannelRefundOutcome,
  ChannelRefundRequest,
  ChannelRefundStatus,
} from '../contract.ts';
import { fromStripeAmount, toStripeAmount } from './amount.ts';
import type { FormFields } from './form.ts';

export const tradeNumberMetadataKey = 'out_trade_no';
export const refundNumberMetadataKey = 'out_refund_no';

// ---------------------------------------------------------------- reading Stripe JSON

export interface StripeErrorView {
  readonly type: string | null;
  readonly code: string | null;
  readonly decline_code: string | null;
  readonly message: string | null;
}

export interface PaymentIntentView {
  readonly id: string;
  readonly status: string;
  readonly amount: unknown; // checked against the request, never trusted
  readonly currency: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly last_payment_error: StripeErrorView | null;
  readonly redirect_url: string | null;
}

export interface RefundView {
  readonly id: string;
  readonly status: string;
  readonly amount: unknown;
  readonly currency: string;
  readonly payment_intent: string | null;
  readonly failure_reason: string | null;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function readStripeError(value: unknown): StripeErrorView | null {
  if (!isObject(value)) return null;
  return { type: stringOrNull(value['type']), code: stringOrNull(value['code']), decline_code: stringOrNull(value['decline_code']), message: stringOrNull(value['message']) };
}

export function readPaymentIntent(value: unknown): PaymentIntentView | null {
  if (!isObject(value) || value['object'] !== 'payment_intent') return null;
  const { id, status, currency, metadata } = value;
  if (typeof id !== 'string' || typeof status !== 'string' || typeof currency !== 'string' || !isObject(metadata)) return null;
  const strings: Record<string, string> = {};
  for (const [key, item] of Object.entries(metadata)) if (typeof item === 'string') strings[key] = item;
  const nextAction = value['next_action'];
  const redirect = isObject(nextAction) && isObject(nextAction['redirect_to_url']) ? stringOrNull(nextAction['redirect_to_url']['url']) : null;
  const lastError = value['last_payment_error'];
  return { id, status, amount: value['amount'], currency, metadata: strings, last_payment_error: lastError == null ? null : readStripeError(lastError), redirect_url: redirect };
}

export function readRefund(value: unknown): RefundView | null {
  if (!isObject(value) || value['object'] !== 'refund') return null;
  const { id, status, currency } = value;
  if (typeof id !== 'string' || typeof status !== 'string' || typeof currency !== 'string') return null;
  return { id, status, amount: value['amount'], currency, payment_intent: stringOrNull(value['payment_intent']), failure_reason: stringOrNull(value['failure_reason']) };
}

/** The data of a list or search_result page; null when the body is not one. */
export function readPaymentIntentPage(value: unknown): { data: PaymentIntentView[]; has_more: boolean; malformed: number } | null {
  if (!isObject(value) || !Array.isArray(value['data']) || typeof value['has_more'] !== 'boolean') return null;
  const read = value['data'].map(readPaymentIntent);
  const data = read.filter((pi): pi is PaymentIntentView => pi !== null);
  return { data, has_more: value['has_more'], malformed: read.length - data.length };
}

// ---------------------------------------------------------------- status and decline maps

export const paymentIntentStatuses = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
export type PaymentIntentStatus = (typeof paymentIntentStatuses)[number];

export interface MappedStatus {
  readonly status: ChannelPaymentStatus;
  readonly failure_code: string | null;
  readonly failure_message: string | null;
  readonly retryable_elsewhere: boolean;
}

const pending: MappedStatus = { status: 'pending', failure_code: null, failure_message: null, retryable_elsewhere: false };

/**
 * Every PaymentIntent status, no catch-all. We always create with capture_method=automatic and
 * confirm=true, so requires_capture (authorized, not captured) and requires_confirmation are
 * not money received: pending. requires_payment_method is a failure only when Stripe says why
 * (last_payment_error); without one the intent was never tried: pending. A canceled intent
 * holds no money (Stripe releases any authorization), so another channel may take the payment.
 */
export const paymentIntentStatusMap: { readonly [S in PaymentIntentStatus]: (pi: PaymentIntentView) => MappedStatus } = {
  requires_payment_method: (pi) => (pi.last_payment_error === null ? pending : declined(pi.last_payment_error)),
  requires_confirmation: () => pending,
  requires_action: () => ({ ...pending, status: 'requires_action' }),
  processing: () => pending,
  requires_capture: () => pending,
  canceled: () => ({ status: 'failed', failure_code: 'canceled', failure_message: 'The PaymentIntent was canceled.', retryable_elsewhere: true }),
  succeeded: () => ({ ...pending, status: 'succeeded' }),
};

export function mapPaymentIntentStatus(pi: PaymentIntentView): MappedStatus {
  const known = (paymentIntentStatuses as readonly string[]).includes(pi.status);
  return known ? paymentIntentStatusMap[pi.status as PaymentIntentStatus](pi) : pending; // a status Stripe adds later: pending
}

/**
 * Stripe decline codes (https://docs.stripe.com/declines/codes): may another channel take the
 * payment? Every decline here is definite (no money moved), so either answer is safe from
 * double charges; `true` says the cause was the processor or network, not the card, so another
 * acquirer may well succeed. Card and cardholder problems, fraud signals, and any code not
 * listed are `false`: sending a declined card around every acquirer hurts more than it helps.
 */
export const declineRetryableElsewhere: Readonly<Record<string, boolean>> = Object.freeze({
  processing_error: true,
  try_again_later: true,
  issuer_not_available: true,
  reenter_transaction: true,
  approve_with_id: true,
  currency_not_supported: true,
  card_declined: false,
  generic_decline: false,
  insufficient_funds: false,
  expired_card: false,
  incorrect_cvc: false,
  invalid_cvc: false,
  incorrect_number: false,
  invalid_number: false,
  invalid_expiry_month: false,
  invalid_expiry_year: false,
  incorrect_zip: false,
  do_not_honor: false,
  do_not_try_again: false,
  fraudulent: false,
  lost_card: false,
  stolen_card: false,
  pickup_card: false,
  restricted_card: false,
  security_violation: false,
  card_velocity_exceeded: false,
  withdrawal_count_limit_exceeded: false,
  transaction_not_allowed: false,
  card_not_supported: false,
  duplicate_transaction: false,
  authentication_required: false,
  call_issuer: false,
  merchant_blacklist: false,
  testmode_decline: false,
});

export function isRetryableElsewhere(error: StripeErrorView): boolean {
  for (const code of [error.decline_code, error.code]) {
    if (code !== null && Object.prototype.hasOwnProperty.call(declineRetryableElsewhere, code)) return declineRetryableElsewhere[code] === true;
  }
  return false;
}

function declined(error: StripeErrorView): MappedStatus {
  return {
    status: 'failed',
    failure_code: error.decline_code ?? error.code ?? 'card_declined',
    failure_message: error.message,
    retryable_elsewhere: isRetryableElsewhere(error),
  };
}

// ---------------------------------------------------------------- payments

export interface ExpectedPayment {
  readonly out_trade_no: string;
  readonly amount: bigint;
  readonly currency: string; // ISO upper case
}

export type BuiltPaymentForm = { readonly ok: true; readonly fields: FormFields } | { readonly ok: false; readonly result: ChannelPaymentResult };

/** A failure decided before anything was sent: certainly no money moved. */
function refusedBeforeSending(expected: ExpectedPayment, code: string, message: string): ChannelPaymentResult {
  return {
    kind: 'result', status: 'failed', channel_txn_id: null, amount: expected.amount, currency: expected.currency,
    failure_code: code, failure_message: message, retryable_elsewhere: true, next_action: null,
  };
}

export function buildPaymentIntentForm(request: ChannelPaymentRequest): BuiltPaymentForm {
  const expected = { out_trade_no: request.out_trade_no, amount: request.amount, currency: request.currency };
  if (request.method !== 'card') return { ok: false, result: refusedBeforeSending(expected, 'method_not_supported', `Stripe connector takes cards, not ${request.method}.`) };
  const token = request.payment_method_data['token'];
  if (token === undefined || token === '') return { ok: false, result: refusedBeforeSending(expected, 'payment_method_missing', 'payment_method_data.token is required.') };
  const amount = toStripeAmount(request.amount, request.currency);
  if (!amount.ok) return { ok: false, result: refusedBeforeSending(expected, amount.code, amount.message) };
  const fields: Record<string, string | string[] | Record<string, string>> = {
    amount: String(amount.value),
    currency: request.currency.toLowerCase(),
    confirm: 'true',
    payment_method: token,
    payment_method_types: ['card'],
    metadata: { ...request.metadata, [tradeNumberMetadataKey]: request.out_trade_no },
  };
  if (request.description !== '') fields['description'] = request.description;
  return { ok: true, fields };
}

/** Does the PaymentIntent belong to this request? A reason when it does not. */
export function checkPaymentIntent(pi: PaymentIntentView, expected: ExpectedPayment): string | null {
  if (pi.metadata[tradeNumberMetadataKey] !== expected.out_trade_no) {
    return `out_trade_no mismatch: sent ${expected.out_trade_no}, got ${pi.metadata[tradeNumberMetadataKey] ?? 'none'} on ${pi.id}`;
  }
  if (pi.currency.toUpperCase() !== expected.currency) return `currency mismatch on ${pi.id}: sent ${expected.currency}, got ${pi.currency}`;
  const amount = fromStripeAmount(pi.amount, expected.currency);
  if (amount !== expected.amount) return `amount mismatch on ${pi.id}: sent ${expected.amount}, got ${String(pi.amount)}`;
  return null;
}

export function paymentIntentToOutcome(pi: PaymentIntentView, expected: ExpectedPayment): ChannelPaymentOutcome {
  const mismatch = checkPaymentIntent(pi, expected);
  if (mismatch !== null) return { kind: 'unknown', reason: `response_mismatch: ${mismatch}` };
  const mapped = mapPaymentIntentStatus(pi);
  return {
    kind: 'result',
    status: mapped.status,
    channel_txn_id: pi.id,
    amount: expected.amount,
    currency: expected.currency,
    failure_code: mapped.failure_code,
    failure_message: mapped.failure_message,
    retryable_elsewhere: mapped.retryable_elsewhere,
    next_action: mapped.status === 'requires_action' && pi.redirect_url !== null ? { type: 'redirect', url: pi.redirect_url } : null,
  };
}

/** What a create-and-confirm answer means. 402 is a definite decline; 5xx, 409 and idempotency errors are not answers. */
export function interpretPaymentResponse(status: number, body: unknown, expected: ExpectedPayment): ChannelPaymentOutcome {
  if (status >= 200 && status < 300) {
    const pi = readPaymentIntent(body);
    return pi === null ? { kind: 'unknown', reason: `malformed ${status} response: not a payment_intent` } : paymentIntentToOutcome(pi, expected);
  }
  const error = isObject(body) ? readStripeError(body['error']) : null;
  const ambiguous = ambiguousError(status, error);
  if (ambiguous !== null) return ambiguous;
  if (status === 402 && error !== null && error.type === 'card_error') return cardDeclined(body, error, expected);
  return {
    kind: 'result', status: 'failed', channel_txn_id: null, amount: expected.amount, currency: expected.currency,
    failure_code: definiteFailureCode(status, error), failure_message: error?.message ?? null,
    retryable_elsewhere: true, // a 4xx other than 402 is refused before any charge (bad request, auth, rate limit)
    next_action: null,
  };
}

function cardDeclined(body: unknown, error: StripeErrorView, expected: ExpectedPayment): ChannelPaymentOutcome {
  const embedded = isObject(body) && isObject(body['error']) ? body['error']['payment_intent'] : undefined;
  const pi = embedded === undefined || embedded === null ? null : readPaymentIntent(embedded);
  if (embedded !== undefined && embedded !== null && pi === null) return { kind: 'unknown', reason: 'malformed 402 response: bad payment_intent' };
  const mismatch = pi === null ? null : checkPaymentIntent(pi, expected);
  if (mismatch !== null) return { kind: 'unknown', reason: `response_mismatch: ${mismatch}` };
  const mapped = declined(error);
  return {
    kind: 'result', status: 'failed', channel_txn_id: pi?.id ?? null, amount: expected.amount, currency: expected.currency,
    failure_code: mapped.failure_code, failure_message: mapped.failure_message, retryable_elsewhere: mapped.retryable_elsewhere, next_action: null,
  };
}

/** Stripe types a bad key invalid_request_error; name it for what it is. */
function definiteFailureCode(status: number, error: StripeErrorView | null): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  return error?.code ?? error?.type ?? `http_${status}`;
}

/** Answers that say nothing definite about the operation: ask again (query) rather than decide. */
function ambiguousError(status: number, error: StripeErrorView | null): ChannelCallFailure | null {
  if (status >= 500) return { kind: 'unknown', reason: `http ${status}${error?.message ? `: ${error.message}` : ''}` };
  if (status === 409) return { kind: 'unknown', reason: `http 409 ${error?.code ?? 'conflict'}: another request with this key may be running` };
  if (error?.type === 'idempotency_error') {
    return { kind: 'unknown', reason: 'idempotency_error: this key was used before with other parameters, and that request may have taken money' };
  }
  if (status < 400) return { kind: 'unknown', reason: `unexpected http ${status}` };
  return null;
}

export function searchQueryFor(out_trade_no: string): string {
  const escaped = out_trade_no.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  return `metadata['${tradeNumberMetadataKey}']:'${escaped}'`;
}

// ---------------------------------------------------------------- refunds

export const refundStatuses = ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

/** Every Refund status, no catch-all; a status Stripe adds later is pending. */
export const refundStatusMap: { readonly [S in RefundStatus]: ChannelRefundStatus } = {
  pending: 'pending',
  requires_action: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'failed',
};

export interface ExpectedRefund {
  readonly out_refund_no: string;
  readonly payment_intent: string;
  readonly amount: bigint;
  readonly currency: string;
}

export type BuiltRefundForm = { readonly ok: true; readonly fields: FormFields } | { readonly ok: false; readonly code: string; readonly message: string };

export function buildRefundForm(request: ChannelRefundRequest, payment_intent: string): BuiltRefundForm {
  const amount = toStripeAmount(request.amount, request.currency);
  if (!amount.ok) return { ok: false, code: amount.code, message: amount.message };
  return {
    ok: true,
    fields: {
      payment_intent,
      amount: String(amount.value),
      metadata: { [refundNumberMetadataKey]: request.out_refund_no, [tradeNumberMetadataKey]: request.out_trade_no },
    },
  };
}

export function interpretRefundResponse(status: number, body: unknown, expected: ExpectedRefund): ChannelRefundOutcome {
  if (status >= 200 && status < 300) {
    const refund = readRefund(body);
    if (refund === null) return { kind: 'unknown', reason: `malformed ${status} response: not a refund` };
    const mismatch = checkRefund(refund, expected);
    if (mismatch !== null) return { kind: 'unknown', reason: `response_mismatch: ${mismatch}` };
    const known = (refundStatuses as readonly string[]).includes(refund.status);
    const mapped: ChannelRefundStatus = known ? refundStatusMap[refund.status as RefundStatus] : 'pending';
    const failure_code = mapped === 'failed' ? (refund.failure_reason ?? refund.status) : null;
    return { kind: 'result', status: mapped, channel_refund_id: refund.id, amount: expected.amount, currency: expected.currency, failure_code };
  }
  const error = isObject(body) ? readStripeError(body['error']) : null;
  const ambiguous = ambiguousError(status, error);
  if (ambiguous !== null) return ambiguous;
  return { kind: 'result', status: 'failed', channel_refund_id: null, amount: expected.amount, currency: expected.currency, failure_code: definiteFailureCode(status, error) };
}

function checkRefund(refund: RefundView, expected: ExpectedRefund): string | null {
  if (refund.payment_intent !== null && refund.payment_intent !== expected.payment_intent) {
    return `refund ${refund.id} is for ${refund.payment_intent}, not ${expected.payment_intent}`;
  }
  if (refund.currency.toUpperCase() !== expected.currency) return `currency mismatch on ${refund.id}: sent ${expected.currency}, got ${refund.currency}`;
  const amount = fromStripeAmount(refund.amount, expected.currency);
  if (amount !== expected.amount) return `amount mismatch on ${refund.id}: sent ${expected.amount}, got ${String(refund.amount)}`;
  return null;
}
