/**
 * Local wall time <-> UTC for an IANA zone, with nothing but Intl.DateTimeFormat (workflow
 * code imports this: no Node built-ins, no clock).
 *
 * A "wall time" is a local date and time read as if it were UTC, in milliseconds: Berlin's
 * 2027-03-28T09:00 is Date.UTC(2027, 2, 28, 9, 0) whatever the offset. Adding 86_400_000 to a
 * wall time gives the same clock time on the next calendar day, which is how rotations keep
 * 09:00 local across DST.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether Intl knows `timeZone` as an IANA zone name (offsets like "+01:00" are not zones). */
export function isTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `utc`, in milliseconds (Berlin in summer: +7_200_000). */
export function offsetAt(timeZone: string, utc: number): number {
  const seconds = Math.floor(utc / 1000) * 1000;
  const parts = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(seconds)) {
    if (part.type in parts) parts[part.type as keyof typeof parts] = Number(part.value);
  }
  // Some ICU versions still write midnight as 24 despite h23.
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour % 24, parts.minute, parts.second);
  return wall - seconds;
}

export function toWall(timeZone: string, utc: number): number {
  return utc + offsetAt(timeZone, utc);
}

/**
 * The instant a local wall time names. Where the clocks jump forward the wall time does not
 * exist (Berlin 2027-03-28T02:30): it moves to the first instant after the gap (03:00 local,
 * 01:00Z), so a handoff due in the gap happens as soon as the clocks allow. Where the clocks
 * fall back the wall time happens twice (Berlin 2027-10-31T02:30): it is the first
 * occurrence (00:30Z, still summer time).
 */
export function fromWall(timeZone: string, wall: number): number {
  // Offsets two days either side bracket any transition near `wall`: zones change their
  // offset at most once in five days, so where both are the same there is no transition
  // and no gap or repeat to resolve.
  const day = Math.floor(wall / DAY_MS);
  const before = offsetOnDay(timeZone, day - 2);
  const after = offsetOnDay(timeZone, day + 3);
  if (before === after) return wall - before;
  const candidates = [wall - before, wall - after].filter((utc) => toWall(timeZone, utc) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  return transitionBetween(
    timeZone,
    Math.min(wall - before, wall - after),
    Math.max(wall - before, wall - after),
  );
}

/**
 * The offset at 00:00Z of a day (days since 1970-01-01), remembered: a year of hourly
 * shifts asks about the same few hundred days thousands of times. Bounded, and only a cache:
 * what it answers never depends on what was asked before.
 */
const dayOffsets = new Map<string, number>();
const MAX_REMEMBERED_DAYS = 50_000;

function offsetOnDay(timeZone: string, day: number): number {
  const key = `${timeZone} ${day}`;
  let offset = dayOffsets.get(key);
  if (offset === undefined) {
    if (dayOffsets.size >= MAX_REMEMBERED_DAYS) dayOffsets.clear();
    offset = offsetAt(timeZone, day * DAY_MS);
    dayOffsets.set(key, offset);
  }
  return offset;
}

/** The first instant at or after `low` whose offset differs from the offset at `low`; `high` has the new one. */
function transitionBetween(timeZone: string, low: number, high: number): number {
  const offsetBefore = offsetAt(timeZone, low);
  let lo = low;
  let hi = high;
  // Offsets change on whole seconds; halve to the second.
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo) break;
    if (offsetAt(timeZone, mid) === offsetBefore) lo = mid;
    else hi = mid;
  }
  return hi;
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;

/** Parses `YYYY-MM-DDTHH:MM` (no offset, no seconds) into a wall time; undefined if it is no such date. */
export function parseLocalDateTime(text: string): number | undefined {
  const match = LOCAL_DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1970 || year > 2999 || hour > 23 || minute > 59) return undefined;
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const back = new Date(wall);
  // Date.UTC rolls 2027-02-30 over into March; a real date reads back the same.
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return wall;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DDTHH:MM` of a wall time, the notation of `handoff`. */
export function formatWall(wall: number): string {
  const d = new Date(wall);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** The local `YYYY-MM-DDTHH:MM` of an instant in `timeZone`, for messages people read. */
export function formatLocal(timeZone: string, utc: number): string {
  return formatWall(toWall(timeZone, utc));
}

const CLOCK = /^(\d{2}):(\d{2})$/;

/** Minutes after midnight of `HH:MM` (`24:00` only when `allowEndOfDay`); undefined if malformed. */
export function parseClock(text: string, allowEndOfDay = false): number | undefined {
  const match = CLOCK.exec(text);
  if (!match) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (allowEndOfDay && hours === 24 && minutes === 0) return 24 * 60;
  if (hours > 23 || minutes > 59) return undefined;
  return hours * 60 + minutes;
}

/** Midnight (as a wall time) of the local day a wall time falls on. */
export function wallDay(wall: number): number {
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

/** 0 = Monday … 6 = Sunday, the order of WEEKDAYS. */
export function weekdayIndex(wall: number): number {
  // 1970-01-01 was a Thursday (index 3).
  return (((Math.floor(wall / DAY_MS) + 3) % 7) + 7) % 7;
}
