// The outbox relay: takes unpublished outbox events in seq order and, in one transaction,
//   1. publishes them to the finance stream on NATS JetStream (when NATS_URL is set),
//   2. fans them out to merchant webhook deliveries (src/webhooks/relay.ts),
//   3. marks them published: published_at, and published_seq numbered in seq order from the
//      largest one so far.
// One relay runs at a time across all processes (a transaction-scoped advisory lock; the others
// skip their turn), so batches are published in order and published_seq order is commit order:
// the embedded stream consumers read `published_seq > position` and never skip an event.
//
// Step 1 is a network call inside the transaction, against STYLE rule 8, on purpose: the relay
// lock is what keeps the stream in order, and the transaction holds nothing else yet (no row
// lock is taken before the publish; only other relays wait, for at most the publish timeout).
// A crash or rollback after step 1 publishes the events again on the next run: JetStream drops
// them inside its duplicate window (Nats-Msg-Id = event id), consumers deduplicate after it.
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { publishEvents } from '../stream/nats.ts';
import { natsStreamOf } from '../stream/registry.ts';
import { fanOutToWebhooks } from '../webhooks/relay.ts';
import type { OutboxEventRow } from '../webhooks/domain/event.ts';

const relayLockKey = 727_002; // arbitrary, constant: the advisory lock of the outbox relay

export interface RelayResult {
  readonly events: number;
  readonly deliveries: number;
  /** Events JetStream stored (0 without NATS); re-published duplicates are not counted. */
  readonly streamed: number;
  /** False when another process held the relay lock. */
  readonly ran: boolean;
  /** The run stopped at its cap of batches, each full: events are likely left to relay. */
  readonly more: boolean;
}

export interface RelayOptions {
  /** Runs after the stream publish, before the events are marked published (tests: a crash there). */
  readonly afterStreamPublish?: () => Promise<void> | void;
}

/** Relays up to webhook_relay_batches_per_run_max batches of outbox events. */
export async function relayOutboxEvents(ctx: AppContext, options: RelayOptions = {}): Promise<RelayResult> {
  let events = 0;
  let deliveries = 0;
  let streamed = 0;
  let ran = true;
  for (let batch = 0; batch < limits.webhook_relay_batches_per_run_max; batch++) {
    const result = await relayBatch(ctx, options);
    if (!result.ran) {
      ran = batch > 0;
      break;
    }
    events += result.events;
    deliveries += result.deliveries;
    streamed += result.streamed;
    ctx.metrics.streamPublished.inc({ transport: 'outbox' }, result.events);
    if (natsStreamOf(ctx)) ctx.metrics.streamPublished.inc({ transport: 'nats' }, result.streamed);
    if (result.events < limits.webhook_relay_batch_max) break;
  }
  if (ran) await updateBacklogGauge(ctx);
  // Every batch full, up to the cap (a batch short of full ends the run early).
  const more = events === limits.webhook_relay_batch_max * limits.webhook_relay_batches_per_run_max;
  return { events, deliveries, streamed, ran, more };
}

async function relayBatch(ctx: AppContext, options: RelayOptions): Promise<Omit<RelayResult, 'more'>> {
  return ctx.db.transaction(async (tx) => {
    const { rows: lock } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [relayLockKey]);
    if (!lock[0]?.locked) return { events: 0, deliveries: 0, streamed: 0, ran: false };
    const { rows: events } = await tx.query<OutboxEventRow>(
      'SELECT seq, id, merchant_id, type, payload, created_at FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT $1',
      [limits.webhook_relay_batch_max],
    );
    if (events.length === 0) return { events: 0, deliveries: 0, streamed: 0, ran: true };
    const stream = natsStreamOf(ctx);
    let streamed = 0;
    if (stream) {
      const published = await publishEvents(stream, events);
      assert(published.stored + published.duplicates === events.length, 'JetStream acknowledged every event of the batch');
      streamed = published.stored;
      await options.afterStreamPublish?.();
    }
    const now = ctx.clock.now();
    const deliveries = await fanOutToWebhooks(tx, events, now);
    const { rows: top } = await tx.query<{ top: bigint | null }>('SELECT max(published_seq) AS top FROM outbox_events WHERE published_seq IS NOT NULL');
    const { rowCount } = await tx.query(
      `UPDATE outbox_events o SET published_at = $3, published_seq = $2::bigint + batch.position
       FROM unnest($1::bigint[]) WITH ORDINALITY AS batch(seq, position)
       WHERE o.seq = batch.seq AND o.published_at IS NULL`,
      [events.map((event) => String(event.seq)), top[0]?.top ?? 0n, now],
    );
    assert(rowCount === events.length, 'the relay publishes exactly the events it read (it holds the relay lock)');
    return { events: events.length, deliveries, streamed, ran: true };
  });
}

/** The relay's backlog: outbox events not yet published. */
async function updateBacklogGauge(ctx: AppContext): Promise<void> {
  const { rows } = await ctx.db.query<{ pending: bigint }>('SELECT count(*) AS pending FROM outbox_events WHERE published_at IS NULL');
  ctx.metrics.outboxBacklog.set(Number(rows[0]?.pending ?? 0n));
}
