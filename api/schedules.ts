/**
 * On-call schedules as the API serves them: who may see and change what, and the answers
 * (who is on call, the shifts, overrides, time off, the fairness report) with times as ISO
 * instants and as local times in the schedule's zone. The rotations come from the
 * configuration; what people add at run time comes from the ScheduleStore; the arithmetic is
 * schedules/.
 */
import { z } from 'zod';
import type { IncidentStore } from '../activities/store/incident-store';
import {
  adjustmentsFor,
  isOverrideId,
  isTimeOffId,
  type ScheduleStore,
  type StoredOverride,
  type StoredTimeOff,
} from '../activities/store/schedule-store';
import { formatDuration } from '../config/duration';
import { teamMembers, teamsOf } from '../config/policy';
import type { BatonConfig, ResponderConfig } from '../config/schema';
import { fairnessReport, type FairnessReport } from '../schedules/fairness';
import { overrideInputSchema } from '../schedules/schema';
import { finalShifts, MAX_WINDOW_MS, nextOnCall, onCallAt, ScheduleRangeError } from '../schedules/shifts';
import type { Adjustments, OnCallSegment, Override, ScheduleConfig, TimeOff } from '../schedules/types';
import { DAY_MS, formatLocal, fromWall, offsetAt, toWall, wallDay, weekdayIndex } from '../schedules/zone';
import { HttpError } from './errors';
import { pagesOfTeam } from './schedule-pages';

/** How a configured override or time off is named in answers: it has no stored id. */
const CONFIGURED = 'configured-';

/** `2026-11-02T09:00+01:00`: the local time with its offset, for people reading the answer. */
export function localTime(timeZone: string, at: number): string {
  const offset = offsetAt(timeZone, at) / 60_000;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${formatLocal(timeZone, at)}${sign}${hh}:${mm}`;
}

const iso = (at: number): string => new Date(at).toISOString();

export type SegmentView =
  | {
      member: string;
      name: string;
      source:
        | { type: 'layer'; layer: number; replacing?: string }
        | { type: 'override'; id: string; replacing?: string };
      start: string;
      end: string;
      startLocal: string;
      endLocal: string;
    }
  | {
      gap: true;
      reason: 'no-layer' | 'time-off';
      layer?: number;
      start: string;
      end: string;
      startLocal: string;
      endLocal: string;
    };

/** A shift as answers give it: a segment with someone on call. */
export type ShiftView = Extract<SegmentView, { member: string }>;

export interface OverrideView {
  id: string;
  schedule: string;
  member: string;
  replacing?: string;
  from: string;
  to: string;
  fromLocal: string;
  toLocal: string;
  /** Absent for an override written in the configuration. */
  by?: string;
  at?: string;
  configured: boolean;
}

export interface TimeOffView {
  id: string;
  member: string;
  from: string;
  to: string;
  by?: string;
  at?: string;
  /** For time off written in the configuration: the schedule it stands under. */
  schedule?: string;
  configured: boolean;
}

export interface ScheduleServiceDeps {
  config: BatonConfig;
  store: ScheduleStore;
  /** Where the team's incidents are, for the pages in the fairness report. */
  incidents: IncidentStore;
  now?: () => number;
  /** Hears which schedules an override or time off just changed (their workflows plan their notices again). */
  onChanged?: (scheduleIds: readonly string[]) => void;
}

/**
 * A body refused for what it says: 400, each problem naming its field as the API does
 * (`body.to: ends at …`), so every caller of the same check gives the same words.
 */
export class InvalidBody extends HttpError {
  readonly issues: { path: string; message: string }[];

  constructor(error: z.ZodError) {
    const issues = error.issues.map((i) => ({
      path: ['body', ...i.path.map(String)].join('.'),
      message: i.message,
    }));
    super(400, `invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, 'InvalidInput');
    this.issues = issues;
  }
}

