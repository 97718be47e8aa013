// The sandbox speaks Alipay's gateway protocol: the official alipay-sdk (v4) works against it
// unchanged, given only the sandbox's gateway URL and test credentials, and verifies the
// sandbox's response signatures and notifications with the Alipay public key.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipaySdk } from 'alipay-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlipaySandbox, type AlipaySandbox } from './index.ts';

async function startReceiver(): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(200, { 'content-type': 'text/plain' }).end('success');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/alipay_sdk`, bodies };
}

async function until<T>(read: () => T | undefined): Promise<T> {
  for (let tries = 0; tries < 400; tries++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

describe('alipay sandbox with the official alipay-sdk', () => {
  let sandbox: AlipaySandbox;
  let sdk: AlipaySdk;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = createAlipaySandbox({ channel: 'alipay_sdk', webhookUrl: receiver.url });
    await sandbox.listen();
    const { gateway_url, app_id, app_private_key, alipay_public_key } = sandbox.credentials();
    sdk = new AlipaySdk({ appId: app_id, privateKey: app_private_key, alipayPublicKey: alipay_public_key, gateway: gateway_url, timeout: 10_000 });
  });

  afterAll(async () => {
    await sandbox.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('hands out credentials named as Alipay names them', () => {
    const credentials = sandbox.credentials();
    expect(credentials.gateway_url).toBe(`${credentials.base_url}/gateway.do`);
    expect(credentials.app_id).toMatch(/^\d+$/);
    expect(credentials.app_private_key).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(credentials.alipay_public_key).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('precreate and query return responses whose signatures the SDK verifies', async () => {
    const created = await sdk.exec('alipay.trade.precreate', { notifyUrl: receiver.url, bizContent: { outTradeNo: 'sdk_qr_1', totalAmount: '12.34', subject: 'SDK test' } }, { validateSign: true });
    expect(created.code).toBe('10000');
    expect(created.msg).toBe('Success');
    expect(created.outTradeNo).toBe('sdk_qr_1');
    expect(created.qrCode).toMatch(/^https:\/\/qr\.alipay\.com\//);

    const queried = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: 'sdk_qr_1' } }, { validateSign: true });
    expect(queried).toMatchObject({ code: '10000', outTradeNo: 'sdk_qr_1', tradeStatus: 'WAIT_BUYER_PAY', totalAmount: '12.34' });
  });

  it('answers business errors in the real shape, signed', async () => {
    const missing = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: 'sdk_nothing' } }, { validateSign: true });
    expect(missing).toMatchObject({ code: '40004', msg: 'Business Failed', subCode: 'ACQ.TRADE_NOT_EXIST' });
  });

  it('rejects a request signed with another key as isv.invalid-signature', async () => {
    const { gateway_url, app_id, alipay_public_key } = sandbox.credentials();
    const other = createAlipaySandbox({ channel: 'alipay_other' }); // only for its (different) app key
    const stranger = new AlipaySdk({ appId: app_id, privateKey: other.credentials().app_private_key, alipayPublicKey: alipay_public_key, gateway: gateway_url });
    await other.close();
    const answer = await stranger.exec('alipay.trade.query', { bizContent: { outTradeNo: 'sdk_qr_1' } }, { validateSign: true });
    expect(answer).toMatchObject({ code: '40002', msg: 'Invalid Arguments', subCode: 'isv.invalid-signature' });
  });

  it('fails the SDK signature check when the response is not signed by this Alipay key', async () => {
    const other = createAlipaySandbox({ channel: 'alipay_other2' });
    const { gateway_url, app_id, app_private_key } = sandbox.credentials();
    const wrongKey = new AlipaySdk({ appId: app_id, privateKey: app_private_key, alipayPublicKey: other.credentials().alipay_public_key, gateway: gateway_url });
    await other.close();
    await expect(wrongKey.exec('alipay.trade.query', { bizContent: { outTradeNo: 'sdk_qr_1' } }, { validateSign: true })).rejects.toThrow(/验签失败/);
  });

  it('the notification sent after the payer pays passes checkNotifySign', async () => {
    await sdk.exec('alipay.trade.precreate', { bizContent: { outTradeNo: 'sdk_qr_2', totalAmount: '0.50', subject: 'notify' } }, { validateSign: true });
    expect(await sandbox.payerCompletes('sdk_qr_2')).toEqual({ ok: true });
    const body = await until(() => receiver.bodies.find((each) => new URLSearchParams(each).get('out_trade_no') === 'sdk_qr_2'));
    const params = Object.fromEntries(new URLSearchParams(body));
    expect(params).toMatchObject({ notify_type: 'trade_status_sync', trade_status: 'TRADE_SUCCESS', total_amount: '0.50', sign_type: 'RSA2' });
    expect(sdk.checkNotifySign(params)).toBe(true);
    expect(sdk.checkNotifySignV2(params)).toBe(true);
    expect(sdk.checkNotifySign({ ...params, total_amount: '500.00' })).toBe(false);
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'sdk_qr_2', charged: 50, refunded: 0 });
    const queried = await sdk.exec('alipay.trade.query', { bizContent: { outTradeNo: 'sdk_qr_2' } }, { validateSign: true });
    expect(queried).toMatchObject({ code: '10000', tradeStatus: 'TRADE_SUCCESS' });
  });

  it('sends notifications to each trade\'s own notify_url by default, and nowhere after setWebhookUrl(null)', async () => {
    const own = createAlipaySandbox({ channel: 'alipay_own_notify' }); // no webhookUrl: the trade's own
    await own.listen();
    try {
      const { gateway_url, app_id, app_private_key, alipay_public_key } = own.credentials();
      const ownSdk = new AlipaySdk({ appId: app_id, privateKey: app_private_key, alipayPublicKey: alipay_public_key, gateway: gateway_url, timeout: 10_000 });
      const pay = async (outTradeNo: string) => {
        await ownSdk.exec('alipay.trade.precreate', { notifyUrl: receiver.url, bizContent: { outTradeNo, totalAmount: '1.00', subject: 'notify_url' } });
        expect(await own.payerCompletes(outTradeNo)).toEqual({ ok: true });
      };
      const sentFor = (outTradeNo: string) => receiver.bodies.find((each) => new URLSearchParams(each).get('out_trade_no') === outTradeNo);
      await pay('sdk_own_url');
      await until(() => sentFor('sdk_own_url'));
      own.setWebhookUrl(null);
      await pay('sdk_silent');
      own.setWebhookUrl(receiver.url);
      await pay('sdk_after'); // delivered: so the silent one was not merely slower
      await until(() => sentFor('sdk_after'));
      expect(sentFor('sdk_silent')).toBeUndefined();
    } finally {
      await own.close();
    }
  });

  it('page.pay through the SDK form reaches the sandbox cashier', async () => {
    const url = sdk.pageExec('alipay.trade.page.pay', 'GET', { bizContent: { outTradeNo: 'sdk_page_1', totalAmount: '9.90', subject: 'page', productCode: 'FAST_INSTANT_TRADE_PAY' } });
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<span id="out_trade_no">sdk_page_1</span>');
    expect(html).toContain('<span id="total_amount">9.90</span>');
  });
});
