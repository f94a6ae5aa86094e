import { describe, expect, it } from 'vitest';
import { alertsResolved, takeInitialAlerts } from '../../workflows/incident/alerts';
import { everythingSettled } from '../../workflows/incident/resolution';
import type { IncidentInput } from '../../workflows/incident/state';
import { events, firing, plainIncident, take } from './plain-incident';

/** An incident of this severity whose alert cleared before anyone acknowledged it. */
function blip(severity: IncidentInput['severity']) {
  const incident = plainIncident({ input: { severity, alerts: [firing('HighLatency', 'fp-1')] } });
  takeInitialAlerts(incident);
  alertsResolved(incident, [{ ...firing('HighLatency', 'fp-1'), status: 'resolved' }]);
  return incident;
}

function resolvedBy(actor: string, severity: IncidentInput['severity'] = 'SEV2') {
  const incident = plainIncident({ input: { severity } });
  take(incident, 'acknowledge', { actor });
  take(incident, 'resolve', { actor, summary: 'restarted the pool' });
  return incident;
}

describe('follow-ups set by severity', () => {
  it('an auto-resolved SEV4 blip needs nothing beyond its drafted report and may close at once', () => {
    const incident = blip('SEV4');
    expect(incident.state.resolution?.automatic).toBe(true);
    expect(incident.state.followUps).toEqual([]);
    expect(everythingSettled(incident)).toBe(true);
    expect(incident.outbox.find((n) => n.kind === 'resolved')?.text).toContain(
      'Nothing to follow up: the drafted report is in the incident’s documents',
    );
  });

  it('a SEV2 blip still needs everything SEV2 asks for; a SEV3 resolved by a person needs its report', () => {
    expect(blip('SEV2').state.followUps.map((f) => f.id)).toEqual(['report', 'lessons', 'training']);
    const sev3 = resolvedBy('alice', 'SEV3');
    expect(sev3.state.followUps.map((f) => [f.id, f.owner])).toEqual([['report', 'alice']]);
    expect(everythingSettled(sev3)).toBe(false);
    expect(take(sev3, 'recordLessons', { actor: 'alice', lessons: ['x'] })?.message).toBe(
      'lessons learned is not required for this incident',
    );
  });

  it('the configuration decides per severity', () => {
    const incident = plainIncident({
      input: { severity: 'SEV4' },
      config: (c) => {
        c.followUps.bySeverity = { SEV1: [], SEV2: [], SEV3: [], SEV4: ['lessons'] };
      },
    });
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'resolve', { actor: 'bob', summary: 'done' });
    expect(incident.state.followUps.map((f) => f.kind)).toEqual(['lessons']);
  });

  it('a manager requires more, before resolution (applied at it) or after (due from then)', () => {
    const incident = plainIncident({ input: { severity: 'SEV3' } });
    take(incident, 'acknowledge', { actor: 'alice' });
    expect(take(incident, 'requireFollowUp', { actor: 'alice', kind: 'lessons', reason: 'x' })?.type).toBe(
      'NotPermitted',
    );
    expect(
      take(incident, 'requireFollowUp', { actor: 'dave', kind: 'lessons', reason: 'third time this month' }),
    ).toBeUndefined();
    expect(events(incident, 'follow-up-required')[0]?.summary).toBe(
      'lessons required at resolution: third time this month',
    );
    expect(
      take(incident, 'requireFollowUp', { actor: 'dave', kind: 'lessons', reason: 'again' })?.message,
    ).toMatch(/^lessons was already required by dave/);
    take(incident, 'resolve', { actor: 'alice', summary: 'fixed' });
    expect(incident.state.followUps.map((f) => f.kind)).toEqual(['report', 'lessons']);
    expect(take(incident, 'requireFollowUp', { actor: 'dave', kind: 'report', reason: 'x' })?.message).toBe(
      'Final report is already required (open)',
    );
    expect(
      take(incident, 'requireFollowUp', { actor: 'dave', kind: 'training', reason: 'new joiners' }),
    ).toBeUndefined();
    const training = incident.state.followUps.find((f) => f.kind === 'training');
    expect(training?.status).toBe('open');
    expect(training?.attendance?.map((a) => a.member)).toEqual(['alice', 'bob', 'carol', 'erin', 'dave']);
  });

  it('an incident whose policy predates per-severity follow-ups keeps the old rules', () => {
    const incident = plainIncident({ input: { alerts: [firing('HighLatency', 'fp-1')] } });
    delete incident.policy.followUps.bySeverity;
    delete incident.policy.followUps.trainees;
    takeInitialAlerts(incident);
    alertsResolved(incident, [{ ...firing('HighLatency', 'fp-1'), status: 'resolved' }]);
    expect(incident.state.followUps.map((f) => f.id)).toEqual(['report']);
    const full = resolvedBy('alice', 'SEV4');
    delete full.policy.followUps.bySeverity;
    expect(full.state.followUps.map((f) => f.id)).toEqual([]);
  });
});

