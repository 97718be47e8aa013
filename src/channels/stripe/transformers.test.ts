import { describe, expect, it } from 'vitest';
import type { ChannelPaymentRequest } from '../contract.ts';
import { fromStripeAmount, toStripeAmount } from './amount.ts';
import { encodeForm } from './form.ts';
import {
  buildPaymentIntentForm,
  checkPaymentIntent,
  declineRetryableElsewhere,
  interpretPaymentResponse,
  interpretRefundResponse,
  isRetryableElsewhere,
  mapPaymentIntentStatus,
  paymentIntentStatuses,
  paymentIntentStatusMap,
  readPaymentIntent,
  refundStatuses,
  refundStatusMap,
  searchQueryFor,
  type PaymentIntentView,
} from './transformers.ts';

const expected = { out_trade_no: 'att_1', amount: 1000n, currency: 'USD' };

function intent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'pi_1', object: 'payment_intent', amount: 1000, currency: 'usd', status: 'succeeded', metadata: { out_trade_no: 'att_1' }, last_payment_error: null, ...overrides };
}

function view(overrides: Record<string, unknown> = {}): PaymentIntentView {
  const read = readPaymentIntent(intent(overrides));
  if (read === null) throw new Error('bad fixture');
  return read;
}

const declineError = { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' };

describe('PaymentIntent status map', () => {
  it('has one rule for every PaymentIntent status, and nothing else', () => {
    expect(Object.keys(paymentIntentStatusMap).sort()).toEqual([...paymentIntentStatuses].sort());
    expect(paymentIntentStatuses).toHaveLength(7);
  });

  it.each([
    ['requires_payment_method', 'pending'],
    ['requires_confirmation', 'pending'],
    ['requires_action', 'requires_action'],
    ['processing', 'pending'],
    ['requires_capture', 'pending'],
    ['canceled', 'failed'],
    ['succeeded', 'succeeded'],
    ['requires_reauthorization', 'pending'], // a status Stripe might add: pending, never final
    ['', 'pending'],
  ])('%s -> %s', (status, mapped) => {
    expect(mapPaymentIntentStatus(view({ status })).status).toBe(mapped);
  });

  it('requires_payment_method with last_payment_error is the decline it names', () => {
    const mapped = mapPaymentIntentStatus(view({ status: 'requires_payment_method', last_payment_error: declineError }));
    expect(mapped).toEqual({ status: 'failed', failure_code: 'insufficient_funds', failure_message: 'Your card has insufficient funds.', retryable_elsewhere: false });
  });

  it('canceled holds no money: failed and retryable elsewhere', () => {
    expect(mapPaymentIntentStatus(view({ status: 'canceled' }))).toMatchObject({ status: 'failed', failure_code: 'canceled', retryable_elsewhere: true });
  });

  it('takes a redirect next_action only for requires_action', () => {
    const outcome = interpretPaymentResponse(200, intent({ status: 'requires_action', next_action: { type: 'redirect_to_url', redirect_to_url: { url: 'https://bank.example/3ds' } } }), expected);
    expect(outcome).toMatchObject({ kind: 'result', status: 'requires_action', next_action: { type: 'redirect', url: 'https://bank.example/3ds' } });
  });
});

describe('decline map', () => {
  it.each([
    ['processing_error', 'processing_error', true],
    ['card_declined', 'generic_decline', false],
    ['card_declined', 'insufficient_funds', false],
    ['expired_card', 'expired_card', false],
    ['card_declined', null, false],
    ['card_declined', 'try_again_later', true],
    ['card_declined', 'a_code_stripe_adds_later', false],
    ['weird_code', null, false],
  ])('%s / %s -> retryable elsewhere %s', (code, decline_code, retryable) => {
    expect(isRetryableElsewhere({ type: 'card_error', code, decline_code, message: null })).toBe(retryable);
  });

  it('is a plain table of booleans', () => {
    for (const value of Object.values(declineRetryableElsewhere)) expect(typeof value).toBe('boolean');
  });
});

describe('every response is checked against its request', () => {
  it('accepts the matching intent', () => {
    expect(checkPaymentIntent(view(), expected)).toBeNull();
    expect(interpretPaymentResponse(200, intent(), expected)).toMatchObject({ kind: 'result', status: 'succeeded', channel_txn_id: 'pi_1', amount: 1000n, currency: 'USD' });
  });

  it.each([
    ['amount', { amount: 999 }, /amount mismatch/],
    ['amount as a string', { amount: '1000' }, /amount mismatch/],
    ['amount as a float', { amount: 1000.5 }, /amount mismatch/],
    ['currency', { currency: 'eur' }, /currency mismatch/],
    ['out_trade_no', { metadata: { out_trade_no: 'att_2' } }, /out_trade_no mismatch/],
    ['missing out_trade_no', { metadata: {} }, /out_trade_no mismatch/],
  ])('a different %s is unknown, never believed', (_name, overrides, reason) => {
    const outcome = interpretPaymentResponse(200, intent(overrides), expected);
    expect(outcome.kind).toBe('unknown');
    if (outcome.kind === 'unknown') expect(outcome.reason).toMatch(reason);
  });

  it('checks the intent inside a 402 too', () => {
    const body = { error: { ...declineError, payment_intent: intent({ status: 'requires_payment_method', amount: 1 }) } };
    expect(interpretPaymentResponse(402, body, expected).kind).toBe('unknown');
    const good = { error: { ...declineError, payment_intent: intent({ status: 'requires_payment_method' }) } };
    expect(interpretPaymentResponse(402, good, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'insufficient_funds', channel_txn_id: 'pi_1' });
  });
});

describe('HTTP answers of a create', () => {
  it.each([
    [500, { error: { type: 'api_error', message: 'boom' } }, 'unknown'],
    [503, undefined, 'unknown'],
    [409, { error: { type: 'invalid_request_error', code: 'idempotency_key_in_use' } }, 'unknown'],
    [400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests...' } }, 'unknown'],
    [302, undefined, 'unknown'],
    [200, { object: 'list' }, 'unknown'],
    [200, undefined, 'unknown'],
  ])('%s is not an answer (%#)', (status, body, kind) => {
    expect(interpretPaymentResponse(status, body, expected).kind).toBe(kind);
  });

  it.each([
    [400, { error: { type: 'invalid_request_error', code: 'amount_too_large' } }, 'amount_too_large'],
    [401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } }, 'authentication_error'],
    [429, { error: { type: 'rate_limit_error', code: 'rate_limit' } }, 'rate_limit'],
    [404, undefined, 'http_404'],
  ])('%s is a definite failure, safe elsewhere (%#)', (status, body, code) => {
    expect(interpretPaymentResponse(status, body, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: code, retryable_elsewhere: true });
  });
});

