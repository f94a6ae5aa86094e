/**
 * The fairness report: how the on-call load fell on each member over a window, in real
 * hours (a 23-hour day counts 23), of which outside business hours, and how often each was
 * paged and woken at night.
 */
import { type Interval, intersect, totalLength } from './intervals';
import { restrictionWindows } from './restrict';
import { finalShifts } from './shifts';
import type { Adjustments, Restriction, Schedule } from './types';
import { DAY_MS, MINUTE_MS, toWall, wallDay } from './zone';

const HOUR_MS = 3_600_000;

/** Business hours when the schedule names none: Mon–Fri 09:00–17:00 local. */
export const DEFAULT_BUSINESS_HOURS: readonly Restriction[] = [
  { weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' },
];

/** A night is 22:00–07:00 local; a page then wakes its member (once per night however many pages). */
export const NIGHT_STARTS_MINUTE = 22 * 60;
export const NIGHT_ENDS_MINUTE = 7 * 60;

/** A page sent to `member` at `at`, as the paging record has it. */
export interface Page {
  member: string;
  at: number;
}

export interface MemberFairness {
  member: string;
  hoursOnCall: number;
  hoursOutsideBusinessHours: number;
  pages: number;
  nightsWoken: number;
}

export interface FairnessReport {
  from: number;
  to: number;
  /** Layer members in order of first appearance, then anyone else an override or a page names. */
  members: MemberFairness[];
  /** Hours with nobody on call. */
  gapHours: number;
}

/**
 * Pages and nights woken per member among `pages` in [from, to). A night is named by the
 * local date it began on: a page at 23:30 Monday and one at 02:00 Tuesday are one night.
 */
export function countPages(
  timeZone: string,
  pages: readonly Page[],
  from: number,
  to: number,
): Map<string, { pages: number; nightsWoken: number }> {
  const counts = new Map<string, { pages: number; nights: Set<number> }>();
  for (const page of pages) {
    if (page.at < from || page.at >= to) continue;
    const entry = counts.get(page.member) ?? { pages: 0, nights: new Set<number>() };
    entry.pages++;
    const wall = toWall(timeZone, page.at);
    const minute = (wall - wallDay(wall)) / MINUTE_MS;
    if (minute >= NIGHT_STARTS_MINUTE) entry.nights.add(wallDay(wall));
    else if (minute < NIGHT_ENDS_MINUTE) entry.nights.add(wallDay(wall) - DAY_MS);
    counts.set(page.member, entry);
  }
  return new Map([...counts].map(([member, c]) => [member, { pages: c.pages, nightsWoken: c.nights.size }]));
}

export function fairnessReport(
  schedule: Schedule,
  adjustments: Adjustments,
  from: number,
  to: number,
  pages: readonly Page[] = [],
): FairnessReport {
  const segments = finalShifts(schedule, adjustments, from, to);
  const business = restrictionWindows(
    schedule.timezone,
    schedule.businessHours ?? DEFAULT_BUSINESS_HOURS,
    from,
    to,
  );
  const onCall = new Map<string, { total: number; inBusiness: number }>();
  const order: string[] = schedule.layers.flatMap((l) => l.members);
  let gapMs = 0;
  for (const segment of segments) {
    const span: Interval = { start: segment.start, end: segment.end };
    const length = span.end - span.start;
    if (segment.kind === 'gap') {
      gapMs += length;
      continue;
    }
    const entry = onCall.get(segment.member) ?? { total: 0, inBusiness: 0 };
    entry.total += length;
    entry.inBusiness += totalLength(intersect([span], business));
    onCall.set(segment.member, entry);
    order.push(segment.member);
  }
  const paged = countPages(schedule.timezone, pages, from, to);
  order.push(...paged.keys());
  const members = [...new Set(order)].map((member): MemberFairness => {
    const time = onCall.get(member) ?? { total: 0, inBusiness: 0 };
    const count = paged.get(member) ?? { pages: 0, nightsWoken: 0 };
    return {
      member,
      hoursOnCall: time.total / HOUR_MS,
      hoursOutsideBusinessHours: (time.total - time.inBusiness) / HOUR_MS,
      pages: count.pages,
      nightsWoken: count.nightsWoken,
    };
  });
  return { from, to, members, gapHours: gapMs / HOUR_MS };
}
