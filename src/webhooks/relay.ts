// The webhook step of the outbox relay (src/outbox/relay.ts, which reads the events, holds the
// relay lock and marks the events published in the same transaction): one delivery per matching
// enabled endpoint of the event's merchant, with the exact body to send. Deliveries are created
// in outbox seq order because one relay runs at a time.
//
// Only endpoints that existed when the event happened receive it (no history for a new endpoint).
import type { Queryable } from '../db/database.ts';
import { assert } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { endpointWants, eventBody, type OutboxEventRow } from './domain/event.ts';

export { relayOutboxEvents, type RelayResult } from '../outbox/relay.ts';

const insertChunkRows = 500; // 11 parameters a row, far below PostgreSQL's 65,535

interface RelayEndpoint {
  readonly id: string;
  readonly merchant_id: string;
  readonly events: string[];
  readonly created_at: Date;
}

/** Creates the deliveries of these events (a replay creates nothing: unique per endpoint and event); returns how many. */
export async function fanOutToWebhooks(tx: Queryable, events: readonly OutboxEventRow[], now: Date): Promise<number> {
  if (events.length === 0) return 0;
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
  return inserted;
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
