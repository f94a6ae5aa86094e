/**
 * The duties: the timers that enforce the process. Each is a plan kept by one helper,
 * `keep`: wait until the next reminder is due, unless the duty is over or something
 * changed that re-plans it, then act, and plan again.
 *
 * Every deadline is computed from times kept in the record, never from how long a timer
 * has run, so continue-as-new and worker restarts pick each duty up where it stood.
 */
import { condition } from '@temporalio/workflow';
import { SYSTEM, ms, now, type ReadyIncident } from './incident-context';
import { followUpOverdue, followUpReminder } from './follow-up-notices';
import { notices } from './notices';
import { pageLevel3, reachedBy } from './level3-paging';
import { nudgeAsksSchedules, pageNextStepResolving, resolveNow, resolvesSchedules } from './schedule-paging';
import type { FollowUp } from './state';

/** The next thing a duty waits for. */
export interface Plan {
  /** When it is due, in epoch milliseconds. */
  dueAt: number;
  /** Besides the duty being over, what makes it plan again before then (a new severity). */
  replanWhen?: () => boolean;
  /**
   * What to do when it falls due. A promise (a page that waits for who is on call) is awaited
   * before the duty plans again; everything else acts at once, as it always did.
   */
  then: () => void | Promise<void>;
}

export interface Duty {
  /** The duty begins once this holds; at once when absent. */
  beginsWhen?: () => boolean;
  /** The duty is over for good. */
  over: () => boolean;
  /** The next plan; undefined when nothing more is due. */
  next: () => Plan | undefined;
}

/** Keeps a duty until it is over or has nothing more to do. */
export async function keep(duty: Duty): Promise<void> {
  const { beginsWhen } = duty;
  // A duty over before it began (its incident reopened meanwhile) ends without acting.
  if (beginsWhen) await condition(() => beginsWhen() || duty.over());
  while (!duty.over()) {
    const plan = duty.next();
    if (!plan) return;
    const { replanWhen } = plan;
    const interrupted = replanWhen ? (): boolean => duty.over() || replanWhen() : duty.over;
    if (await waitUntil(interrupted, plan.dueAt)) continue;
    const acting = plan.then();
    if (acting) await acting;
  }
}

/** Waits for `done` until an absolute deadline; true if done, false if the deadline passed. */
async function waitUntil(done: () => boolean, deadline: number): Promise<boolean> {
  if (done()) return true;
  const remaining = deadline - Date.now();
  if (remaining <= 0) return false;
  return condition(done, remaining);
}

const resolved =
  ({ state }: ReadyIncident) =>
  (): boolean =>
    state.resolution !== undefined;
const acknowledgedOrResolved = (incident: ReadyIncident) => (): boolean =>
  incident.state.acknowledgedAt !== undefined || resolved(incident)();
/** When the current response began: the last reopening, or the opening. */
const respondingSince = ({ state }: ReadyIncident): string => state.reopenings?.at(-1)?.at ?? state.openedAt;

/** True once the incident was reopened after this duty began: the duty belongs to the past. */
const reopenedSince = (incident: ReadyIncident): (() => boolean) => {
  const cycle = incident.cycle();
  return () => incident.cycle() !== cycle;
};

/** Not acknowledged in time: page the next step of the policy, round after round, then the managers. */
export function paging(incident: ReadyIncident): Duty {
  const { state, policy } = incident;
  const steps = policy.escalation.steps;
  const stale = reopenedSince(incident);
  const over = (): boolean => state.acknowledgedBy !== undefined || resolved(incident)() || stale();
  return {
    over,
    next: () => {
      const cursor = state.escalation;
      const step = steps[cursor.step];
      if (cursor.exhausted || !step) return undefined;
      // A step that reached nobody (a gap in its schedule) leaves the next one due at once.
      const wait = cursor.fellThrough ? 0 : step.ackTimeoutMs;
      return {
        dueAt: ms(cursor.pagedAt) + wait,
        then: () => pageNextStepResolving(incident, () => !over()),
      };
    },
  };
}

