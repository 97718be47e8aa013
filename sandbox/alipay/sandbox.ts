// A simulated Alipay Open Platform gateway for one channel: POST /gateway.do with RSA2-signed
// form requests (common parameters in the query or the body, biz_content as JSON), signed JSON
// responses, trade methods precreate / page.pay / query / close / refund / fastpay.refund.query,
// the signed asynchronous notification with retries, and fault injection. Its keys are made
// fresh per instance: Alipay's pair (it signs with the private half) and the app's pair (the
// private half is handed out in credentials; requests are verified with the public half).
//
// Request order: outage (503) -> latency -> parameters -> method -> app_id -> signature ->
// injected system error (nothing done) -> the method -> timeout hold (done, answer held) -> answer.
import { createSign, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChannelSandbox, SandboxFaults } from '../../src/channels/sandbox.ts';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import { FaultState } from '../stripe/faults.ts';
import { Holds } from '../stripe/holds.ts';
import { createSandboxLifecycle, dropConnection } from '../shared/lifecycle.ts';
import { NotificationSender, type NotificationStats as NotifyStats } from '../shared/notification-sender.ts';
import { alipaySandboxLimits } from './limits.ts';
import { businessError, toYuan, TradeBook, type Node, type Trade } from './trades.ts';

export interface AlipaySandboxOptions {
  readonly channel: string;
  /** Alipay app id (digits); default a fresh 2021... id. */
  readonly appId?: string;
  readonly clock?: Clock;
  /** Source of randomness for the faults; default Math.random. Must return [0, 1). */
  readonly random?: () => number;
  /**
   * Where notifications go. Absent: each trade's own notify_url (as Alipay does). A URL: there
   * instead. null: nowhere. setWebhookUrl changes it later.
   */
  readonly webhookUrl?: string | null;
  readonly timeoutHoldMs?: number;
  readonly lateSuccessDelayMs?: number;
  readonly notifyBackoffBaseMs?: number;
}

export interface AlipayCredentials {
  readonly base_url: string;
  /** base_url + '/gateway.do': what the official SDK takes as `gateway`. */
  readonly gateway_url: string;
  readonly app_id: string;
  /** The app private key, PKCS#1 PEM (the official SDK's default keyType). */
  readonly app_private_key: string;
  /** Alipay's public key, SPKI PEM. */
  readonly alipay_public_key: string;
}

export interface AlipaySandbox extends ChannelSandbox {
  credentials(): AlipayCredentials;
  payerCompletes(outTradeNo: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }>;
  notifyStats(): NotifyStats;
}

const methods = new Set(['alipay.trade.precreate', 'alipay.trade.page.pay', 'alipay.trade.query', 'alipay.trade.close', 'alipay.trade.refund', 'alipay.trade.fastpay.refund.query']);

