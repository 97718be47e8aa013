// The finance stream's named maxima (STYLE.md rule 4). `checkStreamLimits` runs at start-up.
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';

export const streamLimits = Object.freeze({
  /** Events one consumer run applies in one transaction (embedded) or fetches at once (NATS). */
  consumer_batch_max: 500,
  /** Batches one consumer run applies before it yields to the next worker tick. */
  consumer_batches_per_run_max: 20,
  /** One JetStream publish must be acknowledged within this (the relay's transaction waits on it). */
  publish_ack_timeout_ms: 5_000,
  /** One JetStream fetch waits at most this long for its messages. */
  fetch_expires_ms: 1_000,
  /** A delivered JetStream message not acknowledged within this is delivered again. */
  consumer_ack_wait_ms: 30_000,
  /** JetStream drops a re-published event with the same id within this window (Nats-Msg-Id). */
  duplicate_window_ms: 120_000,
  /** Days one GET /v1/finance/daily may span. */
  daily_range_days_max: 366,
  /** Days back the consistency job compares (payments, refunds, ledger, projection). */
  consistency_window_days: 3,
  /** A succeeded payment or refund younger than this is not yet expected in the projection. */
  consistency_grace_ms: 5 * 60_000,
  /** Differences listed (and logged one by one) per check; all of them are counted. */
  consistency_details_max: 100,
  /** processed_events rows older than this are deleted (far beyond any redelivery). */
  processed_events_retention_days: 30,
  processed_events_purge_batch_max: 10_000,
});

export function checkStreamLimits(): void {
  assert(streamLimits.consumer_batch_max <= limits.webhook_relay_batch_max * 4, 'a consumer batch stays of the order of a relay batch');
  assert(streamLimits.publish_ack_timeout_ms * 2 <= streamLimits.duplicate_window_ms, 'a relay retry after a publish timeout falls inside the duplicate window');
  assert(streamLimits.fetch_expires_ms < streamLimits.consumer_ack_wait_ms, 'a fetch ends long before its messages would be redelivered');
  assert(streamLimits.processed_events_retention_days > streamLimits.consistency_window_days, 'dedup rows outlive the consistency window');
}
