import type { Endpoint } from './context.ts';
import { invalidParam, resourceMissing, stateError } from './errors.ts';
import { stripeId } from './ids.ts';
import { renderCharge, renderRefund, type ChargeRecord, type PaymentIntentRecord, type RefundRecord } from './objects.ts';
import * as read from './params.ts';

// POST /v1/refunds (by payment_intent or charge; amount defaults to what is left), and the
// retrieve endpoints for refunds and charges. A refund never takes the refunded total above
// the charge: `amount_too_large` when it would, `charge_already_refunded` when nothing is left.

const refundReasons = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);

type Target = { pi: PaymentIntentRecord; charge: ChargeRecord | undefined };

function findTarget(context: Parameters<Endpoint>[0], payment_intent: string | null, charge_id: string | null): read.Read<Target> {
  if (payment_intent !== null) {
    const pi = context.store.paymentIntents.get(payment_intent);
    if (pi === undefined) return { ok: false, error: resourceMissing('payment_intent', payment_intent, 'payment_intent') };
    if (charge_id !== null && pi.latest_charge !== charge_id) return { ok: false, error: invalidParam('The charge does not belong to this PaymentIntent.', 'charge') };
    return { ok: true, value: { pi, charge: pi.latest_charge === null ? undefined : context.store.charges.get(pi.latest_charge) } };
  }
  if (charge_id === null) {
    return { ok: false, error: invalidParam('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent', 'parameter_missing') };
  }
  const charge = context.store.charges.get(charge_id);
  const pi = charge === undefined ? undefined : context.store.paymentIntents.get(charge.payment_intent);
  if (charge === undefined || pi === undefined) return { ok: false, error: resourceMissing('charge', charge_id, 'charge') };
  return { ok: true, value: { pi, charge } };
}

export const createRefund: Endpoint = (context, { params, request }) => {
  const unknown = read.rejectUnknown(params, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
  if (unknown !== null) return unknown;
  const paymentIntent = read.optionalString(params, 'payment_intent', 255);
  if (!paymentIntent.ok) return paymentIntent.error;
  const chargeId = read.optionalString(params, 'charge', 255);
  if (!chargeId.ok) return chargeId.error;
  const amount = read.optionalInteger(params, 'amount');
  if (!amount.ok) return amount.error;
  if (amount.value !== null && amount.value < 1) return invalidParam('Refund amount must be at least 1.', 'amount', 'amount_too_small');
  const reason = read.optionalString(params, 'reason');
  if (!reason.ok) return reason.error;
  if (reason.value !== null && !refundReasons.has(reason.value)) return invalidParam(`Invalid reason: ${reason.value}`, 'reason');
  const metadata = read.metadata(params);
  if (!metadata.ok) return metadata.error;
  const target = findTarget(context, paymentIntent.value, chargeId.value);
  if (!target.ok) return target.error;
  const { pi, charge } = target.value;
  if (pi.status !== 'succeeded' || charge === undefined || charge.status !== 'succeeded') {
    return stateError(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, 'charge_not_refundable');
  }
  const left = charge.amount - charge.amount_refunded;
  if (left === 0) return stateError(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded');
  const refundAmount = amount.value ?? left;
  if (refundAmount > left) {
    return stateError(`Refund amount (${refundAmount}) is greater than unrefunded amount on charge (${left}).`, 'amount_too_large', 'amount');
  }
  const refund: RefundRecord = {
    id: stripeId('re'),
    charge: charge.id,
    payment_intent: pi.id,
    amount: refundAmount,
    currency: charge.currency,
    created: context.now_seconds(),
    metadata: metadata.value,
    reason: reason.value,
    status: 'succeeded',
  };
  context.store.refunds.set(refund.id, refund);
  charge.amount_refunded += refundAmount;
  context.store.recordRefunded(pi.ledger_key, refundAmount);
  context.emit('charge.refunded', renderCharge(charge), request);
  return { status: 200, body: renderRefund(refund), saved: true };
};

export const retrieveRefund: Endpoint = (context, { params, path }) => {
  const unknown = read.rejectUnknown(params, ['expand']);
  if (unknown !== null) return unknown;
  const refund = context.store.refunds.get(path['id'] ?? '');
  if (refund === undefined) return resourceMissing('refund', path['id'] ?? '');
  return { status: 200, body: renderRefund(refund), saved: true };
};

export const retrieveCharge: Endpoint = (context, { params, path }) => {
  const unknown = read.rejectUnknown(params, ['expand']);
  if (unknown !== null) return unknown;
  const charge = context.store.charges.get(path['id'] ?? '');
  if (charge === undefined) return resourceMissing('charge', path['id'] ?? '');
  return { status: 200, body: renderCharge(charge), saved: true };
};
