import type { Endpoint, EndpointContext, RequestInfo } from './context.ts';
import { invalidParam, resourceMissing, stateError, type ApiResult } from './errors.ts';
import type { FormObject } from './form.ts';
import { stripeId, randomBase62 } from './ids.ts';
import { sandboxLimits } from './limits.ts';
import { renderCardError, renderPaymentIntent, type ChargeRecord, type PaymentIntentRecord } from './objects.ts';
import { findTestPaymentMethod, type TestPaymentMethod } from './payment-methods.ts';
import * as read from './params.ts';

// PaymentIntents: create (optionally confirming), confirm, cancel, retrieve.
// Capture is always automatic: a confirm either succeeds, is declined (402, the intent goes
// back to requires_payment_method with last_payment_error), or (late-success fault) answers
// `processing` and succeeds later.

const createParams = [
  'amount', 'currency', 'confirm', 'payment_method', 'payment_method_types', 'description', 'metadata', 'capture_method',
  'return_url', 'automatic_payment_methods', 'expand', 'statement_descriptor_suffix', 'receipt_email', 'off_session',
] as const;
const confirmParams = ['payment_method', 'return_url', 'expand', 'off_session', 'payment_method_types'] as const;
const cancellable = new Set(['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing']);
const cancellationReasons = new Set(['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']);

interface CreateInput {
  amount: number;
  currency: string;
  confirm: boolean;
  payment_method: { id: string; method: TestPaymentMethod } | null;
  description: string | null;
  metadata: Record<string, string>;
}

function readCreate(params: FormObject): read.Read<CreateInput> {
  const unknown = read.rejectUnknown(params, createParams);
  if (unknown !== null) return { ok: false, error: unknown };
  const amount = read.optionalInteger(params, 'amount');
  if (!amount.ok) return amount;
  if (amount.value === null) return { ok: false, error: invalidParam('Missing required param: amount.', 'amount', 'parameter_missing') };
  if (amount.value < 1) return { ok: false, error: invalidParam('Amount must be at least 1.', 'amount', 'amount_too_small') };
  if (amount.value > sandboxLimits.amount_max) {
    return { ok: false, error: invalidParam(`Amount must be no more than ${sandboxLimits.amount_max}.`, 'amount', 'amount_too_large') };
  }
  const currency = read.requiredString(params, 'currency', 3);
  if (!currency.ok) return currency;
  if (!/^[a-zA-Z]{3}$/.test(currency.value)) return { ok: false, error: invalidParam(`Invalid currency: ${currency.value}`, 'currency') };
  const common = readCommon(params);
  if (!common.ok) return common;
  const confirm = read.optionalBoolean(params, 'confirm');
  if (!confirm.ok) return confirm;
  const description = read.optionalString(params, 'description', sandboxLimits.description_length_max);
  if (!description.ok) return description;
  const metadata = read.metadata(params);
  if (!metadata.ok) return metadata;
  const capture = read.optionalString(params, 'capture_method');
  if (!capture.ok) return capture;
  if (capture.value === 'manual') return { ok: false, error: invalidParam('capture_method=manual is not simulated by this sandbox.', 'capture_method') };
  const value: CreateInput = {
    amount: amount.value,
    currency: currency.value.toLowerCase(),
    confirm: confirm.value === true,
    payment_method: common.value,
    description: description.value,
    metadata: metadata.value,
  };
  return { ok: true, value };
}

/** payment_method (a test PaymentMethod) and payment_method_types (card only). */
function readCommon(params: FormObject): read.Read<{ id: string; method: TestPaymentMethod } | null> {
  const types = read.optionalStringArray(params, 'payment_method_types');
  if (!types.ok) return types;
  const other = types.value?.find((type) => type !== 'card');
  if (other !== undefined) {
    return { ok: false, error: invalidParam(`The payment method type "${other}" is invalid or not enabled in this sandbox.`, 'payment_method_types') };
  }
  const id = read.optionalString(params, 'payment_method', 255);
  if (!id.ok || id.value === null) return id as read.Read<null>;
  const method = findTestPaymentMethod(id.value);
  if (method === undefined) return { ok: false, error: resourceMissing('PaymentMethod', id.value, 'payment_method') };
  return { ok: true, value: { id: id.value, method } };
}

export const createPaymentIntent: Endpoint = (context, { params, request }) => {
  const input = readCreate(params);
  if (!input.ok) return input.error;
  if (input.value.confirm && input.value.payment_method === null) {
    return invalidParam("You cannot confirm this PaymentIntent because it's missing a payment method.", 'payment_method', 'payment_intent_unexpected_state');
  }
  const id = stripeId('pi');
  const pi: PaymentIntentRecord = {
    id,
    client_secret: `${id}_secret_${randomBase62(25)}`,
    amount: input.value.amount,
    currency: input.value.currency,
    created: context.now_seconds(),
    description: input.value.description,
    metadata: input.value.metadata,
    payment_method_types: ['card'],
    ledger_key: input.value.metadata['out_trade_no'] ?? request.idempotency_key ?? id,
    status: input.value.payment_method === null ? 'requires_payment_method' : 'requires_confirmation',
    payment_method: input.value.payment_method?.id ?? null,
    latest_charge: null,
    last_payment_error: null,
    amount_received: 0,
    canceled_at: null,
    cancellation_reason: null,
  };
  context.store.addPaymentIntent(pi);
  if (input.value.confirm && input.value.payment_method !== null) return confirmWith(context, pi, input.value.payment_method, request);
  return { status: 200, body: renderPaymentIntent(pi), saved: true };
};

