// The outbox relay: turns outbox events into webhook deliveries, one per matching enabled
// endpoint of the event's merchant, and marks the events published (published_at), all in one
// transaction. One relay runs at a time across all processes (a transaction-scoped advisory
// lock; the others skip their turn), so deliveries are created in outbox seq order.
//
// Only endpoints that existed when the event happened receive it (no history for a new endpoint).
// A future publisher to the finance stream belongs in this same step, before published_at is set.
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { endpointWants, eventBody, type OutboxEventRow } from './domain/event.ts';

const relayLockKey = 727_002; // arbitrary, constant: the advisory lock of the outbox relay
const insertChunkRows = 500; // 11 parameters a row, far below PostgreSQL's 65,535

interface RelayEndpoint {
  readonly id: string;
  readonly merchant_id: string;
  readonly events: string[];
  readonly created_at: Date;
}

export interface RelayResult {
  readonly events: number;
  readonly deliveries: number;
  /** False when another process held the relay lock. */
  readonly ran: boolean;
}

/** Relays up to webhook_relay_batches_per_run_max batches of outbox events. */
export async function relayOutboxEvents(ctx: AppContext): Promise<RelayResult> {
  let events = 0;
  let deliveries = 0;
  for (let batch = 0; batch < limits.webhook_relay_batches_per_run_max; batch++) {
    const result = await relayBatch(ctx);
    if (!result.ran) return { events, deliveries, ran: batch > 0 };
    events += result.events;
    deliveries += result.deliveries;
    if (result.events < limits.webhook_relay_batch_max) break;
  }
  return { events, deliveries, ran: true };
}

async function relayBatch(ctx: AppContext): Promise<RelayResult> {
  return ctx.db.transaction(async (tx) => {
    const { rows: lock } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [relayLockKey]);
    if (!lock[0]?.locked) return { events: 0, deliveries: 0, ran: false };
    const { rows: events } = await tx.query<OutboxEventRow>(
      'SELECT seq, id, merchant_id, type, payload, created_at FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT $1',
      [limits.webhook_relay_batch_max],
    );
    if (events.length === 0) return { events: 0, deliveries: 0, ran: true };
    const now = ctx.clock.now();
    const endpoints = await enabledEndpoints(tx, [...new Set(events.map((event) => event.merchant_id))]);
    const rows: unknown[][] = [];
    for (const event of events) {
      for (const endpoint of endpoints.get(event.merchant_id) ?? []) {
        if (endpoint.created_at.getTime() > event.created_at.getTime() || !endpointWants(endpoint.events, event.type)) continue;
        const retryUntil = new Date(now.getTime() + limits.webhook_retry_window_ms);
        rows.push([newId('webhook_delivery'), event.merchant_id, endpoint.id, event.id, String(event.seq), event.type, eventBody(event), now, retryUntil, now, now]);
      }
    }
    let inserted = 0;
    for (let start = 0; start < rows.length; start += insertChunkRows) inserted += await insertDeliveries(tx, rows.slice(start, start + insertChunkRows));
    const { rowCount } = await tx.query('UPDATE outbox_events SET published_at = $2 WHERE seq = ANY($1::bigint[]) AND published_at IS NULL', [
      events.map((event) => String(event.seq)), now,
    ]);
    assert(rowCount === events.length, 'the relay publishes exactly the events it read (it holds the relay lock)');
    return { events: events.length, deliveries: inserted, ran: true };
  });
}

/** Enabled endpoints of these merchants, share-locked so that a concurrent disable waits for this fan-out. */
async function enabledEndpoints(tx: Queryable, merchantIds: readonly string[]): Promise<Map<string, RelayEndpoint[]>> {
  const { rows } = await tx.query<RelayEndpoint>(
    "SELECT id, merchant_id, events, created_at FROM webhook_endpoints WHERE merchant_id = ANY($1::text[]) AND status = 'enabled' ORDER BY id FOR SHARE",
    [merchantIds],
  );
  const byMerchant = new Map<string, RelayEndpoint[]>();
  for (const row of rows) byMerchant.set(row.merchant_id, [...(byMerchant.get(row.merchant_id) ?? []), row]);
  return byMerchant;
}

async function insertDeliveries(tx: Queryable, rows: readonly unknown[][]): Promise<number> {
  if (rows.length === 0) return 0;
  const values: unknown[] = [];
  const tuples = rows.map((row, index) => {
    assert(row.length === 11, 'a delivery row has 11 columns');
    values.push(...row);
    const b = index * 11;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::bigint, $${b + 6}, $${b + 7}, 'pending', $${b + 8}::timestamptz, $${b + 9}::timestamptz, $${b + 10}::timestamptz, $${b + 11}::timestamptz)`;
  });
  const { rowCount } = await tx.query(
    `INSERT INTO webhook_deliveries (id, merchant_id, endpoint_id, event_id, event_seq, event_type, body, status, next_attempt_at, retry_until, created_at, updated_at)
     VALUES ${tuples.join(', ')} ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
    values,
  );
  return rowCount;
}
