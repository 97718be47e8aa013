// A simulated WeChat Pay (API v3) for one channel: Native pay, query, close, refunds and
// refund query at WeChat's own /v3 paths; the merchant's Authorization signature checked;
// every response signed with the sandbox's own platform key; notifications signed and
// carrying an AEAD_AES_256_GCM-encrypted transaction, retried until the merchant answers 2xx;
// fault injection (see ../stripe/faults.ts for the shared fault state). Mount it on the
// platform's server, listen on a port of its own, or both; both views share one state.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import type { ChannelSandbox, SandboxFaults, SandboxLedgerRow } from '../../src/channels/sandbox.ts';
import { FaultState } from '../stripe/faults.ts';
import { Holds } from '../stripe/holds.ts';
import { createSandboxLifecycle } from '../shared/lifecycle.ts';
import { NotificationSender, type NotificationStats as NotifyStats } from '../shared/notification-sender.ts';
import { encryptForMerchant, newRsaKeyPair, newSerial, platformSignature, randomString } from './crypto.ts';
import { renderTransaction, wechatTime, type EndpointContext } from './endpoints.ts';
import { wechatSandboxLimits } from './limits.ts';
import { registerWechatRoutes } from './routes.ts';
import { WechatStore, type Trade } from './store.ts';

export interface WechatPaySandboxOptions {
  readonly channel: string;
  readonly clock?: Clock;
  /** Source of randomness for the faults; default Math.random. Must return [0, 1). */
  readonly random?: () => number;
  /**
   * Where notifications go. Absent: each order's own notify_url (as WeChat does). A URL: there
   * instead. null: nowhere. setWebhookUrl changes it later.
   */
  readonly webhookUrl?: string | null;
  /** How long the timeout fault holds a response back (default 30 s; close() cuts it short). */
  readonly timeoutHoldMs?: number;
  /** How long a late success stays USERPAYING after the payer completes (default 250 ms). */
  readonly lateSuccessDelayMs?: number;
  /** First notification retry delay; doubles each attempt up to notify_backoff_ms_max (default 100 ms). */
  readonly notifyBackoffBaseMs?: number;
  /** Orders and refunds kept before the oldest are evicted. */
  readonly capacity?: number;
}

/** The test credentials a merchant-side client needs, named as WeChat Pay names them (PEM keys). */
export interface WechatPayCredentials {
  readonly base_url: string;
  readonly mchid: string;
  readonly appid: string;
  readonly merchant_serial_no: string;
  readonly merchant_private_key: string;
  readonly api_v3_key: string;
  readonly platform_serial_no: string;
  readonly platform_public_key: string;
}

export interface WechatPaySandbox extends ChannelSandbox {
  credentials(): WechatPayCredentials;
  payerCompletes(outTradeNo: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }>;
  notifyStats(): NotifyStats;
}

function checkDuration(name: string, value: number): number {
  if (!(Number.isInteger(value) && value >= 0 && value <= wechatSandboxLimits.duration_ms_max)) throw new Error(`createWechatPaySandbox: ${name} must be 0..${wechatSandboxLimits.duration_ms_max} ms`);
  return value;
}

