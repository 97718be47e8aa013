// The finance stream on NATS JetStream, against a real nats-server (npm test starts one and sets
// TEST_NATS_URL; run alone, this suite starts its own). Skipped only when nats-server is absent.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayOutboxEvents } from '../../src/outbox/relay.ts';
import { consumeNats, runFinanceConsumer } from '../../src/stream/consumer.ts';
import { openNatsStream, type NatsStream } from '../../src/stream/nats.ts';
import { financeConsumerName } from '../../src/stream/projection.ts';
import { natsStreamOf } from '../../src/stream/registry.ts';
import { natsServerBinary, startNatsServer, type NatsServer } from '../support/nats-server.ts';
import { startTestApp, stores, type TestApp } from '../support/harness.ts';

const available = Boolean(process.env.TEST_NATS_URL) || natsServerBinary() !== null;
const title = available ? 'finance stream on NATS JetStream, on %s' : 'finance stream on NATS JetStream, on %s (skipped: nats-server is not installed and TEST_NATS_URL is unset)';

describe.skipIf(!available).each(stores)(title, (store) => {
  let server: NatsServer | undefined;
  let url: string;
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    if (process.env.TEST_NATS_URL) url = process.env.TEST_NATS_URL;
    else {
      server = await startNatsServer();
      url = server.url;
    }
  });
  afterAll(async () => {
    for (const thing of opened.reverse()) await thing.close().catch(() => {});
    await server?.stop();
  });

  const newPrefix = () => `clearway.test_${randomBytes(5).toString('hex')}`;

  async function appOn(prefix: string): Promise<{ t: TestApp; merchant: { id: string; key: string } }> {
    const t = await startTestApp(store, { env: { NATS_URL: url, CLEARWAY_NATS_SUBJECT_PREFIX: prefix } });
    opened.push(t);
    return { t, merchant: await t.newMerchant() };
  }

  async function streamOn(prefix: string, duplicateWindowMs?: number): Promise<NatsStream> {
    const stream = await openNatsStream({ url, subjectPrefix: prefix, ...(duplicateWindowMs === undefined ? {} : { duplicateWindowMs }) });
    opened.push(stream);
    return stream;
  }

  async function pay(t: TestApp, key: string, amount: number): Promise<string> {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency: 'USD', items: [{ name: 'Tea', unit_amount: amount, quantity: 1 }] } });
    const payment = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(payment.body.status).toBe('succeeded');
    return payment.body.id;
  }

  async function usdDay(t: TestApp, key: string): Promise<any> {
    const today = t.app.ctx.clock.now().toISOString().slice(0, 10);
    const reply = await t.request('GET', `/v1/finance/daily?from=${today}&to=${today}`, { key });
    return reply.body.data.find((day: any) => day.currency === 'USD');
  }

  it('the relay publishes every outbox event to JetStream, one subject per merchant, before marking it published', async () => {
    const prefix = newPrefix();
    const { t, merchant } = await appOn(prefix);
    await pay(t, merchant.key, 1200);
    const relayed = await relayOutboxEvents(t.app.ctx);
    expect(relayed.events).toBeGreaterThan(0);
    expect(relayed.streamed).toBe(relayed.events);
    const stream = natsStreamOf(t.app.ctx)!;
    const info = await stream.manager.streams.info(stream.streamName);
    expect(info.state.messages).toBe(relayed.events);
    const first = await stream.manager.streams.getMessage(stream.streamName, { seq: 1 });
    expect(first.subject).toBe(`${prefix}.${merchant.id}`);
    expect(first.header.get('Nats-Msg-Id')).toMatch(/^evt_/);
    const { rows } = await t.app.ctx.db.query<{ unpublished: bigint }>('SELECT count(*) AS unpublished FROM outbox_events WHERE published_at IS NULL');
    expect(rows[0]!.unpublished).toBe(0n);
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/clearway_stream_events_published_total\{transport="nats"\} [1-9]/);
  });

  it('a durable consumer survives a restart: nothing lost, nothing counted twice', async () => {
    const prefix = newPrefix();
    const { t, merchant } = await appOn(prefix);
    await pay(t, merchant.key, 1000);
    await pay(t, merchant.key, 2000);
    await relayOutboxEvents(t.app.ctx);
    const firstConsumer = await streamOn(prefix);
    expect(await consumeNats(t.app.ctx, firstConsumer)).toMatchObject({ applied: 2, duplicates: 0, lag: 0 });
    await firstConsumer.close(); // the consumer stops

    for (const amount of [300, 400, 500]) await pay(t, merchant.key, amount);
    await relayOutboxEvents(t.app.ctx);

    const secondConsumer = await streamOn(prefix); // and starts again, on a new connection
    expect(await consumeNats(t.app.ctx, secondConsumer)).toMatchObject({ applied: 3, duplicates: 0, lag: 0 });
    expect(await usdDay(t, merchant.key)).toMatchObject({ payments_count: 5, gross_amount: 4200 });
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain(`clearway_stream_consumer_lag_events{consumer="${financeConsumerName}"} 0`);
  });

  it('a crash between publishing and marking published: JetStream drops the re-publish inside its window, the consumer dedups after it', async () => {
    const prefix = newPrefix();
    await streamOn(prefix, 300); // the stream exists before the app starts, with a short duplicate window
    const { t, merchant } = await appOn(prefix);
    await pay(t, merchant.key, 700);
    const crash = () => {
      throw new Error('crash after publish');
    };
    await expect(relayOutboxEvents(t.app.ctx, { afterStreamPublish: crash })).rejects.toThrow('crash after publish');
    const again = await relayOutboxEvents(t.app.ctx, { afterStreamPublish: crash }).catch((error: Error) => error);
    expect(again).toBeInstanceOf(Error);
    const stream = natsStreamOf(t.app.ctx)!;
    const storedOnce = (await stream.manager.streams.info(stream.streamName)).state.messages;
    expect(storedOnce).toBeGreaterThan(0); // the second publish, inside the window, stored nothing new
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the duplicate window
    const relayed = await relayOutboxEvents(t.app.ctx);
    expect(relayed.streamed).toBe(relayed.events); // stored a second time
    expect(relayed.events).toBe(storedOnce);
    expect((await stream.manager.streams.info(stream.streamName)).state.messages).toBe(storedOnce * 2);

    const consumed = await runFinanceConsumer(t.app.ctx);
    expect(consumed).toMatchObject({ applied: 1, duplicates: 1, lag: 0 });
    expect(await usdDay(t, merchant.key)).toMatchObject({ payments_count: 1, gross_amount: 700 });
  });
});
