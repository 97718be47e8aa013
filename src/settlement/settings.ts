// A merchant's settlement schedule (time zone and cut-off): its settlement_settings row, or the
// platform default from the environment (CLEARWAY_SETTLEMENT_TIME_ZONE, CLEARWAY_SETTLEMENT_CUT_OFF;
// UTC and 00:00 when unset), checked when it is read at start.

import type { Queryable } from '../db/database.ts';
import { assert } from '../kernel/errors.ts';
import { canonicalTimeZone, formatCutOff, parseCutOff, type SettlementSchedule } from './domain/day-window.ts';

export const platformDefaultSchedule: SettlementSchedule = Object.freeze({ timeZone: 'UTC', cutOffMinutes: 0 });

/** The platform default schedule from the environment; throws at start on a bad value. */
export function defaultScheduleFrom(env: NodeJS.ProcessEnv = process.env): SettlementSchedule {
  const zoneText = env.CLEARWAY_SETTLEMENT_TIME_ZONE || platformDefaultSchedule.timeZone;
  const cutOffText = env.CLEARWAY_SETTLEMENT_CUT_OFF || formatCutOff(platformDefaultSchedule.cutOffMinutes);
  const timeZone = canonicalTimeZone(zoneText);
  const cutOffMinutes = parseCutOff(cutOffText);
  if (timeZone === undefined) throw new Error(`CLEARWAY_SETTLEMENT_TIME_ZONE: ${zoneText} is not an IANA time zone`);
  if (cutOffMinutes === undefined) throw new Error(`CLEARWAY_SETTLEMENT_CUT_OFF: ${cutOffText} is not HH:MM (00:00..23:59)`);
  return Object.freeze({ timeZone, cutOffMinutes });
}

export interface SettlementSettings extends SettlementSchedule {
  readonly merchantId: string;
  /** false: no row, the platform default applies. */
  readonly custom: boolean;
  readonly updatedAt: Date | null;
}

interface SettingsRow {
  merchant_id: string;
  time_zone: string;
  cut_off_minutes: number;
  updated_at: Date;
}

function fromRow(row: SettingsRow): SettlementSettings {
  return { merchantId: row.merchant_id, timeZone: row.time_zone, cutOffMinutes: Number(row.cut_off_minutes), custom: true, updatedAt: new Date(row.updated_at) };
}

export async function settlementSettingsOf(db: Queryable, merchantId: string, fallback: SettlementSchedule): Promise<SettlementSettings> {
  const { rows } = await db.query<SettingsRow>('SELECT merchant_id, time_zone, cut_off_minutes, updated_at FROM settlement_settings WHERE merchant_id = $1', [merchantId]);
  const row = rows[0];
  return row ? fromRow(row) : { merchantId, ...fallback, custom: false, updatedAt: null };
}

/** The schedules of several merchants (settlementSettingsOf each, in one query), by merchant id. */
export async function settlementSchedulesOf(db: Queryable, merchantIds: readonly string[], fallback: SettlementSchedule): Promise<Map<string, SettlementSchedule>> {
  const { rows } = await db.query<SettingsRow>(
    'SELECT merchant_id, time_zone, cut_off_minutes, updated_at FROM settlement_settings WHERE merchant_id = ANY ($1::text[])',
    [merchantIds],
  );
  const found = new Map(rows.map((row) => [row.merchant_id, fromRow(row)]));
  const schedules = new Map<string, SettlementSchedule>();
  for (const merchantId of merchantIds) {
    const row = found.get(merchantId);
    schedules.set(merchantId, row === undefined ? fallback : { timeZone: row.timeZone, cutOffMinutes: row.cutOffMinutes });
  }
  assert(schedules.size === new Set(merchantIds).size, 'settlementSchedulesOf: one schedule per merchant');
  return schedules;
}

/** Stores a merchant's schedule (the zone is canonical, the cut-off 0..1439 minutes). */
export async function saveSettlementSettings(db: Queryable, merchantId: string, schedule: SettlementSchedule, now: Date): Promise<SettlementSettings> {
  assert(canonicalTimeZone(schedule.timeZone) === schedule.timeZone, 'saveSettlementSettings: a canonical time zone');
  assert(parseCutOff(formatCutOff(schedule.cutOffMinutes)) === schedule.cutOffMinutes, 'saveSettlementSettings: a cut-off of 0..1439 minutes');
  const { rows } = await db.query<SettingsRow>(
    `INSERT INTO settlement_settings (merchant_id, time_zone, cut_off_minutes, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (merchant_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, cut_off_minutes = EXCLUDED.cut_off_minutes, updated_at = EXCLUDED.updated_at
     RETURNING merchant_id, time_zone, cut_off_minutes, updated_at`,
    [merchantId, schedule.timeZone, schedule.cutOffMinutes, now],
  );
  assert(rows.length === 1, 'saveSettlementSettings: one row');
  return fromRow(rows[0]!);
}
