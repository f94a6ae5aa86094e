/**
 * Every refusal the workflow gives, by name: the update is rejected with an ApplicationFailure
 * whose type the API turns into a status, its message says why, and the record is unchanged.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  addNoteSignal,
  assessUpdate,
  communicateUpdate,
  completeActionItemUpdate,
  escalateUpdate,
  recordActionUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  resolveUpdate,
  submitReportUpdate,
  waiveFollowUpUpdate,
  type AssessInput,
  type RecordLessonsInput,
} from '../workflows/incident/messages';
import { testConfig } from './support/config';
import { afterStep, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { addressed, afterSignals, refusalOf, terminateAll, waitForOutbox } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'refusals');
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
});

type Stage = 'triggered' | 'acknowledged' | 'escalated' | 'resolved';

/** An incident moved to `stage` by the usual people. */
async function incidentAt(stage: Stage): Promise<IncidentHandle> {
  const handle = await startIncident(w);
  started.push(handle);
  if (stage === 'triggered') return handle;
  await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
  if (stage === 'escalated') {
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'needs the experts' }] });
  }
  if (stage === 'resolved') {
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'rolled back' }] });
  }
  return handle;
}

/**
 * Sends a refused update and checks the refusal's type and reason, and that the record did
 * not change at all.
 */
async function expectRefused(
  handle: IncidentHandle,
  send: () => Promise<unknown>,
  type: 'InvalidMove' | 'NotPermitted' | 'UnknownActor' | 'InvalidInput',
  reason: RegExp,
): Promise<void> {
  const before = await state(handle);
  const failure = await refusalOf(send());
  expect(failure.type).toBe(type);
  expect(failure.message).toMatch(reason);
  expect(failure.nonRetryable).toBe(true);
  const after = await state(handle);
  expect(after.timeline).toHaveLength(before.timeline.length);
  expect(after).toEqual(before);
}

const assessment = (actor: string): AssessInput => ({
  ...by(actor),
  severity: 'SEV1',
  urgency: 'high',
  impact: 'checkout fails',
  observations: 'provider 5xx',
});
const report = (actor: string) => ({
  ...by(actor),
  summary: 's',
  rootCause: 'r',
  actionsAndResults: 'a',
  recommendations: 'x',
});
const lessons = (actor: string): RecordLessonsInput => ({ ...by(actor), lessons: ['fail over sooner'] });
const training = (actor: string) => ({
  ...by(actor),
  date: '2026-12-01',
  attendees: ['alice'],
  material: 'drill',
});

