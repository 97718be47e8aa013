// WeChat Pay API v3 endpoints as pure functions of the store and a parsed request: each returns
// the status and JSON body WeChat would answer. Validation follows WeChat's error codes
// (PARAM_ERROR, APPID_MCHID_NOT_MATCH, OUT_TRADE_NO_USED, ORDERPAID, ORDER_CLOSED,
// ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS, INVALID_REQUEST).
import { randomString } from './crypto.ts';
import { wechatSandboxLimits } from './limits.ts';
import type { Refund, Trade, WechatStore } from './store.ts';

export interface Answer {
  readonly status: number;
  readonly body: object | null; // null: 204 No Content
}

export interface EndpointContext {
  readonly store: WechatStore;
  readonly mchid: string;
  readonly appid: string;
  now(): Date;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const error = (status: number, code: string, message: string): Answer => ({ status, body: { code, message } });
const tradeNumberPattern = /^[A-Za-z0-9_\-*|]+$/;

/** RFC 3339 in China Standard Time, as WeChat writes times: 2026-01-01T08:00:00+08:00. */
export function wechatTime(at: Date): string {
  return new Date(at.getTime() + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, '+08:00');
}

function validTradeNumber(value: unknown): value is string {
  const { out_trade_no_length_min: min, out_trade_no_length_max: max } = wechatSandboxLimits;
  return typeof value === 'string' && value.length >= min && value.length <= max && tradeNumberPattern.test(value);
}

function validFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= wechatSandboxLimits.amount_fen_max;
}

export function nativePay(context: EndpointContext, body: unknown): Answer {
  if (!isObject(body)) return error(400, 'PARAM_ERROR', '请求体不是JSON对象');
  const { appid, mchid, description, out_trade_no, notify_url, amount } = body;
  if (typeof appid !== 'string' || typeof mchid !== 'string') return error(400, 'PARAM_ERROR', '缺少参数 appid 或 mchid');
  if (mchid !== context.mchid || appid !== context.appid) return error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
  if (typeof description !== 'string' || description.length === 0 || [...description].length > wechatSandboxLimits.description_length_max) return error(400, 'PARAM_ERROR', 'description 长度不合法');
  if (!validTradeNumber(out_trade_no)) return error(400, 'PARAM_ERROR', 'out_trade_no 不合法');
  if (typeof notify_url !== 'string' || !/^https?:\/\//.test(notify_url)) return error(400, 'PARAM_ERROR', 'notify_url 不合法');
  if (!isObject(amount) || !validFen(amount['total'])) return error(400, 'PARAM_ERROR', 'amount.total 不合法');
  const currency = amount['currency'] ?? 'CNY';
  if (currency !== 'CNY') return error(400, 'PARAM_ERROR', '币种只支持CNY');
  const existing = context.store.trades.get(out_trade_no);
  if (existing !== undefined) {
    if (existing.trade_state === 'SUCCESS' || existing.trade_state === 'REFUND') return error(403, 'ORDERPAID', '该订单已支付');
    if (existing.trade_state === 'CLOSED') return error(400, 'ORDER_CLOSED', '订单已关闭');
    if (existing.total !== amount['total'] || existing.description !== description || existing.notify_url !== notify_url) {
      return error(403, 'OUT_TRADE_NO_USED', '商户订单号重复');
    }
    return { status: 200, body: { code_url: existing.code_url } }; // the same order again: the same code
  }
  const trade: Trade = {
    out_trade_no, appid, mchid, description, notify_url, total: amount['total'], currency: 'CNY',
    code_url: `weixin://wxpay/bizpayurl?pr=${randomString(7)}`, created_at: wechatTime(context.now()),
    trade_state: 'NOTPAY', transaction_id: null, success_time: null, refunded: 0,
  };
  context.store.addTrade(trade);
  return { status: 200, body: { code_url: trade.code_url } };
}

const stateDescriptions: Readonly<Record<Trade['trade_state'], string>> = {
  NOTPAY: '订单未支付', USERPAYING: '用户支付中', SUCCESS: '支付成功', REFUND: '转入退款', CLOSED: '已关闭', REVOKED: '已撤销', PAYERROR: '支付失败',
};

export function renderTransaction(trade: Trade): object {
  const paid = trade.transaction_id !== null;
  return {
    appid: trade.appid,
    mchid: trade.mchid,
    out_trade_no: trade.out_trade_no,
    ...(paid ? { transaction_id: trade.transaction_id, bank_type: 'OTHERS', success_time: trade.success_time, payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } } : {}),
    trade_type: 'NATIVE',
    trade_state: trade.trade_state,
    trade_state_desc: stateDescriptions[trade.trade_state],
    attach: '',
    amount: { total: trade.total, currency: trade.currency, ...(paid ? { payer_total: trade.total, payer_currency: trade.currency } : {}) },
  };
}