describe('request building', () => {
  const request: ChannelPaymentRequest = {
    out_trade_no: 'att_9',
    amount: 1999n,
    currency: 'EUR',
    method: 'card',
    description: 'Order ord_1',
    payment_method_data: { token: 'pm_card_visa' },
    metadata: { order_id: 'ord_1', out_trade_no: 'forged' },
  };

  it('builds the form body with our trade number in metadata', () => {
    const built = buildPaymentIntentForm(request);
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(encodeForm(built.fields)).toBe(
      'amount=1999&currency=eur&confirm=true&payment_method=pm_card_visa&payment_method_types[0]=card&metadata[order_id]=ord_1&metadata[out_trade_no]=att_9&description=Order%20ord_1',
    );
  });

  it('refuses before sending what Stripe cannot take', () => {
    expect(buildPaymentIntentForm({ ...request, method: 'alipay' })).toMatchObject({ ok: false, result: { status: 'failed', failure_code: 'method_not_supported', retryable_elsewhere: true } });
    expect(buildPaymentIntentForm({ ...request, payment_method_data: {} })).toMatchObject({ ok: false, result: { failure_code: 'payment_method_missing' } });
    expect(buildPaymentIntentForm({ ...request, currency: 'MGA', amount: 150n })).toMatchObject({ ok: false, result: { failure_code: 'amount_not_representable' } });
  });

  it('quotes the search query', () => {
    expect(searchQueryFor('att_1')).toBe("metadata['out_trade_no']:'att_1'");
    expect(searchQueryFor("a'b\\c")).toBe("metadata['out_trade_no']:'a\\'b\\\\c'");
  });
});

describe('amount converter', () => {
  it.each([
    [1234n, 'USD', 1234],
    [500n, 'JPY', 500],
    [5n, 'ISK', 500],
    [300n, 'MGA', 3],
    [5120n, 'KWD', 5120],
  ])('%s %s -> %s on the wire and back', (amount, currency, wire) => {
    expect(toStripeAmount(amount, currency)).toEqual({ ok: true, value: wire });
    expect(fromStripeAmount(wire, currency)).toBe(amount);
  });

  it('refuses what Stripe cannot represent, and asserts programmer errors', () => {
    expect(toStripeAmount(5124n, 'KWD')).toMatchObject({ ok: false, code: 'amount_not_representable' });
    expect(toStripeAmount(10n, 'IQD')).toMatchObject({ ok: false, code: 'currency_not_supported' });
    expect(() => toStripeAmount(2n ** 60n, 'USD')).toThrow(/safe integer/);
    expect(() => toStripeAmount(0n, 'USD')).toThrow(/positive/);
    expect(() => toStripeAmount(1n, 'usd')).toThrow(/upper case/);
    expect(fromStripeAmount(550, 'ISK')).toBeNull();
    expect(fromStripeAmount(-1, 'USD')).toBeNull();
    expect(fromStripeAmount(Number.MAX_SAFE_INTEGER + 1, 'USD')).toBeNull();
  });
});

describe('refunds', () => {
  const expectedRefund = { out_refund_no: 'ref_1', payment_intent: 'pi_1', amount: 400n, currency: 'USD' };
  const refund = (overrides: Record<string, unknown> = {}) => ({ id: 're_1', object: 'refund', amount: 400, currency: 'usd', payment_intent: 'pi_1', status: 'succeeded', ...overrides });

  it('has one mapping for every Refund status', () => {
    expect(Object.keys(refundStatusMap).sort()).toEqual([...refundStatuses].sort());
    expect(interpretRefundResponse(200, refund({ status: 'something_new' }), expectedRefund)).toMatchObject({ kind: 'result', status: 'pending' });
    expect(interpretRefundResponse(200, refund({ status: 'failed', failure_reason: 'lost_or_stolen_card' }), expectedRefund)).toMatchObject({ status: 'failed', failure_code: 'lost_or_stolen_card' });
  });

  it('checks the refund against the request', () => {
    expect(interpretRefundResponse(200, refund(), expectedRefund)).toEqual({ kind: 'result', status: 'succeeded', channel_refund_id: 're_1', amount: 400n, currency: 'USD', failure_code: null });
    expect(interpretRefundResponse(200, refund({ amount: 401 }), expectedRefund).kind).toBe('unknown');
    expect(interpretRefundResponse(200, refund({ payment_intent: 'pi_2' }), expectedRefund).kind).toBe('unknown');
    expect(interpretRefundResponse(502, undefined, expectedRefund).kind).toBe('unknown');
    expect(interpretRefundResponse(400, { error: { type: 'invalid_request_error', code: 'amount_too_large' } }, expectedRefund)).toMatchObject({ status: 'failed', failure_code: 'amount_too_large' });
  });
});
