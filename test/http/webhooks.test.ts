import http from 'node:http';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kernel/clock.ts';
import { limits } from '../../src/kernel/limits.ts';
import { deliverWebhooks, runWebhooksOnce } from '../../src/webhooks/delivery.ts';
import { relayOutboxEvents } from '../../src/webhooks/relay.ts';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

// Merchant webhooks end to end: a real loopback receiver, real card payments, the worker run by
// hand under a manual clock.

type Verify = (rawBody: string | Buffer, header: string | undefined, secret: string, options?: { toleranceSeconds?: number; nowSeconds?: number }) => any;

/** The verification snippet of docs/webhooks.md, loaded from the doc itself. */
async function documentedVerifier(): Promise<Verify> {
  const doc = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
  const snippet = /```js\n(\/\/ verify-clearway-webhook\.mjs\n[\s\S]*?)```/.exec(doc)?.[1];
  if (!snippet) throw new Error('docs/webhooks.md has no verification snippet');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'clearway-verify-')), 'verify-clearway-webhook.mjs');
  writeFileSync(file, snippet);
  const module = (await import(pathToFileURL(file).href)) as { verifyClearwayWebhook: Verify };
  return module.verifyClearwayWebhook;
}

interface Received {
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: string;
  readonly event: any;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  status: number;
  delayMs: number;
  close(): Promise<void>;
}

async function startReceiver(status = 200): Promise<Receiver> {
  const received: Received[] = [];
  const receiver = { received, status, delayMs: 0 } as Receiver & { url: string; close(): Promise<void> };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: request.headers, raw, event: JSON.parse(raw) });
      setTimeout(() => response.writeHead(receiver.status, { 'content-type': 'text/plain' }).end('ok'), receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  Object.assign(receiver, {
    url: `http://127.0.0.1:${address.port}/hooks`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  });
  return receiver;
}

