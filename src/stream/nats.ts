// The finance stream on NATS JetStream (NATS_URL set): one stream holding every outbox event,
// subject `<prefix>.<merchant_id>` (default clearway.events.mch_...), message id = event id.
//
// Publishing (called by the outbox relay, which holds the relay lock, before it marks the events
// published). Events are published pipelined, in outbox order, each one carrying
// Nats-Expected-Last-Msg-Id = the id of the event before it: if one is not stored (a timeout,
// a broken connection), JetStream refuses every later one of the batch instead of storing it out
// of order. The first event of a batch carries no expectation (the previous batch was fully
// acknowledged). A re-published event inside the duplicate window is acknowledged as a duplicate
// and not stored again; since a duplicate leaves the stream's last id unchanged, the pipelined
// chain then fails, and the batch is published again one event at a time (each acknowledged
// before the next is sent, which keeps order without the chain). Outside the window the stream
// holds the event twice and consumers deduplicate by id.
//
// Consuming: a durable pull consumer with explicit acks; a batch is applied in one database
// transaction (with its dedup rows) and acknowledged after the commit, so a crash between the
// two redelivers events the consumer then recognises. max_ack_pending is one batch, so across
// processes only one batch is out at a time (events are applied in stream order; after a crash
// mid-batch its redelivered events may come after newer ones, which the projection's sums do
// not mind).
import {
  AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, connect, headers, nanos,
  type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection, type PubAck,
} from 'nats';
import { assert } from '../kernel/errors.ts';
import type { OutboxEventRow } from '../webhooks/domain/event.ts';
import type { StreamEvent } from './domain/finance-event.ts';
import { streamLimits } from './limits.ts';

export const defaultSubjectPrefix = 'clearway.events';
const subjectTokenPattern = /^[A-Za-z0-9_-]{1,128}$/;
const subjectPrefixPattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

export interface NatsStreamOptions {
  readonly url: string;
  /** Subjects are `<prefix>.<merchant_id>`; the stream's name is the prefix in capitals, dots as underscores. */
  readonly subjectPrefix?: string;
  readonly duplicateWindowMs?: number;
  readonly name?: string;
}

export interface NatsStream {
  readonly connection: NatsConnection;
  readonly jetstream: JetStreamClient;
  readonly manager: JetStreamManager;
  readonly streamName: string;
  readonly subjectPrefix: string;
  close(): Promise<void>;
}

/** An outbox event as the relay publishes it. */
export type PublishableEvent = OutboxEventRow;

export function streamNameOf(subjectPrefix: string): string {
  return subjectPrefix.toUpperCase().replaceAll('.', '_');
}