/** 'yyyy-MM-dd HH:mm:ss' in Beijing time. */
function beijingTime(at: Date): string {
  const iso = new Date(at.getTime() + 8 * 3600_000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

function sortedContent(fields: Readonly<Record<string, string>>, excluded: readonly string[]): string {
  return Object.keys(fields).filter((name) => !excluded.includes(name) && fields[name] !== '').sort().map((name) => `${name}=${fields[name]}`).join('&');
}

/** JSON as Alipay writes it: '/' escaped as '\/' (so the signed text is not what a re-serializer would produce). */
const alipayJson = (value: unknown): string => JSON.stringify(value).replaceAll('/', '\\/');

type Params = { ok: true; fields: Record<string, string> } | { ok: false; message: string };

function readParams(request: FastifyRequest): Params {
  const fields: Record<string, string> = {};
  const sources = [new URLSearchParams(request.url.split('?')[1] ?? ''), new URLSearchParams(typeof request.body === 'string' ? request.body : '')];
  let count = 0;
  for (const source of sources) {
    for (const [name, value] of source) {
      if (++count > alipaySandboxLimits.form_fields_max) return { ok: false, message: 'too many parameters' };
      if (Object.hasOwn(fields, name) && fields[name] !== value) return { ok: false, message: `parameter ${name} given twice` };
      fields[name] = value;
    }
  }
  return { ok: true, fields };
}

export function createAlipaySandbox(options: AlipaySandboxOptions): AlipaySandbox {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createAlipaySandbox: bad channel id ${options.channel}`);
  const appId = options.appId ?? `2021${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  if (!/^\d{1,32}$/.test(appId)) throw new Error('createAlipaySandbox: appId must be digits');
  const clock = options.clock ?? systemClock;
  const timeoutHoldMs = options.timeoutHoldMs ?? alipaySandboxLimits.timeout_hold_ms_default;
  const lateSuccessDelayMs = options.lateSuccessDelayMs ?? alipaySandboxLimits.late_success_delay_ms_default;
  for (const [name, value] of Object.entries({ timeoutHoldMs, lateSuccessDelayMs })) {
    if (!(Number.isInteger(value) && value >= 0 && value <= 600_000)) throw new Error(`createAlipaySandbox: ${name} must be 0..600000 ms`);
  }
  const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const appPrivatePem = appKeys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const alipayPublicPem = alipayKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const appPublicKey: KeyObject = appKeys.publicKey;
  const now = (): string => beijingTime(clock.now());
  const book = new TradeBook(now);
  const faults = new FaultState(options.random ?? Math.random);
  const holds = new Holds();
  // The asynchronous notification: a form POST of the signed fields over plain http, retried until
  // HTTP 200 with the exact body `success` (anything else, `fail` included, is retried).
  const notifier = new NotificationSender({
    limits: {
      deliveries_max: alipaySandboxLimits.notify_deliveries_max,
      attempts_max: alipaySandboxLimits.notify_attempts_max,
      attempt_timeout_ms: alipaySandboxLimits.notify_attempt_timeout_ms,
      sockets_max: alipaySandboxLimits.notify_sockets_max,
      idle_socket_ms: alipaySandboxLimits.notify_idle_socket_ms,
    },
    backoff_base_ms: options.notifyBackoffBaseMs ?? alipaySandboxLimits.notify_backoff_base_ms_default,
    content_type: 'application/x-www-form-urlencoded; charset=utf-8',
    user_agent: 'Mozilla/4.0',
    accept: { status: 200, body: 'success' },
    transport: (target) => (target.protocol === 'http:' ? 'http:' : null),
  });
  let webhookUrl: string | null | undefined = options.webhookUrl;
  if (typeof webhookUrl === 'string') new URL(webhookUrl);
  const lifecycle = createSandboxLifecycle({
    routes,
    bodyLimit: alipaySandboxLimits.request_body_bytes_max,
    return503OnClosing: false,
    holds,
    outbound: notifier,
  });
  const later = (delay_ms: number, run: () => void): void => lifecycle.later(delay_ms, run);

  const sign = (content: string): string => createSign('RSA-SHA256').update(content, 'utf8').sign(alipayKeys.privateKey, 'base64');

  function respond(reply: FastifyReply, method: string, node: Node): FastifyReply {
    const name = methods.has(method) ? `${method.replaceAll('.', '_')}_response` : 'error_response';
    const nodeText = alipayJson(node);
    const body = `{"${name}":${nodeText},"sign":"${sign(nodeText)}"}`;
    return reply.code(200).type('text/html;charset=utf-8').send(body); // Alipay's gateway labels its JSON text/html
  }

  function notification(trade: Trade): string {
    const amount = toYuan(trade.total_fen);
    const fields: Record<string, string> = {
      gmt_create: trade.created_at, charset: 'utf-8', seller_email: 'sandbox-seller@alipay.com', subject: trade.subject,
      buyer_id: '2088102177846880', invoice_amount: amount, notify_id: `2026${randomBytes(14).toString('hex')}`,
      fund_bill_list: JSON.stringify([{ amount, fundChannel: 'ALIPAYACCOUNT' }]), notify_type: 'trade_status_sync', trade_status: trade.status,
      receipt_amount: amount, buyer_pay_amount: amount, app_id: appId, seller_id: '2088102177290000', gmt_payment: trade.paid_at ?? '',
      notify_time: now(), version: '1.0', out_trade_no: trade.out_trade_no, total_amount: amount, trade_no: trade.trade_no, auth_app_id: appId,
      buyer_logon_id: 'sbx***@sandbox.com', point_amount: '0.00',
    };
    fields['sign'] = sign(sortedContent(fields, ['sign', 'sign_type']));
    fields['sign_type'] = 'RSA2';
    return new URLSearchParams(fields).toString();
  }

  function notify(trade: Trade): void {
    const url = webhookUrl === undefined ? trade.notify_url : webhookUrl;
    if (url === null) return;
    const body = notification(trade);
    notifier.send(url, body);
    if (faults.roll('duplicate_notify_rate')) notifier.send(url, body);
  }

  function run(method: string, biz: Record<string, unknown>, notify_url: string | null): Node {
    switch (method) {
      case 'alipay.trade.precreate':
      case 'alipay.trade.page.pay':
        return book.create(biz, notify_url).node;
      case 'alipay.trade.query':
        return book.query(biz);
      case 'alipay.trade.close':
        return book.close(biz);
      case 'alipay.trade.refund':
        return book.refund(biz);
      default:
        return book.refundQuery(biz);
    }
  }

  function pageCashier(reply: FastifyReply, node: Node, biz: Record<string, unknown>): FastifyReply {
    // page.pay is opened by the buyer's browser: the real gateway answers with its cashier page.
    const escape = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
    if (node['code'] !== '10000') return reply.code(200).type('text/html;charset=utf-8').send(`<!DOCTYPE html><html><body><h1>支付宝 - 错误</h1><p id="error">${escape(node['sub_code'] ?? node['code'] ?? '')}</p></body></html>`);
    const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>支付宝 - 网上支付 安全快速！</title></head><body><h1>支付宝收银台 (sandbox)</h1><p>订单号 <span id="out_trade_no">${escape(String(biz['out_trade_no']))}</span></p><p>金额 ¥<span id="total_amount">${escape(String(biz['total_amount']))}</span></p><p><a id="qr_code" href="${escape(node['qr_code'] ?? '')}">扫码支付</a></p></body></html>`;
    return reply.code(200).type('text/html;charset=utf-8').send(page);
  }


  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const current = faults.get();
    if (current.outage) return reply.code(503).type('text/html').send('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
    if (current.latency_ms > 0 && (await holds.wait(current.latency_ms)) === 'closed') return dropConnection(request, reply);
    const params = readParams(request);
    const fields = params.ok ? params.fields : {};
    const method = fields['method'] ?? '';
    if (!params.ok) return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-parameter', sub_msg: params.message });
    if (!methods.has(method)) return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-method', sub_msg: '不存在的方法名' });
    if (fields['app_id'] !== appId) return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-app-id', sub_msg: '无效的AppID参数' });
    if (fields['sign_type'] !== 'RSA2') return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature-type', sub_msg: '无效的签名类型' });
    const signContent = sortedContent(fields, ['sign']);
    const signature = fields['sign'] ?? '';
    let verified = false;
    try {
      verified = createVerify('RSA-SHA256').update(signContent, 'utf8').verify(appPublicKey, signature, 'base64');
    } catch {
      verified = false;
    }
    if (!verified) {
      return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-signature', sub_msg: `验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：${signContent.replace(/&sign_type=[^&]*|&?biz_content=[^&]*/g, '')}` });
    }
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(fields['timestamp'] ?? '')) return respond(reply, method, { code: '40002', msg: 'Invalid Arguments', sub_code: 'isv.invalid-timestamp', sub_msg: '非法的时间戳参数' });
    let biz: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(fields['biz_content'] ?? '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      biz = parsed as Record<string, unknown>;
    } catch {
      return respond(reply, method, businessError('ACQ.INVALID_PARAMETER', '参数无效: biz_content'));
    }
    if (faults.roll('error_rate')) return respond(reply, method, businessError('ACQ.SYSTEM_ERROR', '系统错误'));
    const node = run(method, biz, fields['notify_url'] ?? null);
    if (faults.roll('timeout_rate') && (await holds.wait(timeoutHoldMs)) === 'closed') return dropConnection(request, reply);
    return method === 'alipay.trade.page.pay' ? pageCashier(reply, node, biz) : respond(reply, method, node);
  }

  async function routes(scoped: FastifyInstance): Promise<void> {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', { parseAs: 'string', bodyLimit: alipaySandboxLimits.request_body_bytes_max }, (_request, body, done) => done(null, body));
    scoped.post('/gateway.do', handle);
    scoped.get('/gateway.do', handle); // page.pay arrives as a browser GET or form POST
  }

  return {
    channel: options.channel,
    register: (app, prefix) => lifecycle.register(app, prefix),
    listen: (port) => lifecycle.listen(port),
    close: () => lifecycle.close(),
    credentials() {
      const base_url = lifecycle.baseUrl();
      return { base_url, gateway_url: `${base_url}/gateway.do`, app_id: appId, app_private_key: appPrivatePem, alipay_public_key: alipayPublicPem };
    },
    setFaults: (patch: Partial<SandboxFaults>) => faults.set(patch),
    resetFaults: () => faults.reset(),
    faults: () => faults.get(),
    ledger: () => book.ledgerRows(),
    setWebhookUrl(url) {
      if (url !== null) new URL(url); // throws on a malformed URL: a caller bug
      webhookUrl = url;
    },
    async payerCompletes(outTradeNo) {
      const trade = book.get(outTradeNo);
      if (trade === undefined) return { ok: false, reason: 'trade_not_found' };
      if (trade.status !== 'WAIT_BUYER_PAY') return { ok: false, reason: `trade is ${trade.status}` };
      const complete = (): void => {
        const paid = book.pay(outTradeNo);
        if (paid.ok) notify(paid.trade);
      };
      if (faults.roll('late_success_rate')) later(lateSuccessDelayMs, complete);
      else complete();
      return { ok: true };
    },
    notifyStats: () => notifier.counts(),
  };
}
