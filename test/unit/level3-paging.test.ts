/**
 * Level 3 steps that name a schedule, without a server: the handover once the first step's
 * schedules answered, a gap that falls through, the words of the next page, and the lists
 * of people (who hears the end, the nudge) that never take `schedule:<id>` for a person.
 */
import { describe, expect, it } from 'vitest';
import type { BatonConfigInput } from '../../config/schema';
import { level3Paging } from '../../workflows/incident/duties';
import { level3PagedSoFar } from '../../workflows/incident/diagnostics';
import type { ReadyIncident } from '../../workflows/incident/incident-context';
import { handOver, pageLevel3, reachedBy } from '../../workflows/incident/level3-paging';
import { notices, pagedSoFar } from '../../workflows/incident/notices';
import { namedResponders, type ResolvedTargets } from '../../workflows/incident/page-targets';
import { events, plainIncident, take } from './plain-incident';

const HOUR = 3_600_000;

/** Level 3 is carol and erin by the week, then dave. */
function withLevel3Schedule(c: BatonConfigInput): void {
  c.schedules = [
    {
      id: 'payments-l3',
      team: 'payments',
      name: 'Payments L3',
      timezone: 'Europe/Berlin',
      layers: [{ members: ['carol', 'erin'], shift: '1w', handoff: '2026-11-02T09:00' }],
    },
  ];
  const team = c.teams[0];
  if (!team) throw new Error('no team');
  team.escalation.steps[0] = { notify: ['schedule:payments-l3'], ackTimeout: '1h' };
  team.level3 = [
    { notify: ['schedule:payments-l3'], acceptTimeout: '1h' },
    { notify: ['dave'], acceptTimeout: '1h' },
  ];
}

const onCall = (member: string): ResolvedTargets => ({
  responders: [member],
  because: { [member]: 'on call for Payments L3' },
  schedules: { [member]: 'payments-l3' },
  gaps: [],
});
const nobody: ResolvedTargets = {
  responders: [],
  because: {},
  schedules: {},
  gaps: [{ schedule: 'payments-l3', name: 'Payments L3', reason: 'time off' }],
};

/** Escalated as the workflow does before the first step's schedules answer. */
function escalated(): ReadyIncident {
  const incident = plainIncident({ config: withLevel3Schedule });
  expect(take(incident, 'acknowledge', { actor: 'bob' })).toBeUndefined();
  const at = new Date().toISOString();
  incident.state.handover = {
    reason: 'stuck',
    requestedBy: 'bob',
    requestedAt: at,
    level3Step: 0,
    level3PagedAt: at,
    exhausted: false,
    meetingAt: at,
  };
  return incident;
}

describe('the handover to a first Level 3 step that names a schedule', () => {
  it('sends the package and the meeting to whoever the schedule has on call, saying why', () => {
    const incident = escalated();
    handOver(incident, ['schedule:payments-l3'], onCall('erin'));
    const [pkg] = events(incident, 'handover-package');
    expect(pkg?.summary).toBe(
      'handover package sent to #payments-l3 and Erin Park (on call for Payments L3)',
    );
    expect(pkg?.details).toMatchObject({ to: ['erin'], schedules: { erin: 'payments-l3' } });
    const sent = incident.outbox.find((n) => n.kind === 'handover');
    expect(sent?.responders.map((r) => r.id)).toEqual(['erin']);
    expect(sent?.text).toMatch(
      /^You are paged as on call for Payments L3 to accept the handover\.\n\n# Handover/,
    );
    expect(events(incident, 'handover-meeting')[0]?.details?.to).toEqual(['bob', 'erin']);
    expect(events(incident, 'paging-gap')).toEqual([]);
    expect(incident.state.handover?.fellThrough).toBeUndefined();
  });

  it('on a gap, tells the Level 3 channel and falls through to the next Level 3 step at once', () => {
    const incident = escalated();
    handOver(incident, ['schedule:payments-l3'], nobody);
    expect(events(incident, 'handover-package')[0]?.summary).toBe(
      'handover package sent to #payments-l3; nobody is on call for Payments L3 (gap: time off)',
    );
    expect(incident.outbox.find((n) => n.kind === 'handover')?.responders).toEqual([]);
    expect(events(incident, 'paging-gap')[0]).toMatchObject({
      summary: 'nobody is on call for Payments L3 (gap: time off); paging the next Level 3 step',
      details: { level3Step: 1, gaps: nobody.gaps },
    });
    const handover = incident.state.handover;
    if (!handover) throw new Error('no handover');
    expect(handover.fellThrough).toBe(true);
    // Due at once, not an accept timeout later.
    expect(level3Paging(incident).next()?.dueAt).toBe(Date.parse(handover.level3PagedAt));
  });

  it('waits to plan Level 3 paging until the first step was asked who is on call', () => {
    const incident = escalated();
    const duty = level3Paging(incident);
    incident.handoverPending = true;
    expect(duty.beginsWhen?.()).toBe(false);
    incident.handoverPending = false;
    expect(duty.beginsWhen?.()).toBe(true);
  });
});

describe('the next Level 3 page', () => {
  it('names whom the previous step reached through its schedule, or that it reached nobody', () => {
    const incident = escalated();
    const handover = incident.state.handover;
    if (!handover) throw new Error('no handover');
    handover.reached = ['erin'];
    expect(reachedBy(handover, ['schedule:payments-l3'])).toEqual(['erin']);
    pageLevel3(incident, reachedBy(handover, ['schedule:payments-l3']), ['dave']);
    expect(events(incident, 'level3-paged')[0]?.summary).toBe('erin did not accept; paged dave');
    // A step that names people is read as named from then on.
    expect(handover.reached).toBeUndefined();
    expect(reachedBy(handover, ['dave', 'schedule:payments-l3'])).toEqual(['dave']);

    pageLevel3(incident, [], ['dave']);
    expect(events(incident, 'level3-paged')[1]?.summary).toBe(
      'nobody was on call at the previous Level 3 step; paged dave',
    );
    expect(incident.outbox.at(-1)?.text).toMatch(/^Nobody was on call at the previous Level 3 step\. /);
  });
});

describe('lists of people read from steps that name schedules', () => {
  it('keeps the people a step names and drops its schedules', () => {
    expect(namedResponders(['schedule:payments-l3', 'dave', 'schedule:x:next', 'dave'])).toEqual(['dave']);
  });

  it('counts whom the Level 3 schedules reached among those told how the incident ends', () => {
    const incident = escalated();
    handOver(incident, ['schedule:payments-l3'], onCall('erin'));
    incident.state.handover!.paged = ['erin'];
    incident.state.escalation.paged = ['carol'];
    const told = pagedSoFar(incident.state, incident.policy);
    expect(told).toEqual(expect.arrayContaining(['carol', 'erin']));
    expect(told.some((id) => id.startsWith('schedule:'))).toBe(false);
    expect(level3PagedSoFar(incident.state, incident.policy)).toEqual(['erin']);
  });

  it('nudges the first step’s on-call member when asked, and never a schedule id', () => {
    const incident = plainIncident({ config: withLevel3Schedule });
    const { state, policy } = incident;
    expect(notices.escalationNudge(state, policy, HOUR).responders).toEqual([]);
    expect(notices.escalationNudge(state, policy, HOUR, ['carol']).responders.map((r) => r.id)).toEqual([
      'carol',
    ]);
  });
});
