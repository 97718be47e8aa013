// Pure translation between the connector contract and Alipay's Open Platform gateway: the
// common and business parameters of each method, the gateway and business code maps, the
// exhaustive trade_status map, and the checks that every response is signed by Alipay and
// matches its request before it is believed. No I/O here.
import {
  channelPaymentNotFound,
  type ChannelCallFailure,
  type ChannelCloseOutcome,
  type ChannelPaymentOutcome,
  type ChannelPaymentRequest,
  type ChannelPaymentResult,
  type ChannelPaymentStatus,
  type ChannelRefundOutcome,
  type ChannelRefundRequest,
} from '../contract.ts';
import { alipayCurrency, fromYuanString, toYuanString } from './amount.ts';
import { alipayConnectorLimits } from './limits.ts';
import { readSignedResponse, requestSignExcluded, rsa2Sign, rsa2Verify, signContent, type AlipayKey } from './signature.ts';

export const alipayMethods = Object.freeze({
  precreate: 'alipay.trade.precreate',
  pagePay: 'alipay.trade.page.pay',
  query: 'alipay.trade.query',
  close: 'alipay.trade.close',
  refund: 'alipay.trade.refund',
  refundQuery: 'alipay.trade.fastpay.refund.query',
});

// ---------------------------------------------------------------- requests

/** 'yyyy-MM-dd HH:mm:ss' in Beijing time (UTC+8, no daylight saving), as the gateway expects. */
export function alipayTimestamp(at: Date): string {
  const beijing = new Date(at.getTime() + 8 * 60 * 60 * 1000);
  const iso = beijing.toISOString(); // 2026-01-01T08:00:00.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

export interface CommonParams {
  readonly app_id: string;
  readonly method: string;
  readonly timestamp: string;
  readonly notify_url?: string;
}

/** Every parameter of one gateway call, signed: common parameters, biz_content as JSON, and `sign`. */
export function signedRequestFields(common: CommonParams, biz: Readonly<Record<string, string>>, appPrivateKey: AlipayKey): Record<string, string> {
  const fields: Record<string, string> = {
    app_id: common.app_id,
    method: common.method,
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: common.timestamp,
    version: '1.0',
    biz_content: JSON.stringify(biz),
  };
  if (common.notify_url !== undefined) fields['notify_url'] = common.notify_url;
  fields['sign'] = rsa2Sign(signContent(fields, requestSignExcluded), appPrivateKey);
  return fields;
}

export type Built<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string; readonly message: string };

function checkTradeNumber(name: string, value: string, max: number): void {
  if (!/^[A-Za-z0-9_-]+$/.test(value) || value.length > max) throw new Error(`alipay: ${name} must be 1..${max} of [A-Za-z0-9_-], got ${value}`);
}

/** biz_content of alipay.trade.precreate (and page.pay, with its product code). */
export function buildPrecreateBiz(request: ChannelPaymentRequest, product: 'precreate' | 'page_pay' = 'precreate'): Built<Record<string, string>> {
  checkTradeNumber('out_trade_no', request.out_trade_no, alipayConnectorLimits.out_trade_no_length_max);
  const amount = toYuanString(request.amount, request.currency);
  if (!amount.ok) return { ok: false, code: amount.code, message: amount.message };
  const subject = (request.description.trim() === '' ? request.out_trade_no : request.description).slice(0, alipayConnectorLimits.subject_length_max);
  const biz: Record<string, string> = { out_trade_no: request.out_trade_no, total_amount: amount.value, subject };
  if (product === 'page_pay') biz['product_code'] = 'FAST_INSTANT_TRADE_PAY';
  return { ok: true, value: biz };
}

export function buildRefundBiz(request: ChannelRefundRequest): Built<Record<string, string>> {
  checkTradeNumber('out_trade_no', request.out_trade_no, alipayConnectorLimits.out_trade_no_length_max);
  checkTradeNumber('out_request_no', request.out_refund_no, alipayConnectorLimits.out_request_no_length_max);
  const amount = toYuanString(request.amount, request.currency);
  if (!amount.ok) return { ok: false, code: amount.code, message: amount.message };
  const biz: Record<string, string> = { out_trade_no: request.out_trade_no, refund_amount: amount.value, out_request_no: request.out_refund_no };
  if (request.channel_txn_id !== null) biz['trade_no'] = request.channel_txn_id;
  return { ok: true, value: biz };
}

// ---------------------------------------------------------------- responses

export type VerifiedNode = { readonly kind: 'node'; readonly node: Readonly<Record<string, unknown>> } | ChannelCallFailure;

