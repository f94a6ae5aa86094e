import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentService } from '../api/incidents';
import { policyFor, teamById } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { incidentWorkflow } from '../workflows/incident/incident';
import { acknowledgeUpdate, addNoteSignal, stateQuery } from '../workflows/incident/messages';
import { testConfig } from './support/config';
import { startShortHistories, type ShortHistories } from './support/short-histories';
import { afterStep } from './support/incidents';
import { eventually } from './support/worker';

let cluster: ShortHistories;
let client: Client;
let config: BatonConfig;

beforeAll(async () => {
  config = testConfig((c) => {
    const team = c.teams[0];
    if (!team) throw new Error('no team');
    team.escalation.steps = [
      { notify: ['alice'], ackTimeout: '12s' },
      { notify: ['bob'], ackTimeout: '1h' },
    ];
  });
  cluster = await startShortHistories(config, 'continue-as-new');
  client = cluster.client;
});

afterAll(async () => {
  await cluster?.stop();
});

describe('a long incident', () => {
  it('continues as new without losing its record, its de-duplication or its timers', async () => {
    const handle = await client.workflow.start(incidentWorkflow, {
      taskQueue: 'continue-as-new',
      workflowId: `incident-can-${Date.now()}`,
      args: [
        {
          title: 'Slow burn',
          service: 'payments',
          severity: 'SEV3',
          origin: { kind: 'manual', declaredBy: 'alice' },
          policy: policyFor(config, teamById(config, 'payments')),
        },
      ],
    });
    const firstRunId = (await handle.describe()).runId;

    // One note per workflow task, as people add them, so the history grows past the limit.
    for (let i = 0; i < 30; i += 1) {
      const current = client.workflow.getHandle(handle.workflowId);
      await current.signal(addNoteSignal, { actor: 'bob', requestId: `note-${i}`, text: `observation ${i}` });
      await eventually(async () => ((await current.query(stateQuery)).notes.length > i ? true : undefined));
    }
    const moved = await eventually(async () => {
      const description = await client.workflow.getHandle(handle.workflowId).describe();
      return description.runId !== firstRunId ? description : undefined;
    }, 30_000);
    expect(moved.status.name).toBe('RUNNING');

    const latest = client.workflow.getHandle(handle.workflowId);
    const notes = await eventually(async () => {
      const s = await latest.query(stateQuery);
      return s.notes.length === 30 ? s : undefined;
    });
    expect(notes.notes.map((n) => n.text)).toEqual(Array.from({ length: 30 }, (_, i) => `observation ${i}`));
    expect(notes.timeline[0]?.kind).toBe('triggered');

    // A request id seen in the first run is still remembered in the new one.
    await latest.signal(addNoteSignal, { actor: 'bob', requestId: 'note-3', text: 'observation 3' });
    await latest.signal(addNoteSignal, { actor: 'bob', requestId: 'note-after', text: 'after the move' });
    const afterMove = await eventually(async () => {
      const s = await latest.query(stateQuery);
      return s.notes.some((n) => n.text === 'after the move') ? s : undefined;
    });
    expect(afterMove.notes).toHaveLength(31);

    // The acknowledgement timer set in the first run still pages bob in the new run.
    const paged = await eventually(async () => {
      const s = await latest.query(stateQuery);
      return s.timeline.find(
        (e) => e.kind === 'paged' && (e.details?.to as string[] | undefined)?.includes('bob'),
      );
    }, 30_000);
    expect(paged.actor).toBe('baton');
    expect(Date.parse(paged.at)).toBeGreaterThan(moved.startTime.getTime());

    // The incident list shows the incident once, as its latest run, not each run it went through.
    const listed = await eventually(async () => {
      const rows = await new IncidentService(client, config).list({ limit: 50 });
      const mine = rows.filter((r) => r.id === handle.workflowId);
      return mine.length > 0 ? mine : undefined;
    });
    expect(listed).toHaveLength(1);
    expect(listed[0]?.closedAt).toBeUndefined();

    const acknowledged = await afterStep(
      latest,
      latest.executeUpdate(acknowledgeUpdate, {
        args: [{ actor: 'bob', requestId: 'ack' }],
      }),
    );
    expect(acknowledged.acknowledgedBy).toBe('bob');
    expect(acknowledged.timeline.filter((e) => e.kind === 'paged')).toHaveLength(2);
  });
});
