/**
 * Who a paging step reaches once its schedules are resolved (issue #22). The answer comes
 * from an activity (the schedules' overrides and time off live outside the workflow) and is
 * kept in history, so a replay pages the same people. Pure: the workflow and the activities
 * both import it.
 */
import { scheduleTargetOf } from '../../schedules/targets';
import { responderOf, type IncidentPolicy } from './model';

/** What `resolvePageTargets` is asked: a step's targets, for the team, at the moment it pages. */
export interface PageTargetsRequest {
  team: string;
  targets: readonly string[];
  /** The moment the step pages, epoch milliseconds. */
  at: number;
}

/** A schedule of the step that had nobody to page. */
export interface PagingGap {
  schedule: string;
  /** The schedule's name for people ("Payments L2"). */
  name: string;
  /** Why nobody: "time off", "no rotation applies", ... */
  reason: string;
}

export interface ResolvedTargets {
  /** Responder ids to page, deduplicated, in the step's order. */
  responders: string[];
  /** Why each responder paged through a schedule is paged: "on call for Payments L2". */
  because: Record<string, string>;
  /** The schedule id that put each such responder on the page. */
  schedules: Record<string, string>;
  gaps: PagingGap[];
}

/** Whether a step names a schedule among its targets (only then is anything resolved). */
export function namesSchedule(targets: readonly string[]): boolean {
  return targets.some((t) => scheduleTargetOf(t) !== undefined);
}

/**
 * The people a step names directly, without its schedules: where a step is read as a list of
 * people without asking who is on call (the old paths, and notices that cannot wait).
 */
export function namedResponders(targets: readonly string[]): string[] {
  return [...new Set(targets.filter((t) => scheduleTargetOf(t) === undefined))];
}

/** The answer when the schedules could not be read at all: the people named directly, and a gap per schedule. */
export function unresolved(targets: readonly string[], reason: string): ResolvedTargets {
  const responders: string[] = [];
  const gaps: PagingGap[] = [];
  for (const target of targets) {
    const named = scheduleTargetOf(target);
    if (!named) {
      if (!responders.includes(target)) responders.push(target);
    } else if (!gaps.some((g) => g.schedule === named.schedule)) {
      gaps.push({ schedule: named.schedule, name: named.schedule, reason });
    }
  }
  return { responders, because: {}, schedules: {}, gaps };
}

/** "nobody is on call for Payments L2 (gap: time off)", one clause per gap. */
export function gapText(gaps: readonly PagingGap[]): string {
  return gaps.map((g) => `nobody is on call for ${g.name} (gap: ${g.reason})`).join('; ');
}

/**
 * Why the addressees are paged: "You are paged as on call for Payments L2 (round 1 of 2, ...)".
 * One notice goes to everyone a step pages; when they are paged for different reasons, it
 * says each one's.
 */
export function pagedAs(
  policy: IncidentPolicy,
  targets: readonly string[],
  because: Record<string, string>,
  attempt?: string,
): string {
  const when = attempt ? ` (${attempt})` : '';
  const reasons = targets.map((id) => (Object.hasOwn(because, id) ? because[id] : undefined));
  const first = reasons[0];
  if (reasons.every((r) => r === undefined)) return `You are paged${when}.`;
  if (first !== undefined && reasons.every((r) => r === first)) return `You are paged as ${first}${when}.`;
  const each = targets.map((id, i) => {
    const name = responderOf(policy, id)?.name ?? id;
    const reason = reasons[i];
    return reason ? `${name} as ${reason}` : `${name} directly`;
  });
  return `You are paged${when}: ${each.join('; ')}.`;
}
