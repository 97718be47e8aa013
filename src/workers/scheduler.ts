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
  /** Pause between runs while there is nothing to do. */
  readonly intervalMs: number;
  /**
   * Pause before the next run when this one found work (a backlog drains in small steps, not in
   * one burst every `intervalMs` that would hold up the payments sharing the process).
   */
  readonly busyIntervalMs?: number;
  /** Runs once; resolves true when it found work (only read when `busyIntervalMs` is set). */
  run(ctx: AppContext): Promise<unknown>;
}

/** Runs of the outbox relay and the finance consumer that found work follow each other after this. */
const backlog_interval_ms = 50;

export const workers: readonly Worker[] = [
  { name: 'order_expiry', intervalMs: 10_000, run: (ctx) => expireOrders(ctx) },
  { name: 'attempt_repair', intervalMs: 15_000, run: (ctx) => repairAttempts(ctx, { staleAfterMs: 60_000 }) },
  { name: 'refund_repair', intervalMs: 30_000, run: (ctx) => repairRefunds(ctx, { staleAfterMs: 60_000 }) },
  { name: 'late_success_refund', intervalMs: 5_000, run: (ctx) => refundLateSuccesses(ctx) },
  { name: 'abandoned_payments', intervalMs: 30_000, run: (ctx) => closeAbandonedPayments(ctx) },
  { name: 'outbox_relay', intervalMs: 1_000, busyIntervalMs: backlog_interval_ms, run: async (ctx) => (await relayOutboxEvents(ctx)).events > 0 },
  { name: 'webhook_delivery', intervalMs: 1_000, run: (ctx) => deliverWebhooks(ctx) },
  {
    name: 'finance_consumer', intervalMs: 1_000, busyIntervalMs: backlog_interval_ms,
    run: async (ctx) => {
      const consumed = await runFinanceConsumer(ctx);
      return consumed.ran && consumed.applied + consumed.duplicates + consumed.ignored + consumed.skipped > 0;
    },
  },
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
          (foundWork) => (worker.busyIntervalMs !== undefined && foundWork === true ? worker.busyIntervalMs : worker.intervalMs),
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
