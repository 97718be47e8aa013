// The event a merchant receives: {id, object: "event", type, created, data}. Pure.
import type { EventType } from '../../outbox/outbox.ts';
import { assert } from '../../kernel/errors.ts';

/** Every event type a merchant can subscribe to (the outbox's EventType, listed). */
export const webhookEventTypes = [
  'order.created', 'order.paid', 'order.cancelled',
  'payment.created', 'payment.requires_action', 'payment.succeeded', 'payment.failed', 'payment.canceled', 'payment.late_success',
  'payment.late_success_refunded', 'payment.late_success_refund_failed',
  'refund.created', 'refund.succeeded', 'refund.failed',
  'payout.created', 'payout.submitted', 'payout.paid', 'payout.failed', 'payout.returned',
] as const satisfies readonly EventType[];

// Compile-time check that the list is complete: a new EventType not listed here fails to build.
type Missing = Exclude<EventType, (typeof webhookEventTypes)[number]>;
const listIsComplete: [Missing] extends [never] ? true : Missing = true;
void listIsComplete;

export const allEvents = '*';

export function endpointWants(events: readonly string[], type: string): boolean {
  return events.includes(allEvents) || events.includes(type);
}

export interface OutboxEventRow {
  readonly seq: string | number | bigint;
  readonly id: string;
  readonly merchant_id: string;
  readonly type: string;
  readonly payload: unknown;
  readonly created_at: Date;
}

/** The body POSTed for one event: the same bytes on every attempt (they are stored). */
export function eventBody(event: OutboxEventRow): string {
  const created = Math.floor(event.created_at.getTime() / 1000);
  assert(Number.isSafeInteger(created), 'the event has a valid creation time');
  return JSON.stringify({ id: event.id, object: 'event', type: event.type, created, data: event.payload });
}
