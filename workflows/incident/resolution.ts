/**
 * Resolution and what follows it: the follow-ups the process demands (final report,
 * lessons learned, training, action items), each with an owner and a due time.
 */
import { scheduleTargetOf } from '../../schedules/targets';
import { SYSTEM, excerpt, ms, now, type ReadyIncident } from './incident-context';
import { notices } from './notices';
import { phaseAfter } from './phases';
import { KEPT_REOPENINGS, truncateBytes } from './limits';
import { pageStep } from './paging';
import { resolveNow, resolvesSchedules } from './schedule-paging';
import { REQUIRABLE_FOLLOW_UPS, type RequirableFollowUp } from './model';
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
  incident.meter.resolved(incident.secondsIntoResponse(), automatic);
  incident.log(
    'resolved',
    actor,
    automatic ? 'resolved automatically: every alert cleared' : `resolved: ${excerpt(summary)}`,
    { automatic },
  );
  // An incident that cleared by itself before anyone ever looked has its drafted report.
  const everAcknowledged =
    state.acknowledgedBy !== undefined || (state.reopenings ?? []).some((r) => r.acknowledgedBy);
  scheduleFollowUps(incident, at, automatic && !everAcknowledged);
  state.phase = phaseAfter(state.phase, 'resolve');
  incident.send(notices.resolved(state, incident.policy));
}

function scheduleFollowUps(incident: ReadyIncident, resolvedAt: string, noiseOnly: boolean): void {
  const { state } = incident;
  const wanted = requiredKinds(incident, noiseOnly).map((kind) => followUpOf(incident, kind, resolvedAt));
  const added = wanted.filter((w) => !state.followUps.some((f) => f.id === w.id));
  const items = [...resumeSuspended(incident, wanted), ...added];
  state.followUps.push(...added);
  if (added.length > 0) incident.meter.followUpsOpened(added.length);
  incident.log(
    'follow-ups-scheduled',
    SYSTEM,
    items.length > 0
      ? items.map((f) => `${f.id} due ${f.dueAt}`).join(', ')
      : noiseOnly
        ? `no follow-ups: it cleared before anyone acknowledged it, and the drafted report is all ${state.severity} asks for`
        : `no follow-ups: ${state.severity} requires none`,
    { followUps: items.map(({ id, owner: o, dueAt }) => ({ id, owner: o, dueAt })) },
  );
}

/** The first step's first target, or whoever its schedule paged when it names one. */
function firstPaged(paged: string[] | undefined, first: string | undefined): string | undefined {
  return first !== undefined && scheduleTargetOf(first) !== undefined ? paged?.[0] : first;
}

/** Who answers for the follow-ups: whoever held the incident, or else the first paged. */
function followUpOwner({ state, policy }: ReadyIncident): string {
  return (
    state.holder ??
    state.acknowledgedBy ??
    firstPaged(state.escalation.paged, policy.escalation.steps[0]?.notify[0]) ??
    policy.managers[0] ??
    SYSTEM
  );
}

/**
 * What this resolution requires: what the incident's severity asks for, and what a manager
 * added. An incident that cleared before anyone acknowledged it has its drafted report (the
 * store writes it at resolution): when its severity asks for no more than a report, that
 * draft is enough. Incidents whose policy predates per-severity follow-ups keep report,
 * lessons and training, or the report alone for such a blip.
 */
export function requiredKinds(incident: ReadyIncident, noiseOnly: boolean): RequirableFollowUp[] {
  const { state, policy } = incident;
  const bySeverity = policy.followUps.bySeverity;
  if (!bySeverity) return noiseOnly ? ['report'] : ['report', 'lessons', 'training'];
  const forSeverity = bySeverity[state.severity] ?? [];
  const draftSuffices = noiseOnly && forSeverity.every((k) => k === 'report');
  const byManager = (state.requiredFollowUps ?? []).map((r) => r.kind);
  return REQUIRABLE_FOLLOW_UPS.filter(
    (k) => (forSeverity.includes(k) && !draftSuffices) || byManager.includes(k),
  );
}

