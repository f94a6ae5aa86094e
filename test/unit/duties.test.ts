/**
 * The duties' plans, without timers: what each waits for, until when, and what it does when
 * that time comes. The server tests (incident-timers) prove the timers themselves.
 */
import { describe, expect, it } from 'vitest';
import type { BatonConfigInput } from '../../config/schema';
import {
  assessmentReminder,
  escalationNudge,
  followUpDuty,
  level3Paging,
  paging,
  stakeholderUpdates,
  type Duty,
} from '../../workflows/incident/duties';
import type { ReadyIncident } from '../../workflows/incident/incident-context';
import { events, plainIncident, take } from './plain-incident';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Falls due now: what the duty does when its timer fires. */
function fire(duty: Duty): void {
  const plan = duty.next();
  if (!plan) throw new Error('the duty has nothing planned');
  // Steps that name people only page at once: nothing to wait for here.
  void plan.then();
}

function paged(incident: ReadyIncident): unknown[] {
  return events(incident, 'paged').map((e) => e.details?.to);
}

describe('paging until someone acknowledges', () => {
  const policy = (c: BatonConfigInput): void => {
    const team = c.teams[0];
    if (team) {
      team.escalation = {
        steps: [
          { notify: ['alice'], ackTimeout: '5m' },
          { notify: ['bob'], ackTimeout: '10m' },
        ],
        repeat: 2,
      };
    }
  };

  it('is due one ack timeout after the last page, steps through the policy round after round, then pages the managers', () => {
    const incident = plainIncident({ config: policy });
    const duty = paging(incident);
    const opened = Date.parse(incident.state.openedAt);
    expect(duty.next()?.dueAt).toBe(opened + 5 * MINUTE);
    fire(duty);
    expect(incident.state.escalation).toMatchObject({ step: 1, round: 0 });
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.state.escalation.pagedAt) + 10 * MINUTE);
    fire(duty);
    fire(duty);
    // Alice's first page is the incident's opening; the duty pages from the second step on.
    expect(paged(incident)).toEqual([['bob'], ['alice'], ['bob']]);
    expect(incident.state.escalation).toMatchObject({ step: 1, round: 1 });
    fire(duty);
    expect(incident.state.escalation.exhausted).toBe(true);
    expect(events(incident, 'escalation-exhausted')[0]?.details?.to).toEqual(['dave']);
    expect(duty.next()).toBeUndefined();
  });

  it('is over once someone acknowledges or the incident is resolved', () => {
    const incident = plainIncident({ config: policy });
    const duty = paging(incident);
    expect(duty.over()).toBe(false);
    take(incident, 'acknowledge', { actor: 'bob' });
    expect(duty.over()).toBe(true);
  });
});

