// The WeChat Pay sandbox's wire protocol, checked with a client written here from WeChat's
// API v3 documentation alone (no connector code): the Authorization header is built by hand,
// every response's Wechatpay-* signature is verified with the platform public key, and the
// notification resource is decrypted by hand.
import { createDecipheriv, createPublicKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createWechatPaySandbox, type WechatPayCredentials, type WechatPaySandbox } from './index.ts';

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown> | null;
  readonly signatureValid: boolean;
}

function authorization(credentials: WechatPayCredentials, method: string, url: string, body: string, overrides: { timestamp?: number; serial?: string; key?: string } = {}): string {
  const timestamp = String(overrides.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex').toUpperCase();
  const message = `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
  const signature = createSign('RSA-SHA256').update(message).sign(overrides.key ?? credentials.merchant_private_key, 'base64');
  return `WECHATPAY2-SHA256-RSA2048 mchid="${credentials.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${overrides.serial ?? credentials.merchant_serial_no}"`;
}

function platformSigned(credentials: WechatPayCredentials, headers: { get(name: string): string | null } | IncomingHttpHeaders, body: string): boolean {
  const get = (name: string): string | undefined => {
    if ('get' in headers && typeof headers.get === 'function') return headers.get(name) ?? undefined;
    const value = (headers as IncomingHttpHeaders)[name.toLowerCase()];
    return typeof value === 'string' ? value : undefined;
  };
  const [timestamp, nonce, signature, serial] = ['Wechatpay-Timestamp', 'Wechatpay-Nonce', 'Wechatpay-Signature', 'Wechatpay-Serial'].map(get);
  if (timestamp === undefined || nonce === undefined || signature === undefined || serial !== credentials.platform_serial_no) return false;
  return createVerify('RSA-SHA256').update(`${timestamp}\n${nonce}\n${body}\n`).verify(createPublicKey(credentials.platform_public_key), signature, 'base64');
}

describe('wechat pay sandbox protocol (hand-rolled client)', () => {
  let sandbox: WechatPaySandbox;
  let credentials: WechatPayCredentials;
  let hook: Server;
  let hookUrl: string;
  const notifications: { headers: IncomingHttpHeaders; body: string }[] = [];

  async function call(method: 'GET' | 'POST', url: string, json: object | null, overrides: Parameters<typeof authorization>[4] = {}, auth?: string): Promise<Answer> {
    const body = json === null ? '' : JSON.stringify(json);
    const headers: Record<string, string> = { accept: 'application/json', authorization: auth ?? authorization(credentials, method, url, body, overrides) };
    if (json !== null) headers['content-type'] = 'application/json';
    const response = await fetch(`${credentials.base_url}${url}`, { method, headers, ...(json === null ? {} : { body }) });
    const text = await response.text();
    return { status: response.status, text, json: text === '' ? null : (JSON.parse(text) as Record<string, unknown>), signatureValid: platformSigned(credentials, response.headers, text) };
  }

  const native = (out_trade_no: string, total = 100) => ({
    appid: credentials.appid, mchid: credentials.mchid, description: 'Image形象店-深圳腾大-QQ公仔', out_trade_no, notify_url: hookUrl, amount: { total, currency: 'CNY' },
  });

  beforeAll(async () => {
    hook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        notifications.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notify`;
    sandbox = createWechatPaySandbox({ channel: 'wechat_protocol' });
    await sandbox.listen();
    credentials = sandbox.credentials();
  });

  afterEach(() => sandbox.resetFaults());

  afterAll(async () => {
    await sandbox.close();
    await new Promise((resolve) => hook.close(resolve));
  });

  it('hands out credentials named as WeChat Pay names them', () => {
    expect(credentials).toEqual({
      base_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      mchid: expect.stringMatching(/^\d{10}$/),
      appid: expect.stringMatching(/^wx[0-9a-f]{16}$/),
      merchant_serial_no: expect.stringMatching(/^[0-9A-F]{40}$/),
      merchant_private_key: expect.stringContaining('BEGIN PRIVATE KEY'),
      api_v3_key: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      platform_serial_no: expect.stringMatching(/^[0-9A-F]{40}$/),
      platform_public_key: expect.stringContaining('BEGIN PUBLIC KEY'),
    });
    expect(credentials.platform_serial_no).not.toBe(credentials.merchant_serial_no);
  });

  it('answers 401 SIGN_ERROR (itself signed) to a bad signature, a wrong serial, a stale timestamp or no header, and does nothing', async () => {
    const out_trade_no = 'proto_bad_sig_1';
    const otherKey = (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const attempts = [
      await call('POST', '/v3/pay/transactions/native', native(out_trade_no), { key: otherKey }),
      await call('POST', '/v3/pay/transactions/native', native(out_trade_no), { serial: '0123456789ABCDEF0123456789ABCDEF01234567' }),
      await call('POST', '/v3/pay/transactions/native', native(out_trade_no), { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
      await call('POST', '/v3/pay/transactions/native', native(out_trade_no), {}, 'Bearer nothing'),
    ];
    for (const answer of attempts) {
      expect(answer.status).toBe(401);
      expect(answer.json).toMatchObject({ code: 'SIGN_ERROR' });
      expect(answer.signatureValid).toBe(true);
    }
    // A signature over another body does not cover this one.
    const signedOther = authorization(credentials, 'POST', '/v3/pay/transactions/native', JSON.stringify(native(out_trade_no, 1)));
    expect((await call('POST', '/v3/pay/transactions/native', native(out_trade_no, 100), {}, signedOther)).status).toBe(401);
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${credentials.mchid}`, null)).json).toMatchObject({ code: 'ORDER_NOT_EXIST' });
  });

  it('with a good signature: native pay, query (signed with its query string), close (204, signed over an empty body)', async () => {
    const out_trade_no = 'proto_native_1';
    const created = await call('POST', '/v3/pay/transactions/native', native(out_trade_no, 888));
    expect(created).toMatchObject({ status: 200, signatureValid: true, json: { code_url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w{7}$/) } });
    const queried = await call('GET', `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${credentials.mchid}`, null);
    expect(queried).toMatchObject({
      status: 200, signatureValid: true,
      json: { appid: credentials.appid, mchid: credentials.mchid, out_trade_no, trade_type: 'NATIVE', trade_state: 'NOTPAY', amount: { total: 888, currency: 'CNY' } },
    });
    const closed = await call('POST', `/v3/pay/transactions/out-trade-no/${out_trade_no}/close`, { mchid: credentials.mchid });
    expect(closed).toMatchObject({ status: 204, text: '', signatureValid: true });
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/${out_trade_no}?mchid=${credentials.mchid}`, null)).json).toMatchObject({ trade_state: 'CLOSED' });
    const invalid = await call('POST', '/v3/pay/transactions/native', { ...native('proto_native_2'), amount: { total: 1.5, currency: 'CNY' } });
    expect(invalid).toMatchObject({ status: 400, signatureValid: true, json: { code: 'PARAM_ERROR' } });
  });

  it('the payer pays: a signed notification whose resource decrypts with the APIv3 key; refunds are idempotent on out_refund_no', async () => {
    const out_trade_no = 'proto_paid_1';
    await call('POST', '/v3/pay/transactions/native', native(out_trade_no, 500));
    expect(await sandbox.payerCompletes(out_trade_no)).toEqual({ ok: true });
    for (let tries = 0; tries < 500 && notifications.length === 0; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    const [notification] = notifications;
    if (notification === undefined) throw new Error('no notification');
    expect(platformSigned(credentials, notification.headers, notification.body)).toBe(true);
    const event = JSON.parse(notification.body) as { event_type: string; resource: { algorithm: string; ciphertext: string; nonce: string; associated_data: string } };
    expect(event).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction' } });
    expect(event.resource.nonce).toHaveLength(12);
    const sealed = Buffer.from(event.resource.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(credentials.api_v3_key), Buffer.from(event.resource.nonce));
    decipher.setAAD(Buffer.from(event.resource.associated_data));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const transaction = JSON.parse(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8')) as Record<string, unknown>;
    expect(transaction).toMatchObject({ out_trade_no, mchid: credentials.mchid, appid: credentials.appid, trade_state: 'SUCCESS', transaction_id: expect.stringMatching(/^\d{28}$/), amount: { total: 500, payer_total: 500, currency: 'CNY' } });

    const refund = { out_trade_no, out_refund_no: 'proto_refund_1', amount: { refund: 200, total: 500, currency: 'CNY' } };
    const first = await call('POST', '/v3/refund/domestic/refunds', refund);
    expect(first).toMatchObject({ status: 200, signatureValid: true, json: { out_refund_no: 'proto_refund_1', status: 'SUCCESS', amount: { refund: 200, total: 500 } } });
    expect((await call('POST', '/v3/refund/domestic/refunds', refund)).json).toEqual(first.json);
    expect((await call('POST', '/v3/refund/domestic/refunds', { ...refund, amount: { ...refund.amount, refund: 201 } })).json).toMatchObject({ code: 'INVALID_REQUEST' });
    expect((await call('GET', '/v3/refund/domestic/refunds/proto_refund_1', null)).json).toEqual(first.json);
    expect((await call('GET', '/v3/refund/domestic/refunds/proto_refund_none', null))).toMatchObject({ status: 404, json: { code: 'RESOURCE_NOT_EXISTS' } });
    expect(sandbox.ledger()).toContainEqual({ out_trade_no, charged: 500, refunded: 200 });
  });

  it('error_rate answers a signed 500 SYSTEM_ERROR without doing anything; an outage answers 503', async () => {
    sandbox.setFaults({ error_rate: 1 });
    expect(await call('POST', '/v3/pay/transactions/native', native('proto_error_1'))).toMatchObject({ status: 500, signatureValid: true, json: { code: 'SYSTEM_ERROR' } });
    sandbox.setFaults({ error_rate: 0, outage: true });
    expect((await call('POST', '/v3/pay/transactions/native', native('proto_error_1'))).status).toBe(503);
    sandbox.resetFaults();
    expect((await call('GET', `/v3/pay/transactions/out-trade-no/proto_error_1?mchid=${credentials.mchid}`, null)).status).toBe(404);
  });
});
