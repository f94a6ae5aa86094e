/**
 * The on-call feed as a calendar app reads it, parsed with ical.js: one VEVENT per final
 * shift (overrides and time off applied, gaps left out), UIDs that stay the same from fetch
 * to fetch, Berlin's 09:00 handoff written as 09:00 local on both sides of the October DST
 * change whatever the process's own zone, and a responder's feed across two zones.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentStore } from '../../activities/store/incident-store';
import { FolderScheduleStore } from '../../activities/store/schedule-store';
import { failedCredential } from '../../api/auth';
import { maskSecrets } from '../../api/log-masking';
import {
  FEED_AHEAD_MS,
  FEED_PAST_MS,
  feedWindow,
  responderCalendar,
  scheduleCalendar,
} from '../../api/schedule-calendar';
import { ScheduleService } from '../../api/schedules';
import type { BatonConfig } from '../../config/schema';
import { finalShifts } from '../../schedules/shifts';
import type { ScheduleConfig } from '../../schedules/types';
import { testConfig } from '../support/config';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The feed's present: its window runs from 2026-10-05T12:00Z to 2027-02-02T12:00Z. */
const NOW = Date.parse('2026-11-04T12:00:00Z');

function calendarConfig(): BatonConfig {
  return testConfig((c) => {
    c.schedules = [
      {
        id: 'payments-l2',
        team: 'payments',
        name: 'Payments Level 2',
        timezone: 'Europe/Berlin',
        // Alice from Monday 5 October 09:00 (CEST); Berlin goes back to CET on 25 October.
        layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-10-05T09:00' }],
        overrides: [
          { member: 'dave', from: '2026-11-10T12:00:00Z', to: '2026-11-11T12:00:00Z', replacing: 'bob' },
        ],
        timeOff: [{ member: 'alice', from: '2026-11-16T00:00:00Z', to: '2026-11-18T00:00:00Z' }],
      },
      {
        id: 'payments-nyc',
        team: 'payments',
        name: 'Payments New York',
        timezone: 'US/Eastern',
        layers: [{ members: ['carol', 'alice'], shift: '1d', handoff: '2026-12-01T08:00' }],
      },
    ];
  });
}

const config = calendarConfig();
const schedules = new ScheduleService({
  config,
  // Nothing stored: the adjustments are the configuration's.
  store: new FolderScheduleStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'baton-calendar-')), 's')),
  incidents: {} as IncidentStore,
});
const berlin = config.schedules[0] as ScheduleConfig;
const nyc = config.schedules[1] as ScheduleConfig;

interface ParsedEvent {
  uid: string;
  summary: string;
  description: string;
  start: string;
  end: string;
  /** DTSTART as written: its TZID and local wall time. */
  startZone: string | undefined;
  startLocal: string;
  transparent: boolean;
}

/** The feed as a subscriber reads it: its VTIMEZONEs registered, then each VEVENT. */
function parse(text: string): { events: ParsedEvent[]; zones: string[]; name: unknown } {
  const calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  const zones = calendar.getAllSubcomponents('vtimezone');
  for (const zone of zones) ICAL.TimezoneService.register(zone);
  const events = calendar.getAllSubcomponents('vevent').map((component) => {
    const event = new ICAL.Event(component);
    const start = event.startDate;
    const startProperty = component.getFirstProperty('dtstart');
    return {
      uid: event.uid,
      summary: event.summary,
      description: event.description,
      start: start.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
      startZone: startProperty?.getParameter('tzid') as string | undefined,
      startLocal: `${start.toString()}`,
      transparent: component.getFirstPropertyValue('transp') === 'TRANSPARENT',
    };
  });
  return {
    events,
    zones: zones.map((z) => String(z.getFirstPropertyValue('tzid'))),
    name: calendar.getFirstPropertyValue('x-wr-calname'),
  };
}

/** The shifts finalShifts gives over a wider window, those overlapping the feed's window, whole. */
function expectedShifts(
  schedule: ScheduleConfig,
  now: number,
): { member: string; start: string; end: string }[] {
  const { from, to } = feedWindow(now);
  return finalShifts(schedule, schedule, from - 8 * DAY, to + 8 * DAY)
    .filter((s) => s.kind === 'shift' && s.end > from && s.start < to)
    .map((s) => ({
      member: s.kind === 'shift' ? s.member : '',
      start: new Date(s.start).toISOString(),
      end: new Date(s.end).toISOString(),
    }));
}

