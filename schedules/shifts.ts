/**
 * Who is on call, computed: each layer's rotation in local wall-clock time, its
 * restrictions, then time off and overrides. Pure and deterministic (workflow code imports
 * it): instants come in as arguments, never from a clock.
 *
 * Precedence, for every instant:
 *   1. Time off beats everything for that person.
 *   2. The last override that covers the instant wins, unless its member is away (then the
 *      next override, then the layers decide) or it names a `replacing` who is neither the
 *      member the layers put there nor the one whose turn it was.
 *   3. The last layer that applies (its handoff has come, the instant is inside its
 *      restriction) decides; its member's time off moves the shift to the next member of
 *      that layer who is free, in rotation order, or else it is a gap. Where no layer
 *      applies, it is a gap.
 */
import { type Interval, normalize } from './intervals';
import { restrictionWindows } from './restrict';
import type { Adjustments, Gap, Layer, OnCallSegment, Override, Schedule, Shift, TimeOff } from './types';
import { DAY_MS, fromWall, parseLocalDateTime, toWall } from './zone';

/** The longest span one computation covers: a year and a bit, enough for any report. */
export const MAX_WINDOW_MS = 400 * DAY_MS;
/** No rotation needs more slots than this in one window (400 days of 1h shifts is 9 600). */
const MAX_SLOTS = 20_000;
/** How far nextOnCall looks ahead. */
const NEXT_HORIZON_MS = 400 * DAY_MS;

/** A window or an input the arithmetic refuses; callers answer it as a 400 with this message. */
export class ScheduleRangeError extends RangeError {
  override name = 'ScheduleRangeError';
}

function checkWindow(from: number, to: number): void {
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw new ScheduleRangeError('from and to must be instants');
  }
  if (to <= from) throw new ScheduleRangeError('to must be after from');
  if (to - from > MAX_WINDOW_MS) {
    throw new ScheduleRangeError(
      `a schedule is computed over at most ${MAX_WINDOW_MS / DAY_MS} days at a time`,
    );
  }
}

/** A part of one layer's rotation: whose turn it was (`scheduled`) and who has it after time off. */
interface LayerPiece extends Interval {
  slot: number;
  scheduled: string;
  /** undefined: everyone in the layer is away. */
  member: string | undefined;
}

type AwayIndex = Map<string, Interval[]>;

function awayIndex(timeOff: readonly TimeOff[], from: number, to: number): AwayIndex {
  const byMember = new Map<string, Interval[]>();
  for (const t of timeOff) {
    if (t.to <= from || t.from >= to) continue;
    const list = byMember.get(t.member) ?? [];
    list.push({ start: t.from, end: t.to });
    byMember.set(t.member, list);
  }
  for (const [member, spans] of byMember) byMember.set(member, normalize(spans));
  return byMember;
}

function isAway(away: AwayIndex, member: string, at: number): boolean {
  return (away.get(member) ?? []).some((s) => s.start <= at && at < s.end);
}

/** The rotation's slots (shift k runs from the k-th handoff to the next) that overlap [from, to). */
function slotsOf(schedule: Schedule, layer: Layer, from: number, to: number): LayerPiece[] {
  const first = parseLocalDateTime(layer.handoff);
  if (first === undefined) throw new ScheduleRangeError(`handoff "${layer.handoff}" is not YYYY-MM-DDTHH:MM`);
  if (!(layer.shift > 0) || layer.members.length === 0) {
    throw new ScheduleRangeError('a layer needs members and a positive shift');
  }
  if ((to - from + 2 * DAY_MS) / layer.shift > MAX_SLOTS) {
    throw new ScheduleRangeError(`a ${layer.shift} ms shift gives too many shifts to compute in this window`);
  }
  const zone = schedule.timezone;
  // A day's margin: the local reading of `from` and the handoffs' instants differ by the offset.
  let slot = Math.max(0, Math.floor((toWall(zone, from) - first - DAY_MS) / layer.shift));
  const slots: LayerPiece[] = [];
  for (; ; slot++) {
    const start = fromWall(zone, first + slot * layer.shift);
    if (start >= to) break;
    const end = fromWall(zone, first + (slot + 1) * layer.shift);
    // A slot can vanish into a spring-forward gap (a 1h shift at 02:00); its member waits for the next turn.
    if (end <= from || end <= start) continue;
    const scheduled = layer.members[slot % layer.members.length] as string;
    slots.push({ start: Math.max(start, from), end: Math.min(end, to), slot, scheduled, member: scheduled });
  }
  return slots;
}

