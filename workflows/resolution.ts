/**
 * Resolution and what follows it: the follow-ups the process demands (final report,
 * lessons learned, training, action items), each with an owner and a due time.
 */
import { SYSTEM, excerpt, ms, now, type ReadyIncident } from './incident-context';
import { notices } from './notices';
import { phaseAfter } from './phases';
import type { FollowUp } from './state';

/** Resolves an open incident, by a person or because every alert cleared. */
export function resolveIncident(
  incident: ReadyIncident,
  actor: string,
  summary: string,
  automatic: boolean,
): void {
  const { state } = incident;
  const at = now();
  state.resolution = { summary, by: actor, at, automatic };
  incident.log(
    'resolved',
    actor,
    automatic ? 'resolved automatically: every alert cleared' : `resolved: ${excerpt(summary)}`,
    { automatic },
  );
  // An incident that cleared by itself before anyone looked needs only a report that says so.
  scheduleFollowUps(incident, at, automatic && !state.acknowledgedBy);
  state.phase = phaseAfter(state.phase, 'resolve');
  incident.send(notices.resolved(state, incident.policy));
}

function scheduleFollowUps(incident: ReadyIncident, resolvedAt: string, noiseOnly: boolean): void {
  const { state, policy } = incident;
  const owner =
    state.holder ??
    state.acknowledgedBy ??
    policy.escalation.steps[0]?.notify[0] ??
    policy.managers[0] ??
    SYSTEM;
  const due = (afterMs: number): string => new Date(ms(resolvedAt) + afterMs).toISOString();
  const items: FollowUp[] = [
    {
      id: 'report',
      kind: 'report',
      title: 'Final report',
      owner,
      dueAt: due(policy.followUps.reportDueMs),
      status: 'open',
    },
  ];
  if (!noiseOnly) {
    items.push(
      {
        id: 'lessons',
        kind: 'lessons',
        title: 'Lessons learned and process improvements',
        owner,
        dueAt: due(policy.followUps.lessonsDueMs),
        status: 'open',
      },
      {
        id: 'training',
        kind: 'training',
        title: 'Training on this incident',
        // Level 2 trains Level 2: the acknowledger, even when Level 3 holds the incident.
        owner: state.acknowledgedBy ?? owner,
        dueAt: due(policy.followUps.trainingDueMs),
        status: 'open',
      },
    );
  }
  state.followUps.push(...items);
  incident.log('follow-ups-scheduled', SYSTEM, items.map((f) => `${f.id} due ${f.dueAt}`).join(', '), {
    followUps: items.map(({ id, owner: o, dueAt }) => ({ id, owner: o, dueAt })),
  });
}

/** Marks the open follow-up of this kind done (the report, the lessons, the training). */
export function completeFollowUp(incident: ReadyIncident, kind: FollowUp['kind'], actor: string): void {
  const item = incident.state.followUps.find((f) => f.kind === kind && f.status === 'open');
  if (item) markDone(item, actor);
}

export function markDone(item: FollowUp, actor: string): void {
  item.status = 'done';
  item.doneAt = now();
  item.doneBy = actor;
}

/** True when every follow-up of a resolved incident is done or waived: it may close. */
export function everythingSettled(incident: ReadyIncident): boolean {
  const { state } = incident;
  return (
    state.resolution !== undefined &&
    state.followUps.length > 0 &&
    state.followUps.every((f) => f.status !== 'open')
  );
}

/** Due dates given as a day mean the end of that day, UTC. */
export function endOfDay(date: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59.000Z` : new Date(date).toISOString();
}