/** What a request about one schedule acts on, once the caller may see it. */
export interface Visible {
  schedule: ScheduleConfig;
  caller: ResponderConfig;
  manages: boolean;
}

export class ScheduleService {
  readonly config: BatonConfig;
  private readonly store: ScheduleStore;
  private readonly incidents: IncidentStore;
  readonly now: () => number;
  private readonly onChanged: ((scheduleIds: readonly string[]) => void) | undefined;

  constructor(deps: ScheduleServiceDeps) {
    this.onChanged = deps.onChanged;
    this.config = deps.config;
    this.store = deps.store;
    this.incidents = deps.incidents;
    this.now = deps.now ?? Date.now;
  }

  private responder(id: string): ResponderConfig | undefined {
    return this.config.responders.find((r) => r.id === id);
  }

  /** As for incidents: a team's members and managers, and the managers who oversee every team. */
  private seesTeam(team: string, caller: ResponderConfig): boolean {
    if (caller.allTeams) return true;
    const found = this.config.teams.find((t) => t.id === team);
    return found !== undefined && teamMembers(this.config, found).includes(caller.id);
  }

  private managesTeam(team: string, caller: ResponderConfig): boolean {
    return caller.level === 'manager' && this.seesTeam(team, caller);
  }

  /** The schedule, if the caller may see it; 404 alike for unknown and hidden ones. */
  visible(id: string, callerId: string): Visible {
    const schedule = this.config.schedules.find((s) => s.id === id);
    const caller = this.responder(callerId);
    if (!schedule || !caller || !this.seesTeam(schedule.team, caller)) {
      throw new HttpError(404, `no schedule "${id}"`, 'NotFound');
    }
    return { schedule, caller, manages: this.managesTeam(schedule.team, caller) };
  }

  listVisible(callerId: string): ScheduleConfig[] {
    const caller = this.responder(callerId);
    if (!caller) return [];
    return this.config.schedules.filter((s) => this.seesTeam(s.team, caller));
  }

  /** Whether `member` may be put on call for the schedule: someone on its team. */
  isOnTeam(schedule: ScheduleConfig, member: string): boolean {
    const team = this.config.teams.find((t) => t.id === schedule.team);
    return team !== undefined && teamMembers(this.config, team).includes(member);
  }

  adjustments(schedule: ScheduleConfig): Promise<Adjustments> {
    return adjustmentsFor(schedule, this.store);
  }

  private segmentView(schedule: ScheduleConfig, adjustments: Adjustments, s: OnCallSegment): SegmentView {
    const zone = schedule.timezone;
    const times = {
      start: iso(s.start),
      end: iso(s.end),
      startLocal: localTime(zone, s.start),
      endLocal: localTime(zone, s.end),
    };
    if (s.kind === 'gap') {
      return { gap: true, reason: s.reason, ...(s.layer !== undefined ? { layer: s.layer } : {}), ...times };
    }
    const replacing = s.source.replacing !== undefined ? { replacing: s.source.replacing } : {};
    let source: Extract<SegmentView, { member: string }>['source'];
    if (s.source.type === 'layer') {
      source = { type: 'layer', layer: s.source.layer, ...replacing };
    } else {
      const o = adjustments.overrides?.[s.source.override];
      // Configured overrides come first in the adjustments, so their index is their place in the file.
      const id = o && 'id' in o && typeof o.id === 'string' ? o.id : `${CONFIGURED}${s.source.override}`;
      source = { type: 'override', id, ...replacing };
    }
    return { member: s.member, name: this.responder(s.member)?.name ?? s.member, source, ...times };
  }

  /** Who is on call at `at` (or the gap), with the shift's bounds. */
  async segmentAt(schedule: ScheduleConfig, at: number): Promise<SegmentView> {
    const adjustments = await this.adjustments(schedule);
    const segment = rangeChecked(() => onCallAt(schedule, adjustments, at));
    return this.segmentView(schedule, adjustments, segment);
  }