describe('moves the process does not allow (InvalidMove)', () => {
  it('refuses a second acknowledgement', async () => {
    const handle = await incidentAt('acknowledged');
    await expectRefused(
      handle,
      () => handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] }),
      'InvalidMove',
      /already acknowledged by alice/,
    );
  });

  it('refuses assess, escalate and recordAction before anyone acknowledged', async () => {
    const handle = await incidentAt('triggered');
    const notYet = /nobody has acknowledged the incident yet/;
    await expectRefused(
      handle,
      () => handle.executeUpdate(assessUpdate, { args: [assessment('alice')] }),
      'InvalidMove',
      notYet,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'stuck' }] }),
      'InvalidMove',
      notYet,
    );
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(recordActionUpdate, {
          args: [{ ...by('alice'), kind: 'restart', description: 'pods', result: 'no change' }],
        }),
      'InvalidMove',
      notYet,
    );
    expect((await state(handle)).phase).toBe('triggered');
  });

  it('refuses a handover acceptance before an escalation', async () => {
    const handle = await incidentAt('acknowledged');
    await expectRefused(
      handle,
      () => handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'mine' }] }),
      'InvalidMove',
      /no handover to accept: the incident has not been escalated/,
    );
  });

  it('refuses a second escalation', async () => {
    const handle = await incidentAt('escalated');
    await expectRefused(
      handle,
      () => handle.executeUpdate(escalateUpdate, { args: [{ ...by('bob'), reason: 'again' }] }),
      'InvalidMove',
      /already escalated by alice/,
    );
  });

  it('refuses the report, lessons and training before the incident is resolved', async () => {
    const handle = await incidentAt('acknowledged');
    const unresolved = /not resolved yet/;
    await expectRefused(
      handle,
      () => handle.executeUpdate(submitReportUpdate, { args: [report('alice')] }),
      'InvalidMove',
      unresolved,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(recordLessonsUpdate, { args: [lessons('alice')] }),
      'InvalidMove',
      unresolved,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(recordTrainingUpdate, { args: [training('alice')] }),
      'InvalidMove',
      unresolved,
    );
  });

  it('refuses a second resolution', async () => {
    const handle = await incidentAt('resolved');
    await expectRefused(
      handle,
      () => handle.executeUpdate(resolveUpdate, { args: [{ ...by('bob'), summary: 'again' }] }),
      'InvalidMove',
      /was resolved at .*; cannot resolve it again/,
    );
  });

  it('refuses a second report and work on a resolved incident', async () => {
    const handle = await incidentAt('resolved');
    await handle.executeUpdate(submitReportUpdate, { args: [report('alice')] });
    await expectRefused(
      handle,
      () => handle.executeUpdate(submitReportUpdate, { args: [report('bob')] }),
      'InvalidMove',
      /the final report was already recorded by alice/,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(assessUpdate, { args: [assessment('alice')] }),
      'InvalidMove',
      /was resolved at .*; cannot assess it/,
    );
  });

  it('refuses to waive a follow-up that does not exist, naming the open ones', async () => {
    const handle = await incidentAt('resolved');
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(waiveFollowUpUpdate, {
          args: [{ ...by('dave'), followUpId: 'postmortem', reason: 'n/a' }],
        }),
      'InvalidMove',
      /no follow-up "postmortem"; open ones: report, lessons, training/,
    );
  });

  it('refuses to complete an action item that does not exist', async () => {
    const handle = await incidentAt('resolved');
    await handle.executeUpdate(recordLessonsUpdate, {
      args: [
        {
          ...lessons('alice'),
          actionItems: [{ title: 'automate failover', owner: 'bob', dueDate: '2026-12-31' }],
        },
      ],
    });
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(completeActionItemUpdate, { args: [{ ...by('bob'), itemId: 'action-item-9' }] }),
      'InvalidMove',
      /no action item or process improvement "action-item-9"/,
    );
    // The follow-up "report" exists but is not an action item.
    await expectRefused(
      handle,
      () => handle.executeUpdate(completeActionItemUpdate, { args: [{ ...by('bob'), itemId: 'report' }] }),
      'InvalidMove',
      /no action item or process improvement "report"/,
    );
  });
});

describe('moves reserved for a level (NotPermitted)', () => {
  it('lets only Level 3 or a manager accept a handover', async () => {
    const handle = await incidentAt('escalated');
    await expectRefused(
      handle,
      () => handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('alice'), notes: 'mine' }] }),
      'NotPermitted',
      /only Level 3 or a manager can accept a handover; alice is Level 2/,
    );
  });

  it('does not let Level 3 escalate to itself', async () => {
    const handle = await incidentAt('acknowledged');
    await expectRefused(
      handle,
      () => handle.executeUpdate(escalateUpdate, { args: [{ ...by('carol'), reason: 'x' }] }),
      'NotPermitted',
      /only Level 2 or a manager can escalate to Level 3; carol is Level 3/,
    );
  });

  it('sends an external message only when a manager approves it', async () => {
    const handle = await incidentAt('acknowledged');
    const external = (actor: string) =>
      handle.executeUpdate(communicateUpdate, {
        args: [{ ...by(actor), audience: 'external', message: 'Card payments are delayed.' }],
      });
    await expectRefused(
      handle,
      () => external('alice'),
      'NotPermitted',
      /only a manager can approve an external message; alice is Level 2/,
    );
    await expectRefused(
      handle,
      () => external('carol'),
      'NotPermitted',
      /only a manager can approve an external message; carol is Level 3/,
    );

    const s = await afterStep(handle, external('dave'));
    expect(s.communications).toEqual([
      expect.objectContaining({
        audience: 'external',
        by: 'dave',
        approvedBy: 'dave',
        message: 'Card payments are delayed.',
      }),
    ]);
    expect(s.timeline.at(-1)).toMatchObject({ kind: 'communication', actor: 'dave' });
    const sent = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'external'));
    const notice = sent.find((e) => e.notification.kind === 'external');
    // Customers get the approved words only, by email, with no internal names or links.
    expect(notice && addressed(notice)).toMatchObject({
      to: [],
      channels: [],
      emails: ['status-subscribers@example.com'],
    });
    expect(notice?.notification.text).toBe('Card payments are delayed.');
    expect(notice?.notification.links).toEqual([]);
  });

  it('lets only a manager waive a follow-up', async () => {
    const handle = await incidentAt('resolved');
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(waiveFollowUpUpdate, {
          args: [{ ...by('alice'), followUpId: 'training', reason: 'busy' }],
        }),
      'NotPermitted',
      /only a manager can waive a follow-up; alice is Level 2/,
    );
  });
});