/** Hands the parts of a piece whose member is away to the next free member in rotation order. */
function applyTimeOff(layer: Layer, piece: LayerPiece, away: AwayIndex): LayerPiece[] {
  const cuts = new Set<number>([piece.start, piece.end]);
  for (const member of layer.members) {
    for (const span of away.get(member) ?? []) {
      if (span.start > piece.start && span.start < piece.end) cuts.add(span.start);
      if (span.end > piece.start && span.end < piece.end) cuts.add(span.end);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  const n = layer.members.length;
  const out: LayerPiece[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i] as number;
    const end = points[i + 1] as number;
    // Between two cuts everyone's availability is constant: asking at `start` is enough.
    let member: string | undefined;
    for (let step = 0; step < n && member === undefined; step++) {
      const candidate = layer.members[(piece.slot + step) % n] as string;
      if (!isAway(away, candidate, start)) member = candidate;
    }
    const last = out[out.length - 1];
    if (last && last.member === member) last.end = end;
    else out.push({ ...piece, start, end, member });
  }
  return out;
}

function layerPieces(
  schedule: Schedule,
  layerIndex: number,
  away: AwayIndex,
  from: number,
  to: number,
): LayerPiece[] {
  const layer = schedule.layers[layerIndex];
  if (!layer) throw new ScheduleRangeError(`schedule ${schedule.id} has no layer ${layerIndex}`);
  const windows = layer.restrict
    ? restrictionWindows(schedule.timezone, layer.restrict, from, to)
    : [{ start: from, end: to }];
  const pieces: LayerPiece[] = [];
  let w = 0;
  for (const slot of slotsOf(schedule, layer, from, to)) {
    while (w < windows.length && (windows[w] as Interval).end <= slot.start) w++;
    for (let i = w; i < windows.length && (windows[i] as Interval).start < slot.end; i++) {
      const window = windows[i] as Interval;
      const part = {
        ...slot,
        start: Math.max(slot.start, window.start),
        end: Math.min(slot.end, window.end),
      };
      if (part.end > part.start) pieces.push(...applyTimeOff(layer, part, away));
    }
  }
  return pieces;
}

function pieceSegment(piece: LayerPiece, layerIndex: number): Shift | Gap {
  if (piece.member === undefined) {
    return { kind: 'gap', start: piece.start, end: piece.end, reason: 'time-off', layer: layerIndex };
  }
  const source: Shift['source'] =
    piece.member === piece.scheduled
      ? { type: 'layer', layer: layerIndex }
      : { type: 'layer', layer: layerIndex, replacing: piece.scheduled };
  return { kind: 'shift', member: piece.member, start: piece.start, end: piece.end, source };
}

/** Segments with the same key that touch are one shift (or one gap). */
function appendMerged(
  out: { segment: OnCallSegment; key: string }[],
  segment: OnCallSegment,
  key: string,
): void {
  const last = out[out.length - 1];
  if (last && last.key === key && last.segment.end === segment.start) last.segment.end = segment.end;
  else out.push({ segment, key });
}

/**
 * One layer on its own: its rotation inside its restrictions over [from, to), with time off
 * moving shifts (and `time-off` gaps where everyone is away). Where the layer does not apply
 * nothing is listed.
 */
export function layerShifts(
  schedule: Schedule,
  layerIndex: number,
  adjustments: Adjustments,
  from: number,
  to: number,
): OnCallSegment[] {
  checkWindow(from, to);
  const away = awayIndex(adjustments.timeOff ?? [], from, to);
  const out: { segment: OnCallSegment; key: string }[] = [];
  for (const piece of layerPieces(schedule, layerIndex, away, from, to)) {
    const key = piece.member === undefined ? 'time-off' : `${piece.slot}:${piece.member}`;
    appendMerged(out, pieceSegment(piece, layerIndex), key);
  }
  return out.map((o) => o.segment);
}

interface IndexedOverride {
  override: Override;
  index: number;
}

/**
 * Who is on call over [from, to): contiguous segments, the first starting at `from`, the
 * last ending at `to`, each a shift or a gap. A shift ends at its layer's handoff, at a
 * restriction's edge or where an override, time off or another layer takes over; segments
 * are clipped to the window.
 */
export function finalShifts(
  schedule: Schedule,
  adjustments: Adjustments,
  from: number,
  to: number,
): OnCallSegment[] {
  checkWindow(from, to);
  const away = awayIndex(adjustments.timeOff ?? [], from, to);
  const layers = schedule.layers.map((_, i) => layerPieces(schedule, i, away, from, to));
  const overrides: IndexedOverride[] = (adjustments.overrides ?? [])
    .map((override, index) => ({ override, index }))
    .filter(({ override }) => override.to > from && override.from < to && override.to > override.from);

  const cuts = new Set<number>([from, to]);
  const cut = (at: number): void => {
    if (at > from && at < to) cuts.add(at);
  };
  for (const pieces of layers) {
    for (const piece of pieces) {
      cut(piece.start);
      cut(piece.end);
    }
  }
  for (const { override } of overrides) {
    cut(override.from);
    cut(override.to);
    for (const span of away.get(override.member) ?? []) {
      cut(span.start);
      cut(span.end);
    }
  }
  const points = [...cuts].sort((a, b) => a - b);

  const cursors = layers.map(() => 0);
  const out: { segment: OnCallSegment; key: string }[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i] as number;
    const end = points[i + 1] as number;
    // Everything is constant between two cuts: decide at `start`.
    let base: { piece: LayerPiece; layer: number } | undefined;
    for (let l = layers.length - 1; l >= 0 && !base; l--) {
      const pieces = layers[l] as LayerPiece[];
      let c = cursors[l] as number;
      while (c < pieces.length && (pieces[c] as LayerPiece).end <= start) c++;
      cursors[l] = c;
      const piece = pieces[c];
      if (piece && piece.start <= start) base = { piece, layer: l };
    }
    const chosen = overrideAt(overrides, away, start, base?.piece);
    let segment: OnCallSegment;
    let key: string;
    if (chosen) {
      const { override, index } = chosen;
      const source: Shift['source'] =
        override.replacing === undefined
          ? { type: 'override', override: index }
          : { type: 'override', override: index, replacing: override.replacing };
      segment = { kind: 'shift', member: override.member, start, end, source };
      key = `override:${index}`;
    } else if (base) {
      segment = { ...pieceSegment(base.piece, base.layer), start, end };
      key =
        base.piece.member === undefined
          ? `time-off:${base.layer}`
          : `layer:${base.layer}:${base.piece.slot}:${base.piece.member}:${base.piece.scheduled}`;
    } else {
      segment = { kind: 'gap', start, end, reason: 'no-layer' };
      key = 'no-layer';
    }
    appendMerged(out, segment, key);
  }
  return out.map((o) => o.segment);
}

