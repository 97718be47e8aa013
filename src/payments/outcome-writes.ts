// Writing one synchronous outcome (the guarded single statement of record-outcome.ts), and
// writing several together: outcomes recorded while earlier ones are being written are committed
// by one transaction (src/db/group-commit.ts). In a batch the guarded writes of all outcomes are
// one set-based statement (outcome-set.ts; statement by statement for the rare batch that holds
// a failover or a late success), without their capture entries; the captures of the outcomes
// whose guard held are then posted together by one postEntries (one insert of all entries and
// postings, one balance update per account). A batch is short (the same few round trips whatever its
// size), so one batch in flight is enough and the batches are large: a capture posted alone costs
// its statement triggers, foreign-key checks and account locks once per payment.
import type { Queryable } from '../db/database.ts';
import { GroupsPerDatabase } from '../db/group-commit.ts';
import { StatementBuilder } from '../db/statement.ts';
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import type { AppContext } from '../http/context.ts';
import { transitionOrder } from '../orders/domain/order-state.ts';
import { outboxInsertSql } from '../outbox/outbox.ts';
import { ensureAccountsOnce, entryAccountIds, guardedPostSql, postEntries } from '../ledger/journal.ts';
import { lateSuccessRefundInsertSql } from './late-success.ts';
import { applyGuardedSet, fitsOneStatement } from './outcome-set.ts';
import { rowsAfter, type PlannedChanges, type StoredResponse } from './record-outcome.ts';

/** One outcome to write: its plan, its time, and the request's response to store with it. */
export interface GuardedWrite {
  readonly plan: PlannedChanges;
  readonly now: Date;
  readonly response: StoredResponse | null;
}

const groups = new GroupsPerDatabase<GuardedWrite, boolean>();

/**
 * Writes one outcome if the payment and the attempt still carry the versions its plan read;
 * says whether they did. Concurrent calls on one database are committed together.
 */
export function writeGuarded(ctx: AppContext, write: GuardedWrite): Promise<boolean> {
  return groups.groupOf(ctx.db, () => ({
    writeOne: (one) => applyGuarded(ctx.db.keyed, one.plan, one.now, one.response, 'in_statement'),
    writeBatch: (writes) => applyGuardedBatch(ctx, writes),
    batchMax: limits.outcome_batch_max,
    batchesInFlightMax: limits.outcome_batches_in_flight_max,
    onBatch: (size, outcome) => ctx.metrics.outcomeBatches.observe({ outcome }, size),
  })).submit(write);
}

/** Several outcomes in one transaction: each guarded statement, then the captures together. */
async function applyGuardedBatch(ctx: AppContext, writes: readonly GuardedWrite[]): Promise<boolean[]> {
  const captures = writes.flatMap((write) => (write.plan.capture ? entryAccountIds(write.plan.capture.entry) : []));
  // The accounts exist before the transaction (committed on their own). On the keyed lane, as the
  // lone writes: ensureAccountsOnce remembers known accounts per database object, so one cache serves both.
  if (captures.length > 0) await ensureAccountsOnce(ctx.db.keyed, [...new Set(captures)]);
  const oneStatement = fitsOneStatement(writes);
  const guardedAll = await ctx.db.keyed.transaction(async (tx) => {
    let guarded: boolean[] = [];
    if (oneStatement) guarded = await applyGuardedSet(tx, writes);
    else for (const write of writes) guarded.push(await applyGuarded(tx, write.plan, write.now, write.response, 'by_caller'));
    const posting = writes.filter((write, index) => guarded[index] && write.plan.capture !== null);
    if (posting.length > 0) {
      const results = await postEntries(tx, posting.map((write) => write.plan.capture!.entry), {
        entryIds: posting.map((write) => write.plan.capture!.entryId),
        createdAt: posting.map((write) => write.now),
        fresh: true, // accounts ensured above; each guard held, so each capture happens now
      });
      results.forEach((result, index) => assert(result.ok && !result.replayed, `the capture of ${posting[index]!.plan.payment.id} is posted once`));
    }
    return guarded;
  });
  // Counted once the batch committed (a transaction retried after a deadlock runs its work again).
  ctx.metrics.outcomeBatchStatements.inc({ written_by: oneStatement ? 'one_statement' : 'statement_each' });
  return guardedAll;
}

