/**
 * An operator starts an incident by hand with `temporal workflow start`, without the policy
 * the API would pass: the workflow takes it from configuration in the activity that sends the
 * first page (route by labels and service; the route's severity when none is given), and
 * updates that arrive before the policy is known are still checked.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSecrets } from '../config/secrets';
import { createBatonWorker } from '../worker/worker';
import { incidentWorkflow } from '../workflows/incident/incident';
import { acknowledgeUpdate, type AcknowledgeInput } from '../workflows/incident/messages';
import type { IncidentInput, StepResult } from '../workflows/incident/state';
import { policyFor, teamById } from '../config/policy';
import { testConfig } from './support/config';
import { by, state, type IncidentHandle } from './support/incidents';
import {
  addressed,
  eventsOf,
  refusalOf,
  terminateAll,
  waitForEvents,
  waitForOutbox,
} from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

const run = promisify(execFile);

let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'cli-start');
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
});

/** What an operator types: no policy, and only what they know about the incident. */
function operatorInput(extra: Partial<IncidentInput> = {}): IncidentInput {
  return {
    title: 'Card payments failing for EU customers',
    service: 'payments',
    origin: { kind: 'manual', declaredBy: 'alice' },
    ...extra,
  };
}

/** `temporal workflow start` against the test server; returns a handle to the incident. */
/** Starts with the CLI and returns why the workflow failed: at once, with a named field. */
async function refusedStart(input: unknown): Promise<ApplicationFailure> {
  const handle = await startWithCli(input as IncidentInput);
  const outcome = await handle.result().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const failure = (outcome as WorkflowFailedError).cause;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect((failure as ApplicationFailure).type).toBe('InvalidIncidentInput');
  expect((failure as ApplicationFailure).nonRetryable).toBe(true);
  // Failed at once: nobody was paged, and no workflow task failed over and over.
  const history = await handle.fetchHistory();
  expect(history.events?.some((e) => e.workflowTaskFailedEventAttributes)).toBe(false);
  const activities = (history.events ?? []).flatMap(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
  );
  // Only the activity that takes the policy (and would page with it) ran, and it sent nothing.
  expect(activities.filter((name) => name !== 'resolveIncidentPolicy' && name !== 'pageFirst')).toEqual([]);
  expect(w.outbox(handle.workflowId)).toEqual([]);
  return failure as ApplicationFailure;
}

async function startWithCli(input: IncidentInput, taskQueue = w.taskQueue): Promise<IncidentHandle> {
  const workflowId = `incident-cli-${randomUUID()}`;
  await run(inject('temporalCli'), [
    'workflow',
    'start',
    '--address',
    inject('temporalAddress'),
    '--task-queue',
    taskQueue,
    '--type',
    'incidentWorkflow',
    '--workflow-id',
    workflowId,
    '--input',
    JSON.stringify(input),
  ]);
  const handle = w.client.workflow.getHandle<typeof incidentWorkflow>(workflowId);
  started.push(handle);
  return handle;
}

describe('an incident started from the Temporal CLI', () => {
  it('routes by its labels, takes the route’s severity, pages Level 2 and checks the first updates', async () => {
    const handle = await startWithCli(operatorInput({ labels: { severity: 'critical', region: 'eu' } }));

    // Sent at once, while the workflow may still be resolving its policy.
    const first = await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    expect(first).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice', holder: 'alice' });
    const second = await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] }));
    expect(second.type).toBe('InvalidMove');
    expect(second.message).toMatch(/already acknowledged by alice/);
    const stranger = await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('mallory')] }));
    expect(stranger.type).toBe('UnknownActor');

    const s = await state(handle);
    expect(s).toMatchObject({ team: 'payments', severity: 'SEV1', service: 'payments' });
    expect(s.timeline.map((e) => e.kind)).toEqual(['triggered', 'paged', 'acknowledged']);
    expect(s.timeline[0]).toMatchObject({ actor: 'alice', details: { severity: 'SEV1' } });
    expect(eventsOf(s, 'paged')[0]?.details).toEqual({
      to: ['alice'],
      channels: ['#payments-incidents'],
      round: 1,
      step: 1,
    });

    const sent = (await waitForOutbox(w, s.id, (o) => o.length >= 2)).map(addressed);
    expect(sent[0]).toMatchObject({ kind: 'page', to: ['alice'], channels: ['#payments-incidents'] });
    expect(sent[0]?.subject).toMatch(/^\[SEV1\]/);
    // Everyone paged so far but the acknowledger hears who holds it: here, nobody else was.
    expect(sent[1]).toMatchObject({ kind: 'update', to: [], channels: ['#payments-incidents'] });

    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({
      IncidentTeam: ['payments'],
      IncidentSeverity: ['SEV1'],
      IncidentStatus: ['acknowledged'],
      IncidentAssignee: ['alice'],
    });
  });

  it('takes each route’s severity, and keeps a severity the operator gave', async () => {
    const handles = await Promise.all([
      startWithCli(operatorInput()),
      startWithCli(operatorInput({ service: 'checkout' })),
      startWithCli(operatorInput({ labels: { severity: 'critical' }, severity: 'SEV2' })),
    ]);
    const states = await Promise.all(handles.map((h) => waitForEvents(h, 'paged')));
    expect(states.map((s) => [s.team, s.service, s.severity])).toEqual([
      ['payments', 'payments', 'SEV3'],
      ['payments', 'checkout', 'SEV4'],
      ['payments', 'payments', 'SEV2'],
    ]);
  });

  it('fails at once, naming input.team, when the operator names a team the configuration does not have', async () => {
    const failure = await refusedStart(operatorInput({ team: 'billing' }));
    expect(failure.message).toBe(
      'the incident cannot start: input.team: unknown team "billing"; configured teams: payments',
    );
  });

  it('fails at once, naming the field, on a severity that does not exist', async () => {
    const failure = await refusedStart({ ...operatorInput(), severity: 'SEV9' });
    expect(failure.message).toMatch(/^the incident cannot start: input\.severity: Invalid option/);
  });

  it('refuses a policy that is not the configuration’s, and state it did not carry itself', async () => {
    const config = testConfig();
    const forged = policyFor(config, teamById(config, 'payments'));
    forged.managers = ['alice'];
    forged.stakeholders.external.email = ['attacker@evil.example'];
    const failure = await refusedStart({ ...operatorInput({}), policy: forged });
    expect(failure.message).toMatch(
      /policy differs from Baton's configuration for team payments at policy\.managers\[0\]/,
    );
    const carried = await refusedStart({ ...operatorInput({}), carried: { state: {} } });
    expect(carried.message).toMatch(/input\.carried .* only Baton continues an incident as new/);
  });
});

