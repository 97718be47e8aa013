// The sandbox speaks Stripe's wire protocol: the official library (stripe-node) works against it
// unchanged, pointed at the sandbox's own port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeSandbox, type StripeSandbox } from './index.ts';

interface Received {
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

/** A tiny webhook endpoint that records every delivery. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[]; waitFor: (predicate: (event: Stripe.Event) => boolean) => Promise<Received> }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks), headers: request.headers });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const waitFor = async (predicate: (event: Stripe.Event) => boolean): Promise<Received> => {
    for (let tries = 0; tries < 200; tries++) {
      const hit = received.find((item) => predicate(JSON.parse(item.body.toString('utf8')) as Stripe.Event));
      if (hit !== undefined) return hit;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('webhook not received');
  };
  return { server, url, received, waitFor };
}

describe('stripe sandbox with the official stripe-node library', () => {
  let sandbox: StripeSandbox;
  let stripe: Stripe;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    sandbox = createStripeSandbox({ channel: 'card_sdk', webhookUrl: receiver.url });
    await sandbox.listen();
    const { base_url, secret_key } = sandbox.credentials();
    const port = Number(new URL(base_url).port);
    stripe = new Stripe(secret_key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
  });

  afterAll(async () => {
    await sandbox.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('creates and confirms a PaymentIntent with pm_card_visa', async () => {
    const pi = await stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      payment_method_types: ['card'],
      confirm: true,
      metadata: { out_trade_no: 'sdk_visa_1' },
    });
    expect(pi.object).toBe('payment_intent');
    expect(pi.id).toMatch(/^pi_/);
    expect(pi.status).toBe('succeeded');
    expect(pi.amount).toBe(2000);
    expect(pi.amount_received).toBe(2000);
    expect(pi.currency).toBe('usd');
    expect(pi.latest_charge).toMatch(/^ch_/);
    expect(pi.metadata).toEqual({ out_trade_no: 'sdk_visa_1' });
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'sdk_visa_1', charged: 2000, refunded: 0 });
  });

  it('declines pm_card_chargeDeclined with a StripeCardError', async () => {
    const attempt = stripe.paymentIntents.create({ amount: 1500, currency: 'eur', payment_method: 'pm_card_chargeDeclined', confirm: true, metadata: { out_trade_no: 'sdk_declined' } });
    const error = await attempt.then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    const card = error as Stripe.errors.StripeCardError;
    expect(card.statusCode).toBe(402);
    expect(card.code).toBe('card_declined');
    expect(card.decline_code).toBe('generic_decline');
    expect(card.payment_intent?.status).toBe('requires_payment_method');
    expect(card.payment_intent?.last_payment_error?.decline_code).toBe('generic_decline');
    expect(sandbox.ledger().find((row) => row.out_trade_no === 'sdk_declined')).toBeUndefined();
  });

  it.each([
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
  ])('declines %s with %s / %s', async (payment_method, code, decline_code) => {
    const error = await stripe.paymentIntents.create({ amount: 700, currency: 'usd', payment_method, confirm: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect((error as Stripe.errors.StripeCardError).code).toBe(code);
    expect((error as Stripe.errors.StripeCardError).decline_code).toBe(decline_code);
  });

  it('retrieves, confirms in two steps, and cancels', async () => {
    const created = await stripe.paymentIntents.create({ amount: 999, currency: 'gbp', payment_method: 'pm_card_mastercard' });
    expect(created.status).toBe('requires_confirmation');
    const confirmed = await stripe.paymentIntents.confirm(created.id);
    expect(confirmed.status).toBe('succeeded');
    const retrieved = await stripe.paymentIntents.retrieve(created.id);
    expect(retrieved.id).toBe(created.id);
    expect(retrieved.status).toBe('succeeded');
    const open = await stripe.paymentIntents.create({ amount: 500, currency: 'usd' });
    expect(open.status).toBe('requires_payment_method');
    const canceled = await stripe.paymentIntents.cancel(open.id, { cancellation_reason: 'abandoned' });
    expect(canceled.status).toBe('canceled');
    const missing = await stripe.paymentIntents.retrieve('pi_doesnotexist').catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((missing as Stripe.errors.StripeError).statusCode).toBe(404);
  });

  it('refunds partially, then the rest, and refuses an over-refund', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 5000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { out_trade_no: 'sdk_refund' } });
    const partial = await stripe.refunds.create({ payment_intent: pi.id, amount: 1200 });
    expect(partial.object).toBe('refund');
    expect(partial.status).toBe('succeeded');
    expect(partial.amount).toBe(1200);
    const over = await stripe.refunds.create({ payment_intent: pi.id, amount: 3801 }).catch((caught: unknown) => caught);
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((over as Stripe.errors.StripeError).code).toBe('amount_too_large');
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(3800);
    const again = await stripe.refunds.create({ payment_intent: pi.id }).catch((caught: unknown) => caught);
    expect((again as Stripe.errors.StripeError).code).toBe('charge_already_refunded');
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge.amount_refunded).toBe(5000);
    expect(charge.refunded).toBe(true);
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'sdk_refund', charged: 5000, refunded: 5000 });
  });

  it('replays an idempotent request and rejects the key with other parameters', async () => {
    const params = { amount: 3100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'sdk_idem_1' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'sdk_idem_1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(sandbox.ledger()).toContainEqual({ out_trade_no: 'sdk_idem_1', charged: 3100, refunded: 0 });
    const other = await stripe.paymentIntents.create({ ...params, amount: 3200 }, { idempotencyKey: 'sdk_idem_1' }).catch((caught: unknown) => caught);
    expect(other).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('searches by metadata and lists newest first', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 4100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { out_trade_no: "sdk_o'search" } });
    const found = await stripe.paymentIntents.search({ query: "metadata['out_trade_no']:'sdk_o\\'search'" });
    expect(found.data.map((item) => item.id)).toEqual([pi.id]);
    const listed = await stripe.paymentIntents.list({ limit: 1 });
    expect(listed.data[0]?.id).toBe(pi.id);
    expect(listed.has_more).toBe(true);
  });

  it('sends webhooks that stripe.webhooks.constructEvent verifies', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 6100, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, metadata: { out_trade_no: 'sdk_hook' } });
    const delivery = await receiver.waitFor((event) => event.type === 'payment_intent.succeeded' && (event.data.object as { id?: string }).id === pi.id);
    const header = delivery.headers['stripe-signature'];
    expect(typeof header).toBe('string');
    const event = stripe.webhooks.constructEvent(delivery.body, header as string, sandbox.credentials().webhook_secret);
    expect(event.id).toMatch(/^evt_/);
    expect(event.type).toBe('payment_intent.succeeded');
    expect((event.data.object as Stripe.PaymentIntent).metadata['out_trade_no']).toBe('sdk_hook');
    expect(() => stripe.webhooks.constructEvent(delivery.body, header as string, 'whsec_wrong_secret_value')).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const tampered = Buffer.from(delivery.body.toString('utf8').replace('6100', '6101'));
    expect(() => stripe.webhooks.constructEvent(tampered, header as string, sandbox.credentials().webhook_secret)).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  it('answers a wrong key with an AuthenticationError', async () => {
    const { base_url } = sandbox.credentials();
    const wrong = new Stripe('sk_test_not_the_right_key_at_all', { host: '127.0.0.1', port: Number(new URL(base_url).port), protocol: 'http', maxNetworkRetries: 0 });
    const error = await wrong.paymentIntents.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((error as Stripe.errors.StripeError).statusCode).toBe(401);
  });
});
