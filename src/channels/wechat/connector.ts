// The WeChat Pay connector: the connector contract over API v3 Native pay. Stateless: the
// only memory is WeChat's (out_trade_no and out_refund_no are the idempotency keys). The one
// thing an instance holds is its keep-alive agent (http.ts): close() lets go of it.
import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { limits } from '../../kernel/limits.ts';
import type {
  ChannelPaymentOutcome,
  ChannelPaymentRequest,
  ChannelRefundOutcome,
  ChannelRefundRequest,
  Connector,
  NotificationAnswer,
  NotificationVerdict,
  ChannelCloseOutcome,
} from '../contract.ts';
import { fromWechatAmount } from './amount.ts';
import * as http from './http.ts';
import { wechatConnectorLimits } from './limits.ts';
import { answerWechatNotification, verifyWechatNotification } from './notification.ts';
import { apiV3KeyBytes, privateKeyFrom, publicKeyFrom } from './signature.ts';
import {
  buildNativeBody,
  buildRefundBody,
  checkTradeNumber,
  closeOutcomeOf,
  interpretCloseResponse,
  interpretNativeResponse,
  interpretQueryResponse,
  interpretRefundResponse,
  readTransaction,
  transactionMismatch,
  type WechatMerchant,
} from './transformers.ts';

export interface WechatPayConnectorOptions {
  readonly channel: string;
  /** https://api.mch.weixin.qq.com, or a sandbox's base URL (a path prefix is kept and signed). */
  readonly baseUrl: string;
  readonly mchid: string;
  readonly appid: string;
  /** Serial number of the merchant API certificate (sent as serial_no). */
  readonly merchantSerialNo: string;
  /** PEM (PKCS#8 or PKCS#1) of the merchant API private key. */
  readonly merchantPrivateKey: string;
  /** The 32-character APIv3 key that decrypts notification resources. */
  readonly apiV3Key: string;
  /** PEM of the WeChat Pay platform public key (or certificate) and its serial. */
  readonly platformPublicKey: string;
  readonly platformSerialNo: string;
  /** Where WeChat sends notifications for payments made through this channel (the platform's /notify/:channel). */
  readonly notifyUrl: string;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: http.WechatLogger;
}

/** A Connector with WeChat's extra flows and a way to let go of its sockets. */
export interface WechatPayConnector extends Connector {
  answerNotification(accepted: boolean): NotificationAnswer;
  /** POST .../out-trade-no/{out_trade_no}/close: an unpaid order can no longer be paid. */
  closePayment(out_trade_no: string): Promise<ChannelCloseOutcome>;
  /** GET /v3/refund/domestic/refunds/{out_refund_no}, checked against what was asked. */
  queryRefund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome>;
  close(): void;
}

interface Settings {
  readonly channel: string;
  readonly merchant: WechatMerchant;
  readonly notifyUrl: string;
  readonly apiV3Key: string;
  readonly platformSerialNo: string;
  readonly platformPublicKey: KeyObject;
  readonly clock: Clock;
}