describe('who is asking and what they sent', () => {
  it('refuses an actor the configuration does not know (UnknownActor)', async () => {
    const handle = await incidentAt('triggered');
    await expectRefused(
      handle,
      () => handle.executeUpdate(acknowledgeUpdate, { args: [by('mallory')] }),
      'UnknownActor',
      /"mallory" is not a responder/,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(resolveUpdate, { args: [{ ...by('mallory'), summary: 'nothing to see' }] }),
      'UnknownActor',
      /"mallory" is not a responder/,
    );
    // A note from a stranger is dropped as well.
    await handle.signal(addNoteSignal, { ...by('mallory'), text: 'hello' });
    const s = await afterSignals(handle);
    expect(s.notes.map((n) => n.by)).toEqual(['alice']);
  });

  it('refuses malformed input with the field that is wrong (InvalidInput)', async () => {
    const handle = await incidentAt('acknowledged');
    const withoutImpact: Partial<AssessInput> = assessment('alice');
    delete withoutImpact.impact;
    await expectRefused(
      handle,
      () => handle.executeUpdate(assessUpdate, { args: [withoutImpact as AssessInput] }),
      'InvalidInput',
      /impact: /,
    );
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(assessUpdate, {
          args: [{ ...assessment('alice'), severity: 'SEV9' } as unknown as AssessInput],
        }),
      'InvalidInput',
      /severity: /,
    );
    await expectRefused(
      handle,
      () =>
        handle.executeUpdate(assessUpdate, {
          args: [{ ...assessment('alice'), colour: 'red' } as unknown as AssessInput],
        }),
      'InvalidInput',
      /colour/,
    );
    await expectRefused(
      handle,
      () => handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: 'bob', requestId: '   ' }] }),
      'InvalidInput',
      /requestId: /,
    );
  });

  it('refuses a bad due date or an unknown owner for an action item', async () => {
    const handle = await incidentAt('resolved');
    const withItem =
      (dueDate: string, owner = 'bob') =>
      () =>
        handle.executeUpdate(recordLessonsUpdate, {
          args: [{ ...lessons('alice'), actionItems: [{ title: 'automate failover', owner, dueDate }] }],
        });
    for (const dueDate of ['next friday', '2026-13-01', '2026-02-30', '31/12/2026']) {
      await expectRefused(handle, withItem(dueDate), 'InvalidInput', /actionItems\.0\.dueDate: /);
    }
    await expectRefused(handle, withItem('2026-12-31', 'mallory'), 'InvalidInput', /unknown: mallory/);
    // The same lessons with a good item are accepted.
    const s = await withItem('2026-12-31T17:00:00+01:00')();
    expect(s.followUps.find((f) => f.kind === 'action-item')).toMatchObject({
      owner: 'bob',
      dueAt: '2026-12-31T16:00:00.000Z',
    });
  });

  it('leaves no trace of a refused update in the workflow history', async () => {
    const handle = await incidentAt('acknowledged');
    await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] }));
    await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('mallory')] }));
    const history = await handle.fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    // Only the first acknowledgement was accepted into the history.
    expect(accepted).toHaveLength(1);
  });
});

describe('after the incident is closed', () => {
  it('changes nothing: the workflow has completed with its record', async () => {
    const handle = await incidentAt('resolved');
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'drill incident' }],
      });
    }
    const closed = await handle.result();
    expect(closed.phase).toBe('closed');

    const attempts: (() => Promise<unknown>)[] = [
      () => handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] }),
      () => handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'again' }] }),
      () => handle.executeUpdate(submitReportUpdate, { args: [report('alice')] }),
      () =>
        handle.executeUpdate(communicateUpdate, {
          args: [{ ...by('dave'), audience: 'internal', message: 'late' }],
        }),
      () => handle.signal(addNoteSignal, { ...by('alice'), text: 'late note' }),
    ];
    for (const attempt of attempts) {
      await expect(attempt()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    expect(await state(handle)).toEqual(closed);
  });
});
