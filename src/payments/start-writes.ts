// Writing payment starts: starts submitted while earlier ones are being written are written
// together by one set-based statement (start-set.ts; src/db/group-commit.ts), one round trip and
// one commit for the batch. A start alone is the guarded statement of repository.ts, and so is
// each start of a batch naming one order or key twice, or of a batch whose statement failed
// (one statement is atomic: it wrote nothing). Nothing here calls a channel: a start only
// records the intent.
import { GroupsPerDatabase } from '../db/group-commit.ts';
import type { StatementBuilder } from '../db/statement.ts';
import { claimCte, type HeldKey } from '../http/idempotency.ts';
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import type { OutboxEvent } from '../outbox/outbox.ts';
import { startPaymentGuarded, type AttemptRow, type PaymentRow, type StartOutcome } from './repository.ts';
import { startPaymentsSet, startsFitOneStatement } from './start-set.ts';

/** One payment to start: its order, the rows to record, and the request's idempotency key to claim with them. */
export interface StartWrite {
  readonly order: { readonly id: string; readonly merchant_id: string };
  readonly payment: PaymentRow;
  readonly attempt: AttemptRow;
  readonly events: readonly OutboxEvent[];
  readonly now: Date;
  readonly routing: { readonly policy_version: number | null; readonly arm: 'a' | 'b' | null };
  /** The request's key, not claimed yet: written by the same statement, and nothing else unless it was free. */
  readonly claim: HeldKey | null;
}

const groups = new GroupsPerDatabase<StartWrite, StartOutcome>();

function startOne(ctx: AppContext, write: StartWrite): Promise<StartOutcome> {
  const claim = write.claim;
  const claimSql = claim ? (s: StatementBuilder) => claimCte(s, claim, null) : undefined;
  return startPaymentGuarded(ctx.db.keyed, write.order, write.payment, write.attempt, write.events, write.now, write.routing, claimSql);
}

/**
 * Starts one payment if its order is pending_payment (and its key was free); says whether it did,
 * and whether the key was written. Concurrent starts on one database are written together.
 */
export function writeStart(ctx: AppContext, write: StartWrite): Promise<StartOutcome> {
  return groups.groupOf(ctx.db, () => ({
    writeOne: (one) => startOne(ctx, one),
    writeBatch: (writes) => startPaymentsSet(ctx.db.keyed, writes),
    fitsBatch: startsFitOneStatement,
    batchMax: limits.payment_start_batch_max,
    batchesInFlightMax: limits.payment_start_batches_in_flight_max,
    onBatch: (size, outcome) => ctx.metrics.startBatches.observe({ outcome }, size),
  })).submit(write);
}