/**
 * A gateway answer as the connector may believe it: HTTP 200, a body holding the method's
 * response node, and Alipay's signature over that node's exact text. Anything else is `unknown`
 * (the request reached the gateway, so it may have acted).
 */
export function verifyGatewayResponse(status: number, body: string, method: string, alipayPublicKey: AlipayKey): VerifiedNode {
  if (status !== 200) return { kind: 'unknown', reason: `gateway answered http ${status}` };
  const response = readSignedResponse(body, method);
  if (response === null) return { kind: 'unknown', reason: 'gateway response is not a readable Alipay response' };
  if (response.sign === null) return { kind: 'unknown', reason: `unsigned ${response.node_name}` };
  if (!rsa2Verify(response.node_text, response.sign, alipayPublicKey)) return { kind: 'unknown', reason: 'response signature does not verify with the Alipay public key' };
  return { kind: 'node', node: response.node };
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The gateway's own codes (https://opendocs.alipay.com/common/02km9f). 10000 is success; 40004 is decided by sub_code. */
export const gatewayCodes = ['10000', '20000', '20001', '40001', '40002', '40003', '40004', '40006'] as const;
type GatewayCode = (typeof gatewayCodes)[number];

/** Codes other than 10000 and 40004: did the request certainly do nothing? */
const gatewayCodeDefinite: { readonly [C in Exclude<GatewayCode, '10000' | '40004'>]: boolean } = {
  '20000': false, // Service Currently Unavailable: may or may not have run
  '20001': true, // Insufficient Token Permissions
  '40001': true, // Missing Required Arguments
  '40002': true, // Invalid Arguments (incl. isv.invalid-signature, isv.invalid-app-id)
  '40003': true, // Insufficient Conditions
  '40006': true, // Insufficient Permissions
};

export interface BusinessError {
  readonly code: string;
  readonly sub_code: string | null;
  readonly sub_msg: string | null;
  /** True when the request certainly changed nothing at Alipay. */
  readonly definite: boolean;
}

function readBusinessError(node: Readonly<Record<string, unknown>>, definiteSubCodes: ReadonlySet<string>): BusinessError {
  const code = str(node['code']) ?? '';
  const sub_code = str(node['sub_code']);
  const sub_msg = str(node['sub_msg']) ?? str(node['msg']);
  let definite = false;
  if (code === '40004') definite = sub_code !== null && definiteSubCodes.has(sub_code);
  else if (code in gatewayCodeDefinite) definite = gatewayCodeDefinite[code as keyof typeof gatewayCodeDefinite];
  return { code, sub_code, sub_msg, definite };
}

const ambiguous = (error: BusinessError, what: string): ChannelCallFailure => ({
  kind: 'unknown',
  reason: `${what}: alipay code ${error.code}${error.sub_code === null ? '' : ` ${error.sub_code}`}${error.sub_msg === null ? '' : ` (${error.sub_msg})`}`,
});

/** Business sub_codes of precreate that prove no trade was created or paid by this call. */
export const precreateDefiniteFailures: ReadonlySet<string> = new Set([
  'ACQ.INVALID_PARAMETER', 'ACQ.ACCESS_FORBIDDEN', 'ACQ.EXIST_FORBIDDEN_WORD', 'ACQ.PARTNER_ERROR', 'ACQ.TOTAL_FEE_EXCEED',
  'ACQ.TRADE_HAS_CLOSE', 'ACQ.SELLER_BEEN_BLOCKED', 'ACQ.TRADE_BUYER_NOT_MATCH',
]);

function failedPayment(expected: Expected, code: string, message: string | null, retryable: boolean): ChannelPaymentResult {
  return { kind: 'result', status: 'failed', channel_txn_id: null, amount: expected.amount, currency: expected.currency, failure_code: code, failure_message: message, retryable_elsewhere: retryable, next_action: null };
}

interface Expected {
  readonly out_trade_no: string;
  readonly amount: bigint;
  readonly currency: string;
}

function mismatch(what: string, field: string, got: unknown, expected: unknown): ChannelCallFailure {
  return { kind: 'unknown', reason: `${what}: response ${field} ${String(got)} does not match the request's ${String(expected)}` };
}

/**
 * alipay.trade.precreate / page.pay answers. Success carries out_trade_no and qr_code only (no
 * amount: the amount check happens on query and notification). ACQ.TRADE_HAS_SUCCESS means this
 * trade number was already paid: pending, so that the query (which carries the amount) decides.
 */
export function interpretPrecreate(node: Readonly<Record<string, unknown>>, expected: Expected): ChannelPaymentOutcome {
  if (node['code'] === '10000') {
    if (node['out_trade_no'] !== expected.out_trade_no) return mismatch('precreate', 'out_trade_no', node['out_trade_no'], expected.out_trade_no);
    const url = str(node['qr_code']);
    if (url === null || !/^https?:\/\/\S+$/.test(url)) return { kind: 'unknown', reason: 'precreate succeeded without a qr_code URL' };
    return { kind: 'result', status: 'requires_action', channel_txn_id: null, amount: expected.amount, currency: expected.currency, failure_code: null, failure_message: null, retryable_elsewhere: false, next_action: { type: 'qr_code', url } };
  }
  if (node['code'] === '40004' && node['sub_code'] === 'ACQ.TRADE_HAS_SUCCESS') {
    return { kind: 'result', status: 'pending', channel_txn_id: null, amount: expected.amount, currency: expected.currency, failure_code: null, failure_message: null, retryable_elsewhere: false, next_action: null };
  }
  const error = readBusinessError(node, precreateDefiniteFailures);
  if (!error.definite) return ambiguous(error, 'precreate');
  return failedPayment(expected, error.sub_code ?? error.code, error.sub_msg, true);
}

// ---------------------------------------------------------------- trade_status

export const tradeStatuses = ['WAIT_BUYER_PAY', 'TRADE_CLOSED', 'TRADE_SUCCESS', 'TRADE_FINISHED'] as const;
export type TradeStatus = (typeof tradeStatuses)[number];

export interface MappedTradeStatus {
  readonly status: ChannelPaymentStatus;
  readonly failure_code: string | null;
  readonly retryable_elsewhere: boolean;
}

/**
 * Every trade_status, no catch-all. TRADE_CLOSED means either "closed unpaid" (timeout or
 * alipay.trade.close) or "paid, then refunded in full": Alipay tells them apart only by the
 * payment time (send_pay_date on query, gmt_payment on notifications). A paid-then-refunded
 * trade is a succeeded payment (its refunds are their own objects), never a failure.
 */
export const tradeStatusMap: { readonly [S in TradeStatus]: (paid_at: string | null) => MappedTradeStatus } = {
  WAIT_BUYER_PAY: () => ({ status: 'requires_action', failure_code: null, retryable_elsewhere: false }),
  TRADE_SUCCESS: () => ({ status: 'succeeded', failure_code: null, retryable_elsewhere: false }),
  TRADE_FINISHED: () => ({ status: 'succeeded', failure_code: null, retryable_elsewhere: false }),
  TRADE_CLOSED: (paid_at) =>
    paid_at === null ? { status: 'failed', failure_code: 'trade_closed', retryable_elsewhere: true } : { status: 'succeeded', failure_code: null, retryable_elsewhere: false },
};

export function mapTradeStatus(trade_status: unknown, paid_at: string | null): MappedTradeStatus {
  const known = typeof trade_status === 'string' && (tradeStatuses as readonly string[]).includes(trade_status);
  return known ? tradeStatusMap[trade_status as TradeStatus](paid_at) : { status: 'pending', failure_code: null, retryable_elsewhere: false };
}

/** alipay.trade.query answers, checked against the trade number and amount we expect. */
export function interpretQuery(node: Readonly<Record<string, unknown>>, expected: Expected): ChannelPaymentOutcome {
  if (expected.currency !== alipayCurrency) return mismatch('query', 'currency', alipayCurrency, expected.currency);
  if (node['code'] === '10000') {
    if (node['out_trade_no'] !== expected.out_trade_no) return mismatch('query', 'out_trade_no', node['out_trade_no'], expected.out_trade_no);
    const amount = fromYuanString(node['total_amount']);
    if (amount === null) return { kind: 'unknown', reason: `query: unreadable total_amount ${String(node['total_amount'])}` };
    if (amount !== expected.amount) return mismatch('query', 'total_amount (fen)', amount, expected.amount);
    const mapped = mapTradeStatus(node['trade_status'], str(node['send_pay_date']));
    return {
      kind: 'result', status: mapped.status, channel_txn_id: str(node['trade_no']), amount, currency: alipayCurrency,
      failure_code: mapped.failure_code, failure_message: mapped.failure_code === null ? null : `trade_status ${String(node['trade_status'])}`,
      retryable_elsewhere: mapped.retryable_elsewhere, next_action: null,
    };
  }
  if (node['code'] === '40004' && node['sub_code'] === 'ACQ.TRADE_NOT_EXIST') {
    return failedPayment(expected, channelPaymentNotFound, 'Alipay has no trade with this out_trade_no.', true);
  }
  return ambiguous(readBusinessError(node, new Set()), 'query');
}

// ---------------------------------------------------------------- close

/** The contract's close outcome: Alipay's answers map onto it one to one. */
export type AlipayCloseOutcome = ChannelCloseOutcome;

/** alipay.trade.close: closed; no such trade; or not closable (already paid, finished or closed). */
export function interpretClose(node: Readonly<Record<string, unknown>>, out_trade_no: string): AlipayCloseOutcome {
  if (node['code'] === '10000') {
    if (node['out_trade_no'] !== out_trade_no) return mismatch('close', 'out_trade_no', node['out_trade_no'], out_trade_no);
    return { kind: 'result', status: 'closed', detail: null };
  }
  if (node['code'] === '40004' && node['sub_code'] === 'ACQ.TRADE_NOT_EXIST') return { kind: 'result', status: 'not_found', detail: 'ACQ.TRADE_NOT_EXIST' };
  if (node['code'] === '40004' && node['sub_code'] === 'ACQ.TRADE_STATUS_ERROR') return { kind: 'result', status: 'not_closable', detail: str(node['sub_msg']) };
  return ambiguous(readBusinessError(node, new Set()), 'close');
}

// ---------------------------------------------------------------- refunds

/** Refund sub_codes that prove the refund was not made (and will not be without a new request). */
export const refundDefiniteFailures: ReadonlySet<string> = new Set([
  'ACQ.TRADE_NOT_EXIST', 'ACQ.TRADE_STATUS_ERROR', 'ACQ.TRADE_HAS_FINISHED', 'ACQ.TRADE_HAS_CLOSE', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL',
  'ACQ.REASON_TRADE_REFUND_FEE_ERR', 'ACQ.INVALID_PARAMETER', 'ACQ.SELLER_BALANCE_NOT_ENOUGH', 'ACQ.DISCORDANT_REPEAT_REQUEST',
]);

export type RefundInterpretation = ChannelRefundOutcome | { readonly kind: 'confirm_by_query' };

/**
 * alipay.trade.refund. refund_fee is the trade's cumulative refunded total, so it must be at
 * least this refund. fund_change=Y: money moved now; N: a repeat of an out_request_no already
 * refunded (or nothing moved), which only the refund query can tell apart.
 */
export function interpretRefund(node: Readonly<Record<string, unknown>>, request: ChannelRefundRequest): RefundInterpretation {
  if (node['code'] === '10000') {
    if (node['out_trade_no'] !== request.out_trade_no) return mismatch('refund', 'out_trade_no', node['out_trade_no'], request.out_trade_no);
    const total = fromYuanString(node['refund_fee']);
    if (total === null) return { kind: 'unknown', reason: `refund: unreadable refund_fee ${String(node['refund_fee'])}` };
    if (node['fund_change'] !== 'Y') return { kind: 'confirm_by_query' };
    if (total < request.amount) return mismatch('refund', 'cumulative refund_fee (fen)', total, `>= ${request.amount}`);
    return { kind: 'result', status: 'succeeded', channel_refund_id: request.out_refund_no, amount: request.amount, currency: alipayCurrency, failure_code: null };
  }
  const error = readBusinessError(node, refundDefiniteFailures);
  if (!error.definite) return ambiguous(error, 'refund');
  const failure_code = error.sub_code === 'ACQ.TRADE_NOT_EXIST' ? 'payment_not_found' : (error.sub_code ?? error.code);
  return { kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code };
}

/**
 * alipay.trade.fastpay.refund.query: refund_status REFUND_SUCCESS with our numbers and amount is a
 * refund made; a 10000 without refund_amount means Alipay has no such refund (`refund_not_found`).
 */
export function interpretRefundQuery(node: Readonly<Record<string, unknown>>, request: ChannelRefundRequest): ChannelRefundOutcome {
  if (node['code'] !== '10000') return ambiguous(readBusinessError(node, new Set()), 'refund query');
  if (node['refund_amount'] === undefined) {
    return { kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code: 'refund_not_found' };
  }
  if (node['out_trade_no'] !== request.out_trade_no) return mismatch('refund query', 'out_trade_no', node['out_trade_no'], request.out_trade_no);
  if (node['out_request_no'] !== request.out_refund_no) return mismatch('refund query', 'out_request_no', node['out_request_no'], request.out_refund_no);
  const amount = fromYuanString(node['refund_amount']);
  if (amount === null || amount !== request.amount) return mismatch('refund query', 'refund_amount (fen)', amount, request.amount);
  const status = node['refund_status'] === 'REFUND_SUCCESS' ? 'succeeded' : 'pending';
  return { kind: 'result', status, channel_refund_id: request.out_refund_no, amount, currency: alipayCurrency, failure_code: null };
}
