/**
 * `/incident oncall [team]` and `/incident cover <schedule> <from> <to>` in words: what the
 * command's text asks, the times people type in Slack (`now`, `4h`) as the ISO times the
 * API takes, and the answers. Pure; schedule-commands.ts runs them.
 */
import { parseDuration } from '../../../config/duration';
import { SLACK_TEXT_MAX } from '../blocks';
import type { OverrideView, SegmentView } from '../../../api/schedules';
import { line } from './messages';

export type ScheduleCommand =
  | { kind: 'oncall'; team?: string }
  /** `from` and `to` as typed: resolveSpan reads them once the present is known. */
  | { kind: 'cover'; schedule: string; from: string; to: string };

type Usage = { kind: 'usage'; problem: string };

const usage = (problem: string): Usage => ({ kind: 'usage', problem });
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** What a problem quotes of the text: enough to recognise it. */
const quoted = (text: string): string => `\`${text.slice(0, 100)}\``;
const COVER_EXAMPLE = '`cover payments-l2 now 4h`';

/** The words after `oncall`: nothing, or a team. */
export function parseOnCall(words: readonly string[]): ScheduleCommand | Usage {
  const [team, ...extra] = words;
  if (team === undefined) return { kind: 'oncall' };
  if (extra.length > 0) return usage('`oncall` takes one team at most, like `oncall payments`.');
  if (!NAME.test(team)) return usage(`${quoted(team)} is not a team id.`);
  return { kind: 'oncall', team };
}

/** The words after `cover`: a schedule, a start and an end. */
export function parseCover(words: readonly string[]): ScheduleCommand | Usage {
  const [schedule, from, to, ...extra] = words;
  if (schedule === undefined || from === undefined || to === undefined) {
    return usage(`\`cover\` needs a schedule, a start and an end, like ${COVER_EXAMPLE}.`);
  }
  if (extra.length > 0) {
    return usage(`\`cover\` takes a schedule, a start and an end, nothing more, like ${COVER_EXAMPLE}.`);
  }
  if (!NAME.test(schedule)) return usage(`${quoted(schedule)} is not a schedule id.`);
  return { kind: 'cover', schedule, from, to };
}

export type Span = { ok: true; from: string; to: string } | { ok: false; problem: string };

/**
 * `now` as the start, and a duration (`4h`, `1d`, `1h30m`) as the end counted from the start;
 * anything else is passed on as typed, for the override's own checks to accept or refuse
 * with the API's words.
 */
export function resolveSpan(from: string, to: string, now: number): Span {
  const start = from.toLowerCase() === 'now' ? new Date(now).toISOString() : from;
  const length = parseDuration(to);
  if (length === undefined) return { ok: true, from: start, to };
  const at = Date.parse(start);
  if (Number.isNaN(at)) {
    return {
      ok: false,
      problem:
        `${quoted(to)} counts from the start, and ${quoted(from)} is not a time: ` +
        'write `now` or an ISO time with its offset, like 2026-11-03T09:00:00+01:00.',
    };
  }
  return { ok: true, from: start, to: new Date(at + length).toISOString() };
}

type Segment = Extract<SegmentView, { member: string }>;
type Gap = Extract<SegmentView, { gap: true }>;

const GAP_REASON: Record<Gap['reason'], string> = {
  'time-off': 'nobody: everyone on time off',
  'no-layer': 'nobody: no layer',
};

/** Who a schedule has on call now, and who comes next. */
export interface ScheduleOnCall {
  schedule: { id: string; name: string };
  now: SegmentView;
  next?: SegmentView;
}

function who(segment: SegmentView): string {
  return 'gap' in segment ? GAP_REASON[segment.reason] : line(segment.name, 100);
}

export function onCallLine({ schedule, now, next }: ScheduleOnCall): string {
  const upcoming = next ? `${who(next)} from ${line(next.startLocal, 40)}` : 'nobody in the next 400 days';
  return (
    `• *${line(schedule.name, 200)}* (\`${line(schedule.id, 100)}\`): ${who(now)}, ` +
    `since ${line(now.startLocal, 40)} until ${line(now.endLocal, 40)}; next: ${upcoming}`
  );
}

export function onCallText(entries: readonly ScheduleOnCall[], teams: readonly string[]): string {
  const where = `team${teams.length === 1 ? '' : 's'} ${teams.map((t) => line(t, 100)).join(', ')}`;
  if (entries.length === 0) return `No on-call schedules for ${where}.`;
  const lines = [`On call now for ${where}:`];
  let length = lines[0]?.length ?? 0;
  for (const entry of entries) {
    const text = onCallLine(entry);
    // Slack cuts a long message; the rest is counted instead.
    if (length + text.length + 1 > SLACK_TEXT_MAX - 100) {
      lines.push(`…and ${entries.length - lines.length + 1} more`);
      break;
    }
    lines.push(text);
    length += text.length + 1;
  }
  return lines.join('\n');
}

export function noTeam(team: string): string {
  return `Baton has no team \`${line(team, 100)}\`.`;
}

/** Someone the schedule had on call in the covered window, and when. */
export interface Replaced {
  member: string;
  name: string;
  spans: { startLocal: string; endLocal: string }[];
}

/**
 * Who the cover takes the shift from: the members the schedule had on call over the window
 * (gaps and the one who covers left out), each with their own spans, touching ones joined.
 */
export function replacedIn(shifts: readonly SegmentView[], coverer: string): Replaced[] {
  const found = new Map<string, { name: string; spans: Segment[] }>();
  for (const s of shifts) {
    if ('gap' in s || s.member === coverer) continue;
    const entry = found.get(s.member) ?? { name: s.name, spans: [] };
    const last = entry.spans.at(-1);
    if (last && last.end === s.start)
      entry.spans[entry.spans.length - 1] = { ...last, end: s.end, endLocal: s.endLocal };
    else entry.spans.push(s);
    found.set(s.member, entry);
  }
  return [...found].map(([member, { name, spans }]) => ({
    member,
    name,
    spans: spans.map((s) => ({ startLocal: s.startLocal, endLocal: s.endLocal })),
  }));
}

const spansText = (spans: Replaced['spans']): string =>
  spans.map((s) => `from ${line(s.startLocal, 40)} to ${line(s.endLocal, 40)}`).join(' and ');

/** Whether a replaced member was told by direct message. */
export type Told = 'told' | 'no-slack' | 'failed';

const TOLD: Record<Told, string> = {
  told: 'told by direct message',
  'no-slack': "not told: no Slack account in Baton's configuration",
  failed: 'the direct message failed',
};

/** The answer to the one who covers. */
export function coverDone(
  scheduleName: string,
  created: OverrideView,
  replaced: readonly (Replaced & { told: Told })[],
): string {
  const what =
    `You cover *${line(scheduleName, 200)}* from ${line(created.fromLocal, 40)} to ${line(created.toLocal, 40)}` +
    ` (override \`${line(created.id, 100)}\`)`;
  if (replaced.length === 0) return `${what}; nobody else was on call then.`;
  const whom = replaced.map((r) => `${line(r.name, 100)} (${TOLD[r.told]})`).join(', ');
  return `${what}, in place of ${whom}.`;
}

/** The direct message to someone whose shift is now covered. */
export function coveredNotice(coverer: string, scheduleName: string, replaced: Replaced): string {
  return (
    `${line(coverer, 100)} covers you on *${line(scheduleName, 200)}* ${spansText(replaced.spans)}: ` +
    'you are not on call then.'
  );
}