// The wall times must come from the schedule's zone, never from the process's.
const processZone = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'America/Los_Angeles';
});
afterAll(() => {
  if (processZone === undefined) delete process.env.TZ;
  else process.env.TZ = processZone;
});

describe("a schedule's feed", () => {
  it('has one VEVENT per final shift, after overrides and time off, gaps left out', async () => {
    const { events, name } = parse(await scheduleCalendar(schedules, berlin, NOW));
    const expected = expectedShifts(berlin, NOW);
    expect(events.map((e) => ({ uid: e.uid, start: e.start, end: e.end }))).toEqual(
      expected.map((s) => ({ uid: `payments-l2-${s.member}-${s.start}@baton`, start: s.start, end: s.end })),
    );
    // The override and the time off are among them: dave covers a day of bob's week, bob a part of alice's.
    expect(expected.map((s) => s.member)).toContain('dave');
    expect(expected).toContainEqual({
      member: 'bob',
      start: '2026-11-16T08:00:00.000Z',
      end: '2026-11-18T00:00:00.000Z',
    });
    expect(events.length).toBeGreaterThan(15);
    expect(name).toBe('On call: Payments Level 2');
    expect(events.every((e) => e.transparent)).toBe(true);
  });

  it('gives the shifts at the window’s edges whole, not cut where the window starts and ends', async () => {
    const { from, to } = feedWindow(NOW);
    expect(from).toBe(NOW - FEED_PAST_MS);
    expect(to).toBe(NOW + FEED_AHEAD_MS);
    const { events } = parse(await scheduleCalendar(schedules, berlin, NOW));
    // The window opens at 12:00Z on 5 October; alice's first shift began at 09:00 Berlin that day.
    expect(events[0]).toMatchObject({ start: '2026-10-05T07:00:00.000Z', end: '2026-10-12T07:00:00.000Z' });
    const last = events[events.length - 1] as ParsedEvent;
    expect(Date.parse(last.start)).toBeLessThan(to);
    expect(Date.parse(last.end) - Date.parse(last.start)).toBe(7 * DAY);
  });

  it('keeps every shift’s UID, start and end from one fetch to the next, as the window moves', async () => {
    const first = parse(await scheduleCalendar(schedules, berlin, NOW)).events;
    const again = parse(await scheduleCalendar(schedules, berlin, NOW)).events;
    expect(again.map((e) => e.uid)).toEqual(first.map((e) => e.uid));
    const later = parse(await scheduleCalendar(schedules, berlin, NOW + 3 * DAY + 5 * HOUR)).events;
    const byUid = new Map(first.map((e) => [e.uid, e]));
    const shared = later.filter((e) => byUid.has(e.uid));
    // Three days on, only shifts that start past the old window's end are new.
    expect(shared.length).toBe(
      later.length - later.filter((e) => Date.parse(e.start) >= NOW + FEED_AHEAD_MS).length,
    );
    expect(shared.length).toBeGreaterThan(15);
    for (const e of shared)
      expect([e.start, e.end]).toEqual([byUid.get(e.uid)?.start, byUid.get(e.uid)?.end]);
  });

  it('writes the 09:00 Berlin handoff as 09:00 local on both sides of the DST change', async () => {
    const text = await scheduleCalendar(schedules, berlin, NOW);
    const { events, zones } = parse(text);
    expect(zones).toEqual(['Europe/Berlin']);
    const before = events.find((e) => e.start === '2026-10-19T07:00:00.000Z');
    const after = events.find((e) => e.start === '2026-10-26T08:00:00.000Z');
    expect(before).toMatchObject({ startZone: 'Europe/Berlin', startLocal: '2026-10-19T09:00:00' });
    expect(after).toMatchObject({ startZone: 'Europe/Berlin', startLocal: '2026-10-26T09:00:00' });
    expect(text).toContain('DTSTART;TZID=Europe/Berlin:20261019T090000');
    expect(text).toContain('DTEND;TZID=Europe/Berlin:20261026T090000');
    // Every Monday handoff of the rotation, in summer time or winter time.
    const handoffs = events.filter(
      (e) => e.description.startsWith('The rotation') && new Date(e.start).getUTCDay() === 1,
    );
    expect(handoffs.length).toBeGreaterThan(10);
    for (const e of handoffs) expect(e.startLocal.slice(11)).toBe('09:00:00');
  });

  it('says who is on call where, and what put them there', async () => {
    const { events } = parse(await scheduleCalendar(schedules, berlin, NOW));
    const layer = events.find((e) => e.start === '2026-10-05T07:00:00.000Z');
    expect(layer?.summary).toBe('On call: Alice Ng (Payments Level 2)');
    expect(layer?.description).toContain('The rotation: Alice Ng, Bob Okafor take turns, 1w each.');
    expect(layer?.description).toContain(
      'From 2026-10-05T09:00+02:00 to 2026-10-12T09:00+02:00 (Europe/Berlin).',
    );
    const override = events.find((e) => e.summary.startsWith('On call: Dave Ross'));
    expect(override?.description).toContain(
      'An override in the configuration (configured-0) puts Dave Ross on call in place of Bob Okafor.',
    );
    const covering = events.find((e) => e.start === '2026-11-16T08:00:00.000Z');
    expect(covering?.summary).toBe('On call: Bob Okafor (Payments Level 2)');
    expect(covering?.description).toContain("It was Alice Ng's turn, who is away");
  });
});

