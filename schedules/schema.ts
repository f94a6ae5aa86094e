/**
 * The `schedules:` configuration and the API's inputs (an override, time off), parsed with
 * zod. Errors name the field: `schedules[0].layers[1].members[2]: unknown responder "zed"`.
 *
 * The shape of an entry needs no context (scheduleEntrySchema); what refers to the rest of
 * the configuration or to the present (known responders and teams, "not more than a year
 * out") is checked by checkSchedules, with the context given: configuration validation
 * calls it from its superRefine, the API through schedulesSchema or the input schemas.
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../config/duration';
import { MINUTES_PER_WEEK, weeklyMinutes } from './restrict';
import { WEEKDAYS, type Override, type Restriction, type ScheduleConfig, type TimeOff } from './types';
import { DAY_MS, isTimeZone, parseClock, parseLocalDateTime } from './zone';

const HOUR_MS = 3_600_000;
/** Shorter shifts are not a rotation people can live with, and would make windows costly to compute. */
export const MIN_SHIFT_MS = HOUR_MS;
export const MAX_SHIFT_MS = 8 * 7 * DAY_MS;
/** How far ahead an override or time off may reach (a year, leap day included). */
export const MAX_AHEAD_MS = 366 * DAY_MS;

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lower-case letters, digits, "-" and "_" only');

const shift = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 12h, 1d or 1w` });
    return z.NEVER;
  }
  if (ms < MIN_SHIFT_MS) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is shorter than 1h; a shift lasts at least an hour` });
    return z.NEVER;
  }
  if (ms > MAX_SHIFT_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is longer than ${formatDuration(MAX_SHIFT_MS)} (8 weeks); no shift lasts that long`,
    });
    return z.NEVER;
  }
  return ms;
});

const handoff = z.string().refine((text) => parseLocalDateTime(text) !== undefined, {
  error: (issue) =>
    `${JSON.stringify(issue.input)} is not a local time; write YYYY-MM-DDTHH:MM without an offset, like 2026-11-02T09:00`,
});

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An ISO time with its offset, as epoch milliseconds. */
const instant = z.string().transform((text, ctx) => {
  const match = ISO_INSTANT.exec(text);
  const ms = match ? Date.parse(text) : NaN;
  if (!match || parseLocalDateTime(match[1] as string) === undefined || Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not an ISO time with an offset; write it like 2026-11-03T09:00:00+01:00 or 2026-11-03T08:00:00Z`,
    });
    return z.NEVER;
  }
  return ms;
});

const clock = (allowEndOfDay: boolean) =>
  z.string().refine((text) => parseClock(text, allowEndOfDay) !== undefined, {
    error: (issue) =>
      `${JSON.stringify(issue.input)} is not a time of day; write HH:MM, like 09:00${allowEndOfDay ? ' (or 24:00)' : ''}`,
  });

export const restrictionSchema: z.ZodType<Restriction> = z
  .strictObject({
    weekdays: z
      .array(z.enum(WEEKDAYS))
      .min(1, 'name at least one weekday (mon, tue, wed, thu, fri, sat, sun)')
      .refine((days) => new Set(days).size === days.length, 'name each weekday once'),
    from: clock(false),
    to: clock(true),
  })
  .superRefine((window, ctx) => {
    if (parseClock(window.from) === parseClock(window.to, true)) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `the window ${window.from}–${window.to} is empty; a whole day is 00:00–24:00`,
      });
    }
  });

/** `to` after `from`: shared by overrides and time off. */
function checkSpan(span: { from: number; to: number }, ctx: z.RefinementCtx): void {
  if (span.to <= span.from) {
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `ends at ${new Date(span.to).toISOString()}, not after it starts (${new Date(span.from).toISOString()})`,
    });
  }
}

export const overrideSchema: z.ZodType<Override> = z
  .strictObject({ member: id, from: instant, to: instant, replacing: id.optional() })
  .superRefine(checkSpan);

export const timeOffSchema: z.ZodType<TimeOff> = z
  .strictObject({ member: id, from: instant, to: instant })
  .superRefine(checkSpan);

