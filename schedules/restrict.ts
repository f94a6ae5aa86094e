/**
 * Restrictions: weekly windows of local time in which a layer applies ("Mon–Fri
 * 09:00–17:00", "every day 22:00–06:00"), turned into spans of instants.
 */
import { type Interval, intersect, normalize } from './intervals';
import { WEEKDAYS, type Restriction } from './types';
import { DAY_MS, MINUTE_MS, fromWall, parseClock, toWall, wallDay, weekdayIndex } from './zone';

const MINUTES_PER_DAY = 24 * 60;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** A window's start and end in minutes after the midnight of the day it starts; the end may fall on the next day. */
export function windowMinutes(window: Restriction): { start: number; end: number } {
  const start = parseClock(window.from);
  const end = parseClock(window.to, true);
  if (start === undefined || end === undefined) {
    throw new RangeError(`restriction ${window.from}–${window.to} is not HH:MM–HH:MM`);
  }
  // A window ending at or before its start crosses midnight.
  return { start, end: end <= start ? end + MINUTES_PER_DAY : end };
}

/** The spans of [from, to) inside any of the windows, in `timeZone`'s local time, DST included. */
export function restrictionWindows(
  timeZone: string,
  windows: readonly Restriction[],
  from: number,
  to: number,
): Interval[] {
  if (to <= from) return [];
  const spans: Interval[] = [];
  // From the day before (its window may cross midnight into `from`) to the day after `to`
  // (offsets move the local date by up to a day).
  const lastDay = wallDay(toWall(timeZone, to)) + DAY_MS;
  for (let day = wallDay(toWall(timeZone, from)) - DAY_MS; day <= lastDay; day += DAY_MS) {
    const weekday = WEEKDAYS[weekdayIndex(day)] as (typeof WEEKDAYS)[number];
    for (const window of windows) {
      if (!window.weekdays.includes(weekday)) continue;
      const { start, end } = windowMinutes(window);
      spans.push({
        start: fromWall(timeZone, day + start * MINUTE_MS),
        end: fromWall(timeZone, day + end * MINUTE_MS),
      });
    }
  }
  return intersect(normalize(spans), [{ start: from, end: to }]);
}

/**
 * The minutes of a local week (Monday 00:00 = 0) the windows cover. Local minutes, not
 * instants: two layers in one zone cover the same instants wherever they cover the same
 * local minutes, which is what the configuration check needs.
 */
export function weeklyMinutes(windows: readonly Restriction[]): Uint8Array {
  const minutes = new Uint8Array(MINUTES_PER_WEEK);
  for (const window of windows) {
    const { start, end } = windowMinutes(window);
    for (const weekday of window.weekdays) {
      const base = WEEKDAYS.indexOf(weekday) * MINUTES_PER_DAY;
      for (let m = start; m < end; m++) minutes[(base + m) % MINUTES_PER_WEEK] = 1;
    }
  }
  return minutes;
}