const TITLES: Record<RequirableFollowUp, string> = {
  report: 'Final report',
  lessons: 'Lessons learned and process improvements',
  training: 'Training on this incident',
};

/** The follow-up of one kind, owned by whoever answers for them, due the policy's time after `from`. */
export function followUpOf(incident: ReadyIncident, kind: RequirableFollowUp, from: string): FollowUp {
  const { state, policy } = incident;
  const owner = followUpOwner(incident);
  const dueMs = {
    report: policy.followUps.reportDueMs,
    lessons: policy.followUps.lessonsDueMs,
    training: policy.followUps.trainingDueMs,
  }[kind];
  const dueAt = new Date(ms(from) + dueMs).toISOString();
  const item: FollowUp = { id: kind, kind, title: TITLES[kind], owner, dueAt, status: 'open' };
  if (kind !== 'training') return item;
  // A manager answers for every team member being trained, and records it; incidents
  // from before team roles leave it with the acknowledger, as they always did.
  item.owner = policy.members ? (policy.managers[0] ?? owner) : (state.acknowledgedBy ?? owner);
  // Training reaches everyone: each member confirms, or a manager excuses them.
  const trainees = policy.followUps.trainees;
  if (trainees && trainees.length > 0) {
    item.attendance = trainees.map((member) => ({ member, status: 'pending' }));
  }
  return item;
}

/**
 * After a reopened incident is resolved again, the follow-ups it had set aside are due
 * again: the report, lessons and training from this resolution on, each action item by
 * its own date.
 */
function resumeSuspended(incident: ReadyIncident, wanted: FollowUp[]): FollowUp[] {
  const resumed: FollowUp[] = [];
  for (const item of incident.state.followUps) {
    if (item.status !== 'suspended') continue;
    const fresh = wanted.find((w) => w.id === item.id);
    item.status = 'open';
    if (fresh) {
      item.dueAt = fresh.dueAt;
      item.owner = fresh.owner;
    }
    delete item.remindedAt;
    delete item.overdueNotifiedAt;
    resumed.push(item);
  }
  return resumed;
}

/**
 * Alerts fired again before the follow-ups were done: the incident is back. The response
 * that resolved it is set aside on the record, open follow-ups wait for the next
 * resolution, and paging starts again: from the policy's first step when someone had
 * acknowledged (or every step had been paged), or where it stood when nobody had, so an
 * alert that keeps flapping still reaches the next person.
 */
