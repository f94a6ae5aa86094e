/**
 * On-call shifts as an iCalendar feed (RFC 5545) that Google Calendar and Outlook subscribe
 * to: one VEVENT per shift, the final shifts after layers, overrides and time off (what
 * GET /api/v1/schedules/:id/shifts answers; gaps are no events), in the schedule's zone.
 *
 * A subscribed calendar fetches the feed again and again and matches events by UID: the UID
 * is made of the schedule, the member and the shift's start, so the same shift keeps its
 * UID, and a shift the window's edge would cut is given whole (ScheduleService.wholeShifts).
 */
import { TZDate } from '@date-fns/tz';
import ical, { ICalCalendarMethod, ICalEventTransparency } from 'ical-generator';
import { tzlib_get_ical_block } from 'timezones-ical-library';
import type { ResponderConfig } from '../config/schema';
import type { ScheduleConfig } from '../schedules/types';
import { DAY_MS, isTimeZone } from '../schedules/zone';
import { shiftText, type ScheduleService, type ShiftView } from './schedules';

/** How far back a feed reaches: last month's shifts stay visible, for who covered what. */
export const FEED_PAST_MS = 30 * DAY_MS;
/**
 * How far ahead: a quarter, enough to plan holidays around the rotation. Further out the
 * shifts still change with overrides and time off, and each fetch would compute more.
 */
export const FEED_AHEAD_MS = 90 * DAY_MS;

/**
 * How often calendar apps that honour REFRESH-INTERVAL fetch again: an hour, so an override
 * shows the same day (Google Calendar and Outlook choose their own pace regardless).
 */
const REFRESH_SECONDS = 3600;

export function feedWindow(now: number): { from: number; to: number } {
  return { from: now - FEED_PAST_MS, to: now + FEED_AHEAD_MS };
}

/** One shift of one schedule, as the feed shows it. */
export interface CalendarEntry {
  schedule: ScheduleConfig;
  shift: ShiftView;
}

export interface CalendarInput {
  /** The calendar's name, as the app lists it. */
  name: string;
  description: string;
  entries: readonly CalendarEntry[];
  /** A responder's name, for the descriptions. */
  nameOf: (id: string) => string;
  /** The DTSTAMP of every event: when the feed was made. */
  now: number;
}

/** `<schedule>-<member>-<startISO>@baton`: the same shift gives the same UID on every fetch. */
export function shiftUid(schedule: ScheduleConfig, shift: ShiftView): string {
  return `${schedule.id}-${shift.member}-${shift.start}@baton`;
}

export function shiftSummary(schedule: ScheduleConfig, shift: ShiftView): string {
  return `On call: ${shift.name} (${schedule.name})`;
}

/** Which layer or override put the member there, and the schedule it belongs to. */
export function shiftDescription(
  schedule: ScheduleConfig,
  shift: ShiftView,
  nameOf: (id: string) => string,
): string {
  const { source } = shift;
  const lines: string[] = [];
  if (source.type === 'layer') {
    const layer = schedule.layers[source.layer];
    const which =
      schedule.layers.length > 1 ? `Layer ${source.layer + 1} of ${schedule.layers.length}` : 'The rotation';
    lines.push(
      layer
        ? `${which}: ${layer.members.map(nameOf).join(', ')} take turns, ${shiftText(layer.shift)} each.`
        : `${which}.`,
    );
    if (source.replacing !== undefined) {
      lines.push(
        `It was ${nameOf(source.replacing)}'s turn, who is away: the shift went to the next member free.`,
      );
    }
  } else {
    const where = source.id.startsWith('configured-') ? 'in the configuration' : 'added through the API';
    const instead = source.replacing !== undefined ? ` in place of ${nameOf(source.replacing)}` : '';
    lines.push(`An override ${where} (${source.id}) puts ${shift.name} on call${instead}.`);
  }
  lines.push(`From ${shift.startLocal} to ${shift.endLocal} (${schedule.timezone}).`);
  lines.push(`Schedule ${schedule.name} (${schedule.id}) of team ${schedule.team}.`);
  return lines.join('\n');
}

interface ZoneBlock {
  /** The zone's canonical name, as the VTIMEZONE and every TZID name it. */
  tzid: string;
  vtimezone: string;
}

const zoneBlocks = new Map<string, ZoneBlock | undefined>();