export const confirmPaymentIntent: Endpoint = (context, { params, path, request }) => {
  const unknown = read.rejectUnknown(params, confirmParams);
  if (unknown !== null) return unknown;
  const pi = context.store.paymentIntents.get(path['id'] ?? '');
  if (pi === undefined) return resourceMissing('payment_intent', path['id'] ?? '');
  const given = readCommon(params);
  if (!given.ok) return given.error;
  if (pi.status !== 'requires_payment_method' && pi.status !== 'requires_confirmation') {
    return stateError(`You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`, 'payment_intent_unexpected_state');
  }
  const chosen = given.value ?? (pi.payment_method === null ? null : { id: pi.payment_method, method: findTestPaymentMethod(pi.payment_method) });
  if (chosen === null || chosen.method === undefined) {
    return stateError("You cannot confirm this PaymentIntent because it's missing a payment method.", 'payment_intent_unexpected_state');
  }
  return confirmWith(context, pi, { id: chosen.id, method: chosen.method }, request);
};

function confirmWith(context: EndpointContext, pi: PaymentIntentRecord, pm: { id: string; method: TestPaymentMethod }, request: RequestInfo): ApiResult {
  const charge: ChargeRecord = {
    id: stripeId('ch'),
    payment_intent: pi.id,
    amount: pi.amount,
    currency: pi.currency,
    created: context.now_seconds(),
    metadata: pi.metadata,
    payment_method: pm.id,
    card: pm.method.card,
    status: 'pending',
    failure: null,
    amount_refunded: 0,
  };
  context.store.charges.set(charge.id, charge);
  pi.payment_method = pm.id;
  pi.latest_charge = charge.id;
  pi.last_payment_error = null;
  const outcome = pm.method.outcome;
  if (outcome.kind === 'decline') {
    const failure = { code: outcome.code, decline_code: outcome.decline_code, message: outcome.message, param: outcome.param };
    charge.status = 'failed';
    charge.failure = failure;
    pi.status = 'requires_payment_method';
    pi.last_payment_error = { ...failure, charge: charge.id, payment_method: pm.id };
    context.emit('payment_intent.payment_failed', renderPaymentIntent(pi), request);
    return { status: 402, body: renderCardError(pi), saved: true };
  }
  if (context.faults.roll('late_success_rate')) {
    pi.status = 'processing';
    context.emit('payment_intent.processing', renderPaymentIntent(pi), request);
    context.later(context.late_success_delay_ms, () => succeedLate(context, pi.id, request));
    return { status: 200, body: renderPaymentIntent(pi), saved: true };
  }
  succeed(context, pi, charge, request);
  return { status: 200, body: renderPaymentIntent(pi), saved: true };
}

function succeed(context: EndpointContext, pi: PaymentIntentRecord, charge: ChargeRecord, request: RequestInfo): void {
  if (charge.status !== 'pending' || charge.payment_intent !== pi.id) throw new Error(`succeed: charge ${charge.id} is not pending for ${pi.id}`);
  charge.status = 'succeeded';
  pi.status = 'succeeded';
  pi.amount_received = pi.amount;
  context.store.recordCharged(pi.ledger_key, pi.amount);
  context.emit('payment_intent.succeeded', renderPaymentIntent(pi), request);
}

/** The late half of a late success: only if the intent is still processing (not canceled, not evicted). */
function succeedLate(context: EndpointContext, id: string, request: RequestInfo): void {
  const pi = context.store.paymentIntents.get(id);
  if (pi === undefined || pi.status !== 'processing' || pi.latest_charge === null) return;
  const charge = context.store.charges.get(pi.latest_charge);
  if (charge === undefined) return;
  succeed(context, pi, charge, request);
}

export const cancelPaymentIntent: Endpoint = (context, { params, path, request }) => {
  const unknown = read.rejectUnknown(params, ['cancellation_reason', 'expand']);
  if (unknown !== null) return unknown;
  const reason = read.optionalString(params, 'cancellation_reason');
  if (!reason.ok) return reason.error;
  if (reason.value !== null && !cancellationReasons.has(reason.value)) return invalidParam(`Invalid cancellation_reason: ${reason.value}`, 'cancellation_reason');
  const pi = context.store.paymentIntents.get(path['id'] ?? '');
  if (pi === undefined) return resourceMissing('payment_intent', path['id'] ?? '');
  if (!cancellable.has(pi.status)) {
    return stateError(
      `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${[...cancellable].join(', ')}.`,
      'payment_intent_unexpected_state',
    );
  }
  const charge = pi.latest_charge === null ? undefined : context.store.charges.get(pi.latest_charge);
  if (charge !== undefined && charge.status === 'pending') charge.status = 'failed';
  pi.status = 'canceled';
  pi.canceled_at = context.now_seconds();
  pi.cancellation_reason = reason.value;
  context.emit('payment_intent.canceled', renderPaymentIntent(pi), request);
  return { status: 200, body: renderPaymentIntent(pi), saved: true };
};

export const retrievePaymentIntent: Endpoint = (context, { params, path }) => {
  const unknown = read.rejectUnknown(params, ['expand', 'client_secret']);
  if (unknown !== null) return unknown;
  const pi = context.store.paymentIntents.get(path['id'] ?? '');
  if (pi === undefined) return resourceMissing('payment_intent', path['id'] ?? '');
  return { status: 200, body: renderPaymentIntent(pi), saved: true };
};