describe("a responder's feed", () => {
  it("holds only their shifts, from each schedule in that schedule's zone", async () => {
    const alice = config.responders.find((r) => r.id === 'alice');
    if (!alice) throw new Error('no alice');
    const { events, zones, name } = parse(await responderCalendar(schedules, alice, [berlin, nyc], NOW));
    expect(name).toBe('On call: Alice Ng');
    expect(zones.sort()).toEqual(['America/New_York', 'Europe/Berlin']);
    expect(events.every((e) => e.summary.startsWith('On call: Alice Ng ('))).toBe(true);
    const fromBerlin = expectedShifts(berlin, NOW).filter((s) => s.member === 'alice');
    const fromNyc = expectedShifts(nyc, NOW).filter((s) => s.member === 'alice');
    expect(events.map((e) => e.uid).sort()).toEqual(
      [
        ...fromBerlin.map((s) => `payments-l2-alice-${s.start}@baton`),
        ...fromNyc.map((s) => `payments-nyc-alice-${s.start}@baton`),
      ].sort(),
    );
    // New York's 08:00 handoff, written under the zone's canonical name.
    const ny = events.find((e) => e.uid.startsWith('payments-nyc-'));
    expect(ny).toMatchObject({ startZone: 'America/New_York' });
    expect(ny?.startLocal.slice(11)).toBe('08:00:00');
    // In time order, whichever schedule a shift comes from.
    const starts = events.map((e) => Date.parse(e.start));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
  });

  it('is empty, still a calendar, for someone on no schedule', async () => {
    const erin = config.responders.find((r) => r.id === 'erin');
    if (!erin) throw new Error('no erin');
    const { events } = parse(await responderCalendar(schedules, erin, [berlin, nyc], NOW));
    expect(events).toEqual([]);
  });
});

describe('the feed URL as a credential', () => {
  it('counts a 404 from the feed URL as a failed calendar-feed credential, and only there', () => {
    expect(failedCredential('/calendars/:file', 404)).toBe('calendar feed');
    expect(failedCredential('/calendars/:file', 200)).toBeUndefined();
    expect(failedCredential('/api/v1/calendar-feeds/:feedId', 404)).toBeUndefined();
    expect(failedCredential('/api/v1/calendar-feeds', 401)).toBe('api token');
    expect(failedCredential('/metrics', 401)).toBe('metrics');
  });

  it('keeps the token out of the log', () => {
    const token = 'q'.repeat(43);
    const masked = maskSecrets(`GET /calendars/${token}.ics and http://baton.test/calendars/${token}.ics`);
    expect(masked).not.toContain(token);
    expect(masked).toContain('/calendars/[masked]');
  });
});