describe('reminders while the incident is open', () => {
  it('reminds the holder to assess within the severity’s limit of the acknowledgement, then each period', () => {
    const incident = plainIncident({ config: (c) => void (c.severities.SEV2.assessWithin = '15m') });
    const duty = assessmentReminder(incident);
    expect(duty.beginsWhen?.()).toBe(false);
    take(incident, 'acknowledge', { actor: 'bob' });
    expect(duty.beginsWhen?.()).toBe(true);
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.state.acknowledgedAt ?? '') + 15 * MINUTE);
    fire(duty);
    expect(events(incident, 'assessment-reminder')[0]?.details).toEqual({
      to: ['bob'],
      channels: ['#payments-incidents'],
    });
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.reminders.lastAssessReminderAt ?? '') + 15 * MINUTE);
    take(incident, 'assess', {
      actor: 'bob',
      severity: 'SEV3',
      urgency: 'low',
      impact: 'i',
      observations: 'o',
    });
    expect(duty.over()).toBe(true);
  });

  it('nudges to escalate past the severity’s limit and re-plans when the severity changes', () => {
    const incident = plainIncident({
      config: (c) => {
        c.severities.SEV2.nudgeEscalationAfter = '1h';
        c.severities.SEV1.nudgeEscalationAfter = '15m';
      },
    });
    const duty = escalationNudge(incident);
    const plan = duty.next();
    expect(plan?.dueAt).toBe(Date.parse(incident.state.openedAt) + HOUR);
    expect(plan?.replanWhen?.()).toBe(false);
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'assess', {
      actor: 'alice',
      severity: 'SEV1',
      urgency: 'high',
      impact: 'i',
      observations: 'o',
    });
    expect(plan?.replanWhen?.()).toBe(true);
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.state.openedAt) + 15 * MINUTE);
    fire(duty);
    expect(events(incident, 'escalation-nudge')[0]?.details).toMatchObject({
      severity: 'SEV1',
      immediate: true,
      to: ['alice'],
    });
    take(incident, 'escalate', { actor: 'alice', reason: 'nudged' });
    expect(duty.over()).toBe(true);
  });

  it('reminds about stakeholder updates at the cadence, counted from the last update', () => {
    const incident = plainIncident({
      config: (c) => void (c.severities.SEV2.stakeholderUpdateEvery = '30m'),
    });
    const duty = stakeholderUpdates(incident);
    take(incident, 'acknowledge', { actor: 'alice' });
    const plan = duty.next();
    expect(plan?.dueAt).toBe(Date.parse(incident.state.acknowledgedAt ?? '') + 30 * MINUTE);
    take(incident, 'communicate', { actor: 'alice', audience: 'internal', message: 'update' });
    expect(plan?.replanWhen?.()).toBe(true);
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.state.lastStakeholderUpdateAt) + 30 * MINUTE);
  });
});

describe('Level 3 acceptance', () => {
  it('pages the next Level 3 step when the first does not accept in time, then the managers', () => {
    const incident = plainIncident();
    const duty = level3Paging(incident);
    expect(duty.beginsWhen?.()).toBe(false);
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'stuck' });
    expect(duty.next()?.dueAt).toBe(Date.parse(incident.state.handover?.level3PagedAt ?? '') + HOUR);
    fire(duty);
    fire(duty);
    expect(events(incident, 'level3-paged').map((e) => [e.summary, e.details?.to])).toEqual([
      ['carol did not accept; paged erin', ['erin']],
      ['no Level 3 acceptance; managers paged', ['dave']],
    ]);
    expect(duty.next()).toBeUndefined();
  });
});

describe('follow-ups', () => {
  it('reminds before the due time, then tells the owner and the managers once overdue, repeatedly', () => {
    const incident = plainIncident({
      config: (c) => {
        c.followUps.reportDue = '2d';
        c.followUps.remindBefore = '1d';
      },
    });
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'resolve', { actor: 'bob', summary: 'fixed' });
    const report = incident.state.followUps[0];
    if (!report) throw new Error('no report follow-up');
    const duty = followUpDuty(incident, report);
    const due = Date.parse(report.dueAt);
    expect(duty.next()?.dueAt).toBe(due - 86_400_000);
    fire(duty);
    expect(events(incident, 'follow-up-reminder')[0]?.details).toEqual({ followUpId: 'report', to: ['bob'] });
    expect(duty.next()?.dueAt).toBe(due);
    fire(duty);
    const overdue = events(incident, 'follow-up-overdue');
    expect(overdue[0]?.details).toEqual({
      followUpId: 'report',
      to: ['bob', 'dave'],
      channels: ['#payments-incidents'],
    });
    expect(duty.next()?.dueAt).toBe(Date.parse(report.overdueNotifiedAt ?? '') + 86_400_000);
    take(incident, 'waiveFollowUp', { actor: 'dave', followUpId: 'report', reason: 'covered elsewhere' });
    expect(duty.over()).toBe(true);
  });

  it('names the manager once when the owner is also told as a manager', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'dave' });
    take(incident, 'resolve', { actor: 'dave', summary: 'fixed' });
    const report = incident.state.followUps[0];
    if (!report) throw new Error('no report follow-up');
    const duty = followUpDuty(incident, report);
    fire(duty);
    fire(duty);
    expect(events(incident, 'follow-up-overdue')[0]?.details?.to).toEqual(['dave']);
  });
});
