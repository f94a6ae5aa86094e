import { describe, expect, it } from 'vitest';
import {
  alertsFired,
  alertsResolved,
  pageOnRefire,
  reopen,
  takeInitialAlerts,
} from '../../workflows/incident/alerts';
import { addNote, recordRefusedEmail, REFUSED_EMAILS_RECORDED } from '../../workflows/incident/notes';
import { events, firing, plainIncident, take } from './plain-incident';

const TEAM = '#payments-incidents';

describe('the steps, applied to a plain incident', () => {
  it('acknowledge: the actor holds the incident and everyone paged so far is told, once, on the timeline', () => {
    const incident = plainIncident();
    expect(take(incident, 'acknowledge', { actor: 'bob', note: 'on it' })).toBeUndefined();
    expect(incident.state).toMatchObject({ phase: 'acknowledged', holder: 'bob', acknowledgedBy: 'bob' });
    const [event] = events(incident, 'acknowledged');
    expect(event).toMatchObject({ actor: 'bob', summary: 'Bob Okafor acknowledged and holds the incident' });
    const [notice] = incident.outbox;
    // The event lists exactly whom the notice addressed.
    expect(event?.details).toEqual({
      note: 'on it',
      to: notice?.responders.map((r) => r.id),
      channels: notice?.slackChannels,
    });
    // Only the first step has been paged: the second step's people were never disturbed.
    expect(event?.details?.to).toEqual(['alice']);
    expect(notice?.slackChannels).toEqual([TEAM]);
    expect(incident.documentationDue).toBe(true);
  });

  it('acknowledge after paging reached the third step tells every step paged', () => {
    const incident = plainIncident();
    incident.state.escalation.step = 2;
    take(incident, 'acknowledge', { actor: 'bob' });
    expect(events(incident, 'acknowledged')[0]?.details?.to).toEqual(['alice', 'dave']);
  });

  it('once paging ran out, the managers it reached hear of the acknowledgement too', () => {
    const incident = plainIncident({
      config: (c) => {
        const team = c.teams[0];
        if (team) team.escalation.steps = team.escalation.steps.slice(0, 2);
      },
    });
    incident.state.escalation = { ...incident.state.escalation, round: 1, exhausted: true };
    take(incident, 'acknowledge', { actor: 'alice' });
    expect(events(incident, 'acknowledged')[0]?.details?.to).toEqual(['bob', 'dave']);
    expect(incident.policy.managers).toEqual(['dave']);
  });

  it('resolve tells everyone paged, so nobody paged is left wondering', () => {
    const incident = plainIncident();
    incident.state.escalation.round = 1;
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'resolve', { actor: 'bob', summary: 'restarted the pool' });
    const resolved = incident.outbox.find((n) => n.kind === 'resolved');
    expect(resolved?.responders.map((r) => r.id)).toEqual(expect.arrayContaining(['alice', 'bob', 'dave']));
  });

  it('assess: a major severity reaches managers and stakeholders; the event points at the assessment', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    const impact = 'checkout down for every customer in the EU '.repeat(20);
    take(incident, 'assess', {
      actor: 'alice',
      severity: 'SEV1',
      urgency: 'critical',
      impact,
      observations: 'x',
    });
    expect(incident.state).toMatchObject({ phase: 'assessed', severity: 'SEV1' });
    expect(incident.state.assessments).toHaveLength(1);
    const [event] = events(incident, 'assessed');
    expect(event?.details).toEqual({
      severity: 'SEV1',
      previousSeverity: 'SEV2',
      assessment: 1,
      to: ['dave'],
      channels: [TEAM, '#payments-status'],
      emails: ['payments-leads@example.com'],
    });
    // The summary gives the gist; the impact itself is only in the assessment.
    expect(event?.summary.length).toBeLessThan(300);
    expect(JSON.stringify(event)).not.toContain(impact);
  });

  it('recordAction: moves to mitigating and records the action once, the event pointing at it', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'recordAction', {
      actor: 'alice',
      kind: 'restart',
      description: 'restarted api',
      result: 'no change',
    });
    expect(incident.state.phase).toBe('mitigating');
    expect(incident.state.actions).toMatchObject([{ id: 'action-1', phase: 'mitigating', by: 'alice' }]);
    expect(events(incident, 'action')[0]).toMatchObject({
      summary: 'restart: restarted api → no change',
      details: { actionId: 'action-1' },
    });
  });

  it('escalate: the package goes to the first Level 3 step on its channel, and a meeting is called', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'restart did not help' });
    expect(incident.state.phase).toBe('escalated');
    expect(incident.state.handover).toMatchObject({ reason: 'restart did not help', level3Step: 0 });
    expect(incident.state.timeline.map((e) => e.kind).slice(-3)).toEqual([
      'escalated',
      'handover-package',
      'handover-meeting',
    ]);
    const [, pkg, meeting] = incident.outbox;
    expect(pkg?.kind).toBe('handover');
    expect(pkg?.text).toContain('# Handover: Payments API error rate above 5%');
    expect(pkg?.text).toContain('escalated: escalated to Level 3: restart did not help');
    expect(events(incident, 'handover-package')[0]?.details).toEqual({
      characters: pkg?.text.length,
      to: ['carol'],
      channels: ['#payments-l3'],
    });
    expect(meeting?.responders.map((r) => r.id)).toEqual(['alice', 'carol']);
    expect(events(incident, 'handover-meeting')[0]?.details?.to).toEqual(['alice', 'carol']);
  });

  it('acceptHandover: Level 3 holds the incident and collaborates with Level 2', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'stuck' });
    expect(take(incident, 'acceptHandover', { actor: 'bob', notes: 'mine' })?.type).toBe('NotPermitted');
    expect(take(incident, 'acceptHandover', { actor: 'carol', notes: 'mine' })).toBeUndefined();
    expect(incident.state).toMatchObject({ phase: 'collaborating', holder: 'carol' });
    expect(incident.state.handover).toMatchObject({ acceptedBy: 'carol', notes: 'mine' });
  });

  it('communicate: an internal update resets the stakeholder cadence; an external one goes only to customers', () => {
    const incident = plainIncident();
    take(incident, 'communicate', { actor: 'alice', audience: 'internal', message: 'failing over' });
    expect(incident.state.lastStakeholderUpdateAt).toBe(incident.state.communications[0]?.at);
    take(incident, 'communicate', { actor: 'dave', audience: 'external', message: 'Payments are slow.' });
    const external = incident.outbox[incident.outbox.length - 1];
    expect(external).toMatchObject({
      kind: 'external',
      text: 'Payments are slow.',
      responders: [],
      slackChannels: [],
      emails: ['status-subscribers@example.com'],
      links: [],
    });
    expect(events(incident, 'communication')[1]?.details).toEqual({
      audience: 'external',
      communication: 2,
      to: [],
      emails: ['status-subscribers@example.com'],
    });
  });

  it('resolve: straight to post-incident with the report, lessons and training due', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'resolve', { actor: 'bob', summary: 'rolled back' });
    expect(incident.state.phase).toBe('post-incident');
    expect(incident.state.resolution).toMatchObject({ by: 'bob', summary: 'rolled back', automatic: false });
    expect(incident.state.followUps.map((f) => [f.id, f.owner, f.status])).toEqual([
      ['report', 'bob', 'open'],
      ['lessons', 'bob', 'open'],
      // A manager answers for the training and records it.
      ['training', 'dave', 'open'],
    ]);
    const resolvedAt = Date.parse(incident.state.resolution?.at ?? '');
    expect(Date.parse(incident.state.followUps[0]?.dueAt ?? '')).toBe(resolvedAt + 2 * 86_400_000);
    expect(incident.outbox[incident.outbox.length - 1]?.kind).toBe('resolved');
    expect(take(incident, 'resolve', { actor: 'bob', summary: 'again' })?.type).toBe('InvalidMove');
  });

  it('the follow-ups: lessons open action items, which their owners complete; a manager waives the rest', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'resolve', { actor: 'alice', summary: 'fixed' });
    take(incident, 'submitReport', {
      actor: 'alice',
      summary: 's',
      rootCause: 'a bad deploy',
      actionsAndResults: 'rollback',
      recommendations: 'canaries',
    });
    take(incident, 'recordLessons', {
      actor: 'alice',
      lessons: ['canary deploys'],
      actionItems: [{ title: 'add canaries', owner: 'bob', dueDate: '2027-01-31' }],
    });
    expect(events(incident, 'lessons-recorded')[0]?.details).toEqual({ actionItems: ['action-item-1'] });
    const item = incident.state.followUps.find((f) => f.id === 'action-item-1');
    expect(item).toMatchObject({ owner: 'bob', dueAt: '2027-01-31T23:59:59.000Z', status: 'open' });
    take(incident, 'completeActionItem', { actor: 'bob', itemId: 'action-item-1', note: 'shipped' });
    expect(
      take(incident, 'waiveFollowUp', { actor: 'alice', followUpId: 'training', reason: 'r' })?.type,
    ).toBe('NotPermitted');
    take(incident, 'waiveFollowUp', { actor: 'dave', followUpId: 'training', reason: 'drill next week' });
    expect(incident.state.followUps.map((f) => [f.id, f.status, f.doneBy ?? f.waiver?.by])).toEqual([
      ['report', 'done', 'alice'],
      ['lessons', 'done', 'alice'],
      ['training', 'waived', 'dave'],
      ['action-item-1', 'done', 'bob'],
    ]);
    // The report and the waiver's reason live in the record, not again on the timeline.
    expect(events(incident, 'report-submitted')[0]?.details).toBeUndefined();
    expect(events(incident, 'follow-up-waived')[0]?.details).toEqual({ followUpId: 'training' });
    expect(incident.state.followUps[2]?.waiver?.reason).toBe('drill next week');
  });

  it('refuses every step on a full record except those that resolve and close it', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    incident.state.description = 'x'.repeat(500_001);
    const refusal = take(incident, 'recordAction', {
      actor: 'alice',
      kind: 'restart',
      description: 'd',
      result: 'r',
    });
    expect(refusal?.message).toMatch(/size limit/);
    expect(incident.state.actions).toHaveLength(0);
    expect(take(incident, 'resolve', { actor: 'alice', summary: 'fixed' })).toBeUndefined();
  });
});