describe.each(stores)('merchant webhooks on %s', (store) => {
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  let t: TestApp;
  let verify: Verify;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    t = await startTestApp(store, { clock });
    verify = await documentedVerifier();
  });
  afterAll(async () => {
    for (const receiver of receivers) await receiver.close();
    await t?.close();
  });

  const receiver = async (status = 200) => {
    const r = await startReceiver(status);
    receivers.push(r);
    return r;
  };
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  // Jitter pinned to its low end: each delay is exactly half of its cap.
  const runWorker = () => runWebhooksOnce(t.app.ctx, { random: () => 0 });
  const createEndpoint = (key: string, body: Record<string, unknown>) => t.request('POST', '/v1/webhook_endpoints', { key, body });
  const deliveries = async (key: string, endpointId: string) => {
    const reply = await t.request('GET', `/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, { key });
    expect(reply.status).toBe(200);
    return reply.body.data as any[];
  };
  async function pay(key: string, amount = 2500) {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency: 'USD', items: [{ name: 'Book', unit_amount: amount, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const payment = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(payment.status).toBe(201);
    expect(payment.body.status).toBe('succeeded');
    return { order: order.body, payment: payment.body };
  }

  it('creates an endpoint whose secret is shown once, and validates url and events', async () => {
    const merchant = await t.newMerchant();
    const created = await createEndpoint(merchant.key, { url: 'https://shop.example/hooks', description: 'main' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'webhook_endpoint', url: 'https://shop.example/hooks', events: ['*'], description: 'main', status: 'enabled' });
    expect(created.body.id).toMatch(/^whe_[0-9a-z]{24}$/);
    expect(created.body.secret).toMatch(/^whsec_[0-9a-f]{48}$/);
    const read = await t.request('GET', `/v1/webhook_endpoints/${created.body.id}`, { key: merchant.key });
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.body.id).toBe(created.body.id);
    const list = await t.request('GET', '/v1/webhook_endpoints', { key: merchant.key });
    expect(list.body.data.map((e: any) => e.id)).toEqual([created.body.id]);
    expect(list.body.data[0].secret).toBeUndefined();

    for (const [body, param] of [
      [{ url: 'ftp://shop.example/hooks' }, 'url'],
      [{ url: 'not a url' }, 'url'],
      [{ url: 'https://user:pw@shop.example/hooks' }, 'url'],
      [{ url: `https://shop.example/${'a'.repeat(limits.webhook_url_length_max)}` }, 'url'],
      [{ url: 'https://shop.example/hooks', events: ['payment.exploded'] }, 'events/0'],
      [{ url: 'https://shop.example/hooks', events: [] }, 'events'],
      [{ url: 'https://shop.example/hooks', secret: 'mine' }, 'secret'],
      [{}, 'url'],
    ] as const) {
      const reply = await createEndpoint(merchant.key, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.param, JSON.stringify(body)).toContain(param.split('/')[0]);
    }
  });

  it('delivers every event, in order, signed so that the documented snippet verifies it', async () => {
    const merchant = await t.newMerchant();
    const inbox = await receiver();
    const endpoint = (await createEndpoint(merchant.key, { url: inbox.url })).body;
    const { order, payment } = await pay(merchant.key);
    const run = await runWorker();
    expect(run).toEqual({ delivered: 4, retried: 0, failed: 0 });
    expect(inbox.received.map((r) => r.event.type)).toEqual(['order.created', 'payment.created', 'payment.succeeded', 'order.paid']);

    const succeeded = inbox.received.find((r) => r.event.type === 'payment.succeeded')!;
    expect(succeeded.event).toEqual({
      id: expect.stringMatching(/^evt_/), object: 'event', type: 'payment.succeeded', created: nowSeconds(),
      // Default card pricing: 2.9 % of 2500 (72.5 -> 73, HALF_UP) + 30; card_a charges us 1.8 % + 20.
      data: {
        payment_id: payment.id, order_id: order.id, channel: payment.channel, amount: '2500', currency: 'USD',
        fee_amount: '103', channel_fee_amount: '65', journal_entry_id: expect.stringMatching(/^jrn_/),
      },
    });
    expect(succeeded.headers['content-type']).toBe('application/json');
    expect(succeeded.headers['clearway-event-id']).toBe(succeeded.event.id);
    expect(succeeded.headers['clearway-delivery-id']).toMatch(/^whd_/);
    for (const delivery of inbox.received) {
      const header = delivery.headers['clearway-signature'] as string;
      expect(header).toMatch(new RegExp(`^t=${nowSeconds()},v1=[0-9a-f]{64}$`));
      expect(verify(delivery.raw, header, endpoint.secret, { nowSeconds: nowSeconds() })).toEqual(delivery.event);
      expect(verify(Buffer.from(delivery.raw), header, endpoint.secret, { nowSeconds: nowSeconds() })).toEqual(delivery.event);
      expect(() => verify(delivery.raw, header, 'whsec_wrong', { nowSeconds: nowSeconds() })).toThrow(/does not match/);
      expect(() => verify(delivery.raw.replace('"USD"', '"EUR"').replace('}', ' }'), header, endpoint.secret, { nowSeconds: nowSeconds() })).toThrow(/does not match/);
      expect(() => verify(delivery.raw, header, endpoint.secret, { nowSeconds: nowSeconds() + 301 })).toThrow(/tolerance/);
      expect(() => verify(delivery.raw, 'v1=abc', endpoint.secret)).toThrow(/malformed/);
    }

    const log = await deliveries(merchant.key, endpoint.id);
    expect(log).toHaveLength(4);
    for (const entry of log) {
      expect(entry).toMatchObject({ object: 'webhook_delivery', endpoint_id: endpoint.id, status: 'delivered', attempt_count: 1, last_status_code: 200, last_error: null, next_attempt_at: null });
      expect(entry.attempts).toEqual([{ attempt: 1, started_at: clock.now().toISOString(), duration_ms: expect.any(Number), status_code: 200, error: null, outcome: 'delivered', next_attempt_at: null }]);
    }
    // Nothing is sent twice: the outbox is published and every delivery is final.
    expect(await runWorker()).toEqual({ delivered: 0, retried: 0, failed: 0 });
    expect(inbox.received).toHaveLength(4);
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/clearway_webhook_delivery_attempts_total\{outcome="delivered"\} \d+/);
    expect(metrics).toContain('clearway_webhook_deliveries_pending');
  });

  it('sends each endpoint only the event types it subscribed to, and only events after its creation', async () => {
    const merchant = await t.newMerchant();
    await pay(merchant.key, 900); // before any endpoint: never delivered
    clock.advance(1_000);
    const paymentsOnly = await receiver();
    const ordersOnly = await receiver();
    await createEndpoint(merchant.key, { url: paymentsOnly.url, events: ['payment.succeeded', 'payment.failed'] });
    await createEndpoint(merchant.key, { url: ordersOnly.url, events: ['order.paid', 'refund.created'] });
    const { payment } = await pay(merchant.key);
    await runWorker();
    expect(paymentsOnly.received.map((r) => [r.event.type, r.event.data.payment_id])).toEqual([['payment.succeeded', payment.id]]);
    expect(ordersOnly.received.map((r) => r.event.type)).toEqual(['order.paid']);
    const refund = await t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: merchant.key, body: { amount: 100 } });
    expect(refund.status).toBe(201);
    await runWorker();
    expect(paymentsOnly.received).toHaveLength(1);
    expect(ordersOnly.received.map((r) => r.event.type)).toEqual(['order.paid', 'refund.created']);
  });

  it('retries a failing endpoint with exponential backoff, logs every attempt, fails after three days, and redelivers by hand', async () => {
    const merchant = await t.newMerchant();
    const inbox = await receiver(500);
    const endpoint = (await createEndpoint(merchant.key, { url: inbox.url, events: ['payment.succeeded'] })).body;
    await pay(merchant.key);
    const fannedOutAt = clock.now().getTime();
    expect(await runWorker()).toEqual({ delivered: 0, retried: 1, failed: 0 });
    let [delivery] = await deliveries(merchant.key, endpoint.id);
    const first = limits.webhook_retry_delay_first_ms / 2; // jitter pinned low
    expect(delivery).toMatchObject({ status: 'pending', attempt_count: 1, last_status_code: 500, last_error: 'HTTP 500', next_attempt_at: new Date(fannedOutAt + first).toISOString() });
    expect(delivery.retry_until).toBe(new Date(fannedOutAt + limits.webhook_retry_window_ms).toISOString());
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, status_code: 500, outcome: 'retry', next_attempt_at: new Date(fannedOutAt + first).toISOString() });

    // Not due yet: nothing is sent.
    clock.advance(first - 1);
    expect(await runWorker()).toEqual({ delivered: 0, retried: 0, failed: 0 });
    expect(inbox.received).toHaveLength(1);
    // Due: the second attempt, then the delay doubles.
    clock.advance(1);
    expect(await runWorker()).toEqual({ delivered: 0, retried: 1, failed: 0 });
    [delivery] = await deliveries(merchant.key, endpoint.id);
    expect(delivery.attempts[1]).toMatchObject({ attempt: 2, status_code: 500, outcome: 'retry', next_attempt_at: new Date(clock.now().getTime() + 2 * first).toISOString() });
    clock.advance(2 * first);
    await runWorker();
    [delivery] = await deliveries(merchant.key, endpoint.id);
    expect(delivery.attempts[2].next_attempt_at).toBe(new Date(clock.now().getTime() + 4 * first).toISOString());

    // Keep failing: follow the schedule until the three days are over.
    let runs = 0;
    while (delivery.status === 'pending') {
      clock.set(delivery.next_attempt_at);
      await runWorker();
      [delivery] = await deliveries(merchant.key, endpoint.id);
      expect(++runs).toBeLessThan(limits.webhook_delivery_attempts_max);
    }
    expect(delivery.status).toBe('failed');
    expect(delivery.last_error).toBe('HTTP 500');
    expect(inbox.received).toHaveLength(delivery.attempt_count);
    expect(delivery.attempts).toHaveLength(delivery.attempt_count);
    expect(delivery.attempts.map((a: any) => a.attempt)).toEqual(delivery.attempts.map((_: unknown, i: number) => i + 1));
    expect(delivery.attempts.slice(0, -1).every((a: any) => a.outcome === 'retry')).toBe(true);
    const last = delivery.attempts.at(-1);
    expect(last).toMatchObject({ outcome: 'failed', next_attempt_at: null, started_at: delivery.retry_until });
    // Exponential: each scheduled delay at least as long as the one before it.
    const gaps = delivery.attempts.slice(1).map((a: any, i: number) => Date.parse(a.started_at) - Date.parse(delivery.attempts[i].started_at));
    for (let i = 1; i < gaps.length - 1; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(limits.webhook_retry_delay_max_ms);
    expect(Date.parse(last.started_at) - fannedOutAt).toBe(limits.webhook_retry_window_ms);
    // Every attempt carried the same event, each signed afresh with its own time.
    expect(new Set(inbox.received.map((r) => r.raw)).size).toBe(1);
    const stamp = (r: Received) => Number(/t=(\d+)/.exec(r.headers['clearway-signature'] as string)![1]);
    expect(stamp(inbox.received.at(-1)!)).toBe(Date.parse(delivery.retry_until) / 1000);
    clock.advance(24 * 3600 * 1000);
    expect(await runWorker()).toEqual({ delivered: 0, retried: 0, failed: 0 });

    // Manual redelivery: once more, now.
    inbox.status = 204;
    const redelivered = await t.request('POST', `/v1/webhook_deliveries/${delivery.id}/redeliver`, { key: merchant.key });
    expect(redelivered.status).toBe(200);
    expect(redelivered.body).toMatchObject({ id: delivery.id, status: 'pending', next_attempt_at: clock.now().toISOString() });
    expect(await runWorker()).toEqual({ delivered: 1, retried: 0, failed: 0 });
    const resent = inbox.received.at(-1)!;
    expect(resent.event.id).toBe(inbox.received[0]!.event.id);
    expect(verify(resent.raw, resent.headers['clearway-signature'] as string, endpoint.secret, { nowSeconds: nowSeconds() }).type).toBe('payment.succeeded');
    [delivery] = await deliveries(merchant.key, endpoint.id);
    expect(delivery).toMatchObject({ status: 'delivered', last_status_code: 204, delivered_at: clock.now().toISOString() });
    expect(delivery.attempts.at(-1)).toMatchObject({ status_code: 204, outcome: 'delivered' });
    // A delivered delivery can be sent again too: one attempt, no automatic retries after it.
    inbox.status = 503;
    await t.request('POST', `/v1/webhook_deliveries/${delivery.id}/redeliver`, { key: merchant.key });
    expect(await runWorker()).toEqual({ delivered: 0, retried: 0, failed: 1 });
    [delivery] = await deliveries(merchant.key, endpoint.id);
    expect(delivery).toMatchObject({ status: 'failed', last_status_code: 503 });
  });

  it('holds an endpoint\'s later events until the earlier one is delivered', async () => {
    const merchant = await t.newMerchant();
    const inbox = await receiver(500);
    const endpoint = (await createEndpoint(merchant.key, { url: inbox.url })).body;
    await pay(merchant.key);
    await runWorker();
    clock.advance(limits.webhook_retry_delay_first_ms);
    await runWorker();
    expect(inbox.received.map((r) => r.event.type)).toEqual(['order.created', 'order.created']);
    inbox.status = 200;
    clock.advance(limits.webhook_retry_delay_first_ms);
    await runWorker();
    expect(inbox.received.map((r) => r.event.type)).toEqual(['order.created', 'order.created', 'order.created', 'payment.created', 'payment.succeeded', 'order.paid']);
    expect((await deliveries(merchant.key, endpoint.id)).every((d) => d.status === 'delivered')).toBe(true);
  });

  it('stops sending to a disabled endpoint and refuses to redeliver its deliveries', async () => {
    const merchant = await t.newMerchant();
    const inbox = await receiver(500);
    const endpoint = (await createEndpoint(merchant.key, { url: inbox.url, events: ['order.created'] })).body;
    await pay(merchant.key);
    await runWorker();
    const disabled = await t.request('POST', `/v1/webhook_endpoints/${endpoint.id}/disable`, { key: merchant.key });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expect((await t.request('POST', `/v1/webhook_endpoints/${endpoint.id}/disable`, { key: merchant.key })).body.status).toBe('disabled');
    const [delivery] = await deliveries(merchant.key, endpoint.id);
    expect(delivery).toMatchObject({ status: 'failed', last_error: 'endpoint disabled' });
    clock.advance(limits.webhook_retry_delay_max_ms);
    await pay(merchant.key);
    await runWorker();
    expect(inbox.received).toHaveLength(1);
    const redeliver = await t.request('POST', `/v1/webhook_deliveries/${delivery.id}/redeliver`, { key: merchant.key });
    expect(redeliver.status).toBe(409);
    expect(redeliver.body.error.code).toBe('webhook_endpoint_disabled');
  });

  it('answers 404 for another merchant\'s endpoint or delivery, exactly like a missing one', async () => {
    const alice = await t.newMerchant('Alice');
    const bob = await t.newMerchant('Bob');
    const inbox = await receiver();
    const endpoint = (await createEndpoint(alice.key, { url: inbox.url, events: ['order.created'] })).body;
    await pay(alice.key);
    await runWorker();
    const [delivery] = await deliveries(alice.key, endpoint.id);
    const missingEndpoint = `whe_${'0'.repeat(24)}`;
    const missingDelivery = `whd_${'0'.repeat(24)}`;
    for (const [method, theirs, missing] of [
      ['GET', `/v1/webhook_endpoints/${endpoint.id}`, `/v1/webhook_endpoints/${missingEndpoint}`],
      ['GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`, `/v1/webhook_endpoints/${missingEndpoint}/deliveries`],
      ['POST', `/v1/webhook_endpoints/${endpoint.id}/disable`, `/v1/webhook_endpoints/${missingEndpoint}/disable`],
      ['POST', `/v1/webhook_deliveries/${delivery.id}/redeliver`, `/v1/webhook_deliveries/${missingDelivery}/redeliver`],
    ] as const) {
      const a = await t.request(method, theirs, { key: bob.key });
      const b = await t.request(method, missing, { key: bob.key });
      expect(a.status, theirs).toBe(404);
      expect(b.status, missing).toBe(404);
      expect({ ...a.body.error, request_id: null, message: null }).toEqual({ ...b.body.error, request_id: null, message: null });
    }
    expect((await t.request('GET', '/v1/webhook_endpoints', { key: bob.key })).body.data).toEqual([]);
    expect((await t.request('GET', `/v1/webhook_endpoints/${endpoint.id}`, { key: alice.key })).body.status).toBe('enabled');
  });

  // PostgreSQL only: PGlite is one connection with no real concurrency (DESIGN.md).
  it.runIf(store === 'postgres')('never sends one delivery twice when several workers run at once (PostgreSQL only)', async () => {
    const merchant = await t.newMerchant();
    const inboxes = [await receiver(), await receiver(), await receiver()];
    for (const inbox of inboxes) inbox.delayMs = 20;
    for (const inbox of inboxes) await createEndpoint(merchant.key, { url: inbox.url });
    for (let i = 0; i < 5; i++) await pay(merchant.key, 1000 + i);
    // Relays race too: one holds the lock, the others skip; nothing is fanned out twice.
    const relays = await Promise.all([relayOutboxEvents(t.app.ctx), relayOutboxEvents(t.app.ctx), relayOutboxEvents(t.app.ctx)]);
    expect(relays.reduce((sum, r) => sum + r.deliveries, 0)).toBeGreaterThanOrEqual(60);
    const totals = { delivered: 0, retried: 0, failed: 0 };
    for (let round = 0; round < 20 && totals.delivered < 60; round++) {
      const runs = await Promise.all(Array.from({ length: 4 }, () => deliverWebhooks(t.app.ctx)));
      for (const run of runs) for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += run[key];
    }
    expect(totals).toEqual({ delivered: 60, retried: 0, failed: 0 });
    const { rows } = await t.app.ctx.db.query<{ outbox: string[] }>(
      "SELECT array_agg(id ORDER BY seq) AS outbox FROM outbox_events WHERE merchant_id = $1", [merchant.id],
    );
    for (const inbox of inboxes) {
      const ids = inbox.received.map((r) => r.event.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      expect(ids).toEqual(rows[0]!.outbox); // and in outbox order
    }
    const attempts = await t.app.ctx.db.query<{ n: bigint }>('SELECT count(*) AS n FROM webhook_delivery_attempts WHERE merchant_id = $1', [merchant.id]);
    expect(Number(attempts.rows[0]!.n)).toBe(60);
  });
});