/** Connects and makes sure the stream exists (created with its subjects and duplicate window when missing). */
export async function openNatsStream(options: NatsStreamOptions): Promise<NatsStream> {
  const subjectPrefix = options.subjectPrefix ?? defaultSubjectPrefix;
  assert(subjectPrefixPattern.test(subjectPrefix), `a NATS subject prefix is dot-separated lowercase words, got ${subjectPrefix}`);
  const streamName = streamNameOf(subjectPrefix);
  const connection = await connect({ servers: options.url, name: options.name ?? 'clearway', maxReconnectAttempts: -1 });
  try {
    const manager = await connection.jetstreamManager();
    const exists = await manager.streams.info(streamName).then(() => true, (error: unknown) => (isNotFound(error) ? false : Promise.reject(error)));
    if (!exists) {
      await manager.streams.add({
        name: streamName,
        subjects: [`${subjectPrefix}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(options.duplicateWindowMs ?? streamLimits.duplicate_window_ms),
      });
    }
    return { connection, jetstream: connection.jetstream(), manager, streamName, subjectPrefix, close: () => connection.drain() };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  const api = (error as { api_error?: { err_code?: number } } | null)?.api_error;
  return api?.err_code === 10059 || /stream not found/i.test(String((error as Error)?.message));
}

export function subjectOf(stream: NatsStream, merchantId: string): string {
  assert(subjectTokenPattern.test(merchantId), `a merchant id is one NATS subject token, got ${merchantId}`);
  return `${stream.subjectPrefix}.${merchantId}`;
}

function messageBody(event: PublishableEvent): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ id: event.id, type: event.type, merchant_id: event.merchant_id, created_at: event.created_at.toISOString(), outbox_seq: String(event.seq), data: event.payload }),
  );
}

export interface PublishResult {
  readonly stored: number;
  readonly duplicates: number;
  /** True when the pipelined chain broke and the batch was published again one by one. */
  readonly sequential: boolean;
}

/** Publishes the events in order; resolves when JetStream has acknowledged every one of them. */
export async function publishEvents(stream: NatsStream, events: readonly PublishableEvent[]): Promise<PublishResult> {
  if (events.length === 0) return { stored: 0, duplicates: 0, sequential: false };
  try {
    const acks = await Promise.all(events.map((event, index) => publishOne(stream, event, index === 0 ? null : events[index - 1]!.id)));
    return countAcks(acks, false);
  } catch {
    const acks: PubAck[] = [];
    for (const event of events) acks.push(await publishOne(stream, event, null));
    return countAcks(acks, true);
  }
}

function publishOne(stream: NatsStream, event: PublishableEvent, previousId: string | null): Promise<PubAck> {
  const header = headers();
  header.set('Clearway-Event-Type', event.type);
  return stream.jetstream.publish(subjectOf(stream, event.merchant_id), messageBody(event), {
    msgID: event.id,
    timeout: streamLimits.publish_ack_timeout_ms,
    headers: header,
    ...(previousId === null ? {} : { expect: { lastMsgID: previousId } }),
  });
}

function countAcks(acks: readonly PubAck[], sequential: boolean): PublishResult {
  const duplicates = acks.filter((ack) => ack.duplicate).length;
  return { stored: acks.length - duplicates, duplicates, sequential };
}

export interface DurableConsumerOptions {
  readonly ackWaitMs?: number;
}

/** Creates the durable consumer when missing (explicit acks, from the stream's first event). */
export async function ensureDurableConsumer(stream: NatsStream, durable: string, options: DurableConsumerOptions = {}): Promise<void> {
  const existing = await stream.manager.consumers.info(stream.streamName, durable).catch(() => null);
  if (existing) return;
  await stream.manager.consumers.add(stream.streamName, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(options.ackWaitMs ?? streamLimits.consumer_ack_wait_ms),
    max_ack_pending: streamLimits.consumer_batch_max,
  });
}

export interface FetchedBatch {
  readonly events: StreamEvent[];
  readonly messages: JsMsg[];
  /** Events in the stream not yet delivered to this consumer, when the batch was asked for. */
  readonly pendingBefore: number;
}

/** The next batch of the durable consumer (empty when nothing is pending). */
export async function fetchBatch(stream: NatsStream, durable: string): Promise<FetchedBatch> {
  const consumer = await stream.jetstream.consumers.get(stream.streamName, durable);
  const info = await consumer.info(true);
  const pending = info.num_pending;
  if (pending === 0 && info.num_ack_pending === 0) return { events: [], messages: [], pendingBefore: 0 };
  const wanted = Math.max(1, Math.min(pending, streamLimits.consumer_batch_max));
  const messages: JsMsg[] = [];
  for await (const message of await consumer.fetch({ max_messages: wanted, expires: streamLimits.fetch_expires_ms })) messages.push(message);
  return { events: messages.map(eventOf), messages, pendingBefore: pending };
}

function eventOf(message: JsMsg): StreamEvent {
  const body = message.json<{ id: string; type: string; merchant_id: string; created_at: string; data: unknown }>();
  assert(typeof body.id === 'string' && typeof body.type === 'string' && typeof body.merchant_id === 'string', 'a stream message carries an event');
  const createdAt = new Date(body.created_at);
  assert(Number.isFinite(createdAt.getTime()), 'a stream message carries its event time');
  return { id: body.id, type: body.type, merchant_id: body.merchant_id, payload: body.data, created_at: createdAt };
}

/** Acknowledges the messages and waits until the server has them. */
export async function acknowledge(stream: NatsStream, messages: readonly JsMsg[]): Promise<void> {
  for (const message of messages) message.ack();
  await stream.connection.flush();
}

/** Messages of the stream not yet delivered to the durable consumer plus those delivered but not acknowledged. */
export async function consumerLag(stream: NatsStream, durable: string): Promise<number> {
  const info = await stream.manager.consumers.info(stream.streamName, durable);
  return info.num_pending + info.num_ack_pending;
}
