// The finance projection consumer's one step: apply a batch of stream events in the caller's
// transaction. Whatever delivers the events (the outbox reader, a JetStream consumer), this is
// where duplicates die: each money event is recorded in processed_events (consumer, event_id)
// in the same transaction as its projection rows, so an event delivered again finds its row and
// changes nothing. finance_entries has the event id as its key as well: a second line of
// defence that keeps the daily totals exact even if two consumers fed the same projection.
//
// Events that carry no money (order.created, payment.created, ...) are counted and skipped
// without a dedup row: applying them twice does nothing either.
import type { Queryable } from '../db/database.ts';
import { assert } from '../kernel/errors.ts';
import {
  dailyColumns, dailyIncrements, financeEventKinds, interpretFinanceEvent, paymentIdNeedingCurrency,
  zeroDailyTotals, type DailyColumn, type FinanceFact, type FinanceWarning, type SkipReason, type StreamEvent,
} from './domain/finance-event.ts';
import { streamLimits } from './limits.ts';

/** The consumer that keeps finance_entries and finance_daily. */
export const financeConsumerName = 'finance_projection';

export interface ApplyResult {
  readonly applied: number;
  readonly duplicates: number;
  readonly ignored: number;
  readonly skipped: number;
  /** Every warning and skip reason, counted. */
  readonly notes: ReadonlyMap<FinanceWarning | SkipReason, number>;
}

export async function applyFinanceEvents(tx: Queryable, consumer: string, events: readonly StreamEvent[], now: Date): Promise<ApplyResult> {
  assert(events.length <= streamLimits.consumer_batch_max * 2, 'a consumer applies a bounded batch');
  const money = events.filter((event) => financeEventKinds[event.type] !== undefined);
  const fresh = await claimEvents(tx, consumer, money, now);
  const currencies = await paymentCurrencies(tx, fresh);
  const notes = new Map<FinanceWarning | SkipReason, number>();
  const note = (name: FinanceWarning | SkipReason): void => void notes.set(name, (notes.get(name) ?? 0) + 1);
  const facts: FinanceFact[] = [];
  let skipped = 0;
  for (const event of fresh) {
    const read = interpretFinanceEvent(event, (paymentId) => currencies.get(paymentId));
    assert(read.outcome !== 'ignored', 'only money events are claimed');
    if (read.outcome === 'skipped') {
      skipped++;
      note(read.reason);
      continue;
    }
    facts.push(read.fact);
    for (const warning of read.warnings) note(warning);
  }
  const inserted = await insertEntries(tx, facts, now);
  await addToDaily(tx, facts.filter((fact) => inserted.has(fact.eventId)), now);
  const duplicates = money.length - fresh.length + (facts.length - inserted.size);
  assert(inserted.size + skipped + duplicates === money.length, 'every money event is applied, skipped or a duplicate');
  return { applied: inserted.size, duplicates, ignored: events.length - money.length, skipped, notes };
}

/** Records the events as processed by `consumer`; returns those not processed before, in order, once each. */
async function claimEvents(tx: Queryable, consumer: string, events: readonly StreamEvent[], now: Date): Promise<StreamEvent[]> {
  if (events.length === 0) return [];
  const { rows } = await tx.query<{ event_id: string }>(
    `INSERT INTO processed_events (consumer, event_id, processed_at) SELECT $1, id, $3 FROM unnest($2::text[]) AS id
     ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id`,
    [consumer, events.map((event) => event.id), now],
  );
  const claimed = new Set(rows.map((row) => row.event_id));
  const seen = new Set<string>();
  return events.filter((event) => claimed.has(event.id) && !seen.has(event.id) && seen.add(event.id));
}

async function paymentCurrencies(tx: Queryable, events: readonly StreamEvent[]): Promise<Map<string, string>> {
  const ids = [...new Set(events.map(paymentIdNeedingCurrency).filter((id): id is string => id !== null))];
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{ id: string; currency: string }>('SELECT id, currency FROM payments WHERE id = ANY($1::text[])', [ids]);
  return new Map(rows.map((row) => [row.id, row.currency]));
}

async function insertEntries(tx: Queryable, facts: readonly FinanceFact[], now: Date): Promise<Set<string>> {
  if (facts.length === 0) return new Set();
  const { rows } = await tx.query<{ event_id: string }>(
    `INSERT INTO finance_entries (event_id, merchant_id, currency, day, kind, object_id, amount, fee_amount, channel_fee_amount, journal_entry_id, created_at)
     SELECT e.*, $11::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[]) AS e
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [
      facts.map((f) => f.eventId), facts.map((f) => f.merchantId), facts.map((f) => f.currency), facts.map((f) => f.day), facts.map((f) => f.kind),
      facts.map((f) => f.objectId), facts.map((f) => String(f.amount)), facts.map((f) => String(f.fee)), facts.map((f) => String(f.channelFee)),
      facts.map((f) => f.journalEntryId), now,
    ],
  );
  return new Set(rows.map((row) => row.event_id));
}

/** Adds the facts to their days' rows, one upsert per (merchant, currency, day), in key order (no deadlock between two consumers). */
async function addToDaily(tx: Queryable, facts: readonly FinanceFact[], now: Date): Promise<void> {
  if (facts.length === 0) return;
  const totals = new Map<string, { merchantId: string; currency: string; day: string; sums: Record<DailyColumn, bigint> }>();
  for (const fact of facts) {
    const key = `${fact.merchantId}\u0000${fact.currency}\u0000${fact.day}`;
    const row = totals.get(key) ?? { merchantId: fact.merchantId, currency: fact.currency, day: fact.day, sums: zeroDailyTotals() };
    const increments = dailyIncrements(fact);
    for (const column of dailyColumns) row.sums[column] += increments[column];
    totals.set(key, row);
  }
  const rows = [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
  const columns = dailyColumns.join(', ');
  const arrays = dailyColumns.map((_, index) => `$${index + 4}::bigint[]`).join(', ');
  await tx.query(
    `INSERT INTO finance_daily (merchant_id, currency, day, ${columns}, updated_at)
     SELECT d.*, $${dailyColumns.length + 4}::timestamptz FROM unnest($1::text[], $2::text[], $3::date[], ${arrays}) AS d
     ON CONFLICT (merchant_id, currency, day) DO UPDATE SET ${dailyColumns.map((c) => `${c} = finance_daily.${c} + EXCLUDED.${c}`).join(', ')}, updated_at = EXCLUDED.updated_at`,
    [rows.map((r) => r.merchantId), rows.map((r) => r.currency), rows.map((r) => r.day), ...dailyColumns.map((c) => rows.map((r) => String(r.sums[c]))), now],
  );
}