describe('updates that reach the workflow before its policy', () => {
  it('are applied once the policy is known, and refused by the same rules', async () => {
    // No worker polls this queue yet: the start and the updates wait on the server, so the
    // first workflow task sees them all before the policy activity has run.
    const taskQueue = `cli-early-${Date.now()}`;
    const handle = await startWithCli(operatorInput({ labels: { severity: 'critical' } }), taskQueue);
    const send = (input: AcknowledgeInput): Promise<StepResult> =>
      handle.executeUpdate(acknowledgeUpdate, { args: [input] });
    const aliceRequest = by('alice');
    const updates = {
      alice: send(aliceRequest),
      aliceRetry: send({ ...aliceRequest }),
      bob: send(by('bob')),
      mallory: send(by('mallory')),
      malformed: send({ ...by('bob'), note: '' }),
    };
    // Observe every outcome now, so none is an unhandled rejection while the worker starts.
    const settled = Object.fromEntries(
      Object.entries(updates).map(([name, update]) => [
        name,
        update.then(
          (value) => ({ ok: true as const, value }),
          (err: unknown) => ({ ok: false as const, err }),
        ),
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await createBatonWorker({
      config: w.config,
      secrets: loadSecrets(w.config, {}),
      connection,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      taskQueue,
      log: () => undefined,
    });
    const running = worker.run();
    try {
      await Promise.all(Object.values(settled));

      // Alice and Bob raced; exactly one holds the incident and the other is told who does.
      const winner = (await settled.alice)?.ok ? 'alice' : 'bob';
      const loser = winner === 'alice' ? 'bob' : 'alice';
      const won = await (winner === 'alice' ? updates.alice : updates.bob);
      expect(won).toMatchObject({ acknowledgedBy: winner, severity: 'SEV1', team: 'payments' });
      const lost = await refusalOf(loser === 'alice' ? updates.alice : updates.bob);
      expect(lost.type).toBe('InvalidMove');
      expect(lost.message).toMatch(new RegExp(`already acknowledged by ${winner}`));
      // Alice's retry carries her request id: it gets her outcome, whatever that was.
      expect((await settled.aliceRetry)?.ok).toBe(winner === 'alice');

      expect((await refusalOf(updates.mallory)).type).toBe('UnknownActor');
      const malformed = await refusalOf(updates.malformed);
      expect(malformed.type).toBe('InvalidInput');
      expect(malformed.message).toMatch(/note: /);

      const s = await state(handle);
      expect(eventsOf(s, 'acknowledged').map((e) => e.actor)).toEqual([winner]);
      expect(s.timeline.map((e) => e.kind)).toEqual(['triggered', 'paged', 'acknowledged']);

      // The path under test was taken: updates were accepted before the policy was resolved.
      const events = (await handle.fetchHistory()).events ?? [];
      const firstAccepted = events.findIndex((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      const policyResolved = events.findIndex((e) => e.activityTaskCompletedEventAttributes);
      expect(firstAccepted).toBeGreaterThanOrEqual(0);
      expect(firstAccepted).toBeLessThan(policyResolved);
    } finally {
      await handle.terminate('test finished').catch(() => undefined);
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});
