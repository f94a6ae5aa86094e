/**
 * How a paging step names a schedule among its targets: `schedule:<id>` pages whoever is on
 * call when the step pages, `schedule:<id>:next` the one after them. Everything else a step
 * names is a responder id.
 */

export const SCHEDULE_PREFIX = 'schedule:';

export interface ScheduleTarget {
  schedule: string;
  /** The one after whoever is on call now. */
  next: boolean;
}

/** The schedule a target names, or undefined for a responder. */
export function scheduleTargetOf(target: string): ScheduleTarget | undefined {
  if (!target.startsWith(SCHEDULE_PREFIX)) return undefined;
  const rest = target.slice(SCHEDULE_PREFIX.length);
  const next = rest.endsWith(':next');
  return { schedule: next ? rest.slice(0, -':next'.length) : rest, next };
}

/** The schedule id a target names, or undefined for a responder. */
export function scheduleOfTarget(target: string): string | undefined {
  return scheduleTargetOf(target)?.schedule;
}