/** Acknowledged but not assessed in time: remind the holder, again each period. */
export function assessmentReminder(incident: ReadyIncident): Duty {
  const { state, policy, reminders } = incident;
  const stale = reopenedSince(incident);
  return {
    beginsWhen: acknowledgedOrResolved(incident),
    over: () =>
      state.assessments.some((a) => a.at >= respondingSince(incident)) || resolved(incident)() || stale(),
    next: () => {
      const within = policy.severities[state.severity].assessWithinMs;
      const from = reminders.lastAssessReminderAt ?? state.acknowledgedAt ?? respondingSince(incident);
      return {
        dueAt: ms(from) + within,
        then: () => {
          reminders.lastAssessReminderAt = now();
          incident.tell(
            notices.assessReminder(state, policy, within),
            'assessment-reminder',
            SYSTEM,
            `assessment overdue; reminded ${state.holder ?? 'the team'}`,
          );
        },
      };
    },
  };
}

/** Open and unresolved past the severity's limit: nudge Level 2 to escalate. */
export function escalationNudge(incident: ReadyIncident): Duty {
  const { state, policy, reminders } = incident;
  const stale = reopenedSince(incident);
  const over = (): boolean => state.handover !== undefined || resolved(incident)() || stale();
  return {
    over,
    next: () => {
      const severity = state.severity;
      const limit = policy.severities[severity].nudgeEscalationAfterMs;
      return {
        dueAt: ms(reminders.lastNudgeAt ?? respondingSince(incident)) + limit,
        replanWhen: () => state.severity !== severity,
        then: () => {
          reminders.lastNudgeAt = now();
          const openFor = Date.now() - ms(respondingSince(incident));
          const nudge = (firstStep?: string[]): void =>
            incident.tell(
              notices.escalationNudge(state, policy, openFor, firstStep),
              'escalation-nudge',
              SYSTEM,
              `unresolved after the ${severity} limit; nudged to escalate`,
              { severity, immediate: severity === 'SEV1' || severity === 'SEV2' },
            );
          // Nobody holds it: the nudge goes to the first step, its schedules asked who is on call now.
          const first = policy.escalation.steps[0]?.notify ?? [];
          if (state.holder || !nudgeAsksSchedules(first)) return nudge();
          return resolveNow(incident, first).then((answer) => {
            if (!over()) nudge(answer.responders);
          });
        },
      };
    },
  };
}

/** Escalated but Level 3 has not accepted in time: page the next Level 3 target, then managers. */
export function level3Paging(incident: ReadyIncident): Duty {
  const { state, policy } = incident;
  const stale = reopenedSince(incident);
  const over = (): boolean => state.handover?.acceptedBy !== undefined || resolved(incident)() || stale();
  return {
    // An escalation still asking who is on call has not paged Level 3 yet: nothing is due.
    beginsWhen: () => (state.handover !== undefined && !incident.handoverPending) || resolved(incident)(),
    over,
    next: () => {
      const handover = state.handover;
      const step = handover ? policy.level3[handover.level3Step] : undefined;
      if (!handover || handover.exhausted || !step) return undefined;
      return {
        dueAt: ms(handover.level3PagedAt) + (handover.fellThrough ? 0 : step.acceptTimeoutMs),
        then: () => {
          handover.level3PagedAt = now();
          const next = policy.level3[handover.level3Step + 1];
          if (!next) {
            handover.exhausted = true;
            incident.tell(
              notices.level3Unanswered(state, policy),
              'level3-paged',
              SYSTEM,
              'no Level 3 acceptance; managers paged',
            );
            return;
          }
          const previous = reachedBy(handover, step.notify);
          if (!resolvesSchedules(next.notify)) {
            pageLevel3(incident, previous, next.notify);
            return undefined;
          }
          return resolveNow(incident, next.notify).then((answer) => {
            if (!over()) pageLevel3(incident, previous, next.notify, answer);
          });
        },
      };
    },
  };
}

