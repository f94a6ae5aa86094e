import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFolderName } from '../activities/documentation';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  alertsFiredSignal,
  assessUpdate,
  communicateUpdate,
  approveCustomerMessageUpdate,
  completeActionItemUpdate,
  confirmTrainingUpdate,
  draftCustomerMessageUpdate,
  excuseTrainingUpdate,
  escalateUpdate,
  recordActionUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  resolveUpdate,
  submitReportUpdate,
} from '../workflows/incident/messages';
import { testConfig } from './support/config';
import { afterStep, alert, by, startIncident, state } from './support/incidents';
import { refusalOf } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'lifecycle');
});
afterAll(async () => {
  await w?.stop();
});

describe('an incident driven through the whole process', () => {
  it('moves from triggered to closed and records every step on the timeline', async () => {
    const handle = await startIncident(w);
    expect((await state(handle)).phase).toBe('triggered');

    let s = await handle.executeUpdate(acknowledgeUpdate, { args: [{ ...by('alice') }] });
    expect(s).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice', holder: 'alice' });

    s = await handle.executeUpdate(assessUpdate, {
      args: [
        {
          ...by('alice'),
          severity: 'SEV1',
          urgency: 'critical',
          impact: 'card payments failing',
          observations: '5xx from the provider',
        },
      ],
    });
    expect(s).toMatchObject({ phase: 'assessed', severity: 'SEV1' });

    s = await handle.executeUpdate(recordActionUpdate, {
      args: [
        {
          ...by('alice'),
          kind: 'restart',
          description: 'restarted payments-api pods',
          result: 'errors continue',
        },
      ],
    });
    expect(s.phase).toBe('mitigating');

    s = await handle.executeUpdate(escalateUpdate, {
      args: [{ ...by('alice'), reason: 'restart did not help' }],
    });
    expect(s.phase).toBe('escalated');
    expect(s.handover?.requestedBy).toBe('alice');

    s = await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'taking it' }] });
    expect(s).toMatchObject({ phase: 'collaborating', holder: 'carol' });

    const communicated = await afterStep(
      handle,
      handle.executeUpdate(communicateUpdate, {
        args: [{ ...by('carol'), audience: 'internal', message: 'working on a provider failover' }],
      }),
    );
    expect(communicated.communications).toHaveLength(1);
    // Customers hear only what a manager approved: alice drafts, dave approves.
    await handle.executeUpdate(draftCustomerMessageUpdate, {
      args: [
        { ...by('alice'), message: 'Card payments are failing for some customers. Next update 11:00 UTC.' },
      ],
    });
    s = await handle.executeUpdate(approveCustomerMessageUpdate, {
      args: [{ ...by('dave'), draftId: 'customer-1' }],
    });
    expect(s.phase).toBe('collaborating');
    s = await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('carol'), summary: 'failed over to the secondary provider' }],
    });
    expect(s.phase).toBe('post-incident');
    expect(s.followUps.map((f) => f.id)).toEqual(['report', 'lessons', 'training']);

    await handle.executeUpdate(submitReportUpdate, {
      args: [
        {
          ...by('carol'),
          summary: 's',
          rootCause: 'provider outage',
          actionsAndResults: 'a',
          recommendations: 'r',
        },
      ],
    });
    s = await handle.executeUpdate(recordLessonsUpdate, {
      args: [
        {
          ...by('carol'),
          lessons: ['fail over sooner'],
          processImprovements: [{ title: 'page Level 3 after one failed restart', owner: 'dave' }],
          actionItems: [{ title: 'automate failover', owner: 'bob', dueDate: '2026-12-31' }],
        },
      ],
    });
    await handle.executeUpdate(completeActionItemUpdate, {
      args: [
        { ...by('dave'), itemId: 'improvement-1', changed: 'https://runbooks.example.com/payments#level3' },
      ],
    });
    const item = s.followUps.find((f) => f.kind === 'action-item');
    expect(item).toMatchObject({ owner: 'bob', dueAt: '2026-12-31T23:59:59.000Z', status: 'open' });
    await handle.executeUpdate(completeActionItemUpdate, {
      args: [{ ...by('bob'), itemId: item?.id ?? '' }],
    });
    await handle.executeUpdate(recordTrainingUpdate, {
      args: [{ ...by('dave'), date: '2026-12-01', attendees: ['alice', 'bob'], material: 'failover drill' }],
    });
    // The session is on record; training is done when every member confirmed or was excused.
    for (const member of ['alice', 'bob', 'carol', 'dave']) {
      await handle.executeUpdate(confirmTrainingUpdate, { args: [{ ...by(member) }] });
    }
    expect((await state(handle)).phase).toBe('post-incident');
    await handle.executeUpdate(excuseTrainingUpdate, {
      args: [{ ...by('dave'), member: 'erin', reason: 'joined after the incident' }],
    });

    const final = await handle.result();
    expect(final.phase).toBe('closed');
    expect(final.timeline.map((e) => e.kind)).toEqual([
      'triggered',
      'paged',
      'acknowledged',
      'assessed',
      'action',
      'escalated',
      'handover-package',
      'handover-meeting',
      'handover-accepted',
      'communication',
      'customer-message-drafted',
      'customer-message-approved',
      'resolved',
      'follow-ups-scheduled',
      'report-submitted',
      'lessons-recorded',
      'improvement-completed',
      'action-item-completed',
      'training-recorded',
      'training-confirmed',
      'training-confirmed',
      'training-confirmed',
      'training-confirmed',
      'training-excused',
      'closed',
    ]);

    // The final documentation: the record as a person reads it, and as data.
    const folder = path.join(w.dataDir, 'incidents', recordFolderName(final));
    const markdown = readFileSync(path.join(folder, 'record.md'), 'utf8');
    for (const heading of [
      '## Assessment',
      '## Actions and results',
      '## Escalation and handover',
      '## Final report',
      '## Lessons learned',
      '## Training',
      '## Follow-ups',
      '## Timeline',
    ]) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain('| Phase | closed |');
    expect(markdown).toContain('provider outage');
    const json = JSON.parse(readFileSync(path.join(folder, 'record.json'), 'utf8')) as typeof final;
    expect(json.phase).toBe('closed');
    expect(json.timeline).toHaveLength(final.timeline.length);

    // Every document, filled from what happened.
    const doc = (name: string) => readFileSync(path.join(folder, name), 'utf8');
    const report = doc('report.md');
    expect(report).toContain('**Final report**, submitted by carol');
    expect(report).toContain('provider outage');
    expect(report).toMatch(/restarted payments-api pods.*errors continue/);
    expect(report).toMatch(/Time to acknowledge: \d/);
    expect(report).toMatch(/Time to escalate: \d/);
    expect(report).toContain(
      '- carol: accepted the handover, holds the incident, communicated, resolved, wrote the final report',
    );
    expect(report).toContain('- dave: approved communications');
    const handover = doc('handover-1.md');
    expect(handover).toContain('restart did not help');
    expect(handover).toMatch(/^Accepted by carol at \S+: taking it$/m);
    const lessons = doc('lessons.md');
    expect(lessons).toContain('fail over sooner');
    expect(lessons).toContain('page Level 3 after one failed restart');
    // Markdown-escaped: the # reads as text, not as a heading.
    expect(lessons).toContain('https://runbooks.example.com/payments\\#level3');
    expect(lessons).toContain('automate failover');
    expect(lessons).toMatch(/erin.*excused.*dave.*joined after the incident/s);
    const communications = doc('communications.md');
    expect(communications).toContain('working on a provider failover');
    expect(communications).toContain('Card payments are failing for some customers');
    expect(communications).toMatch(/approved by dave/i);
    const timeline = doc('timeline.jsonl').trim().split('\n');
    expect(timeline).toHaveLength(final.timeline.length);
  });

  it('shows its title in the Temporal UI list through the memo', async () => {
    const handle = await startIncident(w);
    const description = await eventually(async () => {
      const d = await handle.describe();
      return d.memo?.title ? d : undefined;
    });
    expect(description.memo).toMatchObject({
      title: 'Payments API error rate above 5%',
      service: 'payments',
      team: 'payments',
    });
    await handle.terminate('test finished');
  });

  it('refuses a request id reused for a different step, and keeps retries of the same step harmless', async () => {
    const handle = await startIncident(w);
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: 'alice', requestId: 'shared-id' }] });
    const again = await afterStep(
      handle,
      handle.executeUpdate(acknowledgeUpdate, {
        args: [{ actor: 'alice', requestId: 'shared-id' }],
      }),
    );
    expect(again.timeline.filter((e) => e.kind === 'acknowledged')).toHaveLength(1);
    const reused = await refusalOf(
      handle.executeUpdate(escalateUpdate, {
        args: [{ actor: 'alice', requestId: 'shared-id', reason: 'stuck' }],
      }),
    );
    expect(reused.type).toBe('InvalidInput');
    expect(reused.message).toMatch(/already used for acknowledge/);
    expect((await state(handle)).phase).toBe('acknowledged');
    await handle.terminate('test finished');
  });

  it('reopens and pages again when its alerts fire after resolution', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-refire')] });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('bob'), summary: 'rolled back' }] });
    await handle.signal(alertsFiredSignal, {
      alerts: [{ ...alert('HighLatency', 'fp-refire'), startsAt: '2026-11-26T12:00:00Z' }],
    });
    const s = await eventually(async () => {
      const current = await state(handle);
      return current.timeline.some((e) => e.kind === 'reopened') ? current : undefined;
    });
    // Bob, who resolved it, is told; the paging policy starts again with alice.
    expect(s.timeline.find((e) => e.kind === 'reopened')?.details?.to).toEqual(['bob']);
    expect(s.timeline.filter((e) => e.kind === 'paged').at(-1)?.details?.to).toEqual(['alice']);
    const sent = await eventually(() =>
      w
        .outbox(handle.workflowId)
        .find((e) => e.notification.subject.includes('Alerts firing again: incident reopened')),
    );
    expect(sent.notification.responders.map((r) => r.id)).toEqual(['bob']);
    expect(sent.notification.slackChannels).toEqual(['#payments-incidents']);
    await handle.terminate('test finished');
  });
});