  async onCall(
    schedule: ScheduleConfig,
    at: number,
  ): Promise<SegmentView & { schedule: string; at: string }> {
    return { schedule: schedule.id, at: iso(at), ...(await this.segmentAt(schedule, at)) };
  }

  async shifts(schedule: ScheduleConfig, from: number, to: number): Promise<SegmentView[]> {
    const adjustments = await this.adjustments(schedule);
    const segments = rangeChecked(() => finalShifts(schedule, adjustments, from, to));
    return segments.map((s) => this.segmentView(schedule, adjustments, s));
  }

  /**
   * The shifts (no gaps) that overlap [from, to), each whole: the first and the last are not
   * cut at the window's edges, so that a calendar fetching a window that moves with the clock
   * sees every shift with the same start and end each time.
   */
  async wholeShifts(schedule: ScheduleConfig, from: number, to: number): Promise<ShiftView[]> {
    const adjustments = await this.adjustments(schedule);
    const whole = rangeChecked(() => {
      const segments = finalShifts(schedule, adjustments, from, to);
      const last = segments.length - 1;
      // Only the window's edges cut a shift; onCallAt gives the first and last their true bounds.
      return segments.map((s, i) =>
        s.kind === 'shift' && (i === 0 || i === last) ? onCallAt(schedule, adjustments, s.start) : s,
      );
    });
    return whole.flatMap((s) => {
      const view = this.segmentView(schedule, adjustments, s);
      return 'member' in view ? [view] : [];
    });
  }

  async report(
    schedule: ScheduleConfig,
    from: number,
    to: number,
  ): Promise<FairnessReport & { names: Record<string, string> }> {
    const adjustments = await this.adjustments(schedule);
    // Checked before the incident store is read: a window refused costs nothing.
    checkWindow(from, to);
    const pages = await pagesOfTeam(this.incidents, schedule.team, from, to);
    const report = rangeChecked(() => fairnessReport(schedule, adjustments, from, to, pages));
    const names = Object.fromEntries(
      report.members.map((m) => [m.member, this.responder(m.member)?.name ?? m.member]),
    );
    return { ...report, names };
  }

  /** Hours each member is on call in the schedule's current local week (Monday 00:00 to Monday 00:00). */
  async weekHours(schedule: ScheduleConfig, at: number): Promise<{ member: string; hours: number }[]> {
    const { from, to } = currentWeek(schedule.timezone, at);
    const report = fairnessReport(schedule, await this.adjustments(schedule), from, to);
    return report.members.map((m) => ({ member: m.member, hours: m.hoursOnCall }));
  }

  /**
   * The fairness report over the schedule's current local week, pages and nights woken
   * included: the report's own figures, for the metrics. It reads the team's incidents.
   */
  async weekReport(schedule: ScheduleConfig, at: number): Promise<FairnessReport> {
    const { from, to } = currentWeek(schedule.timezone, at);
    return this.report(schedule, from, to);
  }

  async overrides(schedule: ScheduleConfig): Promise<OverrideView[]> {
    const configured = schedule.overrides.map((o, i) => this.overrideView(schedule, o, `${CONFIGURED}${i}`));
    const stored = (await this.store.overrides(schedule.id)).map((o) => this.overrideView(schedule, o, o.id));
    return [...configured, ...stored];
  }

  overrideView(schedule: ScheduleConfig, o: Override | StoredOverride, id: string): OverrideView {
    const zone = schedule.timezone;
    const made = 'by' in o ? { by: o.by, at: o.at } : {};
    return {
      id,
      schedule: schedule.id,
      member: o.member,
      ...(o.replacing !== undefined ? { replacing: o.replacing } : {}),
      from: iso(o.from),
      to: iso(o.to),
      fromLocal: localTime(zone, o.from),
      toLocal: localTime(zone, o.to),
      ...made,
      configured: !('by' in o),
    };
  }