/** While open, stakeholders expect updates at the severity's cadence: remind the holder. */
export function stakeholderUpdates(incident: ReadyIncident): Duty {
  const { state, policy, reminders } = incident;
  const stale = reopenedSince(incident);
  return {
    beginsWhen: acknowledgedOrResolved(incident),
    over: () => resolved(incident)() || stale(),
    next: () => {
      const severity = state.severity;
      const every = policy.severities[severity].stakeholderUpdateEveryMs;
      const lastUpdate = state.lastStakeholderUpdateAt;
      const from = Math.max(
        ms(lastUpdate),
        ms(state.acknowledgedAt ?? respondingSince(incident)),
        reminders.lastUpdateReminderAt ? ms(reminders.lastUpdateReminderAt) : 0,
      );
      return {
        dueAt: from + every,
        replanWhen: () => state.severity !== severity || state.lastStakeholderUpdateAt !== lastUpdate,
        then: () => {
          reminders.lastUpdateReminderAt = now();
          incident.tell(
            notices.stakeholderUpdateDue(state, policy, every),
            'stakeholder-update-reminder',
            SYSTEM,
            `stakeholder update overdue; reminded ${state.holder ?? 'the team'}`,
          );
        },
      };
    },
  };
}

/**
 * One follow-up: a reminder before it is due, then the owner and the managers once it is
 * overdue, again every `remindBefore`, until it is done or waived.
 */
export function followUpDuty(incident: ReadyIncident, item: FollowUp): Duty {
  const { state, policy } = incident;
  const stale = reopenedSince(incident);
  const settled = (): boolean => item.status !== 'open' || stale();
  const due = ms(item.dueAt);
  const { remindBeforeMs } = policy.followUps;
  // Each run waits for the due date once before it repeats the overdue notices.
  let dueDateWaited = false;
  const overdue = (): void => {
    if (settled()) return;
    const last = item.overdueNotifiedAt ? ms(item.overdueNotifiedAt) : undefined;
    if (last !== undefined && Date.now() < last + remindBeforeMs) return;
    // Counted when it first goes past its due date, not at every repeated notice.
    if (last === undefined) incident.meter.followUpOverdue();
    item.overdueNotifiedAt = now();
    const notice = followUpOverdue(state, policy, item);
    incident.tell(
      notice,
      'follow-up-overdue',
      SYSTEM,
      `${item.id} overdue; told ${notice.responders.map((r) => r.id).join(', ')}`,
      { followUpId: item.id },
    );
  };
  return {
    over: settled,
    next: () => {
      if (!item.remindedAt) {
        return {
          dueAt: due - remindBeforeMs,
          then: () => {
            item.remindedAt = now();
            incident.tell(
              followUpReminder(state, policy, item),
              'follow-up-reminder',
              SYSTEM,
              `${item.id} due at ${item.dueAt}; reminded ${item.owner}`,
              { followUpId: item.id },
            );
          },
        };
      }
      if (!dueDateWaited) {
        return {
          dueAt: due,
          then: () => {
            dueDateWaited = true;
            overdue();
          },
        };
      }
      return { dueAt: ms(item.overdueNotifiedAt ?? now()) + remindBeforeMs, then: overdue };
    },
  };
}

/**
 * Starts a duty for every follow-up as it is scheduled, and again for those resumed after
 * a reopening; returns once the incident closed.
 */
export async function enforceFollowUps(incident: ReadyIncident): Promise<void> {
  const { state } = incident;
  const watched = new Set<string>();
  const key = (item: FollowUp): string => `${item.id}/${incident.cycle()}`;
  const duties: Promise<void>[] = [];
  for (;;) {
    await condition(
      () =>
        state.followUps.some((f) => f.status === 'open' && !watched.has(key(f))) || state.phase === 'closed',
    );
    if (state.phase === 'closed') break;
    for (const item of state.followUps) {
      if (item.status === 'open' && !watched.has(key(item))) {
        watched.add(key(item));
        duties.push(keep(followUpDuty(incident, item)));
      }
    }
  }
  await Promise.all(duties);
}

/** The duties of an open incident, started anew each time it is reopened. */
export function openIncidentDuties(incident: ReadyIncident): Duty[] {
  return [
    paging(incident),
    assessmentReminder(incident),
    escalationNudge(incident),
    level3Paging(incident),
    stakeholderUpdates(incident),
  ];
}

/** Waits for each reopening and keeps the open incident's duties for the new response. */
export async function keepDutiesAfterReopening(incident: ReadyIncident): Promise<void> {
  for (let cycle = incident.cycle(); ; cycle = incident.cycle()) {
    await condition(() => incident.cycle() !== cycle || incident.state.phase === 'closed');
    if (incident.state.phase === 'closed') return;
    for (const duty of openIncidentDuties(incident)) void keep(duty);
  }
}