/**
 * The override in force at `at`, if any. `replacing` matches the member the layers put on
 * call or the member whose turn it was (an override for alice's shift still covers it when
 * her time off moved it to bob, or left it a gap).
 */
function overrideAt(
  overrides: readonly IndexedOverride[],
  away: AwayIndex,
  at: number,
  base: LayerPiece | undefined,
): IndexedOverride | undefined {
  for (let i = overrides.length - 1; i >= 0; i--) {
    const candidate = overrides[i] as IndexedOverride;
    const { override } = candidate;
    if (override.from > at || override.to <= at) continue;
    if (isAway(away, override.member, at)) continue;
    if (
      override.replacing !== undefined &&
      override.replacing !== base?.member &&
      override.replacing !== base?.scheduled
    ) {
      continue;
    }
    return candidate;
  }
  return undefined;
}

function longestShift(schedule: Schedule): number {
  return Math.max(0, ...schedule.layers.map((l) => l.shift));
}

/**
 * Who is on call at `at`, with the start and end of that shift (or gap) and its source. A
 * shift's bounds are exact; a gap, or an override, longer than the window looked at (the
 * longest shift plus a day either side of `at`, widened to the overrides in force, at most
 * 400 days in all) shows the part inside that window.
 */
export function onCallAt(schedule: Schedule, adjustments: Adjustments, at: number): OnCallSegment {
  if (!Number.isFinite(at)) throw new ScheduleRangeError('at must be an instant');
  const reach = longestShift(schedule) + DAY_MS;
  let from = at - reach;
  let to = at + reach;
  for (const o of adjustments.overrides ?? []) {
    if (o.from <= at && at < o.to) {
      from = Math.min(from, o.from);
      to = Math.max(to, o.to);
    }
  }
  from = Math.max(from, at - MAX_WINDOW_MS / 2);
  to = Math.min(to, at + MAX_WINDOW_MS / 2);
  const found = finalShifts(schedule, adjustments, from, to).find((s) => s.start <= at && at < s.end);
  // finalShifts covers [from, to) without holes and at lies inside it.
  return found as OnCallSegment;
}

/**
 * The next one in line: the first shift after the one in force at `at` whose member is
 * someone else (after a gap, the first shift at all), looking up to 400 days ahead.
 */
export function nextOnCall(schedule: Schedule, adjustments: Adjustments, at: number): Shift | undefined {
  const current = onCallAt(schedule, adjustments, at);
  const currentMember = current.kind === 'shift' ? current.member : undefined;
  const horizon = at + NEXT_HORIZON_MS;
  const chunk = Math.max(2 * longestShift(schedule), 7 * DAY_MS);
  for (let cursor = current.end; cursor < horizon; cursor += chunk) {
    const segments = finalShifts(schedule, adjustments, cursor, Math.min(cursor + chunk, horizon));
    const next = segments.find((s): s is Shift => s.kind === 'shift' && s.member !== currentMember);
    // Its start is exact (a chunk would have found it earlier otherwise); onCallAt gives its true end.
    if (next) return onCallAt(schedule, adjustments, next.start) as Shift;
  }
  return undefined;
}