export function reopenIncident(incident: ReadyIncident, alerts: string[], alertNames: string[]): void {
  const { state, policy } = incident;
  const resolution = state.resolution;
  if (!resolution) return;
  const previousHolder = state.holder;
  // Resume only a flap: nobody acknowledged, and the alerts are back within the ack timeout
  // of the step being paged. Anything else is a new response from the first step.
  const current = policy.escalation.steps[state.escalation.step];
  const recurredLater = Date.now() - ms(resolution.at) > (current?.ackTimeoutMs ?? 0);
  const restart = state.acknowledgedBy !== undefined || state.escalation.exhausted || recurredLater;
  const handover = state.handover;
  state.reopenedCount = incident.cycle() + 1;
  state.reopenings = [
    ...(state.reopenings ?? []),
    {
      at: now(),
      alerts: alerts.slice(0, 20),
      resolution: { ...resolution, summary: truncateBytes(resolution.summary, 500) },
      ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
      ...(state.acknowledgedAt ? { acknowledgedAt: state.acknowledgedAt } : {}),
      ...(state.holder ? { holder: state.holder } : {}),
      ...(handover
        ? {
            handover: {
              requestedBy: handover.requestedBy,
              requestedAt: handover.requestedAt,
              ...(handover.acceptedBy ? { acceptedBy: handover.acceptedBy } : {}),
              ...(handover.acceptedAt ? { acceptedAt: handover.acceptedAt } : {}),
            },
          }
        : {}),
    },
  ].slice(-KEPT_REOPENINGS);
  delete state.resolution;
  delete state.acknowledgedBy;
  delete state.acknowledgedAt;
  delete state.holder;
  delete state.handover;
  for (const item of state.followUps) if (item.status === 'open') item.status = 'suspended';
  // The new response's reminders count from the reopening, not from the last one's.
  delete incident.reminders.lastNudgeAt;
  delete incident.reminders.lastAssessReminderAt;
  delete incident.reminders.lastUpdateReminderAt;
  state.phase = phaseAfter(state.phase, 'reopen');
  const first = policy.escalation.steps[0];
  const paged = restart ? (first?.notify ?? []) : [];
  incident.tell(
    notices.reopened(state, policy, alertNames, previousHolder, paged),
    'reopened',
    SYSTEM,
    `${excerpt(alertNames.join(', '), 100)} fired again after resolution; reopened, ${restart ? 'paging from the first step' : 'paging goes on where it stood'}`,
    { alerts: alerts.slice(0, 20), escalation: restart ? 'restarted' : 'resumed' },
  );
  if (restart && first) {
    state.escalation = { round: 0, step: 0, pagedAt: now(), exhausted: false };
    if (resolvesSchedules(first.notify)) {
      // Whoever is on call now is asked first; the page follows unless someone acknowledged,
      // resolved or the incident reopened again meanwhile.
      const cycle = incident.cycle();
      void resolveNow(incident, first.notify).then((resolved) => {
        if (incident.cycle() === cycle && state.acknowledgedBy === undefined && !state.resolution) {
          pageStep(incident, first.notify, 0, 0, undefined, resolved);
        }
      });
    } else {
      pageStep(incident, first.notify, 0, 0);
    }
  }
}

/** Marks the open follow-up of this kind done (the report, the lessons, the training). */
export function completeFollowUp(incident: ReadyIncident, kind: FollowUp['kind'], actor: string): void {
  const item = incident.state.followUps.find((f) => f.kind === kind && f.status === 'open');
  if (item) markDone(incident, item, actor);
}

export function markDone(incident: ReadyIncident, item: FollowUp, actor: string): void {
  incident.meter.followUpClosed('done');
  item.status = 'done';
  item.doneAt = now();
  item.doneBy = actor;
}

/** True when every follow-up of a resolved incident is done or waived: it may close. */
export function everythingSettled(incident: ReadyIncident): boolean {
  const { state, policy } = incident;
  return (
    state.resolution !== undefined &&
    // Incidents whose severity sets their follow-ups may need none; older ones always had some.
    (state.followUps.length > 0 || policy.followUps.bySeverity !== undefined) &&
    state.followUps.every((f) => f.status === 'done' || f.status === 'waived')
  );
}

/** Incidents that close with nothing to follow up wait out a quiet period first (see incident.ts). */
export const QUIET_CLOSE_PATCH = 'closes-after-a-quiet-period';

/**
 * How long (ms) a settled incident with no follow-ups still waits before it closes: until
 * the alerts had as long to fire again as the step being paged had to acknowledge, the
 * window in which a re-fire still counts as the same flap. Undefined when it may close now:
 * it is not settled, it has follow-ups (they decided), or the window has passed. Incidents
 * whose policy predates per-severity follow-ups always had follow-ups.
 */
export function quietFor(incident: ReadyIncident): number | undefined {
  const { state, policy } = incident;
  if (!everythingSettled(incident) || state.followUps.length > 0 || !state.resolution) return undefined;
  const step = policy.escalation.steps[state.escalation.step] ?? policy.escalation.steps[0];
  const remaining = ms(state.resolution.at) + (step?.ackTimeoutMs ?? 0) - Date.now();
  return remaining > 0 ? remaining : undefined;
}

/** Due dates given as a day mean the end of that day, UTC. */
export function endOfDay(date: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59.000Z` : new Date(date).toISOString();
}