const layerSchema = z.strictObject({
  members: z.array(id).min(1, 'a layer needs at least one member'),
  shift,
  handoff,
  restrict: z
    .array(restrictionSchema)
    .min(1, 'restrict to at least one window, or leave restrict out')
    .optional(),
});

type LayerEntry = z.output<typeof layerSchema>;

const EVERY_MINUTE = new Uint8Array(MINUTES_PER_WEEK).fill(1);

/**
 * "Overlapping layers with nothing to decide between them": a layer that later layers hide
 * everywhere. Later layers win where they apply; a later layer whose first handoff is at or
 * before this one's applies from this one's first handoff on, wherever its restriction
 * covers. When such later layers together cover every local minute of the week this layer
 * covers, this layer would never put anyone on call: refused, naming the layers.
 */
function checkHiddenLayers(layers: readonly LayerEntry[], ctx: z.RefinementCtx): void {
  layers.forEach((layer, index) => {
    const start = parseLocalDateTime(layer.handoff);
    if (start === undefined) return;
    const own = layer.restrict ? weeklyMinutes(layer.restrict) : EVERY_MINUTE;
    const covered = new Uint8Array(MINUTES_PER_WEEK);
    const hiders: number[] = [];
    layers.forEach((later, laterIndex) => {
      if (laterIndex <= index) return;
      const laterStart = parseLocalDateTime(later.handoff);
      if (laterStart === undefined || laterStart > start) return;
      const theirs = later.restrict ? weeklyMinutes(later.restrict) : EVERY_MINUTE;
      let overlaps = false;
      for (let m = 0; m < MINUTES_PER_WEEK; m++) {
        if (own[m] && theirs[m]) {
          covered[m] = 1;
          overlaps = true;
        }
      }
      if (overlaps) hiders.push(laterIndex);
    });
    if (hiders.length === 0 || own.some((minute, m) => minute === 1 && covered[m] !== 1)) return;
    const names = hiders.map((h) => `layers[${h}]`);
    const one = names.length === 1;
    const them = one ? (names[0] as string) : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    const self = `layers[${index}]`;
    ctx.addIssue({
      code: 'custom',
      path: ['layers', index],
      message:
        `${self} would never apply: ${them} ${one ? 'comes later, so it wins, and it covers' : 'come later, so they win, and they cover'} ` +
        `every hour ${self} covers from ${one ? 'a first handoff' : 'first handoffs'} at or before ${self}'s; ` +
        `restrict ${them} or remove ${self}`,
    });
  });
}

/** How long before a shift its member is told; `0` for not ahead, only when it starts. */
const handoffNotice = z.string().transform((text, ctx) => {
  const ms = text.trim() === '0' ? 0 : parseDuration(text);
  if (ms === undefined || ms < 0 || ms > 7 * DAY_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a duration of up to a week; write it like 1h, 30m or 0`,
    });
    return z.NEVER;
  }
  return ms;
});

/** One `schedules:` entry, on its own: shape, zone, handoffs, shifts, windows, layer order. */
export const scheduleEntrySchema: z.ZodType<ScheduleConfig> = z
  .strictObject({
    id,
    team: id,
    name: z.string().min(1),
    timezone: z.string().refine(isTimeZone, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not an IANA time zone; write one like Europe/Berlin`,
    }),
    layers: z.array(layerSchema).min(1, 'a schedule needs at least one layer'),
    businessHours: z.array(restrictionSchema).min(1).optional(),
    handoffNotice: handoffNotice.optional(),
    overrides: z.array(overrideSchema).default([]),
    timeOff: z.array(timeOffSchema).default([]),
  })
  .superRefine((schedule, ctx) => checkHiddenLayers(schedule.layers, ctx));

/** What a schedule's references are checked against. */
export interface ScheduleContext {
  responderIds: Iterable<string>;
  /** When given, a schedule's `team` must be one of these. */
  teamIds?: Iterable<string>;
  /** The present, in epoch milliseconds: overrides and time off reach at most a year past it. */
  now: number;
}