describe('training reaches every member', () => {
  it('is done only when each member confirmed or was excused; the session alone closes nothing', () => {
    const incident = resolvedBy('alice');
    const training = incident.state.followUps.find((f) => f.kind === 'training');
    expect(training?.owner).toBe('dave');
    expect(
      take(incident, 'recordTraining', {
        actor: 'dave',
        date: '2026-12-01',
        attendees: ['alice', 'bob'],
        material: 'https://wiki.example.com/pool-limits',
      }),
    ).toBeUndefined();
    expect(training?.status).toBe('open');
    expect(events(incident, 'training-recorded')[0]?.summary).toBe(
      'training on 2026-12-01 with 2 attendee(s); 5 member(s) still to confirm',
    );
    for (const member of ['alice', 'bob', 'carol', 'dave']) {
      expect(take(incident, 'confirmTraining', { actor: member })).toBeUndefined();
    }
    expect(take(incident, 'confirmTraining', { actor: 'bob' })?.message).toMatch(
      /^bob already confirmed training at /,
    );
    expect(training?.status).toBe('open');
    expect(events(incident, 'training-confirmed').at(-1)?.summary).toBe(
      'Dave Ross confirmed training; waiting for erin',
    );
    expect(take(incident, 'excuseTraining', { actor: 'bob', member: 'erin', reason: 'x' })?.type).toBe(
      'NotPermitted',
    );
    expect(take(incident, 'excuseTraining', { actor: 'dave', member: 'zed', reason: 'x' })?.message).toBe(
      'zed is not among the team members to train',
    );
    expect(
      take(incident, 'excuseTraining', { actor: 'dave', member: 'erin', reason: 'on parental leave' }),
    ).toBeUndefined();
    expect(training).toMatchObject({ status: 'done', doneBy: 'dave' });
    expect(training?.attendance?.find((a) => a.member === 'erin')).toMatchObject({
      status: 'excused',
      excusedBy: 'dave',
      reason: 'on parental leave',
    });
    expect(training?.attendance?.filter((a) => a.status === 'confirmed').every((a) => a.at)).toBe(true);
    expect(events(incident, 'training-excused')[0]?.summary).toBe(
      'Erin Park excused from training by Dave Ross: on parental leave; every member is trained',
    );
    expect(take(incident, 'confirmTraining', { actor: 'erin' })?.message).toMatch(
      /training was already recorded/,
    );
  });
});