  /** The next one in line after whoever is on call at `at` (see nextOnCall), if anyone within 400 days. */
  async nextAt(schedule: ScheduleConfig, at: number): Promise<SegmentView | undefined> {
    const adjustments = await this.adjustments(schedule);
    const next = rangeChecked(() => nextOnCall(schedule, adjustments, at));
    return next ? this.segmentView(schedule, adjustments, next) : undefined;
  }

  /**
   * An override as the caller asks for it, checked before anything is stored: the body
   * (InvalidBody), that a member puts only themselves on call unless they manage the team
   * (403), and that whoever it names is on the team (InvalidBody).
   */
  async createOverride(v: Visible, body: unknown): Promise<OverrideView> {
    const context = { responderIds: this.config.responders.map((r) => r.id), now: this.now() };
    const parsed = overrideInputSchema(context).safeParse(body);
    if (!parsed.success) throw new InvalidBody(parsed.error);
    const o = parsed.data;
    if (!v.manages && o.member !== v.caller.id) {
      throw new HttpError(
        403,
        `only a manager of team ${v.schedule.team} may put someone else on call; ${v.caller.id} may cover shifts as ${v.caller.id}`,
        'NotPermitted',
      );
    }
    for (const field of ['member', 'replacing'] as const) {
      const who = o[field];
      if (who !== undefined && !this.isOnTeam(v.schedule, who)) {
        throw new InvalidBody(
          new z.ZodError([
            {
              code: 'custom',
              path: [field],
              message: `${who} is not on team ${v.schedule.team}`,
              input: who,
            },
          ]),
        );
      }
    }
    return this.addOverride(v.schedule, o, v.caller.id);
  }

  async addOverride(schedule: ScheduleConfig, o: Override, by: string): Promise<OverrideView> {
    const stored = await this.store.addOverride(schedule.id, {
      member: o.member,
      from: o.from,
      to: o.to,
      ...(o.replacing !== undefined ? { replacing: o.replacing } : {}),
      by,
      at: iso(this.now()),
    });
    this.changed([schedule.id]);
    return this.overrideView(schedule, stored, stored.id);
  }

  /** Tells whoever listens which schedules changed; a listener's failure never fails the change. */
  private changed(scheduleIds: readonly string[]): void {
    if (scheduleIds.length === 0 || !this.onChanged) return;
    try {
      this.onChanged(scheduleIds);
    } catch {
      // The schedule workflows look again within hours anyway.
    }
  }

  /** The schedules whose rotations name `member`: where their time off changes who is on call. */
  private schedulesWith(member: string): string[] {
    return this.config.schedules
      .filter((s) => s.layers.some((l) => l.members.includes(member)))
      .map((s) => s.id);
  }

  /**
   * Removes a stored override: a manager of the team removes any, a member those they made
   * or that put them on call. Configured ones are changed in the configuration only.
   */
  async removeOverride(v: Visible, id: string): Promise<void> {
    if (id.startsWith(CONFIGURED) && v.schedule.overrides[Number(id.slice(CONFIGURED.length))]) {
      throw new HttpError(
        409,
        `override "${id}" is written in the configuration (schedules[].overrides); remove it there`,
        'Configured',
      );
    }
    const found = isOverrideId(id)
      ? (await this.store.overrides(v.schedule.id)).find((o) => o.id === id)
      : undefined;
    if (!found) throw new HttpError(404, `no override "${id}" on schedule "${v.schedule.id}"`, 'NotFound');
    if (!v.manages && found.by !== v.caller.id && found.member !== v.caller.id) {
      throw new HttpError(
        403,
        `only a manager of team ${v.schedule.team}, ${found.by} who made it or ${found.member} who covers it may remove this override`,
        'NotPermitted',
      );
    }
    if (!(await this.store.removeOverride(v.schedule.id, id))) {
      throw new HttpError(404, `no override "${id}" on schedule "${v.schedule.id}"`, 'NotFound');
    }
    this.changed([v.schedule.id]);
  }

