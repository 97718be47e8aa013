// One virtual customer's purchase: create an order, then pay it by card in the sandbox.
// Success means the payment answered 201 with status "succeeded"; anything else is an error,
// described with the request and the response so it can be reported as it happened.

import { randomInt, randomUUID } from 'node:crypto';
import type { HttpClient } from './http-client.ts';

export const unit_amount_min = 1000;
export const unit_amount_max = 9999;
/** Characters of a failed response body kept in an error description. */
export const error_body_chars_max = 2000;

export type PaymentStep = 'order' | 'payment';

export interface PaymentError {
  readonly step: PaymentStep;
  readonly request: string;
  /** HTTP status; 0 when no response arrived (connection error or timeout). */
  readonly status: number;
  readonly body: string;
  /** Short grouping key, e.g. "payment 500 internal_error" or "payment 201 status=failed". */
  readonly kind: string;
}

export type PaymentOutcome = { readonly ok: true } | { readonly ok: false; readonly error: PaymentError };

export type PayOnce = () => Promise<PaymentOutcome>;

function errorCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

function failure(step: PaymentStep, request: string, status: number, body: string, detail?: string): PaymentOutcome {
  const code = detail ?? errorCode(body);
  const kind = [step, status === 0 ? 'no_response' : String(status), code].filter(Boolean).join(' ');
  return { ok: false, error: { step, request, status, body: body.slice(0, error_body_chars_max), kind } };
}

async function call(client: HttpClient, step: PaymentStep, path: string, body: unknown, headers: Record<string, string>) {
  const request = `POST ${path} ${JSON.stringify(body)}`;
  try {
    return { request, response: await client.postJson(path, body, headers) };
  } catch (error) {
    return { request, failed: failure(step, request, 0, error instanceof Error ? error.message : String(error)) };
  }
}

/** Returns a function that performs one order + card payment with the merchant's key. */
export function cardPurchase(client: HttpClient, apiKey: string): PayOnce {
  const auth = { authorization: `Bearer ${apiKey}` };
  return async () => {
    const orderBody = { currency: 'USD', items: [{ name: 'Widget', unit_amount: randomInt(unit_amount_min, unit_amount_max + 1), quantity: 1 }] };
    const order = await call(client, 'order', '/v1/orders', orderBody, auth);
    if (order.failed) return order.failed;
    if (order.response.status !== 201) return failure('order', order.request, order.response.status, order.response.body);
    let orderId: unknown;
    try {
      orderId = (JSON.parse(order.response.body) as { id?: unknown }).id;
    } catch {
      orderId = undefined;
    }
    if (typeof orderId !== 'string') return failure('order', order.request, order.response.status, order.response.body, 'no_order_id');

    const paymentBody = { order_id: orderId, method: 'card', payment_method_data: { token: 'pm_card_visa' } };
    const payment = await call(client, 'payment', '/v1/payments', paymentBody, { ...auth, 'idempotency-key': randomUUID() });
    if (payment.failed) return payment.failed;
    const { status, body } = payment.response;
    if (status !== 201) return failure('payment', payment.request, status, body);
    let paymentStatus: unknown;
    try {
      paymentStatus = (JSON.parse(body) as { status?: unknown }).status;
    } catch {
      paymentStatus = undefined;
    }
    if (paymentStatus !== 'succeeded') return failure('payment', payment.request, status, body, `status=${String(paymentStatus)}`);
    return { ok: true };
  };
}