type Path = (string | number)[];
type IssueSink = Pick<z.RefinementCtx, 'addIssue'>;

interface Known {
  responders: ReadonlySet<string>;
  teams: ReadonlySet<string> | undefined;
  now: number;
}

function known(context: ScheduleContext): Known {
  return {
    responders: new Set(context.responderIds),
    teams: context.teamIds ? new Set(context.teamIds) : undefined,
    now: context.now,
  };
}

function checkResponder(ref: string, k: Known, ctx: IssueSink, path: Path): void {
  if (!k.responders.has(ref)) ctx.addIssue({ code: 'custom', path, message: `unknown responder "${ref}"` });
}

function checkAhead(span: { from: number; to: number }, k: Known, ctx: IssueSink, path: Path): void {
  const limit = k.now + MAX_AHEAD_MS;
  const field = span.from > limit ? 'from' : span.to > limit ? 'to' : undefined;
  if (!field) return;
  ctx.addIssue({
    code: 'custom',
    path: [...path, field],
    message: `${new Date(span[field]).toISOString()} is more than a year from now; plan at most a year ahead`,
  });
}

function checkOverride(o: Override, k: Known, ctx: IssueSink, path: Path): void {
  checkResponder(o.member, k, ctx, [...path, 'member']);
  if (o.replacing !== undefined) checkResponder(o.replacing, k, ctx, [...path, 'replacing']);
  checkAhead(o, k, ctx, path);
}

function checkTimeOff(t: TimeOff, k: Known, ctx: IssueSink, path: Path): void {
  checkResponder(t.member, k, ctx, [...path, 'member']);
  checkAhead(t, k, ctx, path);
}

function checkSchedule(s: ScheduleConfig, k: Known, ctx: IssueSink, path: Path): void {
  if (k.teams && !k.teams.has(s.team)) {
    ctx.addIssue({ code: 'custom', path: [...path, 'team'], message: `unknown team "${s.team}"` });
  }
  s.layers.forEach((layer, li) =>
    layer.members.forEach((member, mi) =>
      checkResponder(member, k, ctx, [...path, 'layers', li, 'members', mi]),
    ),
  );
  s.overrides.forEach((o, i) => checkOverride(o, k, ctx, [...path, 'overrides', i]));
  s.timeOff.forEach((t, i) => checkTimeOff(t, k, ctx, [...path, 'timeOff', i]));
}

/** The references of parsed entries: known responders and teams, unique ids, nothing more than a year out. */
export function checkSchedules(
  schedules: readonly ScheduleConfig[],
  context: ScheduleContext,
  ctx: IssueSink,
  path: Path = [],
): void {
  const k = known(context);
  const seen = new Set<string>();
  schedules.forEach((s, index) => {
    if (seen.has(s.id)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, index, 'id'],
        message: `schedule "${s.id}" is defined twice`,
      });
    }
    seen.add(s.id);
    checkSchedule(s, k, ctx, [...path, index]);
  });
}

/** The whole `schedules:` list, checked against `context`. */
export function schedulesSchema(context: ScheduleContext): z.ZodType<ScheduleConfig[]> {
  return z
    .array(scheduleEntrySchema)
    .superRefine((schedules, ctx) => checkSchedules(schedules, context, ctx));
}

/** One schedule sent to the API (a new one or a replacement), checked against `context`. */
export function scheduleInputSchema(context: ScheduleContext): z.ZodType<ScheduleConfig> {
  return scheduleEntrySchema.superRefine((s, ctx) => checkSchedule(s, known(context), ctx, []));
}

/** An override sent to the API. */
export function overrideInputSchema(context: ScheduleContext): z.ZodType<Override> {
  return overrideSchema.superRefine((o, ctx) => checkOverride(o, known(context), ctx, []));
}

/** Time off sent to the API. */
export function timeOffInputSchema(context: ScheduleContext): z.ZodType<TimeOff> {
  return timeOffSchema.superRefine((t, ctx) => checkTimeOff(t, known(context), ctx, []));
}
