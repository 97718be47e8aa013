// Time-window conditions of routing rules: `hours` (a local time-of-day range in a time zone) and
// `days` (local weekdays). Pure given the moment: the caller passes the app clock's `now`, never
// the wall clock.
//
// - hours.from is inclusive (00:00..23:59), hours.to exclusive (00:00..24:00); from > to wraps
//   past midnight (22:00..06:00 holds from 22:00 to 05:59); from = to is refused (an empty window).
// - hours.time_zone is an IANA zone (default UTC); `days` are read in the same zone, as the
//   weekday of the moment itself (so a 22:00..06:00 window on ['fri'] holds Friday 22:00-23:59
//   and Friday 00:00-05:59). Days alone, in a zone: hours 00:00..24:00 with that zone.
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';

export const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof weekdays)[number];

export interface RuleHours {
  /** HH:MM, 00:00..23:59, inclusive. */
  readonly from: string;
  /** HH:MM, 00:00..24:00, exclusive. */
  readonly to: string;
  /** IANA time zone; UTC when left out. */
  readonly time_zone?: string;
}

export const hoursFromPattern = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
export const hoursToPattern = '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';

/** Minutes since local midnight of HH:MM (24:00 is 1440). */
export function minuteOfDay(text: string): number {
  const match = /^(\d\d):(\d\d)$/.exec(text);
  assert(match !== null, `minuteOfDay: HH:MM, got ${text}`);
  const minute = Number(match[1]) * 60 + Number(match[2]);
  assert(minute >= 0 && minute <= 1440, 'minuteOfDay: within 00:00..24:00');
  return minute;
}

/** Whether a zone name is one Intl knows. */
export function isKnownTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > limits.routing_time_zone_length_max) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface LocalMoment {
  readonly weekday: Weekday;
  readonly minute: number;
}

interface ZoneEntry {
  readonly format: Intl.DateTimeFormat;
  /** The last minute asked for (ms since epoch / 60 000) and its local moment: formatting is the costly part. */
  epochMinute: number;
  moment: LocalMoment | null;
}

const zones = new Map<string, ZoneEntry>();
const weekdayOfShort: Readonly<Record<string, Weekday>> = { Sun: 'sun', Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat' };

function zoneEntry(zone: string): ZoneEntry {
  let entry = zones.get(zone);
  if (!entry) {
    if (zones.size >= limits.routing_time_zones_cached_max) zones.clear();
    const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    entry = { format, epochMinute: Number.NaN, moment: null };
    zones.set(zone, entry);
  }
  return entry;
}

/** The weekday and minute of day of `now` in `zone` (cached per zone for the current minute). */
export function localMoment(now: Date, zone: string): LocalMoment {
  const entry = zoneEntry(zone);
  const epochMinute = Math.floor(now.getTime() / 60_000);
  if (entry.moment !== null && entry.epochMinute === epochMinute) return entry.moment;
  let weekday: Weekday | undefined;
  let hour = -1;
  let minute = -1;
  for (const part of entry.format.formatToParts(now)) {
    if (part.type === 'weekday') weekday = weekdayOfShort[part.value];
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  assert(weekday !== undefined && hour >= 0 && hour < 24 && minute >= 0 && minute < 60, `localMoment: parts of ${now.toISOString()} in ${zone}`);
  const moment = { weekday, minute: hour * 60 + minute };
  entry.epochMinute = epochMinute;
  entry.moment = moment;
  return moment;
}

/** Whether `minute` (of the local day) lies in from..to (from inclusive, to exclusive, wrapping past midnight when from > to). */
export function minuteInHours(minute: number, from: number, to: number): boolean {
  assert(from !== to, 'minuteInHours: a non-empty window');
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** Whether a rule's time conditions hold at `now`; a rule with neither always holds. */
export function timeWindowHolds(hours: RuleHours | undefined, days: readonly Weekday[] | undefined, now: Date): boolean {
  if (hours === undefined && days === undefined) return true;
  const moment = localMoment(now, hours?.time_zone ?? 'UTC');
  if (days !== undefined && !days.includes(moment.weekday)) return false;
  return hours === undefined || minuteInHours(moment.minute, minuteOfDay(hours.from), minuteOfDay(hours.to));
}

/** A time condition in words, for routing_reason: `22:00-06:00 Asia/Shanghai sat,sun`. */
export function describeTimeWindow(hours: RuleHours | undefined, days: readonly Weekday[] | undefined): string {
  const parts: string[] = [];
  if (hours !== undefined) parts.push(`${hours.from}-${hours.to} ${hours.time_zone ?? 'UTC'}`);
  if (days !== undefined) parts.push(days.join(','));
  return parts.join(' ');
}

/** Where a rule's time conditions go wrong beyond the schema, or null. */
export function timeWindowRejection(hours: RuleHours | undefined): { code: 'unsupported_time_zone' | 'time_window_empty'; field: string; message: string } | null {
  if (hours === undefined) return null;
  if (hours.time_zone !== undefined && !isKnownTimeZone(hours.time_zone)) {
    return { code: 'unsupported_time_zone', field: 'hours.time_zone', message: `Time zone ${hours.time_zone} is not an IANA zone Clearway knows.` };
  }
  if (minuteOfDay(hours.from) === minuteOfDay(hours.to)) {
    return { code: 'time_window_empty', field: 'hours.to', message: `hours ${hours.from}-${hours.to} is empty; the whole day is 00:00-24:00.` };
  }
  return null;
}
