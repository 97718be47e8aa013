// Pure translation between the connector contract and WeChat Pay API v3: request bodies, the
// exhaustive trade_state and refund status maps, error codes, and the checks that every
// response matches its request (our trade number, merchant, app, amount, currency) before it
// is believed. No I/O here.
import {
  channelPaymentNotFound,
  type ChannelCallFailure,
  type ChannelNotification,
  type ChannelPaymentOutcome,
  type ChannelPaymentRequest,
  type ChannelPaymentResult,
  type ChannelPaymentStatus,
  type ChannelRefundOutcome,
  type ChannelRefundRequest,
  type ChannelRefundStatus,
  type ChannelCloseOutcome,
} from '../contract.ts';
import { fromWechatAmount, toWechatAmount, wechatCurrency } from './amount.ts';
import { wechatConnectorLimits } from './limits.ts';

/** Who we are at WeChat Pay: every response and notification must be about this merchant and app. */
export interface WechatMerchant {
  readonly mchid: string;
  readonly appid: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

// ---------------------------------------------------------------- requests

export interface NativeBody {
  readonly appid: string;
  readonly mchid: string;
  readonly description: string;
  readonly out_trade_no: string;
  readonly notify_url: string;
  readonly amount: { readonly total: number; readonly currency: string };
}

export type Built<T> = { readonly ok: true; readonly body: T } | { readonly ok: false; readonly code: string; readonly message: string };

const tradeNumberPattern = /^[A-Za-z0-9_\-*|]+$/;

export function checkTradeNumber(out_trade_no: string): string | null {
  const { out_trade_no_length_min: min, out_trade_no_length_max: max } = wechatConnectorLimits;
  if (out_trade_no.length < min || out_trade_no.length > max || !tradeNumberPattern.test(out_trade_no)) {
    return `out_trade_no must be ${min}..${max} characters of [A-Za-z0-9_-*|]`;
  }
  return null;
}

export function buildNativeBody(request: ChannelPaymentRequest, merchant: WechatMerchant, notify_url: string): Built<NativeBody> {
  if (request.method !== 'wechat_pay') return { ok: false, code: 'method_not_supported', message: `WeChat Pay does not take ${request.method} payments.` };
  const badTradeNumber = checkTradeNumber(request.out_trade_no);
  if (badTradeNumber !== null) return { ok: false, code: 'out_trade_no_invalid', message: badTradeNumber };
  const amount = toWechatAmount(request.amount, request.currency);
  if (!amount.ok) return { ok: false, code: amount.code, message: amount.message };
  const description = [...(request.description.trim() || request.out_trade_no)].slice(0, wechatConnectorLimits.description_length_max).join('');
  return {
    ok: true,
    body: { appid: merchant.appid, mchid: merchant.mchid, description, out_trade_no: request.out_trade_no, notify_url, amount: { total: amount.fen, currency: wechatCurrency } },
  };
}

export interface RefundBody {
  readonly out_trade_no: string;
  readonly out_refund_no: string;
  readonly amount: { readonly refund: number; readonly total: number; readonly currency: string };
}

/** WeChat wants the order's original total beside the refund amount (the connector reads it by a query first). */
export function buildRefundBody(request: ChannelRefundRequest, total: bigint): Built<RefundBody> {
  if (request.out_refund_no.length === 0 || request.out_refund_no.length > wechatConnectorLimits.out_refund_no_length_max) {
    return { ok: false, code: 'out_refund_no_invalid', message: 'out_refund_no must be 1..64 characters' };
  }
  const refund = toWechatAmount(request.amount, request.currency);
  if (!refund.ok) return { ok: false, code: refund.code, message: refund.message };
  if (request.amount > total) return { ok: false, code: 'amount_too_large', message: `refund ${request.amount} exceeds the order total ${total}` };
  return { ok: true, body: { out_trade_no: request.out_trade_no, out_refund_no: request.out_refund_no, amount: { refund: refund.fen, total: Number(total), currency: wechatCurrency } } };
}

// ---------------------------------------------------------------- errors

export interface WechatError {
  readonly code: string | null;
  readonly message: string | null;
}

export function readWechatError(body: unknown): WechatError {
  if (!isObject(body)) return { code: null, message: null };
  return { code: stringOrNull(body['code']), message: stringOrNull(body['message']) };
}

function describe(status: number, body: unknown): string {
  const error = readWechatError(body);
  return `http ${status}${error.code === null ? '' : ` ${error.code}`}${error.message === null ? '' : `: ${error.message}`}`;
}

/**
 * Create (native) error codes that are definite: WeChat made no order, so nothing can be paid
 * and another channel may take the payment. Anything not listed (5xx, SYSTEM_ERROR,
 * ORDERPAID, OUT_TRADE_NO_USED, an unknown code) is `unknown`: ask by query.
 */
export const definiteCreateErrors: Readonly<Record<string, true>> = Object.freeze({
  PARAM_ERROR: true,
  INVALID_REQUEST: true,
  APPID_MCHID_NOT_MATCH: true,
  MCH_NOT_EXISTS: true,
  NO_AUTH: true,
  SIGN_ERROR: true,
  RULE_LIMIT: true,
  TRADE_ERROR: true,
  ORDER_CLOSED: true,
});

// ---------------------------------------------------------------- trade_state map

export const tradeStates = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR', 'ACCEPT'] as const;
export type TradeState = (typeof tradeStates)[number];

export interface MappedTradeState {
  readonly status: ChannelPaymentStatus;
  readonly failure_code: string | null;
  readonly retryable_elsewhere: boolean;
}

/**
 * Every trade_state, no catch-all. REFUND means it was paid (then refunded, wholly or in part):
 * succeeded. NOTPAY: the QR code is still payable: requires_action. USERPAYING (the payer is
 * entering a password) and ACCEPT (accepted, awaiting debit): pending. CLOSED, REVOKED and
 * PAYERROR took no money: failed, and another channel may take the payment.
 */
export const tradeStateMap: { readonly [S in TradeState]: MappedTradeState } = Object.freeze({
  SUCCESS: { status: 'succeeded', failure_code: null, retryable_elsewhere: false },
  REFUND: { status: 'succeeded', failure_code: null, retryable_elsewhere: false },
  NOTPAY: { status: 'requires_action', failure_code: null, retryable_elsewhere: false },
  USERPAYING: { status: 'pending', failure_code: null, retryable_elsewhere: false },
  ACCEPT: { status: 'pending', failure_code: null, retryable_elsewhere: false },
  CLOSED: { status: 'failed', failure_code: 'CLOSED', retryable_elsewhere: true },
  REVOKED: { status: 'failed', failure_code: 'REVOKED', retryable_elsewhere: true },
  PAYERROR: { status: 'failed', failure_code: 'PAYERROR', retryable_elsewhere: true },
});

const pendingState: MappedTradeState = { status: 'pending', failure_code: null, retryable_elsewhere: false };

export function mapTradeState(state: string): MappedTradeState {
  return (tradeStates as readonly string[]).includes(state) ? tradeStateMap[state as TradeState] : pendingState; // a state WeChat adds later: pending
}

// ---------------------------------------------------------------- transactions

export interface TransactionView {
  readonly appid: string | null;
  readonly mchid: string | null;
  readonly out_trade_no: string;
  readonly transaction_id: string | null;
  readonly trade_state: string;
  readonly trade_state_desc: string | null;
  readonly total: unknown; // checked against the request, never trusted
  readonly currency: unknown;
}

export function readTransaction(value: unknown): TransactionView | null {
  if (!isObject(value)) return null;
  const { out_trade_no, trade_state } = value;
  if (typeof out_trade_no !== 'string' || typeof trade_state !== 'string') return null;
  const amount = isObject(value['amount']) ? value['amount'] : null;
  return {
    appid: stringOrNull(value['appid']),
    mchid: stringOrNull(value['mchid']),
    out_trade_no,
    transaction_id: stringOrNull(value['transaction_id']),
    trade_state,
    trade_state_desc: stringOrNull(value['trade_state_desc']),
    total: amount === null ? undefined : amount['total'],
    currency: amount === null ? undefined : amount['currency'],
  };
}

export interface PaymentExpectation {
  readonly out_trade_no: string;
  readonly amount: bigint;
  readonly currency: string;
}

/** Null when the transaction is about our trade number, merchant and app, for the expected amount; else why not. */
export function transactionMismatch(txn: TransactionView, expected: PaymentExpectation, merchant: WechatMerchant): string | null {
  if (txn.out_trade_no !== expected.out_trade_no) return `out_trade_no ${txn.out_trade_no} is not ${expected.out_trade_no}`;
  if (txn.mchid !== merchant.mchid) return `mchid ${String(txn.mchid)} is not ours`;
  if (txn.appid !== merchant.appid) return `appid ${String(txn.appid)} is not ours`;
  const mustCarryAmount = txn.trade_state === 'SUCCESS' || txn.trade_state === 'REFUND';
  if (txn.total === undefined && !mustCarryAmount) return null;
  const total = fromWechatAmount(txn.total);
  if (total === null) return `unreadable amount.total ${String(txn.total)}`;
  if (total !== expected.amount) return `amount ${total} is not the ${expected.amount} asked for`;
  const currency = txn.currency === undefined ? wechatCurrency : txn.currency; // WeChat may omit it: CNY
  if (currency !== expected.currency) return `currency ${String(currency)} is not ${expected.currency}`;
  return null;
}

export function transactionToOutcome(txn: TransactionView, expected: PaymentExpectation, merchant: WechatMerchant): ChannelPaymentOutcome {
  const mismatch = transactionMismatch(txn, expected, merchant);
  if (mismatch !== null) return { kind: 'unknown', reason: `WeChat Pay answered about another payment: ${mismatch}` };
  const mapped = mapTradeState(txn.trade_state);
  return {
    kind: 'result',
    status: mapped.status,
    channel_txn_id: txn.transaction_id,
    amount: expected.amount,
    currency: expected.currency,
    failure_code: mapped.failure_code,
    failure_message: mapped.status === 'failed' ? txn.trade_state_desc ?? txn.trade_state : null,
    retryable_elsewhere: mapped.retryable_elsewhere,
    next_action: null,
  };
}

// ---------------------------------------------------------------- interpreting responses

const unreadable = (what: string, status: number): ChannelCallFailure => ({ kind: 'unknown', reason: `${what} answered http ${status} with a body that cannot be read` });

function failed(expected: PaymentExpectation, code: string, message: string | null, retryable_elsewhere: boolean): ChannelPaymentResult {
  return { kind: 'result', status: 'failed', channel_txn_id: null, amount: expected.amount, currency: expected.currency, failure_code: code, failure_message: message, retryable_elsewhere, next_action: null };
}

/** POST /v3/pay/transactions/native: 200 {code_url} is a QR code for the payer; definite errors fail; anything else is unknown. */
export function interpretNativeResponse(status: number, body: unknown, expected: PaymentExpectation): ChannelPaymentOutcome {
  if (status === 200) {
    const code_url = isObject(body) ? stringOrNull(body['code_url']) : null;
    if (code_url === null || !code_url.startsWith('weixin://')) return unreadable('native pay', status);
    return {
      kind: 'result', status: 'requires_action', channel_txn_id: null, amount: expected.amount, currency: expected.currency,
      failure_code: null, failure_message: null, retryable_elsewhere: false, next_action: { type: 'qr_code', url: code_url },
    };
  }
  const error = readWechatError(body);
  if (status >= 400 && status < 500 && error.code !== null && definiteCreateErrors[error.code] === true) return failed(expected, error.code, error.message, true);
  return { kind: 'unknown', reason: `native pay ${describe(status, body)}` };
}

/** GET /v3/pay/transactions/out-trade-no/{out_trade_no}. */
export function interpretQueryResponse(status: number, body: unknown, expected: PaymentExpectation, merchant: WechatMerchant): ChannelPaymentOutcome {
  if (status === 200) {
    const txn = readTransaction(body);
    if (txn === null) return unreadable('query', status);
    return transactionToOutcome(txn, expected, merchant);
  }
  const error = readWechatError(body);
  if (status === 404 && error.code === 'ORDER_NOT_EXIST') return failed(expected, channelPaymentNotFound, 'WeChat Pay has no order with this out_trade_no.', true);
  return { kind: 'unknown', reason: `query ${describe(status, body)}` };
}

// ---------------------------------------------------------------- refunds

export const refundStatuses = ['SUCCESS', 'PROCESSING', 'ABNORMAL', 'CLOSED'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

/**
 * Every refund status, no catch-all. ABNORMAL (the payer's card is gone, the money is stuck
 * until the merchant re-routes it by hand) is not final: pending, with the code kept.
 */
export const refundStatusMap: { readonly [S in RefundStatus]: { readonly status: ChannelRefundStatus; readonly failure_code: string | null } } = Object.freeze({
  SUCCESS: { status: 'succeeded', failure_code: null },
  PROCESSING: { status: 'pending', failure_code: null },
  ABNORMAL: { status: 'pending', failure_code: 'ABNORMAL' },
  CLOSED: { status: 'failed', failure_code: 'CLOSED' },
});

export function mapRefundStatus(status: string): { readonly status: ChannelRefundStatus; readonly failure_code: string | null } {
  return (refundStatuses as readonly string[]).includes(status) ? refundStatusMap[status as RefundStatus] : { status: 'pending', failure_code: null };
}

export interface RefundExpectation {
  readonly out_trade_no: string;
  readonly out_refund_no: string;
  readonly amount: bigint;
  readonly currency: string;
}

/** Refund error codes meaning WeChat certainly did not refund. */
export const definiteRefundErrors: Readonly<Record<string, true>> = Object.freeze({
  PARAM_ERROR: true,
  INVALID_REQUEST: true,
  NOT_ENOUGH: true,
  USER_ACCOUNT_ABNORMAL: true,
  MCH_NOT_EXISTS: true,
  NO_AUTH: true,
  SIGN_ERROR: true,
  RESOURCE_NOT_EXISTS: true,
});

/** POST /v3/refund/domestic/refunds and GET /v3/refund/domestic/refunds/{out_refund_no}. */
export function interpretRefundResponse(status: number, body: unknown, expected: RefundExpectation): ChannelRefundOutcome {
  if (status === 200) {
    if (!isObject(body) || typeof body['status'] !== 'string' || !isObject(body['amount'])) return unreadable('refund', status);
    const amount = body['amount'];
    const mismatch =
      body['out_refund_no'] !== expected.out_refund_no ? `out_refund_no ${String(body['out_refund_no'])} is not ${expected.out_refund_no}`
      : body['out_trade_no'] !== expected.out_trade_no ? `out_trade_no ${String(body['out_trade_no'])} is not ${expected.out_trade_no}`
      : fromWechatAmount(amount['refund']) !== expected.amount ? `refund amount ${String(amount['refund'])} is not ${expected.amount}`
      : (amount['currency'] ?? wechatCurrency) !== expected.currency ? `currency ${String(amount['currency'])} is not ${expected.currency}`
      : null;
    if (mismatch !== null) return { kind: 'unknown', reason: `WeChat Pay answered about another refund: ${mismatch}` };
    const mapped = mapRefundStatus(body['status']);
    return { kind: 'result', status: mapped.status, channel_refund_id: stringOrNull(body['refund_id']), amount: expected.amount, currency: expected.currency, failure_code: mapped.failure_code };
  }
  const error = readWechatError(body);
  if (status >= 400 && status < 500 && error.code !== null && definiteRefundErrors[error.code] === true) {
    return { kind: 'result', status: 'failed', channel_refund_id: null, amount: expected.amount, currency: expected.currency, failure_code: error.code };
  }
  return { kind: 'unknown', reason: `refund ${describe(status, body)}` };
}

// ---------------------------------------------------------------- close

export type WechatCloseOutcome =
  | { readonly kind: 'closed' }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string | null }
  | ChannelCallFailure;

/** POST .../close: 204 closed (closing a closed order is a 204 too); ORDERPAID and other definite codes are refusals. */
export function interpretCloseResponse(status: number, body: unknown): WechatCloseOutcome {
  if (status === 204 || status === 200) return { kind: 'closed' };
  const error = readWechatError(body);
  if (status >= 400 && status < 500 && error.code !== null) return { kind: 'refused', code: error.code, message: error.message };
  return { kind: 'unknown', reason: `close ${describe(status, body)}` };
}

/**
 * WeChat Pay's close answer in the contract's words. ORDERPAID means the payer paid meanwhile
 * (query it); ORDER_NOT_EXIST that there is nothing to close. Any other definite refusal is read as
 * "not closable" too, so the caller queries before it concludes anything.
 */
export function closeOutcomeOf(answer: WechatCloseOutcome): ChannelCloseOutcome {
  switch (answer.kind) {
    case 'closed':
      return { kind: 'result', status: 'closed', detail: null };
    case 'refused':
      return { kind: 'result', status: answer.code === 'ORDER_NOT_EXIST' ? 'not_found' : 'not_closable', detail: answer.code };
    case 'not_sent':
    case 'unknown':
      return answer;
  }
}

// ---------------------------------------------------------------- notifications

/** The decrypted `transaction` of a TRANSACTION.* notification, checked against our merchant and app. */
export function notificationFromTransaction(event_id: string, plaintext: unknown, merchant: WechatMerchant): { ok: true; notification: ChannelNotification } | { ok: false; reason: string } {
  const txn = readTransaction(plaintext);
  if (txn === null) return { ok: false, reason: 'decrypted resource is not a transaction' };
  if (txn.mchid !== merchant.mchid) return { ok: false, reason: `mchid ${String(txn.mchid)} is not ours` };
  if (txn.appid !== merchant.appid) return { ok: false, reason: `appid ${String(txn.appid)} is not ours` };
  const amount = fromWechatAmount(txn.total);
  if (amount === null) return { ok: false, reason: `bad amount ${String(txn.total)}` };
  const currency = txn.currency === undefined ? wechatCurrency : txn.currency;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return { ok: false, reason: `bad currency ${String(currency)}` };
  const status = mapTradeState(txn.trade_state).status;
  return { ok: true, notification: { event_id, out_trade_no: txn.out_trade_no, status, channel_txn_id: txn.transaction_id, amount, currency } };
}
