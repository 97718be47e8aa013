import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, localMoment, minuteInHours, minuteOfDay, timeWindowHolds, timeWindowRejection } from './time-window.ts';

const shanghaiNight = { from: '22:00', to: '06:00', time_zone: 'Asia/Shanghai' };

describe('routing time windows', () => {
  it('reads the local time and weekday in the rule\'s zone', () => {
    // 2026-01-05 is a Monday; 14:30 UTC is 22:30 in Shanghai (UTC+8, no daylight saving).
    expect(localMoment(new Date('2026-01-05T14:30:00Z'), 'Asia/Shanghai')).toEqual({ weekday: 'mon', minute: 22 * 60 + 30 });
    expect(localMoment(new Date('2026-01-05T16:30:00Z'), 'Asia/Shanghai')).toEqual({ weekday: 'tue', minute: 30 });
    expect(localMoment(new Date('2026-01-05T00:00:00Z'), 'UTC')).toEqual({ weekday: 'mon', minute: 0 });
    // New York in summer is UTC-4: the zone's daylight saving applies.
    expect(localMoment(new Date('2026-07-01T12:00:00Z'), 'America/New_York')).toEqual({ weekday: 'wed', minute: 8 * 60 });
  });

  it('holds a window wrapping past midnight only inside its hours, from inclusive and to exclusive', () => {
    const at = (utc: string) => timeWindowHolds(shanghaiNight, undefined, new Date(utc));
    expect(at('2026-01-05T13:59:59Z')).toBe(false); // 21:59 local
    expect(at('2026-01-05T14:00:00Z')).toBe(true); // 22:00
    expect(at('2026-01-05T18:00:00Z')).toBe(true); // 02:00
    expect(at('2026-01-05T21:59:00Z')).toBe(true); // 05:59
    expect(at('2026-01-05T22:00:00Z')).toBe(false); // 06:00
    expect(at('2026-01-06T04:00:00Z')).toBe(false); // 12:00
  });

  it('holds on the listed local weekdays, and 00:00-24:00 is the whole day', () => {
    const weekend = { from: '00:00', to: '24:00', time_zone: 'Asia/Shanghai' };
    // Friday 2026-01-09 20:00 UTC is Saturday 04:00 in Shanghai.
    expect(timeWindowHolds(weekend, ['sat', 'sun'], new Date('2026-01-09T20:00:00Z'))).toBe(true);
    expect(timeWindowHolds(weekend, ['sat', 'sun'], new Date('2026-01-09T15:00:00Z'))).toBe(false);
    expect(timeWindowHolds(undefined, ['fri'], new Date('2026-01-09T23:59:00Z'))).toBe(true); // UTC without hours
    expect(timeWindowHolds(undefined, undefined, new Date())).toBe(true);
  });

  it('agrees with a direct definition of from..to for every minute', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 1440 }), fc.integer({ min: 0, max: 1439 }), (from, to, minute) => {
        fc.pre(from !== to);
        const inside = from < to ? from <= minute && minute < to : !(to <= minute && minute < from);
        expect(minuteInHours(minute, from, to)).toBe(inside);
      }),
    );
  });

  it('refuses unknown zones and empty windows', () => {
    expect(isKnownTimeZone('Asia/Shanghai')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(timeWindowRejection({ from: '10:00', to: '11:00', time_zone: 'Nowhere/City' })).toMatchObject({ code: 'unsupported_time_zone', field: 'hours.time_zone' });
    expect(timeWindowRejection({ from: '10:00', to: '10:00' })).toMatchObject({ code: 'time_window_empty', field: 'hours.to' });
    expect(timeWindowRejection({ from: '00:00', to: '24:00' })).toBeNull();
    expect(minuteOfDay('24:00')).toBe(1440);
  });
});
