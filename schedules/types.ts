/**
 * On-call schedules (issue #22): who is on call for a team, computed from rotations
 * ("layers"), overrides and time off. These are the names the configuration, the API and
 * the messages share. Instants are epoch milliseconds (UTC), so every value here survives
 * JSON and a Temporal payload unchanged.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * One weekly window in the schedule's local time: on each of `weekdays`, from `from` to `to`
 * (`HH:MM`). A window whose `to` is at or before its `from` crosses midnight and ends on the
 * next day (mon 22:00–06:00 ends Tuesday 06:00); `to` may be `24:00`.
 */
export interface Restriction {
  weekdays: readonly Weekday[];
  from: string;
  to: string;
}

/** One rotation. Later layers of a schedule win wherever they apply. */
export interface Layer {
  /** Responder ids, in rotation order. */
  members: readonly string[];
  /** Length of a shift in wall-clock milliseconds: a `1d` shift is one calendar day, 23 or 25 hours across DST. */
  shift: number;
  /** Local time of the first handoff, `YYYY-MM-DDTHH:MM` in the schedule's timezone; before it the layer does not apply. */
  handoff: string;
  /** When present, the layer applies only inside these windows. */
  restrict?: readonly Restriction[];
}

export interface Schedule {
  id: string;
  team: string;
  name: string;
  /** IANA name; every handoff and window is local to it, DST included. */
  timezone: string;
  layers: readonly Layer[];
  /** For the fairness report; Mon–Fri 09:00–17:00 local when absent. */
  businessHours?: readonly Restriction[];
}

/** `member` is on call from `from` to `to` instead of whoever the layers say (only in place of `replacing`, when given). */
export interface Override {
  member: string;
  from: number;
  to: number;
  replacing?: string;
}

/** `member` is away from `from` to `to`: no layer or override puts them on call then. */
export interface TimeOff {
  member: string;
  from: number;
  to: number;
}

/** What changes a schedule's rotations; later overrides win where two overlap. */
export interface Adjustments {
  overrides?: readonly Override[];
  timeOff?: readonly TimeOff[];
}

/** A schedule as configured: its rotations plus the overrides and time off written beside them. */
export interface ScheduleConfig extends Schedule {
  /** How long before a shift its member is told, in ms; an hour when absent, 0 for only when it starts. */
  handoffNotice?: number;
  overrides: Override[];
  timeOff: TimeOff[];
}

/** Which part of the schedule put a member on call. */
export type ShiftSource =
  | {
      type: 'layer';
      /** Index into the schedule's layers. */
      layer: number;
      /** The member whose turn it was, when their time off moved the shift to this one. */
      replacing?: string;
    }
  | {
      type: 'override';
      /** Index into the adjustments' overrides. */
      override: number;
      /** The override's own `replacing`, when it names one. */
      replacing?: string;
    };

/** `member` is on call from `start` to `end` (end exclusive). */
export interface Shift {
  kind: 'shift';
  member: string;
  start: number;
  end: number;
  source: ShiftSource;
}

/**
 * Nobody is on call from `start` to `end`: `no-layer` where no layer applies (before the
 * first handoff, outside every restriction), `time-off` where the layer that applies has
 * every member away.
 */
export interface Gap {
  kind: 'gap';
  start: number;
  end: number;
  reason: 'no-layer' | 'time-off';
  /** The layer whose members were all away, for `time-off`. */
  layer?: number;
}

export type OnCallSegment = Shift | Gap;
