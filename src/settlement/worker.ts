// The settlement worker: on each run, settles every merchant's closed days of the last
// worker_catch_up_days (oldest first, so a stopped worker catches up in order). A day that already
// has a batch is left alone: re-runs (of a failed batch once its data is put right, or to verify a
// settled one) are the operator's, through `clearway settle --date` or the admin route.
import type { AppContext } from '../http/context.ts';
import { addDays } from './domain/day-window.ts';
import { checkSettlementLimits, settlementLimits } from './limits.ts';
import { settleDay, type SettleDayReport, type SettlementDeps } from './service.ts';
import { defaultScheduleFrom } from './settings.ts';

/** The dates the worker looks at now: from catch-up days back to tomorrow in UTC (a zone ahead of UTC may have closed it). */
export function datesToSettle(now: Date, catchUpDays: number = settlementLimits.worker_catch_up_days): string[] {
  const today = now.toISOString().slice(0, 10);
  return Array.from({ length: catchUpDays + 2 }, (_, i) => addDays(today, i - catchUpDays));
}

export async function runSettlementWorker(deps: SettlementDeps): Promise<SettleDayReport[]> {
  const reports: SettleDayReport[] = [];
  for (const date of datesToSettle(deps.clock.now())) reports.push(await settleDay(deps, { date, onlyNewDays: true }));
  return reports;
}

/** What settlement needs from the app (the default schedule from the environment, checked here). */
export function settlementDepsOf(ctx: AppContext): SettlementDeps {
  checkSettlementLimits();
  return { db: ctx.db, clock: ctx.clock, logger: ctx.logger, defaultSchedule: defaultScheduleFrom() };
}
