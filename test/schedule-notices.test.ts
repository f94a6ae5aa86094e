/**
 * The schedule workflow's handoff notices and gap warnings, against the real Temporal dev
 * server, with the worker in a process of its own killed with SIGKILL between two notices:
 * each notice is sent once, none is lost, and the one due while no worker ran goes as soon
 * as a worker is back. Handoffs seconds apart come from overrides in the configuration.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { OutboxEntry } from '../activities/outbox';
import { wakeScheduleWorkflow } from '../api/schedule-workflows';
import { policyFor, teamById } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { incidentWorkflow } from '../workflows/incident/incident';
import { scheduleNoticesQuery, scheduleWorkflowId } from '../workflows/schedule/messages';
import { auth, buildTestApp } from './support/app';
import { testConfig } from './support/config';
import { eventually, startTestWorker, type TestWorker } from './support/worker';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

let client: TestWorker | undefined;
let worker: WorkerProcess | undefined;
afterAll(async () => {
  await worker?.kill();
  await client?.stop();
});

function noticesIn(config: BatonConfig): OutboxEntry[] {
  const file = path.join(config.dataDir, 'outbox', 'schedule_payments-l2.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxEntry);
}

/** "on-call → bob": what each notice says and to whom, in the order sent. */
const told = (entries: OutboxEntry[]): string[] =>
  entries.map(
    (e) =>
      `${e.notification.subject.split(' for ')[0]} → ${e.notification.responders.map((r) => r.id).join(',')}`,
  );

