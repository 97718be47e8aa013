// The WeChat Pay connector against the WeChat Pay sandbox, over real HTTP. The notification
// endpoint below answers as the platform will: verifyNotification, then answerNotification.
// The oracle for "no money moved" and "charged once" is the sandbox's own ledger.
import { generateKeyPairSync, createSign } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../kernel/clock.ts';
import type { ChannelPaymentRequest, NotificationVerdict } from '../contract.ts';
import { createWechatPaySandbox, type WechatPaySandbox } from '../../../sandbox/wechat/index.ts';
import { createWechatPayConnector, type WechatPayConnector } from './connector.ts';

let counter = 0;
const tradeNumber = (label: string): string => `att_${label}_${(counter++).toString(36)}_${Date.now().toString(36)}`.slice(0, 32);

function payment(out_trade_no: string, amount = 1000n): ChannelPaymentRequest {
  return { out_trade_no, amount, currency: 'CNY', method: 'wechat_pay', description: `Clearway ${out_trade_no}`, payment_method_data: {}, metadata: {} };
}

interface Delivery {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
  readonly verdict: NotificationVerdict;
  readonly answered: number;
  readonly answer: string;
}

const until = async <T>(probe: () => T | undefined, what: string): Promise<T> => {
  for (let tries = 0; tries < 500; tries++) {
    const found = probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('wechat pay connector against the wechat pay sandbox', () => {
  let sandbox: WechatPaySandbox;
  let connector: WechatPayConnector;
  let hookServer: Server;
  let notifyUrl: string;
  const deliveries: Delivery[] = [];
  let refuseNext = 0; // answer the next N deliveries with 500, as a merchant having trouble

  const connectorFor = (overrides: { timeoutMs?: number; clock?: ManualClock; baseUrl?: string; apiV3Key?: string } = {}): WechatPayConnector => {
    const c = sandbox.credentials();
    return createWechatPayConnector({
      channel: 'wechat_test', baseUrl: overrides.baseUrl ?? c.base_url, mchid: c.mchid, appid: c.appid,
      merchantSerialNo: c.merchant_serial_no, merchantPrivateKey: c.merchant_private_key, apiV3Key: overrides.apiV3Key ?? c.api_v3_key,
      platformPublicKey: c.platform_public_key, platformSerialNo: c.platform_serial_no, notifyUrl,
      timeoutMs: overrides.timeoutMs ?? 5_000, ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
    });
  };
  const charged = (out_trade_no: string) => sandbox.ledger().find((row) => row.out_trade_no === out_trade_no);
  const deliveriesFor = (out_trade_no: string) =>
    deliveries.filter((d) => d.verdict.kind === 'verified' && d.verdict.notification.out_trade_no === out_trade_no);

  beforeAll(async () => {
    hookServer = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const verdict = connector.verifyNotification(body, request.headers);
        const refuse = refuseNext > 0;
        if (refuse) refuseNext -= 1;
        const answer = refuse ? { status: 500, contentType: 'application/json', body: '{"code":"FAIL","message":"busy"}' } : connector.answerNotification(verdict.kind === 'verified');
        deliveries.push({ body, headers: request.headers, verdict, answered: answer.status, answer: answer.body });
        response.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    notifyUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/notify/wechat_test`;
    sandbox = createWechatPaySandbox({ channel: 'wechat_test', lateSuccessDelayMs: 500, notifyBackoffBaseMs: 20 });
    await sandbox.listen();
    connector = connectorFor();
  });

  afterEach(() => {
    sandbox.resetFaults();
    refuseNext = 0;
  });

  afterAll(async () => {
    connector.close();
    await sandbox.close();
    await new Promise((resolve) => hookServer.close(resolve));
  });

  it('native pay asks for a QR code; the payer pays; the notification is verified, decrypted and answered; the query agrees', async () => {
    const out_trade_no = tradeNumber('native');
    const created = await connector.createPayment(payment(out_trade_no, 1234n));
    expect(created).toMatchObject({ kind: 'result', status: 'requires_action', amount: 1234n, currency: 'CNY', next_action: { type: 'qr_code', url: expect.stringMatching(/^weixin:\/\/wxpay\/bizpayurl\?pr=/) } });
    expect(await connector.queryPayment(out_trade_no, { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'requires_action' });
    expect(charged(out_trade_no)).toBeUndefined();

    expect(await sandbox.payerCompletes(out_trade_no)).toEqual({ ok: true });
    const delivery = await until(() => deliveriesFor(out_trade_no)[0], 'the notification');
    expect(delivery.verdict).toMatchObject({ kind: 'verified', notification: { out_trade_no, status: 'succeeded', amount: 1234n, currency: 'CNY', channel_txn_id: expect.stringMatching(/^4200\d{24}$/) } });
    expect(delivery.answered).toBe(200);
    expect(JSON.parse(delivery.answer)).toEqual({ code: 'SUCCESS', message: '成功' });
    const event = JSON.parse(delivery.body.toString('utf8')) as Record<string, unknown>;
    expect(event).toMatchObject({ event_type: 'TRANSACTION.SUCCESS', resource_type: 'encrypt-resource', resource: { algorithm: 'AEAD_AES_256_GCM', original_type: 'transaction' } });
    expect(delivery.body.toString('utf8')).not.toContain(out_trade_no); // the transaction travels encrypted

    const queried = await connector.queryPayment(out_trade_no, { amount: 1234n, currency: 'CNY' });
    expect(queried).toMatchObject({ kind: 'result', status: 'succeeded', amount: 1234n });
    if (queried.kind === 'result' && delivery.verdict.kind === 'verified') expect(queried.channel_txn_id).toBe(delivery.verdict.notification.channel_txn_id);
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1234, refunded: 0 });
    // The same order again is refused as paid: ambiguous for a create, so unknown (ask by query).
    expect(await connector.createPayment(payment(out_trade_no, 1234n))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/ORDERPAID/) });
    expect(await connector.queryPayment(out_trade_no, { amount: 1235n, currency: 'CNY' })).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/amount/) });
  });

  it('creating the same order twice gives the same code; another amount under that number is unknown', async () => {
    const out_trade_no = tradeNumber('again');
    const first = await connector.createPayment(payment(out_trade_no));
    expect(await connector.createPayment(payment(out_trade_no))).toEqual(first);
    expect(await connector.createPayment(payment(out_trade_no, 999n))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/OUT_TRADE_NO_USED/) });
  });

  it('a trade number never sent is failed with channelPaymentNotFound; other currencies are refused unsent', async () => {
    expect(await connector.queryPayment(tradeNumber('never'), { amount: 1n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found', retryable_elsewhere: true });
    expect(await connector.createPayment({ ...payment(tradeNumber('usd')), currency: 'USD' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'currency_not_supported' });
    expect(await connector.createPayment({ ...payment(tradeNumber('card')), method: 'card' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'method_not_supported' });
  });

  it('refunds in part, replays by out_refund_no, refuses an over-refund, and queries the refund', async () => {
    const out_trade_no = tradeNumber('refund');
    await connector.createPayment(payment(out_trade_no, 1000n));
    const unpaid = await connector.refund({ out_trade_no, channel_txn_id: null, out_refund_no: `${out_trade_no}_r0`, amount: 100n, currency: 'CNY' });
    expect(unpaid).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'payment_not_paid' });
    await sandbox.payerCompletes(out_trade_no);
    const base = { out_trade_no, channel_txn_id: null, currency: 'CNY' };
    const partial = await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 300n });
    expect(partial).toMatchObject({ kind: 'result', status: 'succeeded', amount: 300n, currency: 'CNY', failure_code: null, channel_refund_id: expect.stringMatching(/^50\d+$/) });
    expect(await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 300n })).toEqual(partial);
    expect(await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r2`, amount: 701n })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'INVALID_REQUEST' });
    expect(await connector.queryRefund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 300n })).toEqual(partial);
    expect(await connector.queryRefund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 301n })).toMatchObject({ kind: 'unknown' });
    // Refunded in part, the payment still reads as succeeded (trade_state REFUND).
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'succeeded' });
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 300 });
  });

  it('closes an unpaid order (which then cannot be paid) and refuses to close a paid one', async () => {
    const open = tradeNumber('close');
    await connector.createPayment(payment(open));
    expect(await connector.closePayment(open)).toEqual({ kind: 'result', status: 'closed', detail: null });
    expect(await connector.closePayment(open)).toEqual({ kind: 'result', status: 'closed', detail: null });
    expect(await connector.queryPayment(open, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'CLOSED', retryable_elsewhere: true });
    expect(await sandbox.payerCompletes(open)).toMatchObject({ ok: false });
    const paid = tradeNumber('close_paid');
    await connector.createPayment(payment(paid));
    await sandbox.payerCompletes(paid);
    expect(await connector.closePayment(paid)).toMatchObject({ kind: 'result', status: 'not_closable', detail: 'ORDERPAID' });
    expect(await connector.closePayment(tradeNumber('close_never'))).toMatchObject({ kind: 'result', status: 'not_found', detail: 'ORDER_NOT_EXIST' });
    expect(charged(open)).toBeUndefined();
  });

  it('rejects forged, wrongly serialed, tampered, undecryptable and stale notifications', async () => {
    const out_trade_no = tradeNumber('forge');
    await connector.createPayment(payment(out_trade_no));
    await sandbox.payerCompletes(out_trade_no);
    const delivery = await until(() => deliveriesFor(out_trade_no)[0], 'the notification');
    const headers = { ...delivery.headers };
    expect(connector.verifyNotification(delivery.body, headers)).toMatchObject({ kind: 'verified' });

    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const message = `${String(headers['wechatpay-timestamp'])}\n${String(headers['wechatpay-nonce'])}\n${delivery.body.toString('utf8')}\n`;
    const forged = createSign('RSA-SHA256').update(message).sign(forger, 'base64');
    expect(connector.verifyNotification(delivery.body, { ...headers, 'wechatpay-signature': forged })).toEqual({ kind: 'rejected', reason: 'signature mismatch' });
    expect(connector.verifyNotification(delivery.body, { ...headers, 'wechatpay-serial': 'ABCDEF0123456789' })).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/not our platform certificate/) });

    const event = JSON.parse(delivery.body.toString('utf8')) as { resource: { ciphertext: string } };
    const flipped = Buffer.from(event.resource.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    event.resource.ciphertext = flipped.toString('base64');
    expect(connector.verifyNotification(Buffer.from(JSON.stringify(event)), headers)).toEqual({ kind: 'rejected', reason: 'signature mismatch' });
    const wrongKey = connectorFor({ apiV3Key: 'x'.repeat(32) });
    expect(wrongKey.verifyNotification(delivery.body, headers)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/does not decrypt/) });
    wrongKey.close();

    const later = connectorFor({ clock: new ManualClock(new Date(Date.now() + 600_000)) });
    expect(later.verifyNotification(delivery.body, headers)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/tolerance/) });
    later.close();
    expect(connector.verifyNotification(delivery.body, {})).toMatchObject({ kind: 'rejected' });
    expect(connector.answerNotification(false)).toMatchObject({ status: 400, contentType: 'application/json' });
  });

  it('retries a notification until the merchant answers 2xx, and duplicates under duplicate_notify_rate', async () => {
    const retried = tradeNumber('retry');
    await connector.createPayment(payment(retried));
    refuseNext = 2;
    await sandbox.payerCompletes(retried);
    await until(() => deliveriesFor(retried).find((d) => d.answered === 200), 'a delivery answered 200');
    expect(deliveriesFor(retried).map((d) => d.answered)).toEqual([500, 500, 200]);

    const doubled = tradeNumber('dup');
    await connector.createPayment(payment(doubled));
    sandbox.setFaults({ duplicate_notify_rate: 1 });
    await sandbox.payerCompletes(doubled);
    const both = await until(() => (deliveriesFor(doubled).length === 2 ? deliveriesFor(doubled) : undefined), 'two deliveries');
    const ids = both.map((d) => (d.verdict.kind === 'verified' ? d.verdict.notification.event_id : ''));
    expect(ids[0]).toBe(ids[1]);
    expect(charged(doubled)).toEqual({ out_trade_no: doubled, charged: 1000, refunded: 0 });
  });

  it('a late success is pending (USERPAYING), then notified and queried as succeeded', async () => {
    const out_trade_no = tradeNumber('late');
    await connector.createPayment(payment(out_trade_no));
    sandbox.setFaults({ late_success_rate: 1 });
    expect(await sandbox.payerCompletes(out_trade_no)).toEqual({ ok: true });
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'pending' });
    expect(charged(out_trade_no)).toBeUndefined();
    await until(() => deliveriesFor(out_trade_no)[0], 'the late notification');
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'succeeded' });
  });

  it('error_rate=1 is unknown with nothing done; the retry creates the order', async () => {
    const out_trade_no = tradeNumber('error');
    sandbox.setFaults({ error_rate: 1 });
    expect(await connector.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/500 SYSTEM_ERROR/) });
    sandbox.resetFaults();
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found' });
    expect(await connector.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'result', status: 'requires_action' });
    expect(charged(out_trade_no)).toBeUndefined();
  });

  it('an outage (503, unsigned) is unknown; a refused connection is not_sent, its query unknown', async () => {
    sandbox.setFaults({ outage: true });
    const out_trade_no = tradeNumber('outage');
    expect(await connector.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/503/) });
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'unknown' });
    sandbox.resetFaults();

    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const refused = connectorFor({ baseUrl: `http://127.0.0.1:${port}` });
    expect(await refused.createPayment(payment(tradeNumber('refused')))).toMatchObject({ kind: 'not_sent', reason: expect.stringMatching(/ECONNREFUSED/) });
    expect(await refused.queryPayment(tradeNumber('refused_q'), { amount: 1n, currency: 'CNY' })).toMatchObject({ kind: 'unknown' });
    refused.close();
  });

  it('a timeout is unknown; the order was made, and the query then resolves it', async () => {
    const hasty = connectorFor({ timeoutMs: 1_500 }); // room for a slow CI machine to make the order before the timer fires
    const out_trade_no = tradeNumber('timeout');
    sandbox.setFaults({ timeout_rate: 1 });
    expect(await hasty.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/timeout/) });
    sandbox.resetFaults();
    expect(await hasty.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'requires_action' });
    await sandbox.payerCompletes(out_trade_no);
    expect(await hasty.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'succeeded' });
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 0 });
    hasty.close();
  });

  it('works through the sandbox mounted under a path prefix (the prefix is part of the signed URL)', async () => {
    const app = Fastify();
    await sandbox.register(app, '/sandbox/wechat_test');
    await app.listen({ host: '127.0.0.1', port: 0 });
    const mounted = connectorFor({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/sandbox/wechat_test` });
    try {
      const out_trade_no = tradeNumber('mounted');
      expect(await mounted.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'result', status: 'requires_action' });
      expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'requires_action' }); // one state behind both
    } finally {
      mounted.close();
      await app.close();
    }
  });
});
