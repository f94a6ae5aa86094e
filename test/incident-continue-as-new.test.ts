import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IncidentService } from '../api/incidents';
import { policyFor, teamById } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { startDevServer, type DevServer } from '../scripts/dev-server';
import { createBatonWorker } from '../worker/worker';
import { incidentWorkflow } from '../workflows/incident';
import { acknowledgeUpdate, addNoteSignal, stateQuery } from '../workflows/messages';
import { testConfig } from './support/config';
import { freePort } from './support/ports';
import { afterStep } from './support/incidents';
import { eventually } from './support/worker';

/**
 * A server that suggests continue-as-new after a few dozen events, so a short incident
 * moves to a new run the way a months-long one would.
 */
let server: DevServer;
let client: Client;
let clientConnection: Connection;
let workerConnection: NativeConnection;
let stopWorker: () => Promise<void>;
let config: BatonConfig;

beforeAll(async () => {
  server = await startDevServer({
    cli: inject('temporalCli'),
    port: await freePort(),
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
  });
  config = testConfig((c) => {
    const team = c.teams[0];
    if (!team) throw new Error('no team');
    team.escalation.steps = [
      { notify: ['alice'], ackTimeout: '12s' },
      { notify: ['bob'], ackTimeout: '1h' },
    ];
  });
  workerConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createBatonWorker({
    config: { ...config, dataDir: `/tmp/baton-can-${Date.now()}` },
    secrets: loadSecrets(config, {}),
    connection: workerConnection,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    taskQueue: 'continue-as-new',
    log: () => undefined,
  });
  const running = worker.run();
  stopWorker = async () => {
    worker.shutdown();
    await running;
  };
  clientConnection = await Connection.connect({ address: server.address });
  client = new Client({ connection: clientConnection });
});

afterAll(async () => {
  await stopWorker?.();
  await workerConnection?.close();
  await clientConnection?.close();
  await server?.stop();
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