describe('alerts and notes, applied to a plain incident', () => {
  it('takes each firing once, attaches its runbook, and auto-resolves an unacknowledged incident when all clear', () => {
    const incident = plainIncident({ input: { alerts: [firing('HighLatency', 'fp-1')], severity: 'SEV3' } });
    takeInitialAlerts(incident);
    expect(incident.state.runbooks.map((r) => r.alertname)).toEqual(['HighLatency']);
    expect(alertsFired(incident, [firing('HighLatency', 'fp-1')])).toEqual([]);
    expect(alertsFired(incident, [firing('ErrorRate', 'fp-2')]).map((a) => a.fingerprint)).toEqual(['fp-2']);
    expect(alertsResolved(incident, [{ ...firing('HighLatency', 'fp-1'), status: 'resolved' }])).toBe(true);
    expect(incident.state.resolution).toBeUndefined();
    expect(alertsResolved(incident, [{ ...firing('ErrorRate', 'fp-2'), status: 'resolved' }])).toBe(true);
    expect(incident.state).toMatchObject({
      phase: 'post-incident',
      resolution: { automatic: true, by: 'baton' },
    });
    // Cleared before anyone looked, and SEV3 asks for a report only: the drafted one is enough.
    expect(incident.state.followUps).toEqual([]);
    expect(events(incident, 'follow-ups-scheduled')[0]?.summary).toBe(
      'no follow-ups: it cleared before anyone acknowledged it, and the drafted report is all SEV3 asks for',
    );
    expect(alertsResolved(incident, [{ ...firing('ErrorRate', 'fp-2'), status: 'resolved' }])).toBe(false);
  });

  it('pages the last holder and Level 2 when alerts fire again after resolution', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'resolve', { actor: 'bob', summary: 'fixed' });
    const fresh = alertsFired(incident, [firing('HighLatency', 'fp-9')]);
    pageOnRefire(incident, fresh);
    const [paged] = events(incident, 'paged');
    expect(paged?.details).toEqual({ alerts: ['fp-9'], to: ['bob', 'alice'], channels: [TEAM] });
    expect(incident.outbox[incident.outbox.length - 1]?.subject).toMatch(/firing again after resolution/);
  });

  it('adds a note once per request id, and drops one from a stranger with a reason', () => {
    const incident = plainIncident();
    const note = { actor: 'bob', requestId: 'n-1', text: 'EU only', source: 'slack' as const };
    expect(addNote(incident, note)).toBeUndefined();
    expect(addNote(incident, note)).toBeUndefined();
    expect(incident.state.notes).toHaveLength(1);
    expect(addNote(incident, { ...note, requestId: 'n-2', actor: 'mallory' })).toMatch(
      /unknown actor "mallory"/,
    );
    expect(incident.state.notes).toHaveLength(1);
  });

  it('records a refused email once, without taking a request id, and only counts them past a few', () => {
    const incident = plainIncident();
    const refusal = { requestId: 'email-1', from: 'mallory@evil.example', reason: 'no aligned DKIM' };
    expect(recordRefusedEmail(incident, refusal)).toBeUndefined();
    expect(recordRefusedEmail(incident, refusal)).toBeUndefined();
    expect(events(incident, 'email-refused')).toHaveLength(1);
    expect(incident.usedFor('email-1')).toBeUndefined();
    for (let i = 2; i <= REFUSED_EMAILS_RECORDED + 5; i += 1) {
      recordRefusedEmail(incident, { ...refusal, requestId: `email-${i}` });
    }
    expect(events(incident, 'email-refused')).toHaveLength(REFUSED_EMAILS_RECORDED);
    expect(incident.state.emailRefusals).toBe(REFUSED_EMAILS_RECORDED + 5);
    expect(incident.state.phase).toBe('triggered');
  });

  it('reopens a resolved incident on a re-fire: a person’s resolution restarts paging, noise resumes it', () => {
    const handled = plainIncident();
    take(handled, 'acknowledge', { actor: 'bob' });
    take(handled, 'resolve', { actor: 'bob', summary: 'restarted' });
    reopen(handled, [firing('HighLatency', 'fp-1')]);
    expect(handled.state).toMatchObject({ phase: 'triggered', escalation: { step: 0, round: 0 } });
    expect(handled.state.acknowledgedBy).toBeUndefined();
    expect(handled.cycle()).toBe(1);
    expect(handled.state.followUps.every((f) => f.status === 'suspended')).toBe(true);
    expect(events(handled, 'paged').at(-1)?.details?.to).toEqual(['alice']);
    expect(take(handled, 'acknowledge', { actor: 'alice' })).toBeUndefined();

    const noise = plainIncident({ input: { alerts: [firing('HighLatency', 'fp-2')] } });
    const pagedAt = noise.state.escalation.pagedAt;
    alertsResolved(noise, [{ ...firing('HighLatency', 'fp-2'), status: 'resolved' }]);
    reopen(noise, [firing('HighLatency', 'fp-2')]);
    expect(noise.state.escalation.pagedAt).toBe(pagedAt);
    expect(events(noise, 'paged')).toHaveLength(0);
    expect(events(noise, 'reopened')[0]?.details).toMatchObject({ escalation: 'resumed' });
    // Resolved again by a person: the suspended report is due again, lessons and training join it.
    take(noise, 'acknowledge', { actor: 'alice' });
    take(noise, 'resolve', { actor: 'alice', summary: 'fixed' });
    expect(noise.state.followUps.map((f) => [f.id, f.status])).toEqual([
      ['report', 'open'],
      ['lessons', 'open'],
      ['training', 'open'],
    ]);
  });
});