describe('process improvements are tracked items', () => {
  it('each has an owner and a due date, and is done only when it names what changed', () => {
    const incident = resolvedBy('alice');
    take(incident, 'submitReport', {
      actor: 'alice',
      summary: 's',
      rootCause: 'r',
      actionsAndResults: 'a',
      recommendations: 'r',
    });
    expect(
      take(incident, 'recordLessons', {
        actor: 'alice',
        lessons: ['pool too small'],
        processImprovements: [
          'page Level 3 sooner for pool exhaustion',
          { title: 'runbook: raise the pool', owner: 'bob', dueDate: '2026-12-10' },
        ],
      }),
    ).toBeUndefined();
    const improvements = incident.state.followUps.filter((f) => f.kind === 'improvement');
    expect(improvements.map((f) => [f.id, f.owner, f.status])).toEqual([
      ['improvement-1', 'alice', 'open'],
      ['improvement-2', 'bob', 'open'],
    ]);
    expect(improvements[1]?.dueAt).toBe('2026-12-10T23:59:59.000Z');
    // Due by the policy's default (30 days) from when the lessons were recorded.
    expect(Date.parse(improvements[0]?.dueAt ?? '') - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(incident.state.lessons?.processImprovements).toEqual([
      'page Level 3 sooner for pool exhaustion',
      'runbook: raise the pool',
    ]);
    const refusal = take(incident, 'completeActionItem', { actor: 'bob', itemId: 'improvement-2' });
    expect(refusal?.type).toBe('InvalidInput');
    expect(refusal?.message).toMatch(/names what changed/);
    expect(
      take(incident, 'completeActionItem', {
        actor: 'bob',
        itemId: 'improvement-2',
        changed: 'https://runbooks.example.com/pool#raise',
      }),
    ).toBeUndefined();
    expect(improvements[1]).toMatchObject({
      status: 'done',
      changed: 'https://runbooks.example.com/pool#raise',
    });
    expect(events(incident, 'improvement-completed')[0]?.details).toEqual({
      itemId: 'improvement-2',
      changed: 'https://runbooks.example.com/pool#raise',
    });
    expect(
      take(incident, 'completeActionItem', { actor: 'bob', itemId: 'improvement-1', changed: 'x' })?.type,
    ).toBe('NotPermitted');
  });

  it('refuses an improvement owned by someone the policy does not know, and records nothing', () => {
    const incident = resolvedBy('alice');
    const refusal = take(incident, 'recordLessons', {
      actor: 'alice',
      lessons: ['x'],
      processImprovements: [{ title: 't', owner: 'zed' }],
    });
    expect(refusal).toEqual({
      type: 'InvalidInput',
      message: 'action item and improvement owners must be responders; unknown: zed',
    });
    expect(incident.state.lessons).toBeUndefined();
    expect(incident.state.followUps.filter((f) => f.kind === 'improvement')).toEqual([]);
  });
});

describe('customer messages need a manager’s approval', () => {
  it('a draft goes to the approvers word for word; a rejection sends nothing; an approval sends exactly it', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    incident.outbox.length = 0;
    const text = 'Card payments fail for some customers since 10:00 UTC.\nNext update at 11:00 UTC.';
    expect(take(incident, 'draftCustomerMessage', { actor: 'alice', message: 'first try' })).toBeUndefined();
    expect(take(incident, 'draftCustomerMessage', { actor: 'alice', message: text })).toBeUndefined();
    expect(incident.state.customerMessages?.map((d) => [d.id, d.status])).toEqual([
      ['customer-1', 'pending'],
      ['customer-2', 'pending'],
    ]);
    const asked = incident.outbox.filter((n) => n.subject.includes('Approve a customer message'));
    expect(asked.map((n) => n.responders.map((r) => r.id))).toEqual([['dave'], ['dave']]);
    expect(asked[1]?.text).toContain(`\n----\n${text}\n----`);
    expect(incident.outbox.some((n) => n.kind === 'external')).toBe(false);

    expect(take(incident, 'approveCustomerMessage', { actor: 'alice', draftId: 'customer-2' })?.type).toBe(
      'NotPermitted',
    );
    expect(take(incident, 'approveCustomerMessage', { actor: 'dave', draftId: 'customer-9' })?.message).toBe(
      'there is no customer message "customer-9"; pending: customer-1, customer-2',
    );
    expect(
      take(incident, 'rejectCustomerMessage', { actor: 'dave', draftId: 'customer-1', reason: 'too vague' }),
    ).toBeUndefined();
    expect(
      incident.outbox.find((n) => n.subject.includes('Customer message customer-1 rejected'))?.responders[0]
        ?.id,
    ).toBe('alice');
    expect(take(incident, 'approveCustomerMessage', { actor: 'dave', draftId: 'customer-1' })?.message).toBe(
      'customer message "customer-1" was already rejected by dave',
    );
    expect(incident.outbox.some((n) => n.kind === 'external')).toBe(false);

    expect(
      take(incident, 'approveCustomerMessage', { actor: 'dave', draftId: 'customer-2' }),
    ).toBeUndefined();
    const sent = incident.outbox.filter((n) => n.kind === 'external');
    expect(sent.map((n) => [n.text, n.emails])).toEqual([[text, ['status-subscribers@example.com']]]);
    expect(incident.state.communications.at(-1)).toMatchObject({
      audience: 'external',
      message: text,
      by: 'alice',
      approvedBy: 'dave',
      draftId: 'customer-2',
    });
    expect(incident.state.communications.at(-1)?.selfApproved).toBeUndefined();
    expect(events(incident, 'customer-message-rejected')[0]?.summary).toBe(
      'customer message customer-1 by alice rejected, nothing sent: too vague',
    );
    expect(events(incident, 'customer-message-approved')[0]?.summary).toBe(
      'customer message customer-2 by alice approved and sent',
    );
  });

  it('a manager may still send directly, recorded as self-approved', () => {
    const incident = plainIncident();
    expect(
      take(incident, 'communicate', { actor: 'dave', audience: 'external', message: 'We are on it.' }),
    ).toBeUndefined();
    expect(incident.state.communications[0]).toMatchObject({ approvedBy: 'dave', selfApproved: true });
    expect(take(incident, 'communicate', { actor: 'alice', audience: 'external', message: 'x' })?.type).toBe(
      'NotPermitted',
    );
  });
});