describe('the schedule workflow', () => {
  it('tells handoffs and gaps once each, across a worker killed between them', async () => {
    const t0 = Date.now();
    const taskQueue = `schedule-notices-${t0}`;
    const config = testConfig((c) => {
      c.dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-schedule-notices-'));
      c.temporal = { ...c.temporal, taskQueue };
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments L2',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          handoffNotice: '8s',
          overrides: [
            // alice this week, whichever week it is; bob from 20 s to 45 s from now.
            { member: 'alice', from: iso(t0 - DAY), to: iso(t0 + 7 * DAY) },
            { member: 'bob', from: iso(t0 + 20_000), to: iso(t0 + 45_000) },
          ],
          // Both away on the third day: a gap the manager hears of at once.
          timeOff: [
            { member: 'alice', from: iso(t0 + 3 * DAY), to: iso(t0 + 4 * DAY) },
            { member: 'bob', from: iso(t0 + 3 * DAY), to: iso(t0 + 4 * DAY) },
          ],
        },
      ];
    });
    client = await startTestWorker(
      config,
      'schedule-notices-client',
      {},
      { taskQueue: `${taskQueue}-unused` },
    );
    const spawn = () =>
      spawnWorker({
        address: inject('temporalAddress'),
        taskQueue,
        bundlePath: inject('workflowBundlePath'),
        config,
        env: {},
      });
    worker = await spawn();
    // An open incident of the team: the handoffs pass it on.
    const incident = await client.client.workflow.start(incidentWorkflow, {
      taskQueue,
      workflowId: `incident-schedule-notices-${t0}`,
      args: [
        {
          title: 'Card payments declined',
          service: 'payments',
          severity: 'SEV3',
          origin: { kind: 'manual', declaredBy: 'alice' },
          policy: policyFor(config, teamById(config, 'payments')),
        },
      ],
    });
    // Its record is what the handoff reads; its folder is named after the id and the opening time.
    const recordWritten = (): true | undefined => {
      const dir = path.join(config.dataDir, 'incidents');
      if (!existsSync(dir)) return undefined;
      const folder = readdirSync(dir).find((f) => f.startsWith(incident.workflowId));
      return folder && existsSync(path.join(dir, folder, 'record.json')) ? true : undefined;
    };
    await eventually(recordWritten, 15_000);
    await wakeScheduleWorkflow(client.client, config, 'payments-l2');

    // At once: the gap, to the team's manager. Then, 12 s in, bob is told he goes on call at 20 s.
    await eventually(() => (noticesIn(config).length >= 2 ? true : undefined), 30_000);
    expect(told(noticesIn(config))).toEqual(['Nobody will be on call → dave', 'You go on call → bob']);

    // No worker while bob's shift starts: the start and alice's handover are due then.
    await worker.kill();
    worker = undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + 24_000 - Date.now())));
    expect(noticesIn(config)).toHaveLength(2);
    worker = await spawn();
    const back = Date.now();

    await eventually(() => (noticesIn(config).length >= 4 ? true : undefined), 20_000);
    const late = noticesIn(config).slice(2);
    expect(told(late).sort()).toEqual(['You are off call → alice', 'You are on call → bob']);
    for (const entry of late) expect(Date.parse(entry.at)).toBeLessThan(back + 10_000);

    // Bob hands back to alice at 45 s: her notice ahead at 37 s, then both at 45 s.
    await eventually(() => (noticesIn(config).length >= 7 ? true : undefined), 45_000);
    // Time for a repeat to show before counting.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const all = told(noticesIn(config));
    expect(all.slice(4, 5)).toEqual(['You go on call → alice']);
    expect(all.slice(5).sort()).toEqual(['You are off call → bob', 'You are on call → alice']);
    expect(all).toHaveLength(7);

    const onCall = noticesIn(config).find((e) => e.notification.subject.startsWith('You are on call for'));
    expect(onCall?.notification.text).toContain(
      `Open incidents you inherit:\n- ${incident.workflowId}: Card payments declined`,
    );
    const offCall = noticesIn(config).find((e) => e.notification.subject.startsWith('You are off call for'));
    expect(offCall?.notification.text).toContain(`Open incidents you hand over:\n- ${incident.workflowId}`);
    const handle = client.client.workflow.getHandle(scheduleWorkflowId(taskQueue, 'payments-l2'));
    const state = await handle.query(scheduleNoticesQuery);
    expect(state.failures).toEqual([]);
    expect(state.sent.filter((k) => k.startsWith('gap:'))).toHaveLength(1);
    // RECORD_HISTORIES=<label> saves this run's history for test/replay.test.ts.
    const label = process.env.RECORD_HISTORIES;
    if (label && /^[a-z0-9-]+$/.test(label)) {
      const json = execFileSync(
        inject('temporalCli'),
        [
          'workflow',
          'show',
          '--workflow-id',
          handle.workflowId,
          '--output',
          'json',
          '--address',
          inject('temporalAddress'),
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      writeFileSync(
        new URL(`./histories/${label}-schedule-handoffs-across-a-worker-kill.json`, import.meta.url),
        json,
      );
    }
    await handle.terminate('test over');
    await incident.terminate('test over');
  }, 120_000);

  it('an override made through the API wakes the schedule workflow, which tells the person covering', async () => {
    const t0 = Date.now();
    const config = testConfig((c) => {
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments L2',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          handoffNotice: '10s',
          overrides: [{ member: 'alice', from: iso(t0 - DAY), to: iso(t0 + 7 * DAY) }],
        },
      ];
    });
    const w = await startTestWorker(config, 'schedule-notices-api');
    const app = await buildTestApp(w);
    try {
      const handle = w.client.workflow.getHandle(scheduleWorkflowId(w.taskQueue, 'payments-l2'));
      await expect(handle.describe()).rejects.toThrow(/not found/i);
      const from = iso(Date.now() + 15_000);
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/schedules/payments-l2/overrides',
        headers: { ...auth('dave'), 'content-type': 'application/json' },
        payload: { member: 'bob', from, to: iso(Date.now() + 3_600_000) },
      });
      expect(response.statusCode).toBe(201);
      // Started by the change itself: nobody restarted the API.
      await eventually(
        async () => ((await handle.describe()).status.name === 'RUNNING' ? true : undefined),
        10_000,
      );
      const going = await eventually(() => {
        const entries = w.outbox('schedule_payments-l2');
        return entries.length > 0 ? entries : undefined;
      }, 20_000);
      expect(told(going)).toEqual(['You go on call → bob']);
      await handle.terminate('test over');
    } finally {
      await app.close();
      await w.stop();
    }
  }, 60_000);
});