  /**
   * The responder, if the caller may see their time off (themselves, or someone on one of
   * their teams), with whether the caller may change it (themselves, or a manager of a team
   * the responder is on). 404 alike for unknown and hidden responders.
   */
  responderFor(id: string, callerId: string): { member: ResponderConfig; mayChange: boolean } {
    const member = this.responder(id);
    const caller = this.responder(callerId);
    if (member && caller) {
      if (member.id === caller.id) return { member, mayChange: true };
      const teams = teamsOf(this.config, member.id);
      if (teams.some((t) => this.seesTeam(t, caller))) {
        return { member, mayChange: teams.some((t) => this.managesTeam(t, caller)) };
      }
    }
    throw new HttpError(404, `no responder "${id}"`, 'NotFound');
  }

  async timeOff(member: string): Promise<TimeOffView[]> {
    const configured = this.config.schedules.flatMap((s) =>
      s.timeOff
        .map((t, i) => ({ t, id: `${CONFIGURED}${s.id}-${i}`, schedule: s.id }))
        .filter(({ t }) => t.member === member)
        .map(({ t, id, schedule }) => ({ ...timeOffView(t, id), schedule })),
    );
    const stored = (await this.store.timeOff(member)).map((t) => timeOffView(t, t.id));
    return [...configured, ...stored];
  }

  async addTimeOff(t: TimeOff, by: string): Promise<TimeOffView> {
    const stored = await this.store.addTimeOff({
      member: t.member,
      from: t.from,
      to: t.to,
      by,
      at: iso(this.now()),
    });
    this.changed(this.schedulesWith(t.member));
    return timeOffView(stored, stored.id);
  }

  async removeTimeOff(member: string, id: string): Promise<void> {
    if (id.startsWith(CONFIGURED) && (await this.timeOff(member)).some((t) => t.id === id)) {
      throw new HttpError(
        409,
        `time off "${id}" is written in the configuration (schedules[].timeOff); remove it there`,
        'Configured',
      );
    }
    const found = isTimeOffId(id) ? (await this.store.timeOff(member)).find((t) => t.id === id) : undefined;
    if (!found || !(await this.store.removeTimeOff(id))) {
      throw new HttpError(404, `no time off "${id}" for ${member}`, 'NotFound');
    }
    this.changed(this.schedulesWith(member));
  }
}

function timeOffView(t: TimeOff | StoredTimeOff, id: string): TimeOffView {
  return {
    id,
    member: t.member,
    from: iso(t.from),
    to: iso(t.to),
    ...('by' in t ? { by: t.by, at: t.at } : {}),
    configured: !('by' in t),
  };
}

/** The local week `at` falls in: Monday 00:00 to the next Monday 00:00 in `zone`. */
export function currentWeek(zone: string, at: number): { from: number; to: number } {
  const today = wallDay(toWall(zone, at));
  const monday = today - weekdayIndex(today) * DAY_MS;
  return { from: fromWall(zone, monday), to: fromWall(zone, monday + 7 * DAY_MS) };
}

/** The window the arithmetic would refuse, refused the same way before anything is read. */
function checkWindow(from: number, to: number): void {
  if (to <= from) throw new HttpError(400, 'to must be after from', 'InvalidInput');
  if (to - from > MAX_WINDOW_MS) {
    throw new HttpError(
      400,
      `a schedule is computed over at most ${MAX_WINDOW_MS / DAY_MS} days at a time`,
      'InvalidInput',
    );
  }
}

/** The arithmetic's refusals (a window over 400 days, to before from) are the caller's to fix: 400. */
function rangeChecked<T>(compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    if (err instanceof ScheduleRangeError) throw new HttpError(400, err.message, 'InvalidInput');
    throw err;
  }
}

/** `1w`, `12h`: a layer's shift as the configuration writes it. */
export function shiftText(ms: number): string {
  const week = 7 * DAY_MS;
  return ms % week === 0 ? `${ms / week}w` : formatDuration(ms);
}