export function createWechatPaySandbox(options: WechatPaySandboxOptions): WechatPaySandbox {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createWechatPaySandbox: bad channel id ${options.channel}`);
  const clock = options.clock ?? systemClock;
  const timeoutHoldMs = checkDuration('timeoutHoldMs', options.timeoutHoldMs ?? wechatSandboxLimits.timeout_hold_ms_default);
  const lateSuccessDelayMs = checkDuration('lateSuccessDelayMs', options.lateSuccessDelayMs ?? wechatSandboxLimits.late_success_delay_ms_default);
  const backoff = checkDuration('notifyBackoffBaseMs', options.notifyBackoffBaseMs ?? wechatSandboxLimits.notify_backoff_base_ms);
  const capacity = options.capacity ?? wechatSandboxLimits.capacity_default;
  if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= wechatSandboxLimits.capacity_max)) throw new Error('createWechatPaySandbox: bad capacity');

  const platform = newRsaKeyPair();
  const merchant = newRsaKeyPair();
  const identity = Object.freeze({
    mchid: `19${randomString(8, '0123456789')}`,
    appid: `wx${randomString(16, '0123456789abcdef')}`,
    merchantSerial: newSerial(),
    platformSerial: newSerial(),
    apiV3Key: randomString(32),
  });
  const store = new WechatStore(capacity);
  const faults = new FaultState(options.random ?? Math.random);
  const holds = new Holds();
  // Notifications: the JSON body signed afresh per attempt with the platform key (Wechatpay-*
  // headers), retried until a 2xx; https: over TLS, any other URL over plain http.
  const notifier = new NotificationSender({
    limits: {
      deliveries_max: wechatSandboxLimits.notify_deliveries_max,
      attempts_max: wechatSandboxLimits.notify_attempts_max,
      attempt_timeout_ms: wechatSandboxLimits.notify_attempt_timeout_ms,
      sockets_max: wechatSandboxLimits.notify_sockets_max,
      idle_socket_ms: wechatSandboxLimits.notify_idle_socket_ms,
      backoff_ms_max: wechatSandboxLimits.notify_backoff_ms_max,
    },
    backoff_base_ms: backoff,
    content_type: 'application/json',
    user_agent: 'Mozilla/4.0',
    sign: (payload) => ({ ...platformSignature(payload, Math.floor(clock.now().getTime() / 1000), platform.privateKey, identity.platformSerial) }),
    accept: '2xx',
    transport: (target) => (target.protocol === 'https:' ? 'https:' : 'http:'),
  });
  const nowSeconds = (): number => Math.floor(clock.now().getTime() / 1000);
  let webhookUrl: string | null | undefined = options.webhookUrl;
  if (typeof webhookUrl === 'string') new URL(webhookUrl);
  const lifecycle = createSandboxLifecycle({
    routes: async (scoped) => registerWechatRoutes(scoped, deps),
    bodyLimit: wechatSandboxLimits.request_body_bytes_max,
    return503OnClosing: true,
    holds,
    outbound: notifier,
  });

  const context: EndpointContext = { store, mchid: identity.mchid, appid: identity.appid, now: () => clock.now() };
  const deps = {
    context, faults, holds, timeoutHoldMs, now_seconds: nowSeconds,
    merchantSerial: identity.merchantSerial, merchantPublicKey: merchant.publicKey,
    platformPrivateKey: platform.privateKey, platformSerial: identity.platformSerial,
  };

  /** TRANSACTION.SUCCESS with the transaction encrypted for the merchant; sent twice under duplicate_notify_rate. */
  function notifySuccess(trade: Trade): void {
    const url = webhookUrl === undefined ? trade.notify_url : webhookUrl;
    if (url === null) return;
    const resource = encryptForMerchant(JSON.stringify(renderTransaction(trade)), identity.apiV3Key, 'transaction', 'transaction');
    const payload = JSON.stringify({ id: randomUUID(), create_time: wechatTime(clock.now()), resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功', resource });
    notifier.send(url, payload);
    if (faults.roll('duplicate_notify_rate')) notifier.send(url, payload);
  }

  function succeed(trade: Trade): void {
    trade.trade_state = 'SUCCESS';
    trade.transaction_id = `4200${randomString(24, '0123456789')}`;
    trade.success_time = wechatTime(clock.now());
    store.charge(trade.out_trade_no, trade.total);
    notifySuccess(trade);
  }

  async function payerCompletes(outTradeNo: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> {
    if (lifecycle.closed) return { ok: false, reason: 'the sandbox is closed' };
    const trade = store.trades.get(outTradeNo);
    if (trade === undefined) return { ok: false, reason: 'no such order' };
    if (trade.trade_state === 'SUCCESS' || trade.trade_state === 'REFUND' || trade.trade_state === 'USERPAYING') return { ok: true }; // paid (or being paid) once only
    if (trade.trade_state !== 'NOTPAY') return { ok: false, reason: `the order is ${trade.trade_state}` };
    if (!faults.roll('late_success_rate')) {
      succeed(trade);
      return { ok: true };
    }
    trade.trade_state = 'USERPAYING';
    lifecycle.later(lateSuccessDelayMs, () => {
      if (trade.trade_state === 'USERPAYING') succeed(trade);
    });
    return { ok: true };
  }

  return {
    channel: options.channel,
    register: (app, prefix) => lifecycle.register(app, prefix),
    listen: (port) => lifecycle.listen(port),
    close: () => lifecycle.close(),
    credentials() {
      return {
        base_url: lifecycle.baseUrl(),
        mchid: identity.mchid,
        appid: identity.appid,
        merchant_serial_no: identity.merchantSerial,
        merchant_private_key: merchant.privatePem,
        api_v3_key: identity.apiV3Key,
        platform_serial_no: identity.platformSerial,
        platform_public_key: platform.publicPem,
      };
    },
    setFaults: (patch: Partial<SandboxFaults>) => faults.set(patch),
    resetFaults: () => faults.reset(),
    faults: () => faults.get(),
    ledger: (): SandboxLedgerRow[] => store.ledgerRows(),
    setWebhookUrl(url) {
      if (url !== null) new URL(url); // throws on a malformed URL: a caller bug
      webhookUrl = url;
    },
    payerCompletes,
    notifyStats: () => notifier.counts(),
  };
}
