/**
 * Running incidents must survive every deploy: the histories of complete incidents saved
 * under test/histories are replayed against today's workflow code, so a change that would
 * break them (a command added, removed or reordered without `patched()`) fails the build.
 *
 * After a deliberate change guarded by `patched()`, keep the old histories and add new ones
 * under a new label:
 *   RECORD_HISTORIES=v3 npx vitest run test/replay.test.ts
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  addNoteSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
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
} from '../workflows/messages';
import { testConfig } from './support/config';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const HISTORIES = fileURLToPath(new URL('./histories/', import.meta.url));
const label = process.env.RECORD_HISTORIES;
const recording = label !== undefined && /^[a-z0-9-]+$/.test(label);

function savedHistories(): { file: string; workflowId: string; history: unknown }[] {
  return readdirSync(HISTORIES)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const history: unknown = JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8'));
      return { file, workflowId: file.replace(/\.json$/, ''), history };
    });
}

describe('saved incident histories', () => {
  it('replay without nondeterminism against the current workflow code', async () => {
    const histories = savedHistories();
    expect(histories.length).toBeGreaterThanOrEqual(6);
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    const failures: string[] = [];
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('would catch a change that alters the commands of a running incident', async () => {
    const [saved] = savedHistories();
    if (!saved) throw new Error('no saved history');
    // Pretend the code once scheduled a different first activity: replay must refuse it.
    const tampered = JSON.parse(
      JSON.stringify(saved.history).replace('"name":"notify"', '"name":"notifySomeoneElse"'),
    ) as unknown;
    expect(JSON.stringify(tampered)).toContain('notifySomeoneElse');
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      [{ workflowId: saved.workflowId, history: tampered }],
    );
    const errors: string[] = [];
    for await (const result of results) if (result.error) errors.push(result.error.message);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/nondetermin/i);
  });
});

describe.runIf(recording)('recording histories of complete incidents', () => {
  let w: TestWorker;
  beforeAll(async () => {
    w = await startTestWorker(
      testConfig((c) => {
        const team = c.teams[0];
        if (!team) throw new Error('test configuration has no team');
        team.escalation.steps = [
          { notify: ['alice'], ackTimeout: '2s' },
          { notify: ['bob'], ackTimeout: '2s' },
        ];
        team.level3 = [{ notify: ['carol'], acceptTimeout: '2s' }];
        c.followUps = {
          reportDue: '4s',
          lessonsDue: '30s',
          trainingDue: '30s',
          remindBefore: '2s',
          overdueNotify: ['dave'],
        };
      }),
      'record',
    );
  });
  afterAll(async () => {
    await w?.stop();
  });

  async function save(name: string, handle: IncidentHandle): Promise<void> {
    await handle.result();
    // The CLI's JSON is the format `temporal workflow show` gives operators, so a history
    // from production can be added the same way.
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
    writeFileSync(path.join(HISTORIES, `${label ?? 'unlabelled'}-${name}.json`), json);
  }

  it('records an incident driven through every step by people', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-1')] });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(assessUpdate, {
      args: [
        {
          ...by('alice'),
          severity: 'SEV2',
          urgency: 'high',
          impact: 'slow checkout',
          observations: 'p99 4s',
        },
      ],
    });
    await handle.executeUpdate(recordActionUpdate, {
      args: [{ ...by('alice'), kind: 'restart', description: 'restart pods', result: 'no change' }],
    });
    await handle.signal(addNoteSignal, { ...by('bob'), text: 'EU customers affected', source: 'slack' });
    await handle.executeUpdate(escalateUpdate, {
      args: [{ ...by('alice'), reason: 'restart did not help' }],
    });
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'taking it' }] });
    await handle.executeUpdate(communicateUpdate, {
      args: [{ ...by('carol'), audience: 'internal', message: 'fix underway' }],
    });
    await handle.executeUpdate(communicateUpdate, {
      args: [{ ...by('dave'), audience: 'external', message: 'Checkout is slow.' }],
    });
    await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('carol'), summary: 'rolled back the deploy' }],
    });
    await handle.executeUpdate(submitReportUpdate, {
      args: [
        {
          ...by('carol'),
          summary: 's',
          rootCause: 'bad deploy',
          actionsAndResults: 'rollback',
          recommendations: 'canary',
        },
      ],
    });
    const s = await handle.executeUpdate(recordLessonsUpdate, {
      args: [
        {
          ...by('carol'),
          lessons: ['canary deploys'],
          actionItems: [{ title: 'canary', owner: 'bob', dueDate: '2027-01-01' }],
        },
      ],
    });
    const item = s.followUps.find((f) => f.kind === 'action-item');
    await handle.executeUpdate(completeActionItemUpdate, {
      args: [{ ...by('bob'), itemId: item?.id ?? '' }],
    });
    await handle.executeUpdate(recordTrainingUpdate, {
      args: [{ ...by('dave'), date: '2026-12-01', attendees: ['alice', 'bob'], material: 'rollback drill' }],
    });
    await save('people-drive-every-step', handle);
  });

  it('records an unacknowledged alert incident that resolves itself', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-2')] });
    await handle.signal(alertsFiredSignal, { alerts: [alert('HighLatency', 'fp-3')] });
    await handle.signal(alertsResolvedSignal, {
      alerts: [
        { ...alert('HighLatency', 'fp-2'), status: 'resolved' },
        { ...alert('HighLatency', 'fp-3'), status: 'resolved' },
      ],
    });
    await eventually(async () => ((await state(handle)).resolution ? true : undefined));
    await handle.executeUpdate(submitReportUpdate, {
      args: [
        {
          ...by('alice'),
          summary: 'flap',
          rootCause: 'noise',
          actionsAndResults: 'none',
          recommendations: 'tune',
        },
      ],
    });
    await save('alerts-clear-before-acknowledgement', handle);
  });

  it('records an incident whose timers page, re-page and escalate overdue follow-ups', async () => {
    const handle = await startIncident(w);
    await eventually(async () =>
      (await state(handle)).timeline.some((e) => e.kind === 'escalation-exhausted') ? true : undefined,
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('dave')] });
    await handle.executeUpdate(escalateUpdate, {
      args: [{ ...by('dave'), reason: 'nobody on L2 answered' }],
    });
    await eventually(async () => ((await state(handle)).handover?.exhausted ? true : undefined));
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'late but here' }] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('carol'), summary: 'fixed' }] });
    await eventually(async () =>
      (await state(handle)).timeline.some((e) => e.kind === 'follow-up-overdue') ? true : undefined,
    );
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await save('timers-page-and-escalate', handle);
  });
});
