// Background workers of `clearway serve`. Each runs on its own interval, never overlaps itself,
// and is safe to run in every process at once (the work it claims is locked with SKIP LOCKED).
import type { AppContext } from '../http/context.ts';
import { purgeIdempotencyKeys } from '../http/idempotency.ts';
import { expireOrders } from '../orders/service.ts';
import { closeAbandonedPayments } from '../payments/abandoned.ts';
import { refundLateSuccesses } from '../payments/late-success.ts';
import { repairAttempts, repairRefunds } from '../payments/repair.ts';
import { relayOutboxEvents } from '../webhooks/relay.ts';
import { deliverWebhooks } from '../webhooks/delivery.ts';
import { settlementLimits } from '../settlement/limits.ts';
import { runSettlementWorker, settlementDepsOf } from '../settlement/worker.ts';
import { runFinanceConsumer } from '../stream/consumer.ts';
import { runFinanceConsistency } from '../stream/maintenance.ts';
import { schedulePayouts } from '../payouts/service.ts';
import { pollBankStatusFiles, submitPayouts } from '../payouts/worker.ts';

export interface Worker {
  readonly name: string;
  /** Pause between runs. */
  readonly intervalMs: number;
  /**
   * Pause instead, after a run that stopped at its own cap with work left (a backlog, e.g. after
   * an outage): the backlog drains run after run rather than one capped run per `intervalMs`.
   */
  readonly backlogIntervalMs?: number;
  /** Runs once; resolves true when it stopped at its cap with work left (read only with `backlogIntervalMs`). */
  run(ctx: AppContext): Promise<unknown>;
}

/**
 * A capped run of the outbox relay or the finance consumer is followed after this. Steady load
 * stays at one run a second: runs every 50 ms whenever there was any work were measured no
 * better for the payments' latency and cost a dozen statements a run (docs/benchmarks.md, session 5).
 */
const backlog_interval_ms = 50;

export const workers: readonly Worker[] = [
  { name: 'order_expiry', intervalMs: 10_000, run: (ctx) => expireOrders(ctx) },
  { name: 'attempt_repair', intervalMs: 15_000, run: (ctx) => repairAttempts(ctx, { staleAfterMs: 60_000 }) },
  { name: 'refund_repair', intervalMs: 30_000, run: (ctx) => repairRefunds(ctx, { staleAfterMs: 60_000 }) },
  { name: 'late_success_refund', intervalMs: 5_000, run: (ctx) => refundLateSuccesses(ctx) },
  { name: 'abandoned_payments', intervalMs: 30_000, run: (ctx) => closeAbandonedPayments(ctx) },
  { name: 'outbox_relay', intervalMs: 1_000, backlogIntervalMs: backlog_interval_ms, run: async (ctx) => (await relayOutboxEvents(ctx)).more },
  { name: 'webhook_delivery', intervalMs: 1_000, run: (ctx) => deliverWebhooks(ctx) },
  { name: 'finance_consumer', intervalMs: 1_000, backlogIntervalMs: backlog_interval_ms, run: async (ctx) => (await runFinanceConsumer(ctx)).more },
  { name: 'finance_consistency', intervalMs: 600_000, run: (ctx) => runFinanceConsistency(ctx) },
  { name: 'idempotency_purge', intervalMs: 3_600_000, run: (ctx) => purgeIdempotencyKeys(ctx) },
  { name: 'settlement', intervalMs: settlementLimits.worker_interval_ms, run: (ctx) => runSettlementWorker(settlementDepsOf(ctx)) },
  { name: 'payout_schedule', intervalMs: 60_000, run: (ctx) => schedulePayouts(ctx) },
  { name: 'payout_submit', intervalMs: 1_000, run: (ctx) => submitPayouts(ctx) },
  { name: 'payout_status_files', intervalMs: 5_000, run: (ctx) => pollBankStatusFiles(ctx) },
];

export function startWorkers(ctx: AppContext, list: readonly Worker[] = workers): () => Promise<void> {
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  const schedule = (worker: Worker, delayMs: number): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      const run = worker
        .run(ctx)
        .then(
          (workLeft) => (worker.backlogIntervalMs !== undefined && workLeft === true ? worker.backlogIntervalMs : worker.intervalMs),
          (error: unknown) => {
            ctx.logger.error({ err: error, worker: worker.name }, 'worker run failed');
            return worker.intervalMs;
          },
        )
        .then((nextDelayMs) => {
          running.delete(run);
          schedule(worker, nextDelayMs);
        });
      running.add(run);
    }, delayMs).unref();
    timers.add(timer);
  };
  for (const worker of list) schedule(worker, worker.intervalMs);
  return async () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    await Promise.allSettled([...running]);
  };
}
