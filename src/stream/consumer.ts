// The finance projection consumer, one run: reads what is new from the stream, applies it
// (src/stream/projection.ts) and records how far behind it is (the lag metric).
//
// - Embedded (no NATS_URL): reads the outbox table in published_seq order from its position in
//   stream_consumers. The position row is locked (SKIP LOCKED) for the batch, so one process at
//   a time consumes; position and projection change in one transaction.
// - NATS: a durable JetStream pull consumer; each batch is applied in one transaction, then
//   acknowledged.
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { financeEventKinds, type StreamEvent } from './domain/finance-event.ts';
import { streamLimits } from './limits.ts';
import { acknowledge, consumerLag, ensureDurableConsumer, fetchBatch, type NatsStream } from './nats.ts';
import { applyFinanceEvents, financeConsumerName, type ApplyResult } from './projection.ts';
import { natsStreamOf } from './registry.ts';

export interface ConsumeResult {
  readonly applied: number;
  readonly duplicates: number;
  readonly ignored: number;
  readonly skipped: number;
  /** Events still to read after this run. */
  readonly lag: number;
  /** False when another process was consuming (embedded). */
  readonly ran: boolean;
  /** The run stopped at its cap of batches with events left to read. */
  readonly more: boolean;
}

export async function runFinanceConsumer(ctx: AppContext, consumer = financeConsumerName): Promise<ConsumeResult> {
  const stream = natsStreamOf(ctx);
  return stream ? consumeNats(ctx, stream, consumer) : consumeOutbox(ctx, consumer);
}

function record(ctx: AppContext, consumer: string, result: ApplyResult): void {
  const consumed = ctx.metrics.streamConsumed;
  if (result.applied) consumed.inc({ consumer, outcome: 'applied' }, result.applied);
  if (result.duplicates) consumed.inc({ consumer, outcome: 'duplicate' }, result.duplicates);
  if (result.ignored) consumed.inc({ consumer, outcome: 'ignored' }, result.ignored);
  if (result.skipped) consumed.inc({ consumer, outcome: 'skipped' }, result.skipped);
  for (const [reason, count] of result.notes) ctx.metrics.financeEventNotes.inc({ reason }, count);
  if (result.skipped > 0) ctx.logger.warn({ consumer, notes: Object.fromEntries(result.notes) }, 'finance events skipped: a payload lacks what the projection needs');
}

function totals(results: readonly ApplyResult[], lag: number, ran: boolean, more: boolean): ConsumeResult {
  const add = (field: 'applied' | 'duplicates' | 'ignored' | 'skipped'): number => results.reduce((sum, r) => sum + r[field], 0);
  return { applied: add('applied'), duplicates: add('duplicates'), ignored: add('ignored'), skipped: add('skipped'), lag, ran, more };
}

const moneyEventTypes = Object.keys(financeEventKinds);

interface OutboxRow extends StreamEvent {
  readonly published_seq: bigint;
}

/** Embedded: consumes the outbox from this consumer's position. */
export async function consumeOutbox(ctx: AppContext, consumer = financeConsumerName): Promise<ConsumeResult> {
  const results: ApplyResult[] = [];
  let ran = true;
  let more = false;
  for (let batch = 0; batch < streamLimits.consumer_batches_per_run_max; batch++) {
    const step = await consumeOutboxBatch(ctx, consumer);
    if (step === null) {
      ran = batch > 0;
      break;
    }
    results.push(step.result);
    record(ctx, consumer, step.result);
    more = step.more;
    if (!step.more) break;
  }
  const lag = await outboxLag(ctx, consumer);
  ctx.metrics.streamConsumerLag.set({ consumer }, lag);
  return totals(results, lag, ran, more);
}

async function consumeOutboxBatch(ctx: AppContext, consumer: string): Promise<{ result: ApplyResult; more: boolean } | null> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    await tx.query('INSERT INTO stream_consumers (name, position, updated_at) VALUES ($1, 0, $2) ON CONFLICT (name) DO NOTHING', [consumer, now]);
    const { rows: held } = await tx.query<{ position: bigint }>('SELECT position FROM stream_consumers WHERE name = $1 FOR UPDATE SKIP LOCKED', [consumer]);
    if (held.length === 0) return null;
    const position = held[0]!.position;
    // Read the top first: every event at or below it has committed (published_seq order is
    // commit order), so events (position, top] are complete in the next statement's snapshot.
    const { rows: top } = await tx.query<{ top: bigint | null }>('SELECT max(published_seq) AS top FROM outbox_events WHERE published_seq IS NOT NULL');
    const upTo = top[0]?.top ?? 0n;
    // Only money events are read (the others would be parsed to be ignored); the position still
    // moves past everything up to `next`.
    const { rows } = await tx.query<OutboxRow>(
      `SELECT id, merchant_id, type, payload, created_at, published_seq FROM outbox_events
       WHERE published_seq > $1 AND published_seq <= $2 AND type = ANY($4::text[]) ORDER BY published_seq LIMIT $3`,
      [position, upTo, streamLimits.consumer_batch_max, moneyEventTypes],
    );
    const full = rows.length === streamLimits.consumer_batch_max;
    const next = full ? rows[rows.length - 1]!.published_seq : upTo;
    assert(next >= position, 'a consumer position only moves forward');
    assert(rows.every((row, index) => index === 0 || row.published_seq > rows[index - 1]!.published_seq), 'events are read in published_seq order');
    const applied = await applyFinanceEvents(tx, consumer, rows, now);
    // published_seq is dense (the relay numbers each batch on from the largest), so the events
    // passed over without being read are the rest of (position, next].
    const result = { ...applied, ignored: applied.ignored + Math.max(0, Number(next - position) - rows.length) };
    if (next !== position) await tx.query('UPDATE stream_consumers SET position = $2, updated_at = $3 WHERE name = $1', [consumer, next, now]);
    return { result, more: full };
  });
}

async function outboxLag(ctx: AppContext, consumer: string): Promise<number> {
  const { rows } = await ctx.db.query<{ lag: bigint }>(
    `SELECT coalesce((SELECT max(published_seq) FROM outbox_events WHERE published_seq IS NOT NULL), 0)
          - coalesce((SELECT position FROM stream_consumers WHERE name = $1), 0) AS lag`,
    [consumer],
  );
  return Number(rows[0]?.lag ?? 0n);
}

/** NATS: consumes the durable JetStream consumer named `consumer`. */
export async function consumeNats(ctx: AppContext, stream: NatsStream, consumer = financeConsumerName): Promise<ConsumeResult> {
  await ensureDurableConsumer(stream, consumer);
  const results: ApplyResult[] = [];
  let more = false;
  for (let batch = 0; batch < streamLimits.consumer_batches_per_run_max; batch++) {
    const fetched = await fetchBatch(stream, consumer);
    more = false;
    if (fetched.messages.length === 0) break;
    let result: ApplyResult;
    try {
      result = await ctx.db.transaction((tx) => applyFinanceEvents(tx, consumer, fetched.events, ctx.clock.now()));
    } catch (error) {
      // Nothing was applied: hand the batch back now (redelivered first) rather than after ack_wait.
      for (const message of fetched.messages) message.nak();
      throw error;
    }
    await acknowledge(stream, fetched.messages);
    results.push(result);
    record(ctx, consumer, result);
    more = fetched.pendingBefore > fetched.messages.length;
    if (!more) break;
  }
  const lag = await consumerLag(stream, consumer);
  ctx.metrics.streamConsumerLag.set({ consumer }, lag);
  return totals(results, lag, true, more);
}
