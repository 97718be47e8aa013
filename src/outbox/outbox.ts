import type { Queryable } from '../db/database.ts';
import { newId } from '../kernel/ids.ts';
import type { StatementBuilder } from '../db/statement.ts';

// Events are written to the outbox in the same transaction as the state change they describe.
// The relay (webhooks, finance stream) reads them from here.

export type EventType =
  | 'order.created'
  | 'order.paid'
  | 'order.cancelled'
  | 'payment.created'
  | 'payment.requires_action'
  | 'payment.succeeded'
  | 'payment.failed'
  | 'payment.canceled'
  | 'payment.late_success' // the channel captured money for a payment already final: to be refunded
  | 'payment.late_success_refunded' // that money went back to the payer
  | 'payment.late_success_refund_failed' // the channel refused to give it back: needs a person
  | 'refund.created'
  | 'refund.succeeded'
  | 'refund.failed'
  | 'payout.created'
  | 'payout.submitted'
  | 'payout.paid'
  | 'payout.failed'
  | 'payout.returned';

export interface OutboxEvent {
  readonly merchantId: string;
  readonly type: EventType;
  readonly objectId: string;
  readonly payload: unknown;
}

export async function appendEvents(tx: Queryable, events: readonly OutboxEvent[], now: Date): Promise<void> {
  if (events.length === 0) return;
  const values: unknown[] = [];
  const rows = events.map((event, index) => {
    values.push(newId('event'), event.merchantId, event.type, event.objectId, JSON.stringify(event.payload), now);
    const base = index * 6;
    return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}::jsonb, $${base + 6})`;
  });
  await tx.query(`INSERT INTO outbox_events (id, merchant_id, type, object_id, payload, created_at) VALUES ${rows.join(', ')}`, values);
}

/**
 * The outbox insert as a data-modifying CTE body for a guarded statement: the rows are written
 * only when `guard` (the name of an earlier CTE) returned a row.
 */
export function outboxInsertSql(statement: StatementBuilder, events: readonly OutboxEvent[], now: Date, guard: string): string | null {
  if (events.length === 0) return null;
  const rows = events.map(
    (event) =>
      `(${statement.bind(newId('event'))}::text, ${statement.bind(event.merchantId)}::text, ${statement.bind(event.type)}::text, ` +
      `${statement.bind(event.objectId)}::text, ${statement.bind(JSON.stringify(event.payload))}::jsonb, ${statement.bind(now)}::timestamptz)`,
  );
  return `INSERT INTO outbox_events (id, merchant_id, type, object_id, payload, created_at)
    SELECT v.* FROM (VALUES ${rows.join(', ')}) AS v WHERE EXISTS (SELECT 1 FROM ${guard}) RETURNING 1`;
}

/** One event of a set-based statement, with the time it was written and the key of the input row it belongs to. */
export interface KeyedEvent {
  readonly event: OutboxEvent;
  readonly now: Date;
  readonly key: string;
}

/**
 * The outbox insert of a set-based statement, as a data-modifying CTE body: each event is written
 * only when `guard` (an earlier CTE) returned its key in `guardKey`; in the order given.
 */
export function outboxSetInsertSql(s: StatementBuilder, events: readonly KeyedEvent[], guard: string, guardKey: string): string {
  const columns = [
    s.column(events, 'text', () => newId('event')), s.column(events, 'text', ({ event }) => event.merchantId),
    s.column(events, 'text', ({ event }) => event.type), s.column(events, 'text', ({ event }) => event.objectId),
    s.column(events, 'text', ({ event }) => JSON.stringify(event.payload)), s.column(events, 'timestamptz', ({ now }) => now),
    s.column(events, 'text', ({ key }) => key),
  ];
  return `INSERT INTO outbox_events (id, merchant_id, type, object_id, payload, created_at)
      SELECT e.id, e.merchant_id, e.type, e.object_id, e.payload::jsonb, e.created_at
        FROM unnest(${columns.join(', ')}) WITH ORDINALITY AS e(id, merchant_id, type, object_id, payload, created_at, key, position)
        JOIN ${guard} g ON g.${guardKey} = e.key
      ORDER BY e.position RETURNING 1`;
}
