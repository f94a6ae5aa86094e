/**
 * Local wall time <-> UTC with Intl only: the offsets of the 2027 DST changes (Europe
 * 2027-03-28 and 2027-10-31, New York 2027-03-14 and 2027-11-07), and what a local time
 * means where the clocks jump forward (it does not exist) or fall back (it happens twice).
 */
import { describe, expect, it } from 'vitest';
import {
  formatLocal,
  fromWall,
  isTimeZone,
  offsetAt,
  parseClock,
  parseLocalDateTime,
  toWall,
  weekdayIndex,
} from '../../schedules/zone';

const wall = (text: string): number => {
  const value = parseLocalDateTime(text);
  if (value === undefined) throw new Error(`bad test input ${text}`);
  return value;
};
const iso = (ms: number): string => new Date(ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('offsets of an IANA zone', () => {
  it('gives Berlin +1h in winter and +2h in summer, changing on 2027-03-28 and 2027-10-31 at 01:00Z', () => {
    expect(offsetAt('Europe/Berlin', Date.parse('2027-03-28T00:59:59Z'))).toBe(HOUR);
    expect(offsetAt('Europe/Berlin', Date.parse('2027-03-28T01:00:00Z'))).toBe(2 * HOUR);
    expect(offsetAt('Europe/Berlin', Date.parse('2027-10-31T00:59:59Z'))).toBe(2 * HOUR);
    expect(offsetAt('Europe/Berlin', Date.parse('2027-10-31T01:00:00Z'))).toBe(HOUR);
  });

  it('gives New York −5h and −4h, changing on 2027-03-14 at 07:00Z and 2027-11-07 at 06:00Z', () => {
    expect(offsetAt('America/New_York', Date.parse('2027-03-14T06:59:59Z'))).toBe(-5 * HOUR);
    expect(offsetAt('America/New_York', Date.parse('2027-03-14T07:00:00Z'))).toBe(-4 * HOUR);
    expect(offsetAt('America/New_York', Date.parse('2027-11-07T05:59:59Z'))).toBe(-4 * HOUR);
    expect(offsetAt('America/New_York', Date.parse('2027-11-07T06:00:00Z'))).toBe(-5 * HOUR);
  });

  it('reads an instant as the local date and time', () => {
    expect(formatLocal('Europe/Berlin', Date.parse('2027-07-05T07:00:00Z'))).toBe('2027-07-05T09:00');
    expect(formatLocal('America/New_York', Date.parse('2027-01-04T00:30:00Z'))).toBe('2027-01-03T19:30');
    expect(toWall('Europe/Berlin', Date.parse('2027-01-04T08:00:00Z'))).toBe(wall('2027-01-04T09:00'));
  });
});

describe('a local time as an instant', () => {
  it('puts Berlin 09:00 at 08:00Z in winter and 07:00Z in summer', () => {
    expect(iso(fromWall('Europe/Berlin', wall('2027-01-04T09:00')))).toBe('2027-01-04T08:00:00.000Z');
    expect(iso(fromWall('Europe/Berlin', wall('2027-07-05T09:00')))).toBe('2027-07-05T07:00:00.000Z');
  });

  it('moves a local time inside the spring-forward gap to the first instant after it', () => {
    // Berlin jumps from 02:00 to 03:00 on 2027-03-28: 02:00 and 02:30 do not exist.
    expect(iso(fromWall('Europe/Berlin', wall('2027-03-28T02:30')))).toBe('2027-03-28T01:00:00.000Z');
    expect(iso(fromWall('Europe/Berlin', wall('2027-03-28T02:00')))).toBe('2027-03-28T01:00:00.000Z');
    expect(iso(fromWall('Europe/Berlin', wall('2027-03-28T03:00')))).toBe('2027-03-28T01:00:00.000Z');
    expect(iso(fromWall('America/New_York', wall('2027-03-14T02:30')))).toBe('2027-03-14T07:00:00.000Z');
  });

  it('takes the first occurrence of a local time the fall-back repeats', () => {
    // Berlin's 02:30 on 2027-10-31 happens at 00:30Z (summer time) and again at 01:30Z.
    expect(iso(fromWall('Europe/Berlin', wall('2027-10-31T02:30')))).toBe('2027-10-31T00:30:00.000Z');
    // New York's 01:30 on 2027-11-07 happens at 05:30Z (EDT) and again at 06:30Z.
    expect(iso(fromWall('America/New_York', wall('2027-11-07T01:30')))).toBe('2027-11-07T05:30:00.000Z');
    // Just after the repeated hour there is one answer again.
    expect(iso(fromWall('Europe/Berlin', wall('2027-10-31T03:00')))).toBe('2027-10-31T02:00:00.000Z');
  });
});

describe('round trips', () => {
  it('turns every instant back into itself, except the repeat of a fallen-back hour, which reads as its first', () => {
    const repeats: Record<string, number> = {};
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      repeats[zone] = 0;
      const instants = new Set<number>();
      for (
        let at = Date.parse('2027-01-01T00:00:00Z');
        at < Date.parse('2028-01-01T00:00:00Z');
        at += 6 * HOUR
      ) {
        instants.add(at);
      }
      // Every quarter of an hour around each of the zone's changes in 2027.
      for (let at = Date.parse('2027-01-01T00:00:00Z'); at < Date.parse('2028-01-01T00:00:00Z'); at += DAY) {
        if (offsetAt(zone, at) === offsetAt(zone, at + DAY)) continue;
        for (let q = at - DAY; q < at + 2 * DAY; q += 15 * MINUTE) instants.add(q);
      }
      for (const at of instants) {
        const back = fromWall(zone, toWall(zone, at));
        if (back !== at) {
          // Only the second occurrence of a repeated local time reads as the first.
          expect(toWall(zone, back)).toBe(toWall(zone, at));
          expect(back).toBeLessThan(at);
          repeats[zone]++;
        }
      }
    }
    // The repeated hour's four quarters (Lord Howe falls back by half an hour: two).
    expect(repeats).toEqual({
      'Europe/Berlin': 4,
      'America/New_York': 4,
      'Australia/Lord_Howe': 2,
      'Asia/Kathmandu': 0,
    });
  });
});

describe('names and notations', () => {
  it('knows IANA zones and refuses what is not one', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('+01:00')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('parses YYYY-MM-DDTHH:MM and refuses dates that do not exist or carry an offset', () => {
    expect(parseLocalDateTime('2026-11-02T09:00')).toBe(Date.UTC(2026, 10, 2, 9, 0));
    expect(parseLocalDateTime('2027-02-29T09:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-11-02T24:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-11-02T09:00Z')).toBeUndefined();
    expect(parseLocalDateTime('2026-11-02T09:00:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-11-02 09:00')).toBeUndefined();
  });

  it('reads HH:MM, with 24:00 only as the end of a day', () => {
    expect(parseClock('09:30')).toBe(570);
    expect(parseClock('24:00')).toBeUndefined();
    expect(parseClock('24:00', true)).toBe(1440);
    expect(parseClock('9:30')).toBeUndefined();
  });

  it('numbers weekdays from Monday', () => {
    expect(weekdayIndex(wall('2027-01-04T09:00'))).toBe(0);
    expect(weekdayIndex(wall('2027-01-10T23:59'))).toBe(6);
  });
});
