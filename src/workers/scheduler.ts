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
  readonly intervalMs: number;
  run(ctx: AppContext): Promise<unknown>;
}

export const workers: readonly Worker[] = [
  { name: 'order_expiry', intervalMs: 10_000, run: (ctx) => expireOrders(ctx) },
  { name: 'attempt_repair', intervalMs: 15_000, run: (ctx) => repairAttempts(ctx, { staleAfterMs: 60_000 }) },
  { name: 'refund_repair', intervalMs: 30_000, run: (ctx) => repairRefunds(ctx, { staleAfterMs: 60_000 }) },
  { name: 'late_success_refund', intervalMs: 5_000, run: (ctx) => refundLateSuccesses(ctx) },
  { name: 'abandoned_payments', intervalMs: 30_000, run: (ctx) => closeAbandonedPayments(ctx) },
  { name: 'outbox_relay', intervalMs: 1_000, run: (ctx) => relayOutboxEvents(ctx) },
  { name: 'webhook_delivery', intervalMs: 1_000, run: (ctx) => deliverWebhooks(ctx) },
  { name: 'finance_consumer', intervalMs: 1_000, run: (ctx) => runFinanceConsumer(ctx) },
  { name: 'finance_consistency', intervalMs: 600_000, run: (ctx) => runFinanceConsistency(ctx) },
  { name: 'idempotency_purge', intervalMs: 3_600_000, run: (ctx) => purgeIdempotencyKeys(ctx) },
  { name: 'settlement', intervalMs: settlementLimits.worker_interval_ms, run: (ctx) => runSettlementWorker(settlementDepsOf(ctx)) },
  { name: 'payout_schedule', intervalMs: 60_000, run: (ctx) => schedulePayouts(ctx) },
  { name: 'payout_submit', intervalMs: 1_000, run: (ctx) => submitPayouts(ctx) },
  { name: 'payout_status_files', intervalMs: 5_000, run: (ctx) => pollBankStatusFiles(ctx) },
];

export function startWorkers(ctx: AppContext, list: readonly Worker[] = workers): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  for (const worker of list) {
    let busy = false;
    timers.push(
      setInterval(() => {
        if (busy || stopped) return;
        busy = true;
        const run = worker
          .run(ctx)
          .catch((error: unknown) => ctx.logger.error({ err: error, worker: worker.name }, 'worker run failed'))
          .finally(() => {
            busy = false;
            running.delete(run);
          });
        running.add(run);
      }, worker.intervalMs).unref(),
    );
  }
  return async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await Promise.allSettled([...running]);
  };
}