/**
 * The VTIMEZONE for a zone, under its canonical name (an alias like US/Eastern is written as
 * America/New_York). Undefined for UTC, and for a zone the library does not know: its events
 * are then written in UTC, still at the right instants.
 */
function zoneBlock(zone: string): ZoneBlock | undefined {
  if (zoneBlocks.has(zone)) return zoneBlocks.get(zone);
  let block: ZoneBlock | undefined;
  const answer = tzlib_get_ical_block(zone);
  if (Array.isArray(answer)) {
    const [vtimezone, tzidLine] = answer;
    const tzid = tzidLine?.startsWith('TZID=') ? tzidLine.slice('TZID='.length) : undefined;
    if (vtimezone && tzid && tzid !== 'Etc/UTC' && isTimeZone(tzid)) block = { tzid, vtimezone };
  }
  zoneBlocks.set(zone, block);
  return block;
}

/** The feed's text: one VEVENT per shift, each in its schedule's zone, with the VTIMEZONEs they name. */
export function renderCalendar(input: CalendarInput): string {
  const byTzid = new Map<string, string>();
  const calendar = ical({
    prodId: { company: 'Baton', product: 'Baton', language: 'EN' },
    method: ICalCalendarMethod.PUBLISH,
    name: input.name,
    description: input.description,
    ttl: REFRESH_SECONDS,
    // No calendar-wide zone (DTSTAMP stays UTC); each event names its own, and the generator
    // writes a VTIMEZONE for every zone the events name.
    timezone: { name: null, generator: (tzid) => byTzid.get(tzid) ?? null },
  });
  const entries = [...input.entries].sort(
    (a, b) =>
      Date.parse(a.shift.start) - Date.parse(b.shift.start) || (a.schedule.id < b.schedule.id ? -1 : 1),
  );
  for (const { schedule, shift } of entries) {
    const zone = zoneBlock(schedule.timezone);
    if (zone) byTzid.set(zone.tzid, zone.vtimezone);
    const start = Date.parse(shift.start);
    const end = Date.parse(shift.end);
    calendar.createEvent({
      id: shiftUid(schedule, shift),
      stamp: new Date(input.now),
      // A TZDate gives ical-generator the wall time in the zone, whatever the process's own zone.
      start: zone ? new TZDate(start, zone.tzid) : new Date(start),
      end: zone ? new TZDate(end, zone.tzid) : new Date(end),
      ...(zone ? { timezone: zone.tzid } : {}),
      summary: shiftSummary(schedule, shift),
      description: shiftDescription(schedule, shift, input.nameOf),
      // A week on call is not a week busy: subscribing must not block the member's free/busy.
      transparency: ICalEventTransparency.TRANSPARENT,
    });
  }
  return calendar.toString();
}

function namesOf(schedules: ScheduleService): (id: string) => string {
  const { responders } = schedules.config;
  return (id) => responders.find((r) => r.id === id)?.name ?? id;
}

/** One schedule's feed: every shift over the feed's window. */
export async function scheduleCalendar(
  schedules: ScheduleService,
  schedule: ScheduleConfig,
  now: number,
): Promise<string> {
  const { from, to } = feedWindow(now);
  const shifts = await schedules.wholeShifts(schedule, from, to);
  return renderCalendar({
    name: `On call: ${schedule.name}`,
    description: `Who is on call for ${schedule.name} (team ${schedule.team}), from Baton.`,
    entries: shifts.map((shift) => ({ schedule, shift })),
    nameOf: namesOf(schedules),
    now,
  });
}

/** One responder's feed: their shifts on each of `among`, the schedules the feed may show. */
export async function responderCalendar(
  schedules: ScheduleService,
  responder: ResponderConfig,
  among: readonly ScheduleConfig[],
  now: number,
): Promise<string> {
  const { from, to } = feedWindow(now);
  const perSchedule = await Promise.all(
    among.map(async (schedule) =>
      (await schedules.wholeShifts(schedule, from, to))
        .filter((shift) => shift.member === responder.id)
        .map((shift) => ({ schedule, shift })),
    ),
  );
  return renderCalendar({
    name: `On call: ${responder.name}`,
    description: `The on-call shifts of ${responder.name}, from Baton.`,
    entries: perSchedule.flat(),
    nameOf: namesOf(schedules),
    now,
  });
}
