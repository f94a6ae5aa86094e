/**
 * Paging steps that name a schedule: who is on call is asked of an activity when the step
 * pages (the schedule's overrides and time off live outside the workflow), and the answer
 * stays in history, so a replay pages the same people. Steps that name people only never
 * reach the activity: they page exactly as they always did, without waiting for anything.
 */
import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { errorMessage, type ReadyIncident } from './incident-context';
import { namesSchedule, unresolved, type ResolvedTargets } from './page-targets';
import { advance, pageAt } from './paging';

type Activities = ReturnType<typeof createActivities>;

/** Marks the incidents whose paging asks schedules who is on call. */
export const SCHEDULES_PATCH = 'pages-resolve-schedules';

const { resolvePageTargets } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** Whether this step's schedules are to be resolved; false for every step that names people only. */
export function resolvesSchedules(targets: readonly string[]): boolean {
  return namesSchedule(targets) && patched(SCHEDULES_PATCH);
}

/** Marks the incidents whose escalation nudge asks the first step's schedules who is on call. */
export const NUDGE_PATCH = 'nudge-resolves-schedules';

/**
 * Whether a nudge to the first step asks its schedules; false for a step that names people
 * only. Incidents without the marker nudged the people the step names, as they always did.
 */
export function nudgeAsksSchedules(targets: readonly string[]): boolean {
  return namesSchedule(targets) && patched(NUDGE_PATCH);
}

/**
 * Who a step's targets are now. A schedule that cannot be read is a gap, never a lost page:
 * the people named beside it are still paged, or paging falls through to the next step.
 */
export async function resolveNow(
  incident: ReadyIncident,
  targets: readonly string[],
): Promise<ResolvedTargets> {
  try {
    return await resolvePageTargets({ team: incident.policy.team.id, targets, at: Date.now() });
  } catch (err) {
    log.warn('the schedules of a paging step could not be read', { error: errorMessage(err) });
    return unresolved(targets, 'the schedule could not be read');
  }
}

/**
 * Pages the next step of the escalation policy. Returns a promise only when that step names a
 * schedule: the page waits for who is on call, and is dropped if `wanted` no longer holds
 * once the answer is in (someone acknowledged meanwhile).
 */
export function pageNextStepResolving(
  incident: ReadyIncident,
  wanted: () => boolean,
): Promise<void> | undefined {
  const next = advance(incident);
  if (!next) return undefined;
  if (!resolvesSchedules(next.targets)) {
    pageAt(incident, next);
    return undefined;
  }
  return resolveNow(incident, next.targets).then((resolved) => {
    if (wanted()) pageAt(incident, next, resolved);
  });
}
