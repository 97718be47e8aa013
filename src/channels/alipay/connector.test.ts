// The Alipay connector against the real sandbox over HTTP, each on its own loopback port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlipaySandbox, type AlipaySandbox } from '../../../sandbox/alipay/index.ts';
import type { ChannelPaymentRequest } from '../contract.ts';
import { createAlipayConnector, type AlipayConnector } from './connector.ts';

interface Receiver {
  server: Server;
  url: string;
  answers: { body: string; answer: string }[];
}

/** The platform's /notify/alipay in miniature: verify with the connector, answer as it says. */
async function startReceiver(verify: () => AlipayConnector): Promise<Receiver> {
  const answers: Receiver['answers'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const connector = verify();
      const answer = connector.answerNotification(connector.verifyNotification(raw, request.headers).kind === 'verified');
      answers.push({ body: raw.toString('utf8'), answer: answer.body });
      response.writeHead(answer.status, { 'content-type': answer.contentType }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/alipay_test`, answers };
}

async function until<T>(read: () => T | undefined): Promise<T> {
  for (let tries = 0; tries < 400; tries++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not reached');
}

const payment = (out_trade_no: string, amount = 1234n): ChannelPaymentRequest => ({
  out_trade_no, amount, currency: 'CNY', method: 'alipay', description: 'Clearway test order', payment_method_data: {}, metadata: {},
});

describe('alipay connector against the alipay sandbox', () => {
  let sandbox: AlipaySandbox;
  let connector: AlipayConnector;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(() => connector);
    sandbox = createAlipaySandbox({ channel: 'alipay_test', timeoutHoldMs: 2_000, lateSuccessDelayMs: 50 });
    await sandbox.listen();
    sandbox.setWebhookUrl(receiver.url);
    const credentials = sandbox.credentials();
    connector = createAlipayConnector({
      channel: 'alipay_test', gatewayUrl: credentials.gateway_url, appId: credentials.app_id, appPrivateKey: credentials.app_private_key,
      alipayPublicKey: credentials.alipay_public_key, notifyUrl: receiver.url, timeoutMs: 1_000,
    });
  });

  afterEach(() => sandbox.resetFaults());

  afterAll(async () => {
    connector.close();
    await sandbox.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('precreate gives requires_action with the QR code URL', async () => {
    const outcome = await connector.createPayment(payment('alp_qr_1'));
    expect(outcome).toMatchObject({ kind: 'result', status: 'requires_action', amount: 1234n, currency: 'CNY', next_action: { type: 'qr_code' } });
    if (outcome.kind !== 'result') throw new Error('unreachable');
    expect(outcome.next_action?.url).toMatch(/^https:\/\/qr\.alipay\.com\//);
    expect(await connector.queryPayment('alp_qr_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'requires_action' });
  });

  it('the payer pays: the notification is verified and answered success, and query says succeeded', async () => {
    await connector.createPayment(payment('alp_pay_1', 5000n));
    expect(await sandbox.payerCompletes('alp_pay_1')).toEqual({ ok: true });
    const delivered = await until(() => receiver.answers.find((each) => each.body.includes('out_trade_no=alp_pay_1')));
    expect(delivered.answer).toBe('success');
    const verdict = connector.verifyNotification(Buffer.from(delivered.body), {});
    expect(verdict).toMatchObject({ kind: 'verified', notification: { out_trade_no: 'alp_pay_1', status: 'succeeded', amount: 5000n, currency: 'CNY' } });
    const queried = await connector.queryPayment('alp_pay_1', { amount: 5000n, currency: 'CNY' });
    expect(queried).toMatchObject({ kind: 'result', status: 'succeeded', amount: 5000n });
    if (queried.kind === 'result') expect(queried.channel_txn_id).toMatch(/^\d{28}$/);
    await until(() => (sandbox.notifyStats().delivered >= 1 ? true : undefined));
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'alp_pay_1', charged: 5000, refunded: 0 });
  });

  it('refunds partially, idempotently, then in full; a query afterwards still says succeeded', async () => {
    await connector.createPayment(payment('alp_refund_1', 1000n));
    await sandbox.payerCompletes('alp_refund_1');
    const base = { out_trade_no: 'alp_refund_1', channel_txn_id: null, currency: 'CNY' };
    expect(await connector.refund({ ...base, out_refund_no: 'rf_1', amount: 300n })).toMatchObject({ kind: 'result', status: 'succeeded', amount: 300n });
    // the same out_request_no again: fund_change N, confirmed by the refund query, no second refund
    expect(await connector.refund({ ...base, out_refund_no: 'rf_1', amount: 300n })).toMatchObject({ kind: 'result', status: 'succeeded', amount: 300n });
    expect(await connector.refund({ ...base, out_refund_no: 'rf_2', amount: 800n })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'ACQ.REASON_TRADE_REFUND_FEE_ERR' });
    expect(await connector.refund({ ...base, out_refund_no: 'rf_3', amount: 700n })).toMatchObject({ kind: 'result', status: 'succeeded', amount: 700n });
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'alp_refund_1', charged: 1000, refunded: 1000 });
    expect(await connector.queryRefund({ ...base, out_refund_no: 'rf_3', amount: 700n })).toMatchObject({ kind: 'result', status: 'succeeded' });
    expect(await connector.queryRefund({ ...base, out_refund_no: 'rf_none', amount: 700n })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'refund_not_found' });
    // fully refunded trades read TRADE_CLOSED at Alipay: still a payment that succeeded
    expect(await connector.queryPayment('alp_refund_1', { amount: 1000n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'succeeded' });
  });

  it('closes an unpaid trade; a closed trade queries as failed and cannot be paid', async () => {
    await connector.createPayment(payment('alp_close_1'));
    expect(await connector.closePayment('alp_close_1')).toEqual({ kind: 'result', status: 'closed', detail: null });
    expect(await connector.queryPayment('alp_close_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'trade_closed', retryable_elsewhere: true });
    expect(await sandbox.payerCompletes('alp_close_1')).toEqual({ ok: false, reason: 'trade is TRADE_CLOSED' });
    expect(await connector.closePayment('alp_close_none')).toMatchObject({ kind: 'result', status: 'not_found' });
  });

  it('an unknown trade queries as failed with channelPaymentNotFound', async () => {
    expect(await connector.queryPayment('alp_never', { amount: 1n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found' });
  });

  it('a query whose amount differs from the expected one is not believed', async () => {
    await connector.createPayment(payment('alp_mismatch_1', 100n));
    const outcome = await connector.queryPayment('alp_mismatch_1', { amount: 101n, currency: 'CNY' });
    expect(outcome).toMatchObject({ kind: 'unknown' });
  });

  it('refuses a non-CNY payment before sending anything', async () => {
    expect(await connector.createPayment({ ...payment('alp_usd_1'), currency: 'USD' })).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'currency_not_supported' });
    expect(sandbox.ledger().some((row) => row.out_trade_no === 'alp_usd_1')).toBe(false);
  });

  it('rejects forged, tampered and other-app notifications, and answers them fail', async () => {
    await connector.createPayment(payment('alp_forge_1', 2000n));
    await sandbox.payerCompletes('alp_forge_1');
    const genuine = await until(() => receiver.answers.find((each) => each.body.includes('out_trade_no=alp_forge_1')));
    const fields = new URLSearchParams(genuine.body);

    const tampered = new URLSearchParams(fields);
    tampered.set('total_amount', '0.01');
    expect(connector.verifyNotification(Buffer.from(tampered.toString()), {})).toMatchObject({ kind: 'rejected' });

    const unsigned = new URLSearchParams(fields);
    unsigned.delete('sign');
    expect(connector.verifyNotification(Buffer.from(unsigned.toString()), {})).toMatchObject({ kind: 'rejected' });

    const doubled = `${fields.toString()}&trade_status=TRADE_CLOSED`;
    expect(connector.verifyNotification(Buffer.from(doubled), {})).toMatchObject({ kind: 'rejected' });

    // a genuine notification from another sandbox (another Alipay key, another app)
    const other = createAlipaySandbox({ channel: 'alipay_other' });
    const foreign = createAlipayConnector({ ...otherOptions(other), notifyUrl: receiver.url });
    expect(foreign.verifyNotification(Buffer.from(genuine.body), {})).toMatchObject({ kind: 'rejected', reason: 'notification signature does not verify' });
    foreign.close();
    await other.close();

    // our Alipay key, but an app_id that is not ours
    const sameKeyOtherApp = createAlipayConnector({ ...otherOptions(sandbox), appId: '2021000000000001', notifyUrl: receiver.url });
    expect(sameKeyOtherApp.verifyNotification(Buffer.from(genuine.body), {})).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('app_id') });
    sameKeyOtherApp.close();

    expect(connector.answerNotification(false)).toEqual({ status: 200, contentType: 'text/plain', body: 'fail' });
    expect(connector.answerNotification(true)).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
  });

  it('error_rate: ACQ.SYSTEM_ERROR is unknown and nothing is charged or created', async () => {
    sandbox.setFaults({ error_rate: 1 });
    const outcome = await connector.createPayment(payment('alp_error_1'));
    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('ACQ.SYSTEM_ERROR') });
    sandbox.resetFaults();
    expect(await connector.queryPayment('alp_error_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', failure_code: 'not_found' });
    expect(sandbox.ledger().some((row) => row.out_trade_no === 'alp_error_1')).toBe(false);
  });

  it('outage: a 503 is unknown', async () => {
    sandbox.setFaults({ outage: true });
    expect(await connector.createPayment(payment('alp_outage_1'))).toMatchObject({ kind: 'unknown', reason: 'gateway answered http 503' });
    expect(await connector.queryPayment('alp_outage_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'unknown' });
  });

  it('connection refused is not_sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = createAlipayConnector({ ...otherOptions(sandbox), gatewayUrl: `http://127.0.0.1:${port}/gateway.do`, notifyUrl: receiver.url });
    expect(await unreachable.createPayment(payment('alp_refused_1'))).toMatchObject({ kind: 'not_sent', reason: expect.stringContaining('ECONNREFUSED') });
    // a query that could not be sent proves nothing about the payment: unknown, never not_sent
    expect(await unreachable.queryPayment('alp_refused_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'unknown' });
    unreachable.close();
  });

  it('timeout: the trade was created but the answer held back is unknown; a query then resolves it', async () => {
    sandbox.setFaults({ timeout_rate: 1 });
    expect(await connector.createPayment(payment('alp_timeout_1'))).toMatchObject({ kind: 'unknown', reason: 'timeout after 1000 ms' });
    sandbox.resetFaults();
    expect(await connector.queryPayment('alp_timeout_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'requires_action' });
  });

  it('duplicate_notify_rate: the same notification (same notify_id) arrives twice and verifies both times', async () => {
    sandbox.setFaults({ duplicate_notify_rate: 1 });
    await connector.createPayment(payment('alp_dup_1'));
    await sandbox.payerCompletes('alp_dup_1');
    const both = await until(() => {
      const hits = receiver.answers.filter((each) => each.body.includes('out_trade_no=alp_dup_1'));
      return hits.length >= 2 ? hits : undefined;
    });
    expect(both.map((each) => each.answer)).toEqual(['success', 'success']);
    expect(new URLSearchParams(both[0]!.body).get('notify_id')).toBe(new URLSearchParams(both[1]!.body).get('notify_id'));
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'alp_dup_1', charged: 1234, refunded: 0 });
  });

  it('late_success_rate: the payment succeeds a little later', async () => {
    sandbox.setFaults({ late_success_rate: 1 });
    await connector.createPayment(payment('alp_late_1'));
    expect(await sandbox.payerCompletes('alp_late_1')).toEqual({ ok: true });
    const delivered = await until(() => receiver.answers.find((each) => each.body.includes('out_trade_no=alp_late_1')));
    expect(delivered.answer).toBe('success');
    expect(await connector.queryPayment('alp_late_1', { amount: 1234n, currency: 'CNY' })).toMatchObject({ kind: 'result', status: 'succeeded' });
  });
});

describe('notification retries', () => {
  it('retries until the answer is exactly success', async () => {
    let calls = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        calls += 1;
        response.writeHead(200, { 'content-type': 'text/plain' }).end(calls < 3 ? 'fail' : 'success');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sandbox = createAlipaySandbox({ channel: 'alipay_retry', notifyBackoffBaseMs: 10 });
    sandbox.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`);
    await sandbox.listen();
    const connector = createAlipayConnector({ ...otherOptions(sandbox), notifyUrl: 'http://127.0.0.1:1/unused' });
    await connector.createPayment(payment('alp_retry_1'));
    await sandbox.payerCompletes('alp_retry_1');
    await until(() => (sandbox.notifyStats().delivered === 1 ? true : undefined));
    expect(calls).toBe(3);
    expect(sandbox.notifyStats()).toMatchObject({ delivered: 1, failed: 0, attempts: 3, pending: 0 });
    connector.close();
    await sandbox.close();
    await new Promise((resolve) => server.close(resolve));
  });
});

function otherOptions(sandbox: AlipaySandbox) {
  const credentials = sandbox.credentials();
  return {
    channel: 'alipay_test', gatewayUrl: credentials.gateway_url === '/gateway.do' ? 'http://127.0.0.1:1/gateway.do' : credentials.gateway_url,
    appId: credentials.app_id, appPrivateKey: credentials.app_private_key, alipayPublicKey: credentials.alipay_public_key, timeoutMs: 1_000,
  };
}