export function queryTrade(context: EndpointContext, out_trade_no: string, mchid: string | undefined): Answer {
  if (mchid !== context.mchid) return error(400, 'PARAM_ERROR', 'mchid 不合法');
  const trade = context.store.trades.get(out_trade_no);
  if (trade === undefined) return error(404, 'ORDER_NOT_EXIST', '订单不存在');
  return { status: 200, body: renderTransaction(trade) };
}

export function closeTrade(context: EndpointContext, out_trade_no: string, body: unknown): Answer {
  if (!isObject(body) || body['mchid'] !== context.mchid) return error(400, 'PARAM_ERROR', 'mchid 不合法');
  const trade = context.store.trades.get(out_trade_no);
  if (trade === undefined) return error(404, 'ORDER_NOT_EXIST', '订单不存在');
  if (trade.trade_state === 'SUCCESS' || trade.trade_state === 'REFUND') return error(403, 'ORDERPAID', '订单已支付');
  trade.trade_state = 'CLOSED'; // closing a closed order is a 204 again
  return { status: 204, body: null };
}

export function renderRefund(refund: Refund): object {
  return {
    refund_id: refund.refund_id,
    out_refund_no: refund.out_refund_no,
    transaction_id: refund.transaction_id,
    out_trade_no: refund.out_trade_no,
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    success_time: refund.success_time,
    create_time: refund.create_time,
    status: refund.status,
    funds_account: 'AVAILABLE',
    amount: { total: refund.total, refund: refund.refund, payer_total: refund.total, payer_refund: refund.refund, settlement_refund: refund.refund, settlement_total: refund.total, discount_refund: 0, currency: refund.currency },
  };
}

/** Refunds succeed at once here (WeChat usually answers PROCESSING first); the ledger moves with them. */
export function createRefund(context: EndpointContext, body: unknown): Answer {
  if (!isObject(body)) return error(400, 'PARAM_ERROR', '请求体不是JSON对象');
  const { out_trade_no, out_refund_no, amount } = body;
  if (!validTradeNumber(out_trade_no)) return error(400, 'PARAM_ERROR', 'out_trade_no 不合法');
  if (typeof out_refund_no !== 'string' || out_refund_no.length === 0 || out_refund_no.length > wechatSandboxLimits.out_refund_no_length_max) return error(400, 'PARAM_ERROR', 'out_refund_no 不合法');
  if (!isObject(amount) || !validFen(amount['refund']) || !validFen(amount['total']) || amount['currency'] !== 'CNY') return error(400, 'PARAM_ERROR', 'amount 不合法');
  const existing = context.store.refunds.get(out_refund_no);
  if (existing !== undefined) {
    if (existing.out_trade_no !== out_trade_no || existing.refund !== amount['refund']) return error(400, 'INVALID_REQUEST', '商户退款单号已用于其他退款');
    return { status: 200, body: renderRefund(existing) }; // the same refund again: the same answer, no second movement
  }
  const trade = context.store.trades.get(out_trade_no);
  if (trade === undefined) return error(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
  if (trade.transaction_id === null || (trade.trade_state !== 'SUCCESS' && trade.trade_state !== 'REFUND')) return error(400, 'INVALID_REQUEST', '订单未支付');
  if (amount['total'] !== trade.total) return error(400, 'PARAM_ERROR', '订单金额与原订单不符');
  if (trade.refunded + amount['refund'] > trade.total) return error(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
  const now = wechatTime(context.now());
  const refund: Refund = {
    refund_id: `50${randomString(30, '0123456789')}`, out_refund_no, out_trade_no, transaction_id: trade.transaction_id,
    refund: amount['refund'], total: trade.total, currency: 'CNY', status: 'SUCCESS', create_time: now, success_time: now,
  };
  trade.refunded += refund.refund;
  trade.trade_state = 'REFUND';
  context.store.recordRefund(out_trade_no, refund.refund);
  context.store.addRefund(refund);
  return { status: 200, body: renderRefund(refund) };
}

export function queryRefund(context: EndpointContext, out_refund_no: string): Answer {
  const refund = context.store.refunds.get(out_refund_no);
  if (refund === undefined) return error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
  return { status: 200, body: renderRefund(refund) };
}
