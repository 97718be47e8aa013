// Payout schedules. Pure: the day is the scheduler's clock in UTC, injected.
//   daily:  one payout per day, of the whole available balance, when it reaches minimum_amount.
//   weekly: the same, on weekly_day only (0 = Sunday ... 6 = Saturday).
//   manual: nothing scheduled; the merchant asks (POST /v1/payouts).
import { assert } from '../../kernel/errors.ts';

export const payoutSchedules = ['daily', 'weekly', 'manual'] as const;
export type PayoutSchedule = (typeof payoutSchedules)[number];

export interface ScheduleSettings {
  readonly schedule: PayoutSchedule;
  readonly weekly_day: number | null;
}

/** The date (YYYY-MM-DD, UTC) of an instant. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The schedule key of the payout due on `at`'s day, or null when none is due that day. Unique per merchant and day. */
export function scheduleKeyFor(settings: ScheduleSettings, at: Date): string | null {
  assert((settings.schedule === 'weekly') === (settings.weekly_day !== null), 'schedule: weekly, and only weekly, has a weekly_day');
  switch (settings.schedule) {
    case 'manual':
      return null;
    case 'daily':
      return `daily:${utcDay(at)}`;
    case 'weekly':
      return at.getUTCDay() === settings.weekly_day ? `weekly:${utcDay(at)}` : null;
  }
}

export type ScheduledAmount = { readonly due: true; readonly amount: bigint } | { readonly due: false; readonly reason: 'nothing_available' | 'below_minimum' };

/** How much a scheduled payout takes: the whole available balance, if it reaches the minimum. */
export function scheduledAmount(available: bigint, minimum: bigint): ScheduledAmount {
  assert(minimum >= 0n, 'scheduledAmount: minimum >= 0');
  if (available <= 0n) return { due: false, reason: 'nothing_available' };
  if (available < minimum) return { due: false, reason: 'below_minimum' };
  return { due: true, amount: available };
}

export type ManualAmount = { readonly ok: true; readonly amount: bigint } | { readonly ok: false; readonly rejection: 'payout_exceeds_available' | 'payout_below_minimum' };

/** A manual payout: the amount asked for, or the whole available balance; never more than available, never below the minimum. */
export function manualAmount(requested: bigint | undefined, available: bigint, minimum: bigint): ManualAmount {
  const amount = requested ?? available;
  if (amount <= 0n || amount > available) return { ok: false, rejection: 'payout_exceeds_available' };
  if (amount < minimum) return { ok: false, rejection: 'payout_below_minimum' };
  return { ok: true, amount };
}
