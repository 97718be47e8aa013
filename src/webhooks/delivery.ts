// The webhook delivery worker. Each round claims due deliveries, POSTs them signed, and records
// each attempt; rounds repeat until nothing is due or the round limit is reached.
//
// Ordering: only the head of each endpoint's queue (its pending delivery with the lowest event
// seq) can be claimed, so event N+1 is not sent to an endpoint before event N is delivered or
// has failed for good; at most one POST per endpoint is in flight across all processes.
//
// Claiming is safe in several processes at once: FOR UPDATE SKIP LOCKED, then a lease
// (locked_until) and attempt_count + 1 in the same transaction. attempt_count is the lease token:
// the outcome is recorded only if it is unchanged, and the attempt log's primary key
// (delivery_id, attempt) refuses a second row for the same attempt. The lease outlasts the POST
// timeout (checked at start-up), so a live worker never loses its claim mid-POST.
import { nextDeliveryStatus, type DeliveryEvent } from './domain/delivery-state.ts';
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import { nextRetry } from './domain/retry-schedule.ts';
import { signatureHeader, signatureHeaderName } from './domain/signature.ts';
import { postWebhook, type PostResult } from './post.ts';
import type { DeliveryRow } from './repository.ts';
import { relayOutboxEvents } from './relay.ts';

interface ClaimedDelivery extends DeliveryRow {
  readonly url: string;
  readonly secret: string;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

export interface DeliveryRunResult {
  readonly delivered: number;
  readonly retried: number;
  readonly failed: number;
}

export interface DeliveryOptions {
  /** [0, 1) for the retry jitter (tests pin it). */
  readonly random?: () => number;
}

export async function deliverWebhooks(ctx: AppContext, options: DeliveryOptions = {}): Promise<DeliveryRunResult> {
  const counts = { delivered: 0, retry: 0, failed: 0 };
  for (let round = 0; round < limits.webhook_delivery_rounds_per_run_max; round++) {
    const claimed = await claimDue(ctx);
    if (claimed.length === 0) break;
    const outcomes = await Promise.all(claimed.map((delivery) => attemptDelivery(ctx, delivery, options.random ?? Math.random)));
    for (const outcome of outcomes) counts[outcome]++;
  }
  await updateBacklogGauge(ctx);
  return { delivered: counts.delivered, retried: counts.retry, failed: counts.failed };
}

async function claimDue(ctx: AppContext): Promise<ClaimedDelivery[]> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    // The conditions on d are repeated outside the CTE: after waiting on a row lock, PostgreSQL
    // re-checks them against the newest row version (a lease another worker just took).
    const { rows } = await tx.query<{ id: string }>(
      `WITH heads AS (
         SELECT DISTINCT ON (endpoint_id) id FROM webhook_deliveries WHERE status = 'pending' ORDER BY endpoint_id, event_seq
       )
       SELECT d.id FROM webhook_deliveries d
       WHERE d.id IN (SELECT id FROM heads)
         AND d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1)
       ORDER BY d.next_attempt_at, d.event_seq
       LIMIT $2
       FOR UPDATE OF d SKIP LOCKED`,
      [now, limits.webhook_delivery_batch_max],
    );
    if (rows.length === 0) return [];
    const { rows: claimed } = await tx.query<ClaimedDelivery>(
      `UPDATE webhook_deliveries d SET locked_until = $2, attempt_count = d.attempt_count + 1, updated_at = $3
       FROM webhook_endpoints e
       WHERE d.id = ANY($1::text[]) AND e.id = d.endpoint_id
       RETURNING d.*, e.url, e.secret`,
      [rows.map((row) => row.id), new Date(now.getTime() + limits.webhook_delivery_lease_ms), now],
    );
    assert(claimed.length === rows.length, 'every claimed delivery has its endpoint');
    return claimed;
  });
}

async function attemptDelivery(ctx: AppContext, delivery: ClaimedDelivery, random: () => number): Promise<AttemptOutcome> {
  assert(delivery.status === 'pending' && delivery.attempt_count >= 1, 'a claimed delivery is pending and counts its attempt');
  const startedAt = ctx.clock.now();
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const result = await postWebhook(delivery.url, delivery.body, {
    [signatureHeaderName]: signatureHeader(delivery.secret, timestamp, delivery.body),
    'Clearway-Event-Id': delivery.event_id,
    'Clearway-Delivery-Id': delivery.id,
  });
  const succeeded = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const now = ctx.clock.now();
  const retry = succeeded ? null : nextRetry({ attempts: delivery.attempt_count, now, retryUntil: delivery.retry_until, random: random() });
  const outcome: AttemptOutcome = succeeded ? 'delivered' : retry?.kind === 'retry' ? 'retry' : 'failed';
  const nextAttemptAt = retry?.kind === 'retry' ? retry.at : null;
  await recordAttempt(ctx, delivery, startedAt, result, outcome, nextAttemptAt);
  ctx.metrics.webhookDeliveries.inc({ outcome });
  return outcome;
}

const attemptEvents = { delivered: 'attempt_delivered', retry: 'attempt_retry', failed: 'attempt_exhausted' } as const satisfies Record<AttemptOutcome, DeliveryEvent>;

async function recordAttempt(
  ctx: AppContext, delivery: ClaimedDelivery, startedAt: Date, result: PostResult, outcome: AttemptOutcome, nextAttemptAt: Date | null,
): Promise<void> {
  assert((outcome === 'retry') === (nextAttemptAt !== null), 'only a retry has a next attempt');
  const error = result.error ?? (outcome === 'delivered' ? null : `HTTP ${result.statusCode}`);
  const errorText = error === null ? null : error.slice(0, limits.webhook_log_text_length_max);
  await ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    await tx.query(
      `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, merchant_id, started_at, duration_ms, status_code, error, outcome, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
      [delivery.id, delivery.attempt_count, delivery.merchant_id, startedAt, result.durationMs, result.statusCode, errorText, outcome, nextAttemptAt],
    );
    // Guarded by the lease token: a worker that lost its claim changes nothing.
    await tx.query(
      `UPDATE webhook_deliveries
       SET status = $3, next_attempt_at = COALESCE($4, next_attempt_at), locked_until = NULL, last_status_code = $5, last_error = $6,
           delivered_at = CASE WHEN $3 = 'delivered' THEN $7::timestamptz ELSE NULL END, updated_at = $7
       WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
      [delivery.id, delivery.attempt_count, nextDeliveryStatus('pending', attemptEvents[outcome]), nextAttemptAt, result.statusCode, errorText, now],
    );
  });
}

async function updateBacklogGauge(ctx: AppContext): Promise<void> {
  const { rows } = await ctx.db.query<{ pending: bigint }>("SELECT count(*) AS pending FROM webhook_deliveries WHERE status = 'pending'");
  ctx.metrics.webhookBacklog.set(Number(rows[0]?.pending ?? 0n));
}

/** The whole pipeline once: fan out the outbox, then deliver (tests and `clearway` one-shots). */
export async function runWebhooksOnce(ctx: AppContext, options: DeliveryOptions = {}): Promise<DeliveryRunResult> {
  await relayOutboxEvents(ctx);
  return deliverWebhooks(ctx, options);
}