function settle(options: WechatPayConnectorOptions): { settings: Settings; timeoutMs: number; merchantPrivateKey: KeyObject } {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createWechatPayConnector: bad channel id ${options.channel}`);
  if (!/^\d{1,32}$/.test(options.mchid)) throw new Error('createWechatPayConnector: mchid must be digits');
  if (!/^[A-Za-z0-9_]{1,32}$/.test(options.appid)) throw new Error('createWechatPayConnector: bad appid');
  if (!/^[0-9A-Fa-f]{1,64}$/.test(options.merchantSerialNo) || !/^[0-9A-Za-z_]{1,64}$/.test(options.platformSerialNo)) throw new Error('createWechatPayConnector: bad certificate serial');
  apiV3KeyBytes(options.apiV3Key); // throws unless 32 bytes
  const notify = new URL(options.notifyUrl);
  if (notify.protocol !== 'https:' && notify.protocol !== 'http:') throw new Error('createWechatPayConnector: notifyUrl must be http(s)');
  const timeoutMs = options.timeoutMs ?? limits.channel_call_timeout_ms;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= wechatConnectorLimits.timeout_ms_max)) throw new Error(`createWechatPayConnector: timeoutMs must be 1..${wechatConnectorLimits.timeout_ms_max}`);
  const merchantPrivateKey = privateKeyFrom(options.merchantPrivateKey);
  const platformPublicKey = publicKeyFrom(options.platformPublicKey);
  if (merchantPrivateKey.asymmetricKeyType !== 'rsa' || platformPublicKey.asymmetricKeyType !== 'rsa') throw new Error('createWechatPayConnector: keys must be RSA');
  const settings: Settings = Object.freeze({
    channel: options.channel,
    merchant: Object.freeze({ mchid: options.mchid, appid: options.appid }),
    notifyUrl: options.notifyUrl,
    apiV3Key: options.apiV3Key,
    platformSerialNo: options.platformSerialNo,
    platformPublicKey,
    clock: options.clock ?? systemClock,
  });
  return { settings, timeoutMs, merchantPrivateKey };
}

export function createWechatPayConnector(options: WechatPayConnectorOptions): WechatPayConnector {
  const { settings, timeoutMs, merchantPrivateKey } = settle(options);
  const nowSeconds = (): number => Math.floor(settings.clock.now().getTime() / 1000);
  const api = http.createWechatHttp({
    baseUrl: options.baseUrl,
    mchid: settings.merchant.mchid,
    merchantSerialNo: options.merchantSerialNo,
    merchantPrivateKey,
    platformSerialNo: settings.platformSerialNo,
    platformPublicKey: settings.platformPublicKey,
    timeoutMs,
    channel: settings.channel,
    now_seconds: nowSeconds,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });

  const refundFailed = (request: ChannelRefundRequest, failure_code: string): ChannelRefundOutcome =>
    ({ kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code });

  return {
    channel: settings.channel,
    methods: ['wechat_pay'],

    async createPayment(request: ChannelPaymentRequest): Promise<ChannelPaymentOutcome> {
      const built = buildNativeBody(request, settings.merchant, settings.notifyUrl);
      if (!built.ok) {
        return { kind: 'result', status: 'failed', channel_txn_id: null, amount: request.amount, currency: request.currency, failure_code: built.code, failure_message: built.message, retryable_elsewhere: true, next_action: null };
      }
      const exchange = await http.createNative(api, built.body);
      if (exchange.kind !== 'response') return exchange;
      return interpretNativeResponse(exchange.status, exchange.body, { out_trade_no: request.out_trade_no, amount: request.amount, currency: request.currency });
    },

    async queryPayment(out_trade_no, expected): Promise<ChannelPaymentOutcome> {
      if (checkTradeNumber(out_trade_no) !== null) return { kind: 'unknown', reason: `not a WeChat out_trade_no: ${out_trade_no}` };
      const exchange = await http.queryByTradeNumber(api, out_trade_no);
      if (exchange.kind !== 'response') return { kind: 'unknown', reason: `query failed: ${exchange.reason}` }; // a query that was not made proves nothing
      return interpretQueryResponse(exchange.status, exchange.body, { out_trade_no, ...expected }, settings.merchant);
    },

    async refund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      // WeChat wants the order's total beside the refund: read it from the channel, checked.
      const queried = await http.queryByTradeNumber(api, request.out_trade_no);
      if (queried.kind !== 'response') return queried;
      if (queried.status === 404) return refundFailed(request, 'payment_not_found');
      const txn = queried.status === 200 ? readTransaction(queried.body) : null;
      if (txn === null) return { kind: 'unknown', reason: `refund: the order query answered http ${queried.status}` };
      const total = fromWechatAmount(txn.total);
      if (total === null) return { kind: 'unknown', reason: 'refund: the order carries no readable total' };
      const mismatch = transactionMismatch(txn, { out_trade_no: request.out_trade_no, amount: total, currency: request.currency }, settings.merchant);
      if (mismatch !== null) return { kind: 'unknown', reason: `refund: the order query answered about another payment: ${mismatch}` };
      if (txn.trade_state !== 'SUCCESS' && txn.trade_state !== 'REFUND') return refundFailed(request, 'payment_not_paid');
      if (request.channel_txn_id !== null && txn.transaction_id !== request.channel_txn_id) return { kind: 'unknown', reason: `refund: transaction_id ${String(txn.transaction_id)} is not ${request.channel_txn_id}` };
      const built = buildRefundBody(request, total);
      if (!built.ok) return refundFailed(request, built.code);
      const exchange = await http.createRefund(api, built.body);
      if (exchange.kind !== 'response') return exchange;
      return interpretRefundResponse(exchange.status, exchange.body, request);
    },

    async queryRefund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      const exchange = await http.queryRefund(api, request.out_refund_no);
      if (exchange.kind !== 'response') return { kind: 'unknown', reason: `refund query failed: ${exchange.reason}` };
      return interpretRefundResponse(exchange.status, exchange.body, request);
    },

    async closePayment(out_trade_no: string): Promise<ChannelCloseOutcome> {
      if (checkTradeNumber(out_trade_no) !== null) return closeOutcomeOf({ kind: 'refused', code: 'out_trade_no_invalid', message: null });
      const exchange = await http.closeByTradeNumber(api, out_trade_no);
      if (exchange.kind !== 'response') return exchange;
      return closeOutcomeOf(interpretCloseResponse(exchange.status, exchange.body));
    },

    verifyNotification(rawBody, headers): NotificationVerdict {
      return verifyWechatNotification(rawBody, headers, settings, settings.merchant, nowSeconds());
    },

    answerNotification: answerWechatNotification,

    close(): void {
      api.close();
    },
  };
}
