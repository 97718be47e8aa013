// The Alipay connector: the connector contract over Alipay's Open Platform gateway (OpenAPI 1.0:
// one POST endpoint, RSA2-signed form requests, signed JSON responses). Stateless: our
// out_trade_no / out_request_no are Alipay's idempotency keys. The one thing an instance holds
// is its keep-alive agent (http.ts): close() lets go of it.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { limits } from '../../kernel/limits.ts';
import type { ChannelCallFailure, ChannelPaymentOutcome, ChannelPaymentRequest, ChannelRefundOutcome, ChannelRefundRequest, Connector, NotificationAnswer, NotificationVerdict } from '../contract.ts';
import { alipayCurrency } from './amount.ts';
import { createAlipayHttp, postToGateway, type AlipayLogger } from './http.ts';
import { alipayConnectorLimits } from './limits.ts';
import { answerAlipayNotification, verifyAlipayNotification } from './notification.ts';
import {
  alipayMethods,
  alipayTimestamp,
  buildPrecreateBiz,
  buildRefundBiz,
  interpretClose,
  interpretPrecreate,
  interpretQuery,
  interpretRefund,
  interpretRefundQuery,
  signedRequestFields,
  verifyGatewayResponse,
  type AlipayCloseOutcome,
  type VerifiedNode,
} from './transformers.ts';

export interface AlipayConnectorOptions {
  readonly channel: string;
  /** https://openapi.alipay.com/gateway.do, or a sandbox's gateway_url. */
  readonly gatewayUrl: string;
  readonly appId: string;
  /** The app private key (PEM, PKCS#8 or PKCS#1). */
  readonly appPrivateKey: string;
  /** Alipay's public key for this app (PEM, or the bare base64 the Open Platform console shows). */
  readonly alipayPublicKey: string;
  /** Where Alipay sends notifications (our POST /notify/:channel). */
  readonly notifyUrl: string;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: AlipayLogger;
}

/** A Connector with Alipay's extra flows: close a trade, query a refund, let go of sockets. */
export interface AlipayConnector extends Connector {
  /** alipay.trade.close: an unpaid trade can no longer be paid. */
  closePayment(out_trade_no: string): Promise<AlipayCloseOutcome>;
  /** alipay.trade.fastpay.refund.query for one of our refunds. */
  queryRefund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome>;
  answerNotification(accepted: boolean): NotificationAnswer;
  close(): void;
}

function loadPublicKey(text: string): KeyObject {
  const pem = text.includes('-----BEGIN') ? text : `-----BEGIN PUBLIC KEY-----\n${text.replace(/\s+/g, '')}\n-----END PUBLIC KEY-----`;
  return createPublicKey(pem);
}

export function createAlipayConnector(options: AlipayConnectorOptions): AlipayConnector {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createAlipayConnector: bad channel id ${options.channel}`);
  if (!/^\d{1,32}$/.test(options.appId)) throw new Error('createAlipayConnector: appId must be Alipay digits');
  const notifyUrl = new URL(options.notifyUrl).toString(); // throws on a malformed URL
  const timeoutMs = options.timeoutMs ?? limits.channel_call_timeout_ms;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= alipayConnectorLimits.timeout_ms_max)) {
    throw new Error(`createAlipayConnector: timeoutMs must be 1..${alipayConnectorLimits.timeout_ms_max}`);
  }
  const appPrivateKey = createPrivateKey(options.appPrivateKey); // throws on a bad key: a configuration bug
  const alipayPublicKey = loadPublicKey(options.alipayPublicKey);
  const clock = options.clock ?? systemClock;
  const http = createAlipayHttp(options.gatewayUrl, timeoutMs, options.channel, options.logger);

  async function call(method: string, biz: Readonly<Record<string, string>>, withNotify: boolean): Promise<VerifiedNode> {
    const common = { app_id: options.appId, method, timestamp: alipayTimestamp(clock.now()), ...(withNotify ? { notify_url: notifyUrl } : {}) };
    const exchange = await postToGateway(http, signedRequestFields(common, biz, appPrivateKey));
    if (exchange.kind !== 'response') return exchange;
    return verifyGatewayResponse(exchange.status, exchange.text, method, alipayPublicKey);
  }

  /** A query that could not be made proves nothing: never `not_sent`. */
  const asQueryFailure = (failure: ChannelCallFailure): ChannelCallFailure => (failure.kind === 'not_sent' ? { kind: 'unknown', reason: `query not sent: ${failure.reason}` } : failure);

  async function queryRefund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
    const verified = await call(alipayMethods.refundQuery, { out_trade_no: request.out_trade_no, out_request_no: request.out_refund_no, query_options: '["gmt_refund_pay"]' }, false);
    if (verified.kind !== 'node') return asQueryFailure(verified);
    return interpretRefundQuery(verified.node, request);
  }

  return {
    channel: options.channel,
    methods: ['alipay'],

    async createPayment(request: ChannelPaymentRequest): Promise<ChannelPaymentOutcome> {
      const built = buildPrecreateBiz(request);
      if (!built.ok) {
        return { kind: 'result', status: 'failed', channel_txn_id: null, amount: request.amount, currency: request.currency, failure_code: built.code, failure_message: built.message, retryable_elsewhere: true, next_action: null };
      }
      const verified = await call(alipayMethods.precreate, built.value, true);
      if (verified.kind !== 'node') return verified;
      return interpretPrecreate(verified.node, { out_trade_no: request.out_trade_no, amount: request.amount, currency: request.currency });
    },

    async queryPayment(out_trade_no, expected): Promise<ChannelPaymentOutcome> {
      const verified = await call(alipayMethods.query, { out_trade_no }, false);
      if (verified.kind !== 'node') return asQueryFailure(verified);
      return interpretQuery(verified.node, { out_trade_no, amount: expected.amount, currency: expected.currency });
    },

    async refund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      const built = buildRefundBiz(request);
      if (!built.ok) return { kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code: built.code };
      const verified = await call(alipayMethods.refund, built.value, false);
      if (verified.kind !== 'node') return verified;
      const interpreted = interpretRefund(verified.node, request);
      if (interpreted.kind !== 'confirm_by_query') return interpreted;
      const confirmed = await queryRefund(request);
      // fund_change=N yet no such refund: contradictory, so neither succeeded nor failed.
      if (confirmed.kind === 'result' && confirmed.failure_code === 'refund_not_found') return { ...confirmed, status: 'pending', failure_code: null };
      return confirmed;
    },

    verifyNotification(rawBody: Buffer): NotificationVerdict {
      return verifyAlipayNotification(rawBody, { appId: options.appId, alipayPublicKey });
    },

    answerNotification: answerAlipayNotification,

    async closePayment(out_trade_no: string): Promise<AlipayCloseOutcome> {
      const verified = await call(alipayMethods.close, { out_trade_no }, false);
      if (verified.kind !== 'node') return verified;
      return interpretClose(verified.node, out_trade_no);
    },

    queryRefund,

    close(): void {
      http.close();
    },
  };
}

export { alipayCurrency };
