// The Stripe connector against the Stripe sandbox, over real HTTP. The oracle for "no money
// moved" and "charged once" is the sandbox's own ledger.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../kernel/clock.ts';
import type { ChannelPaymentRequest, Connector } from '../contract.ts';
import { createStripeSandbox, stripeSignatureHeader, type StripeSandbox } from '../../../sandbox/stripe/index.ts';
import { createStripeConnector, type StripeConnector } from './connector.ts';

let counter = 0;
const tradeNumber = (label: string): string => `att_${label}_${Date.now().toString(36)}_${counter++}`;

function payment(out_trade_no: string, token = 'pm_card_visa', amount = 1000n): ChannelPaymentRequest {
  return { out_trade_no, amount, currency: 'USD', method: 'card', description: `test ${out_trade_no}`, payment_method_data: { token }, metadata: { order_id: 'ord_test' } };
}

interface Delivery {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

describe('stripe connector against the stripe sandbox', () => {
  let sandbox: StripeSandbox;
  let connector: Connector;
  let baseUrl: string;
  let hookServer: Server;
  const deliveries: Delivery[] = [];

  const connectorFor = (overrides: { timeoutMs?: number; clock?: ManualClock; baseUrl?: string; logger?: pino.Logger } = {}): StripeConnector => {
    const credentials = sandbox.credentials();
    return createStripeConnector({
      channel: 'card_test',
      baseUrl: overrides.baseUrl ?? credentials.base_url,
      secretKey: credentials.secret_key,
      webhookSecret: credentials.webhook_secret,
      timeoutMs: overrides.timeoutMs ?? 5_000,
      ...(overrides.clock === undefined ? {} : { clock: overrides.clock }),
      ...(overrides.logger === undefined ? {} : { logger: overrides.logger }),
    });
  };
  const charged = (out_trade_no: string) => sandbox.ledger().find((row) => row.out_trade_no === out_trade_no);
  const eventsFor = (pi: string) =>
    deliveries.filter((delivery) => (JSON.parse(delivery.body.toString('utf8')) as { data: { object: { id?: string } } }).data.object.id === pi);

  beforeAll(async () => {
    hookServer = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        deliveries.push({ body: Buffer.concat(chunks), headers: request.headers });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/notify/card_test`;
    sandbox = createStripeSandbox({ channel: 'card_test', webhookUrl: hookUrl, lateSuccessDelayMs: 100 });
    baseUrl = await sandbox.listen();
    connector = connectorFor();
  });

  afterEach(() => sandbox.resetFaults());

  afterAll(async () => {
    await sandbox.close();
    await new Promise((resolve) => hookServer.close(resolve));
  });

  async function waitForEvent(pi: string, type: string): Promise<Delivery> {
    for (let tries = 0; tries < 200; tries++) {
      const hit = eventsFor(pi).find((delivery) => (JSON.parse(delivery.body.toString('utf8')) as { type: string }).type === type);
      if (hit !== undefined) return hit;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${type} event for ${pi}`);
  }

  it('pays with pm_card_visa', async () => {
    const out_trade_no = tradeNumber('visa');
    const outcome = await connector.createPayment(payment(out_trade_no));
    expect(outcome).toMatchObject({ kind: 'result', status: 'succeeded', amount: 1000n, currency: 'USD', failure_code: null, retryable_elsewhere: false, next_action: null });
    if (outcome.kind !== 'result') return;
    expect(outcome.channel_txn_id).toMatch(/^pi_/);
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 0 });
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline', false],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', false],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', false],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', true],
  ])('%s is failed with %s, retryable elsewhere: %s', async (token, code, retryable) => {
    const out_trade_no = tradeNumber('decline');
    const outcome = await connector.createPayment(payment(out_trade_no, token));
    expect(outcome).toMatchObject({ kind: 'result', status: 'failed', failure_code: code, retryable_elsewhere: retryable });
    if (outcome.kind === 'result') expect(outcome.channel_txn_id).toMatch(/^pi_/);
    expect(charged(out_trade_no)).toBeUndefined();
    const queried = await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'USD' });
    expect(queried).toMatchObject({ kind: 'result', status: 'failed', failure_code: code, retryable_elsewhere: retryable });
  });

  it('refunds partially, then fully, and refuses an over-refund', async () => {
    const out_trade_no = tradeNumber('refund');
    const paid = await connector.createPayment(payment(out_trade_no, 'pm_card_visa', 5000n));
    if (paid.kind !== 'result' || paid.status !== 'succeeded') throw new Error('payment did not succeed');
    const base = { out_trade_no, channel_txn_id: paid.channel_txn_id, currency: 'USD' };
    const partial = await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 1500n });
    expect(partial).toMatchObject({ kind: 'result', status: 'succeeded', amount: 1500n, currency: 'USD', failure_code: null });
    if (partial.kind === 'result') expect(partial.channel_refund_id).toMatch(/^re_/);
    const replay = await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: 1500n });
    expect(replay).toEqual(partial);
    const over = await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r2`, amount: 3501n });
    expect(over).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'amount_too_large', channel_refund_id: null });
    const rest = await connector.refund({ ...base, channel_txn_id: null, out_refund_no: `${out_trade_no}_r3`, amount: 3500n }); // found by out_trade_no
    expect(rest).toMatchObject({ kind: 'result', status: 'succeeded', amount: 3500n });
    const more = await connector.refund({ ...base, out_refund_no: `${out_trade_no}_r4`, amount: 1n });
    expect(more).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'charge_already_refunded' });
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 5000, refunded: 5000 });
  });

  it('queries by out_trade_no, and says not_found only for a trade number never sent', async () => {
    const out_trade_no = tradeNumber('query');
    const paid = await connector.createPayment(payment(out_trade_no, 'pm_card_mastercard', 777n));
    const queried = await connector.queryPayment(out_trade_no, { amount: 777n, currency: 'USD' });
    expect(queried).toEqual(paid);
    const wrongAmount = await connector.queryPayment(out_trade_no, { amount: 778n, currency: 'USD' });
    expect(wrongAmount.kind).toBe('unknown');
    const never = await connector.queryPayment(tradeNumber('never'), { amount: 777n, currency: 'USD' });
    expect(never).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'not_found', retryable_elsewhere: true, channel_txn_id: null });
  });

  it('outage (503) is unknown with nothing charged; a refused connection is not_sent', async () => {
    const out_trade_no = tradeNumber('outage');
    sandbox.setFaults({ outage: true });
    const outcome = await connector.createPayment(payment(out_trade_no));
    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/503/) });
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'USD' })).toMatchObject({ kind: 'unknown' });
    expect(charged(out_trade_no)).toBeUndefined();

    const gone = createStripeSandbox({ channel: 'card_gone' });
    const goneUrl = await gone.listen();
    await gone.close();
    const refused = createStripeConnector({ channel: 'card_gone', baseUrl: goneUrl, secretKey: 'sk_test_whatever', webhookSecret: '', timeoutMs: 2_000 });
    expect(await refused.createPayment(payment(tradeNumber('refused')))).toMatchObject({ kind: 'not_sent', reason: expect.stringMatching(/ECONNREFUSED/) });
    expect(await refused.refund({ out_trade_no: 'x', channel_txn_id: 'pi_x', out_refund_no: 'r', amount: 1n, currency: 'USD' })).toMatchObject({ kind: 'not_sent' });
    // A query that could not be made proves nothing about the payment: unknown, never not_sent.
    expect(await refused.queryPayment('x', { amount: 1n, currency: 'USD' })).toMatchObject({ kind: 'unknown' });
  });

  it('error_rate=1 is unknown with no charge; the retry with the same trade number charges once', async () => {
    const out_trade_no = tradeNumber('error');
    sandbox.setFaults({ error_rate: 1 });
    expect(await connector.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/500/) });
    expect(charged(out_trade_no)).toBeUndefined();
    sandbox.resetFaults();
    expect(await connector.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'result', status: 'succeeded' });
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 0 });
  });

  it('a timeout is unknown; the query then reveals the success, and a retry does not charge twice', async () => {
    const hasty = connectorFor({ timeoutMs: 300 });
    const out_trade_no = tradeNumber('timeout');
    sandbox.setFaults({ timeout_rate: 1 });
    const started = Date.now();
    const outcome = await hasty.createPayment(payment(out_trade_no));
    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/timeout/) });
    expect(Date.now() - started).toBeLessThan(3_000);
    sandbox.resetFaults();
    const queried = await hasty.queryPayment(out_trade_no, { amount: 1000n, currency: 'USD' });
    expect(queried).toMatchObject({ kind: 'result', status: 'succeeded', amount: 1000n });
    const retried = await hasty.createPayment(payment(out_trade_no));
    expect(retried).toEqual(queried);
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 0 });
  });

  it('reusing a trade number with another amount is unknown, never a failure', async () => {
    const out_trade_no = tradeNumber('reuse');
    await connector.createPayment(payment(out_trade_no));
    const reused = await connector.createPayment(payment(out_trade_no, 'pm_card_visa', 2000n));
    expect(reused).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/idempotency_error/) });
    expect(charged(out_trade_no)).toEqual({ out_trade_no, charged: 1000, refunded: 0 });
  });

  it('a late success is pending, then notified and queried as succeeded', async () => {
    const out_trade_no = tradeNumber('late');
    sandbox.setFaults({ late_success_rate: 1 });
    const outcome = await connector.createPayment(payment(out_trade_no));
    expect(outcome).toMatchObject({ kind: 'result', status: 'pending' });
    if (outcome.kind !== 'result' || outcome.channel_txn_id === null) throw new Error('no intent id');
    const delivery = await waitForEvent(outcome.channel_txn_id, 'payment_intent.succeeded');
    expect(connector.verifyNotification(delivery.body, delivery.headers)).toMatchObject({
      kind: 'verified',
      notification: { out_trade_no, status: 'succeeded', channel_txn_id: outcome.channel_txn_id, amount: 1000n, currency: 'USD' },
    });
    expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'USD' })).toMatchObject({ kind: 'result', status: 'succeeded' });
  });

  it('verifies the sandbox webhooks and rejects tampered, old and forged ones', async () => {
    const out_trade_no = tradeNumber('hook');
    const outcome = await connector.createPayment(payment(out_trade_no));
    if (outcome.kind !== 'result' || outcome.channel_txn_id === null) throw new Error('no intent id');
    const delivery = await waitForEvent(outcome.channel_txn_id, 'payment_intent.succeeded');
    expect(connector.verifyNotification(delivery.body, delivery.headers)).toMatchObject({ kind: 'verified', notification: { out_trade_no, status: 'succeeded' } });

    const tampered = Buffer.from(delivery.body.toString('utf8').replace('"amount": 1000', '"amount": 1'));
    expect(tampered.equals(delivery.body)).toBe(false);
    expect(connector.verifyNotification(tampered, delivery.headers)).toMatchObject({ kind: 'rejected', reason: 'signature mismatch' });

    const later = new ManualClock(new Date(Date.now() + 301_000));
    expect(connectorFor({ clock: later }).verifyNotification(delivery.body, delivery.headers)).toMatchObject({ kind: 'rejected', reason: expect.stringMatching(/tolerance/) });

    const forger = createStripeSandbox({ channel: 'card_forger', webhookSecret: 'whsec_not_the_endpoint_secret' });
    const header = String(delivery.headers['stripe-signature']);
    const timestamp = /t=(\d+)/.exec(header)?.[1];
    const forged = stripeSignatureHeader(delivery.body.toString('utf8'), forger.credentials().webhook_secret, Number(timestamp));
    expect(connector.verifyNotification(delivery.body, { 'stripe-signature': forged })).toMatchObject({ kind: 'rejected', reason: 'signature mismatch' });
    expect(connector.verifyNotification(delivery.body, {})).toMatchObject({ kind: 'rejected' });
    await forger.close();
  });

  it('says what it does not support without sending anything', async () => {
    const outcome = await connector.createPayment({ ...payment(tradeNumber('alipay')), method: 'alipay' });
    expect(outcome).toMatchObject({ kind: 'result', status: 'failed', failure_code: 'method_not_supported', retryable_elsewhere: true });
  });

  it('works through a sandbox mounted under a path prefix on another server', async () => {
    const app = Fastify();
    await sandbox.register(app, '/sandbox/card_test');
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const mounted = connectorFor({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/sandbox/card_test` });
      const out_trade_no = tradeNumber('mounted');
      expect(await mounted.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'result', status: 'succeeded' });
      expect(await connector.queryPayment(out_trade_no, { amount: 1000n, currency: 'USD' })).toMatchObject({ kind: 'result', status: 'succeeded' }); // one state behind both
      expect(baseUrl).not.toContain('/sandbox');
    } finally {
      await app.close();
    }
  });

  it('reuses one keep-alive connection for sequential calls (as the sandbox sees it)', async () => {
    const app = Fastify();
    const remotePorts: number[] = [];
    app.server.on('connection', (socket: import('node:net').Socket) => remotePorts.push(socket.remotePort ?? -1));
    await sandbox.register(app, '/sandbox/card_test');
    await app.listen({ host: '127.0.0.1', port: 0 });
    const mounted = connectorFor({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/sandbox/card_test` });
    try {
      const first = tradeNumber('reuse_a');
      expect(await mounted.createPayment(payment(first))).toMatchObject({ kind: 'result', status: 'succeeded' });
      expect(await mounted.createPayment(payment(tradeNumber('reuse_b')))).toMatchObject({ kind: 'result', status: 'succeeded' });
      expect(await mounted.queryPayment(first, { amount: 1000n, currency: 'USD' })).toMatchObject({ kind: 'result', status: 'succeeded' });
      expect(remotePorts).toHaveLength(1); // three calls (four requests), one socket
      mounted.close();
      expect(await mounted.createPayment(payment(tradeNumber('reuse_c')))).toMatchObject({ kind: 'result', status: 'succeeded' });
      expect(remotePorts).toHaveLength(2); // close() let go of it; the next call opened a new one
      expect(remotePorts[1]).not.toBe(remotePorts[0]);
    } finally {
      mounted.close();
      await app.close();
    }
  });

  it('logs every request and response at debug, redacted, and transport failures at warn', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const logged = connectorFor({ logger });
    const paid = tradeNumber('logged');
    const request = { ...payment(paid), payment_method_data: { token: 'pm_card_visa', number: '4242424242424242', cvc: '123' } };
    const outcome = await logged.createPayment(request);
    expect(outcome).toMatchObject({ kind: 'result', status: 'succeeded' });
    const declined = tradeNumber('logged_decline');
    await logged.createPayment(payment(declined, 'pm_card_chargeDeclined'));
    await logged.queryPayment(paid, { amount: 1000n, currency: 'USD' });
    logged.close();

    const text = JSON.stringify(lines);
    expect(text).not.toContain(sandbox.credentials().secret_key);
    expect(text).not.toContain('pm_card');
    expect(text).not.toContain('4242');
    expect(text).not.toMatch(/authorization|bearer/i);
    expect(lines[0]).toMatchObject({
      level: 20, msg: 'stripe call', provider: 'stripe', channel: 'card_test', method: 'POST', path: '/v1/payment_intents', status: 200,
      duration_ms: expect.any(Number), idempotency_key: paid,
      form: { payment_method: '[redacted]', amount: '1000', metadata: { order_id: 'ord_test', out_trade_no: paid } },
      response: { id: outcome.kind === 'result' ? outcome.channel_txn_id : '', object: 'payment_intent', status: 'succeeded' },
    });
    expect(lines[1]).toMatchObject({ level: 20, status: 402, idempotency_key: declined, response: { error_type: 'card_error', error_code: 'card_declined', error_decline_code: 'generic_decline' } });
    expect(lines[2]).toMatchObject({ level: 20, method: 'GET', path: '/v1/payment_intents/search', status: 200, query: { query: expect.stringContaining(paid) }, response: { object: 'search_result' } });
    expect(lines[2]).not.toHaveProperty('idempotency_key');
    expect(lines).toHaveLength(3);

    const quiet: Record<string, unknown>[] = [];
    const info = pino({ level: 'info' }, { write: (line: string) => quiet.push(JSON.parse(line) as Record<string, unknown>) });
    const gone = createStripeSandbox({ channel: 'card_gone' });
    const goneUrl = await gone.listen();
    await gone.close();
    const refused = createStripeConnector({ channel: 'card_gone', baseUrl: goneUrl, secretKey: 'sk_test_never_logged', webhookSecret: '', timeoutMs: 2_000, logger: info });
    await connectorFor({ logger: info }).createPayment(payment(tradeNumber('quiet'))); // debug is off: nothing
    const out_trade_no = tradeNumber('refused_logged');
    expect(await refused.createPayment(payment(out_trade_no))).toMatchObject({ kind: 'not_sent' });
    expect(quiet).toEqual([
      expect.objectContaining({ level: 40, msg: 'stripe call failed', channel: 'card_gone', method: 'POST', path: '/v1/payment_intents', idempotency_key: out_trade_no, outcome: 'not_sent', reason: expect.stringMatching(/ECONNREFUSED/) }),
    ]);
    expect(JSON.stringify(quiet)).not.toMatch(/sk_test_never_logged|pm_card/);
  });
});
