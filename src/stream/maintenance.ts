// The periodic finance job: the consistency check, then the purge of old dedup rows.
import type { AppContext } from '../http/context.ts';
import { checkFinanceConsistency, type ConsistencyReport } from './consistency.ts';
import { streamLimits } from './limits.ts';

export async function runFinanceConsistency(ctx: AppContext): Promise<ConsistencyReport> {
  const report = await checkFinanceConsistency(ctx);
  await purgeProcessedEvents(ctx);
  return report;
}

/** Deletes dedup rows older than processed_events_retention_days (one bounded batch per run). */
export async function purgeProcessedEvents(ctx: AppContext): Promise<number> {
  const before = new Date(ctx.clock.now().getTime() - streamLimits.processed_events_retention_days * 86_400_000);
  const { rowCount } = await ctx.db.query(
    `DELETE FROM processed_events WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM processed_events WHERE processed_at < $1 LIMIT $2)`,
    [before, streamLimits.processed_events_purge_batch_max],
  );
  return rowCount;
}
