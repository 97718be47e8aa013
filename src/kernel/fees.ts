// Fee schedules: what a channel charges us, and what we charge a merchant, for one payment.
// Pure; no I/O. A fee is a percentage in basis points of the gross plus a fixed amount in the
// payment currency's minor units, computed exactly on bigint and rounded HALF_UP to the minor
// unit (DESIGN.md "Money"), never more than the gross.
import { assert } from './errors.ts';
import { applyRate, basisPoints, money, type Money } from './money.ts';

export interface FeeSchedule {
  /** 0..10 000 (100 %). */
  readonly percent_bps: number;
  /** Minor units of the payment's currency, >= 0. */
  readonly fixed: bigint;
}

export const feeBpsMax = 10_000;

export function feeSchedule(percentBps: number, fixed: bigint): FeeSchedule {
  assert(Number.isInteger(percentBps) && percentBps >= 0 && percentBps <= feeBpsMax, 'feeSchedule: percent_bps within 0..10000');
  assert(typeof fixed === 'bigint' && fixed >= 0n, 'feeSchedule: a non-negative fixed amount');
  return Object.freeze({ percent_bps: percentBps, fixed });
}

/** gross × bps / 10 000 (HALF_UP) + fixed, capped at the gross: a fee never exceeds what was paid. */
export function feeFor(schedule: FeeSchedule, gross: Money): Money {
  assert(gross.amount >= 0n, 'feeFor: a non-negative gross');
  const percent = applyRate(gross, basisPoints(BigInt(schedule.percent_bps)), 'HALF_UP');
  const total = percent.amount + schedule.fixed;
  const fee = money(total > gross.amount ? gross.amount : total, gross.currency);
  assert(fee.amount >= 0n && fee.amount <= gross.amount, 'feeFor: 0 <= fee <= gross');
  return fee;
}
