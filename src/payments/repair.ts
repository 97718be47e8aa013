// The repair job: attempts that stayed non-final too long are asked about at their channel and
// moved on through the same outcome function; refunds left pending are re-sent with the same
// idempotency key (the channel answers with the first result). Safe in several processes at
// once: each sweep claims its rows with FOR UPDATE SKIP LOCKED and bumps updated_at as a lease.
import { limits } from '../kernel/limits.ts';
import type { AppContext } from '../http/context.ts';
import { recordAttemptOutcome } from './record-outcome.ts';
import { recordRefundOutcome } from './refunds.ts';
import type { AttemptRow, RefundRow } from './repository.ts';

export interface RepairOptions {
  /** How long an attempt may stay non-final before it is queried. */
  readonly staleAfterMs: number;
}

async function claim<Row>(ctx: AppContext, table: 'attempts' | 'refunds', statuses: readonly string[], staleAfterMs: number): Promise<Row[]> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const cutoff = new Date(now.getTime() - staleAfterMs);
    const { rows } = await tx.query<Row>(
      `SELECT * FROM ${table} WHERE status = ANY($1::text[]) AND updated_at <= $2 ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [statuses, cutoff, limits.repair_batch_max],
    );
    const ids = rows.map((row) => (row as { id: string }).id);
    if (ids.length > 0) await tx.query(`UPDATE ${table} SET updated_at = $2 WHERE id = ANY($1::text[])`, [ids, now]);
    return rows;
  });
}

export async function repairAttempts(ctx: AppContext, options: RepairOptions): Promise<number> {
  const attempts = await claim<AttemptRow>(ctx, 'attempts', ['created', 'sent', 'unknown', 'requires_action'], options.staleAfterMs);
  for (const attempt of attempts) {
    const channel = ctx.channels.get(attempt.channel);
    if (!channel) continue;
    const outcome = await channel.connector.queryPayment(attempt.out_trade_no, { amount: attempt.amount, currency: attempt.currency });
    await recordAttemptOutcome(ctx, attempt, outcome, null);
  }
  return attempts.length;
}

export async function repairRefunds(ctx: AppContext, options: RepairOptions): Promise<number> {
  const refunds = await claim<RefundRow>(ctx, 'refunds', ['pending'], options.staleAfterMs);
  for (const refund of refunds) {
    const { rows } = await ctx.db.query<AttemptRow>('SELECT * FROM attempts WHERE id = $1', [refund.attempt_id]);
    const attempt = rows[0];
    const channel = attempt ? ctx.channels.get(attempt.channel) : undefined;
    if (!attempt || !channel) continue;
    const outcome = await channel.connector.refund({
      out_trade_no: attempt.out_trade_no, channel_txn_id: attempt.channel_txn_id, out_refund_no: refund.id, amount: refund.amount, currency: refund.currency,
    });
    await recordRefundOutcome(ctx, refund.id, outcome);
  }
  return refunds.length;
}