/** One statement: every write happens only if the payment and the attempt still carry the known versions. */
async function applyGuarded(db: Queryable, plan: PlannedChanges, now: Date, response: StoredResponse | null, capture: 'in_statement' | 'by_caller'): Promise<boolean> {
  const s = new StatementBuilder();
  const after = rowsAfter(plan, now);
  const parts: string[] = [
    `guard AS (SELECT p.id FROM payments p JOIN attempts a ON a.payment_id = p.id
       WHERE p.id = ${s.bind(plan.payment.id)} AND p.version = ${s.bind(plan.payment.version)}
         AND a.id = ${s.bind(plan.attempt.id)} AND a.version = ${s.bind(plan.attempt.version)} FOR UPDATE OF p, a)`,
  ];
  const a = after.attempt;
  parts.push(`attempt_update AS (UPDATE attempts SET status = ${s.bind(a.status)}, channel_txn_id = ${s.bind(a.channel_txn_id)}, failure_code = ${s.bind(a.failure_code)},
      failure_message = ${s.bind(a.failure_message)}, version = version + 1, updated_at = ${s.bind(now)}
    WHERE id = ${s.bind(a.id)} AND EXISTS (SELECT 1 FROM guard) RETURNING 1)`);
  if (plan.paymentChange) {
    const p = after.payment;
    parts.push(`payment_update AS (UPDATE payments SET status = ${s.bind(p.status)}, channel = ${s.bind(p.channel)}, amount_captured = ${s.bind(p.amount_captured)},
        fee_amount = ${s.bind(p.fee_amount)}::bigint, channel_fee_amount = ${s.bind(p.channel_fee_amount)}::bigint, refund_fee_policy = ${s.bind(p.refund_fee_policy ?? null)}::text,
        failure_code = ${s.bind(p.failure_code)}, failure_message = ${s.bind(p.failure_message)}, next_action = ${s.bind(p.next_action === null ? null : JSON.stringify(p.next_action))}::jsonb,
        version = version + 1, updated_at = ${s.bind(now)}
      WHERE id = ${s.bind(p.id)} AND EXISTS (SELECT 1 FROM guard) RETURNING 1)`);
  }
  let orderCheck = '';
  if (plan.orderEvent) {
    const next = transitionOrder('paying', plan.orderEvent);
    if (!next.ok) throw new Error(`assertion failed: ${next.rejection}`);
    parts.push(`order_update AS (UPDATE orders SET status = ${s.bind(next.state)}, version = version + 1, updated_at = ${s.bind(now)}
      WHERE id = ${s.bind(plan.payment.order_id)} AND status = 'paying' AND EXISTS (SELECT 1 FROM guard) RETURNING 1)`);
    orderCheck = `, clearway_assert((SELECT count(*) FROM order_update) = (SELECT count(*) FROM guard), ${s.bind(`order ${plan.payment.order_id} of a live payment is not paying`)})`;
  }
  if (plan.nextAttempt) {
    const n = plan.nextAttempt;
    parts.push(`next_attempt AS (INSERT INTO attempts (id, payment_id, merchant_id, channel, status, out_trade_no, amount, currency, routing_reason, created_at, updated_at)
      SELECT ${s.bind(n.id)}, ${s.bind(n.payment_id)}, ${s.bind(n.merchant_id)}, ${s.bind(n.channel)}, 'created', ${s.bind(n.out_trade_no)}, ${s.bind(n.amount)}::bigint,
        ${s.bind(n.currency)}, ${s.bind(n.routing_reason)}, ${s.bind(now)}::timestamptz, ${s.bind(now)}::timestamptz
      WHERE EXISTS (SELECT 1 FROM guard) RETURNING 1)`);
  }
  if (plan.lateSuccessRefund) parts.push(`late_success_refund AS (${lateSuccessRefundInsertSql(s, plan.lateSuccessRefund, 'guard')})`);
  let captureCheck = '';
  if (plan.capture && capture === 'in_statement') {
    // The accounts exist before the statement (committed on their own), so the post cannot miss one.
    await ensureAccountsOnce(db, entryAccountIds(plan.capture.entry));
    parts.push(`capture_entry AS (${guardedPostSql(s, plan.capture.entry, plan.capture.entryId, now, 'guard')})`);
    captureCheck = `, clearway_assert((SELECT count(*) FROM capture_entry WHERE outcome IN ('posted', 'replayed')) = (SELECT count(*) FROM guard), ${s.bind(`the capture of ${plan.payment.id} is posted`)})`;
  }
  const outbox = outboxInsertSql(s, plan.events, now, 'guard');
  if (outbox) parts.push(`outbox AS (${outbox})`);
  if (response) {
    parts.push(`response_store AS (UPDATE idempotency_keys SET state = 'done', response_status = ${s.bind(response.status)}, response_body = ${s.bind(response.body)}
      WHERE owner = ${s.bind(response.owner)} AND key = ${s.bind(response.key)} AND state = 'in_flight' AND EXISTS (SELECT 1 FROM guard) RETURNING 1)`);
  }
  const counted = ['attempt_update', ...(plan.paymentChange ? ['payment_update'] : []), ...(plan.nextAttempt ? ['next_attempt'] : []), ...(plan.lateSuccessRefund ? ['late_success_refund'] : []), ...(outbox ? ['outbox'] : []), ...(response ? ['response_store'] : [])];
  const sql = `WITH ${parts.join(',\n')}
    SELECT (SELECT count(*) FROM guard) AS guarded, ${counted.map((name) => `(SELECT count(*) FROM ${name})`).join(' + ')} AS written${orderCheck}${captureCheck}`;
  const { rows } = await db.query<{ guarded: bigint }>(sql, s.params);
  return rows[0]?.guarded === 1n;
}

