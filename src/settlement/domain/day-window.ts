// Settlement days: which instants belong to a merchant's day D. Pure; no I/O (Intl only).
//
// A merchant settles in its own time zone with a daily cut-off (local "HH:MM"). The cut-off is
// the moment day D closes: day D holds every transaction from the close of D-1 (inclusive) to
// the close of D (exclusive), so a transaction at or after the cut-off belongs to the next day.
// Cut-off "00:00" is midnight at the end of D (24:00), so with it day D is the calendar day D;
// with "18:00", day D runs from 18:00 on D-1 to 18:00 on D.
//
// Local times are turned into instants as Temporal's "compatible" disambiguation does: a wall
// time that happens twice (clocks set back) is its first occurrence; one that does not happen
// (clocks set forward) is moved forward by the length of the gap. Consecutive days therefore
// always meet exactly (the close of D-1 is the start of D), whatever the zone does.

import { assert } from '../../kernel/errors.ts';
import { settlementLimits } from '../limits.ts';

export interface SettlementSchedule {
  /** Canonical IANA name, e.g. Asia/Shanghai or UTC. */
  readonly timeZone: string;
  /** Minutes after local midnight at which the day closes, 0..1439 (0: midnight at its end). */
  readonly cutOffMinutes: number;
}

export interface DayWindow {
  /** Inclusive. */
  readonly start: Date;
  /** Exclusive. */
  readonly end: Date;
}

const minutesPerDay = 24 * 60;
const msPerMinute = 60_000;
const msPerDay = 24 * 60 * msPerMinute;
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const cutOffPattern = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "HH:MM" (00:00..23:59) to minutes after midnight; undefined when malformed. */
export function parseCutOff(text: string): number | undefined {
  const match = cutOffPattern.exec(text);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

export function formatCutOff(minutes: number): string {
  assert(Number.isInteger(minutes) && minutes >= 0 && minutes < minutesPerDay, 'formatCutOff: 0..1439 minutes');
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    if (formatters.size >= settlementLimits.time_zone_formatters_max) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The canonical name of an IANA time zone, or undefined when the name is not one. */
export function canonicalTimeZone(name: string): string | undefined {
  if (typeof name !== 'string' || name.length < 1 || name.length > settlementLimits.time_zone_length_max) return undefined;
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Is `text` a real calendar date YYYY-MM-DD within the accepted years? */
export function isSettlementDate(text: string): boolean {
  const match = datePattern.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < settlementLimits.date_year_min || year > settlementLimits.date_year_max) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function dateParts(date: string): [number, number, number] {
  assert(isSettlementDate(date), `settlement date ${date} is YYYY-MM-DD`);
  const match = datePattern.exec(date)!;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** date + days, as YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  assert(Number.isInteger(days), 'addDays: whole days');
  const [year, month, day] = dateParts(date);
  return new Date(Date.UTC(year, month - 1, day) + days * msPerDay).toISOString().slice(0, 10);
}

/** The zone's offset from UTC at an instant, in ms (local wall time = instant + offset). */
export function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(whole))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - whole;
}

/** The instant at which the local wall clock of `timeZone` shows `date` + `minutes` (see the header for gaps and overlaps). */
export function localTimeToInstant(date: string, minutes: number, timeZone: string): Date {
  assert(Number.isInteger(minutes) && minutes >= 0 && minutes < minutesPerDay, 'localTimeToInstant: 0..1439 minutes');
  const [year, month, day] = dateParts(date);
  const wall = Date.UTC(year, month - 1, day) + minutes * msPerMinute;
  const offsetBefore = zoneOffsetMs(wall - msPerDay, timeZone);
  const offsetAfter = zoneOffsetMs(wall + msPerDay, timeZone);
  const valid = [...new Set([offsetBefore, offsetAfter])].map((offset) => wall - offset).filter((instant) => zoneOffsetMs(instant, timeZone) === wall - instant);
  // Two readings: the wall time happens twice, take the first. None: it falls in a gap, so move
  // it forward by the gap (read it with the offset from before the change).
  const instant = valid.length > 0 ? Math.min(...valid) : wall - offsetBefore;
  return new Date(instant);
}

/** The moment day `date` closes. */
export function dayClose(date: string, schedule: SettlementSchedule): Date {
  assertSchedule(schedule);
  return schedule.cutOffMinutes === 0
    ? localTimeToInstant(addDays(date, 1), 0, schedule.timeZone)
    : localTimeToInstant(date, schedule.cutOffMinutes, schedule.timeZone);
}

/** Day `date`'s window: from the close of the day before (inclusive) to its own close (exclusive). */
export function dayWindow(date: string, schedule: SettlementSchedule): DayWindow {
  const window = { start: dayClose(addDays(date, -1), schedule), end: dayClose(date, schedule) };
  assert(window.start.getTime() < window.end.getTime(), `dayWindow: ${date} in ${schedule.timeZone} has a positive length`);
  return window;
}

/** The settlement day an instant belongs to under a schedule. */
export function settlementDayOf(instant: Date, schedule: SettlementSchedule): string {
  assertSchedule(schedule);
  const local = new Date(instant.getTime() + zoneOffsetMs(instant.getTime(), schedule.timeZone));
  let date = local.toISOString().slice(0, 10);
  const localMinutes = local.getUTCHours() * 60 + local.getUTCMinutes();
  if (schedule.cutOffMinutes !== 0 && localMinutes >= schedule.cutOffMinutes) date = addDays(date, 1);
  // Near a clock change the wall-clock guess can be a day off; the windows decide.
  for (let step = 0; step < 3 && instant.getTime() < dayWindow(date, schedule).start.getTime(); step++) date = addDays(date, -1);
  for (let step = 0; step < 3 && instant.getTime() >= dayWindow(date, schedule).end.getTime(); step++) date = addDays(date, 1);
  const window = dayWindow(date, schedule);
  assert(window.start.getTime() <= instant.getTime() && instant.getTime() < window.end.getTime(), 'settlementDayOf: the day holds the instant');
  return date;
}

function assertSchedule(schedule: SettlementSchedule): void {
  assert(typeof schedule.timeZone === 'string' && formatterFor(schedule.timeZone) !== undefined, 'schedule: a time zone'); // an unknown zone throws RangeError
  assert(Number.isInteger(schedule.cutOffMinutes) && schedule.cutOffMinutes >= 0 && schedule.cutOffMinutes < minutesPerDay, 'schedule: cut-off 0..1439 minutes');
}
