/**
 * What a schedule's workflow tells people, and when: pure, so the workflow, its replay and the
 * unit tests compute the same. The workflow asks an activity who is on call around now
 * (`ScheduleOutlook`), then sends the notices this says are due and sleeps until the next one.
 *
 * Every notice has a key; the workflow keeps the keys it sent, so a notice goes once however
 * often the schedule is looked at, and a re-planned schedule (an override made since) gives
 * new keys for the shifts it changed.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The person going on call is told this long before their shift, unless the schedule says otherwise. */
export const DEFAULT_NOTICE_BEFORE_MS = HOUR_MS;
/** A gap found ahead of time is told again this long before it starts. */
export const GAP_REMINDER_BEFORE_MS = DAY_MS;
/**
 * A handoff whose notice could not go at its time (no worker was running) still goes this
 * long after it; later, the news is stale and the people have long found out.
 */
export const LATE_NOTICE_MS = 12 * HOUR_MS;
/**
 * The workflow looks at the schedule again at least this often, even when nothing is due:
 * the configuration or another API process may have changed it without telling.
 */
export const REFRESH_EVERY_MS = 6 * HOUR_MS;
/** How far ahead the outlook lists handoffs; the notices due soonest are all that matter. */
export const HANDOFF_HORIZON_MS = 8 * DAY_MS;
/** How far ahead gaps are looked for: time off booked months ahead is warned about this early. */
export const GAP_HORIZON_MS = 90 * DAY_MS;

/** One stretch of the schedule: `member` on call, or nobody (a gap) when absent. Adjacent stretches differ. */
export interface OutlookStretch {
  start: number;
  end: number;
  member?: string;
}

/** A gap nobody planned: every member of the layer that applies is away. */
export interface OutlookGap {
  start: number;
  end: number;
}

/** Who is on call around the time the workflow looked, as the outlook activity answers. */
export interface ScheduleOutlook {
  /** false once the schedule is gone from the configuration: its workflow ends. */
  found: boolean;
  noticeBeforeMs: number;
  /** From LATE_NOTICE_MS before the time looked to HANDOFF_HORIZON_MS after, in order. */
  stretches: OutlookStretch[];
  /** Time-off gaps that end after the time looked, up to GAP_HORIZON_MS ahead. */
  gaps: OutlookGap[];
}

/** Every notice's key, and the time after which it can no longer be due (so its key may be forgotten). */
interface NoticeKey {
  key: string;
  until: number;
}

export type ScheduleNotice = NoticeKey &
  /** Before the shift: `member` goes on call at `start`, taking over from `from`. */
  (
    | { kind: 'going-on-call'; member: string; start: number; end: number; from?: string }
    /** The shift started: `member` is on call now and inherits what is open. */
    | { kind: 'on-call'; member: string; start: number; end: number; from?: string }
    /** The shift ended: `member` hands over to `to` (nobody, when absent). */
    | { kind: 'off-call'; member: string; at: number; to?: string }
    /** A gap is known ahead of time: the team's managers are told. */
    | { kind: 'gap-found'; start: number; end: number }
    /** The gap starts within a day. */
    | { kind: 'gap-soon'; start: number; end: number }
  );

export interface NoticePlan {
  /** Due now, in order. */
  due: ScheduleNotice[];
  /** Keys to record as done without sending: a reminder the first warning already covered. */
  covered: NoticeKey[];
  /** When to look again. */
  wakeAt: number;
}

/**
 * What is due at `now`, given the keys already sent. Handoffs before `since` (when the
 * schedule's workflow first started) are not told: a new deployment does not announce the
 * shift already under way.
 */
export function planNotices(
  outlook: ScheduleOutlook,
  now: number,
  sent: ReadonlySet<string>,
  since: number,
): NoticePlan {
  const due: ScheduleNotice[] = [];
  const covered: NoticeKey[] = [];
  let wakeAt = now + REFRESH_EVERY_MS;
  const later = (at: number): void => {
    if (at > now && at < wakeAt) wakeAt = at;
  };
  const offer = (notice: ScheduleNotice, dueAt: number): void => {
    if (sent.has(notice.key) || now >= notice.until) return;
    if (now >= dueAt) due.push(notice);
    else later(dueAt);
  };

  const { stretches } = outlook;
  for (let i = 0; i < stretches.length; i += 1) {
    const current = stretches[i];
    if (!current) continue;
    const previous = stretches[i - 1];
    // A handoff is a boundary between two stretches the outlook saw both sides of.
    if (!previous || previous.end !== current.start || current.start < since) continue;
    const at = current.start;
    const late = at + LATE_NOTICE_MS;
    if (current.member !== undefined) {
      const shift = {
        member: current.member,
        start: at,
        end: current.end,
        ...(previous.member !== undefined ? { from: previous.member } : {}),
      };
      const before = at - outlook.noticeBeforeMs;
      // Told ahead only while it is still ahead; once the shift has begun, the start notice says it all.
      if (before >= since) {
        offer({ kind: 'going-on-call', key: `going:${shift.member}:${at}`, until: at, ...shift }, before);
      }
      const until = Math.min(late, current.end);
      offer({ kind: 'on-call', key: `on:${shift.member}:${at}`, until, ...shift }, at);
    }
    if (previous.member !== undefined) {
      const handover = {
        member: previous.member,
        at,
        ...(current.member !== undefined ? { to: current.member } : {}),
      };
      offer({ kind: 'off-call', key: `off:${handover.member}:${at}`, until: late, ...handover }, at);
    }
  }

  for (const gap of outlook.gaps) {
    if (gap.end <= now) continue;
    const span = { start: gap.start, end: gap.end };
    const found: ScheduleNotice = {
      kind: 'gap-found',
      key: `gap:${gap.start}:${gap.end}`,
      until: gap.end,
      ...span,
    };
    const soon: ScheduleNotice = {
      kind: 'gap-soon',
      key: `gap-soon:${gap.start}:${gap.end}`,
      until: gap.start,
      ...span,
    };
    const reminderAt = gap.start - GAP_REMINDER_BEFORE_MS;
    if (!sent.has(found.key)) {
      due.push(found);
      // Found within a day of it (or during it): the first warning is the reminder.
      if (now >= reminderAt) covered.push({ key: soon.key, until: soon.until });
      continue;
    }
    offer(soon, reminderAt);
  }
  return { due, covered, wakeAt };
}

/** The sent keys still worth keeping at `now` (key → until): a notice past its `until` can no longer be due. */
export function keysToKeep(sent: ReadonlyMap<string, number>, now: number): Map<string, number> {
  const kept = new Map<string, number>();
  for (const [key, until] of sent) if (until > now) kept.set(key, until);
  return kept;
}
