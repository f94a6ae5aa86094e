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
  approveCustomerMessageUpdate,
  assessUpdate,
  communicateUpdate,
  completeActionItemUpdate,
  confirmTrainingUpdate,
  draftCustomerMessageUpdate,
  escalateUpdate,
  excuseTrainingUpdate,
  membershipChangedSignal,
  recordActionUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  rejectCustomerMessageUpdate,
  requireFollowUpUpdate,
  resolveUpdate,
  submitReportUpdate,
  stateQuery,
  waiveFollowUpUpdate,
} from '../workflows/incident/messages';
import { policyFor, teamById, teamMembershipFor } from '../config/policy';
import { incidentWorkflow } from '../workflows/incident/incident';
import { EVERY_FOLLOW_UP, testConfig } from './support/config';
import { startShortHistories, type ShortHistories } from './support/short-histories';
import { startSlackApi, type SlackApi } from './support/slack-api';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { eventually, startTestWorker, type TestWorker } from './support/worker';
import { startFiringPrometheus, type FiringPrometheus } from './support/prometheus';
import type { Client } from '@temporalio/client';

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

/**
 * Saves one run's history in the JSON that `temporal workflow show` gives operators, so a
 * history from production can be added the same way.
 */
function saveHistory(name: string, workflowId: string, address: string, runId?: string): void {
  const json = execFileSync(
    inject('temporalCli'),
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
      '--address',
      address,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(path.join(HISTORIES, `${label ?? 'unlabelled'}-${name}.json`), json);
}

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

  /** Waives whatever follow-ups are still open, so the incident closes. */
  async function waiveOpen(handle: IncidentHandle): Promise<void> {
    for (const f of (await state(handle)).followUps.filter((item) => item.status === 'open')) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId: f.id, reason: 'recorded for replay' }],
      });
    }
  }

  async function save(name: string, handle: IncidentHandle): Promise<void> {
    await handle.result();
    saveHistory(name, handle.workflowId, inject('temporalAddress'));
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
    await handle.executeUpdate(draftCustomerMessageUpdate, {
      args: [{ ...by('alice'), message: 'Checkout may fail.' }],
    });
    await handle.executeUpdate(rejectCustomerMessageUpdate, {
      args: [{ ...by('dave'), draftId: 'customer-1', reason: 'say when the next update comes' }],
    });
    await handle.executeUpdate(draftCustomerMessageUpdate, {
      args: [{ ...by('alice'), message: 'Checkout may fail. Next update 11:00 UTC.' }],
    });
    await handle.executeUpdate(approveCustomerMessageUpdate, {
      args: [{ ...by('dave'), draftId: 'customer-2' }],
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
          processImprovements: [{ title: 'runbook: roll back first', owner: 'carol' }],
          actionItems: [{ title: 'canary', owner: 'bob', dueDate: '2027-01-01' }],
        },
      ],
    });
    const item = s.followUps.find((f) => f.kind === 'action-item');
    await handle.executeUpdate(completeActionItemUpdate, {
      args: [{ ...by('bob'), itemId: item?.id ?? '' }],
    });
    await handle.executeUpdate(completeActionItemUpdate, {
      args: [{ ...by('carol'), itemId: 'improvement-1', changed: 'https://runbooks.example.com/rollback' }],
    });
    await handle.executeUpdate(recordTrainingUpdate, {
      args: [{ ...by('dave'), date: '2026-12-01', attendees: ['alice', 'bob'], material: 'rollback drill' }],
    });
    // This worker's team: alice and bob page, carol is Level 3, dave approves.
    for (const member of ['alice', 'bob', 'dave']) {
      await handle.executeUpdate(confirmTrainingUpdate, { args: [by(member)] });
    }
    await handle.executeUpdate(excuseTrainingUpdate, {
      args: [{ ...by('dave'), member: 'carol', reason: 'on leave' }],
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
    await waiveOpen(handle);
    await save('alerts-clear-before-acknowledgement', handle);
  });

  it('records an incident told that its team changed while it was open', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-40')] });
    // Baton restarted with carol moved off the team and erin its Level 3.
    const changed = testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('test configuration has no team');
      team.level3 = [{ notify: ['erin'], acceptTimeout: '2s' }];
    });
    await handle.signal(membershipChangedSignal, teamMembershipFor(changed, teamById(changed, 'payments')));
    await expect(handle.executeUpdate(acknowledgeUpdate, { args: [by('carol')] })).rejects.toThrow();
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'restarted' }] });
    await waiveOpen(handle);
    await save('membership-changed', handle);
  });

  it('records a SEV4 blip that closes with its drafted report after a quiet period', async () => {
    const latency = alert('HighLatency', 'fp-30');
    const handle = await startIncident(w, { alerts: [latency], severity: 'SEV4' });
    await handle.signal(alertsResolvedSignal, { alerts: [{ ...latency, status: 'resolved' }] });
    await save('sev4-blip-closes-after-quiet-period', handle);
  });

  it('records a SEV3 incident for which a manager requires the lessons', async () => {
    const handle = await startIncident(w, { severity: 'SEV3' });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(requireFollowUpUpdate, {
      args: [{ ...by('dave'), kind: 'lessons', reason: 'third time this month' }],
    });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'restarted' }] });
    await handle.executeUpdate(requireFollowUpUpdate, {
      args: [{ ...by('dave'), kind: 'training', reason: 'new joiners' }],
    });
    await handle.executeUpdate(recordLessonsUpdate, {
      args: [{ ...by('alice'), lessons: ['watch the pool'], processImprovements: ['alert on pool use'] }],
    });
    await waiveOpen(handle);
    await save('sev3-manager-requires-lessons', handle);
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

  it('records an open incident reminded to assess, nudged to escalate and to update stakeholders', async () => {
    const config = testConfig((c) => {
      c.severities.SEV2 = { assessWithin: '2s', stakeholderUpdateEvery: '3s', nudgeEscalationAfter: '4s' };
      c.severities.SEV1 = { assessWithin: '2s', stakeholderUpdateEvery: '2s', nudgeEscalationAfter: '3s' };
    });
    // The incident runs by its worker's configuration: these timings get a worker of their own.
    const timed = await startTestWorker(config, 'replay-reminders');
    const handle = await startIncident(timed, { severity: 'SEV2' });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const seen = (kind: string, count = 1) =>
      eventually(async () =>
        (await state(handle)).timeline.filter((e) => e.kind === kind).length >= count ? true : undefined,
      );
    await seen('assessment-reminder');
    await seen('escalation-nudge');
    await seen('stakeholder-update-reminder');
    // A new severity re-plans the nudge and the stakeholder cadence.
    await handle.executeUpdate(assessUpdate, {
      args: [{ ...by('alice'), severity: 'SEV1', urgency: 'critical', impact: 'down', observations: '5xx' }],
    });
    await seen('escalation-nudge', 2);
    await seen('stakeholder-update-reminder', 2);
    await handle.executeUpdate(communicateUpdate, {
      args: [{ ...by('alice'), audience: 'internal', message: 'working on it' }],
    });
    await seen('stakeholder-update-reminder', 3);
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'restarted' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await save('reminders-while-open', handle);
    await timed.stop();
  });

  it('records alerts that fire again after the incident was resolved', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-10')] });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'rolled back' }] });
    await handle.signal(alertsFiredSignal, { alerts: [alert('HighLatency', 'fp-11')] });
    // Recorded before reopening existed as a page to the last holder; now the incident reopens.
    await eventually(async () =>
      (await state(handle)).timeline.some(
        (e) => e.kind === 'reopened' || (e.kind === 'paged' && e.summary.includes('again')),
      )
        ? true
        : undefined,
    );
    await handle.signal(alertsResolvedSignal, {
      alerts: [
        { ...alert('HighLatency', 'fp-10'), status: 'resolved' },
        { ...alert('HighLatency', 'fp-11'), status: 'resolved' },
      ],
    });
    await eventually(async () =>
      (await state(handle)).alerts.every((a) => a.status === 'resolved') ? true : undefined,
    );
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await save('refire-after-resolution', handle);
  });

  it('records a flapping alert that reopens its incident, and a second resolution', async () => {
    const latency = alert('HighLatency', 'fp-20');
    const handle = await startIncident(w, { alerts: [latency] });
    await handle.signal(alertsResolvedSignal, { alerts: [{ ...latency, status: 'resolved' }] });
    await eventually(async () => ((await state(handle)).resolution ? true : undefined));
    await handle.signal(alertsFiredSignal, { alerts: [{ ...latency, startsAt: '2026-11-26T10:05:00Z' }] });
    await eventually(async () =>
      (await state(handle)).timeline.filter((e) => e.kind === 'paged').length >= 2 ? true : undefined,
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('bob'), summary: 'fixed the flap' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await save('flapping-alert-reopens', handle);
  });
});

describe.runIf(recording)('recording an incident with live Slack messages', () => {
  let slack: SlackApi;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await startSlackApi({ token: 'xoxb-live' });
    const config = testConfig((c) => {
      c.notifications = { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN' } };
    });
    w = await startTestWorker(config, 'record-slack-live', { SLACK_BOT_TOKEN: 'xoxb-live' });
  });
  afterAll(async () => {
    await w?.stop();
    await slack?.close();
  });

  it('records an incident whose live messages are kept current', async () => {
    const handle = await startIncident(w);
    await eventually(async () => ((await state(handle)).slack ? true : undefined));
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.signal(addNoteSignal, { ...by('bob'), text: 'EU only', source: 'slack' });
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'provider' }] });
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'mine' }] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('carol'), summary: 'recovered' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await handle.result();
    saveHistory('slack-live-messages', handle.workflowId, inject('temporalAddress'));
  });
});

describe.runIf(recording)('recording a page that reaches nobody', () => {
  let slack: SlackApi;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await startSlackApi({ token: 'xoxb-right' });
    const config = testConfig((c) => {
      c.notifications = { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', liveMessages: false } };
    });
    // Slack refuses the worker's token: every target of every page fails for good.
    w = await startTestWorker(config, 'record-page-failed', { SLACK_BOT_TOKEN: 'xoxb-wrong' });
  });
  afterAll(async () => {
    await w?.stop();
    await slack?.close();
  });

  it('records a page that failed on every channel, and the managers told', async () => {
    const handle = await startIncident(w);
    await eventually(async () =>
      (await state(handle)).timeline.some((e) => e.kind === 'page-failed') ? true : undefined,
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'found by phone' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await handle.result();
    saveHistory('page-failed', handle.workflowId, inject('temporalAddress'));
  });
});

describe.runIf(recording)('recording an incident that continues as new', () => {
  // A server that suggests continue-as-new after a few dozen events, so a short incident
  // moves to new runs with its timers and follow-ups under way.
  let cluster: ShortHistories;
  let client: Client;
  const config = testConfig((c) => {
    c.severities.SEV3 = { assessWithin: '3s', stakeholderUpdateEvery: '1h', nudgeEscalationAfter: '1h' };
    c.followUps = {
      reportDue: '6s',
      lessonsDue: '1h',
      trainingDue: '1h',
      remindBefore: '3s',
      overdueNotify: ['dave'],
      bySeverity: EVERY_FOLLOW_UP,
    };
  });

  beforeAll(async () => {
    cluster = await startShortHistories(config, 'record-continue-as-new');
    client = cluster.client;
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function startSlowBurn(workflowId: string, severity: 'SEV3' | 'SEV4'): Promise<string> {
    const handle = await client.workflow.start(incidentWorkflow, {
      taskQueue: 'record-continue-as-new',
      workflowId,
      args: [
        {
          title: 'Slow burn',
          service: 'payments',
          severity,
          origin: { kind: 'manual', declaredBy: 'alice' },
          policy: policyFor(config, teamById(config, 'payments')),
        },
      ],
    });
    return handle.firstExecutionRunId;
  }

  /** Saves every run of the incident, oldest first, so the files read in the order they ran. */
  async function saveRuns(name: string, workflowId: string): Promise<void> {
    await client.workflow.getHandle(workflowId).result();
    const runs: { runId: string; start: number }[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      runs.push({ runId: execution.runId, start: execution.startTime.getTime() });
    }
    expect(runs.length).toBeGreaterThanOrEqual(2);
    runs.sort((a, b) => a.start - b.start);
    runs.forEach(({ runId }, index) => {
      saveHistory(`${name}-run-${index + 1}`, workflowId, cluster.address, runId);
    });
  }

  const timelineHas = (workflowId: string, kind: string) =>
    eventually(
      async () =>
        (await client.workflow.getHandle(workflowId).query(stateQuery)).timeline.some((e) => e.kind === kind)
          ? true
          : undefined,
      30_000,
    );

  async function waiveAll(workflowId: string): Promise<void> {
    for (const followUpId of ['report', 'lessons', 'training']) {
      await client.workflow.getHandle(workflowId).executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
  }

  it('records every run of an incident carried across continue-as-new', async () => {
    const workflowId = `record-can-${Date.now()}`;
    const firstRun = await startSlowBurn(workflowId, 'SEV3');
    const current = () => client.workflow.getHandle(workflowId);
    await current().executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await timelineHas(workflowId, 'assessment-reminder');
    // Notes until the server asks for a new run.
    for (let i = 0; i < 40; i += 1) {
      await current().signal(addNoteSignal, { ...by('bob'), text: `note ${i}`, source: 'api' });
      if ((await current().describe()).runId !== firstRun) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await eventually(async () => ((await current().describe()).runId !== firstRun ? true : undefined));
    await current().executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'rebalanced' }] });
    await timelineHas(workflowId, 'follow-up-overdue');
    await waiveAll(workflowId);
    await saveRuns('continue-as-new', workflowId);
  });

  it('records an overdue follow-up carried into a new run', async () => {
    const workflowId = `record-can-overdue-${Date.now()}`;
    const firstRun = await startSlowBurn(workflowId, 'SEV4');
    const current = () => client.workflow.getHandle(workflowId);
    await current().executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await current().executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'gone' }] });
    // Overdue notices every few seconds fill the history until the incident moves on.
    await eventually(
      async () => ((await current().describe()).runId !== firstRun ? true : undefined),
      60_000,
    );
    await timelineHas(workflowId, 'follow-up-overdue');
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await waiveAll(workflowId);
    await saveRuns('overdue-follow-up-continues-as-new', workflowId);
  });
});

describe.runIf(recording)('recording an incident with diagnostics from a real Prometheus', () => {
  // A rule that fires over a gauge this file serves: the alert carries Prometheus' own
  // generatorURL, so the incident charts it when it opens and again at escalation, and
  // Level 3 is sent the fresh figures.
  let firing: FiringPrometheus;
  let w: TestWorker;
  beforeAll(async () => {
    firing = await startFiringPrometheus({
      group: 'baton-replay',
      rule: { alert: 'QueueTooDeep', expr: 'baton_replay_queue_depth > 5', labels: { service: 'payments' } },
      values: [['baton_replay_queue_depth', { queue: 'payments' }, 9]],
    });
    w = await startTestWorker(
      testConfig((c) => {
        // The alert's server is queried only when allowed by name and at its loopback address (issue #21).
        c.diagnostics = {
          deadline: '5s',
          prometheus: {
            lookback: '1m',
            maxPoints: 60,
            allowedServers: [firing.prometheus.url],
            allowedNetworks: ['127.0.0.1'],
          },
        };
      }),
      'record-diagnostics',
    );
  });
  afterAll(async () => {
    await w?.stop();
    await firing?.stop();
  });

  it('records an incident charted at opening and at escalation', async () => {
    const { sent } = firing;
    const handle = await startIncident(w, {
      alerts: [
        {
          fingerprint: 'fp-queue',
          status: 'firing',
          labels: sent.labels,
          annotations: sent.annotations ?? {},
          startsAt: sent.startsAt,
          generatorURL: sent.generatorURL,
        },
      ],
    });
    const collected = (occasion: string) =>
      eventually(async () =>
        (await state(handle)).diagnostics?.some((d) => d.occasion === occasion && d.charts.length > 0)
          ? true
          : undefined,
      );
    await collected('opened');
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'queue keeps growing' }] });
    await collected('escalated');
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'taking it' }] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('carol'), summary: 'drained the queue' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'recorded for replay' }],
      });
    }
    await handle.result();
    saveHistory('diagnostics-charted-and-escalated', handle.workflowId, inject('temporalAddress'));
  });
});

describe.runIf(recording)('recording histories of incidents that page on-call schedules', () => {
  const DAY = 86_400_000;
  const iso = (ms: number): string => new Date(ms).toISOString();
  let w: TestWorker;
  beforeAll(async () => {
    w = await startTestWorker(
      testConfig((c) => {
        const team = c.teams[0];
        if (!team) throw new Error('test configuration has no team');
        team.escalation = {
          steps: [
            { notify: ['schedule:payments-l2'], ackTimeout: '2s' },
            { notify: ['schedule:payments-off'], ackTimeout: '2s' },
            { notify: ['dave', 'schedule:payments-l2:next'], ackTimeout: '2s' },
          ],
          repeat: 1,
        };
        const rotation = { timezone: 'Europe/Berlin', team: 'payments' };
        const layers = [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }];
        const aWeek = { from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) };
        c.schedules = [
          {
            id: 'payments-l2',
            name: 'Payments L2',
            ...rotation,
            layers,
            overrides: [{ member: 'alice', ...aWeek }],
          },
          // Everyone away: a gap that falls through to the next step.
          {
            id: 'payments-off',
            name: 'Payments weekend',
            ...rotation,
            layers,
            timeOff: [
              { member: 'alice', ...aWeek },
              { member: 'bob', ...aWeek },
            ],
          },
        ];
      }),
      'record-schedules',
    );
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('records an incident whose steps page schedules, fall through a gap and page the next in line', async () => {
    const handle = await startIncident(w);
    await eventually(async () =>
      (await state(handle)).timeline.filter((e) => e.kind === 'paged').length >= 2 ? true : undefined,
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('bob'), summary: 'restarted the pods' }] });
    for (const f of (await state(handle)).followUps.filter((item) => item.status === 'open')) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId: f.id, reason: 'recorded for replay' }],
      });
    }
    await handle.result();
    saveHistory('schedules-paged-with-a-gap', handle.workflowId, inject('temporalAddress'));
  });
});

describe.runIf(recording)('recording histories of incidents that hand over to Level 3 schedules', () => {
  const DAY = 86_400_000;
  const iso = (ms: number): string => new Date(ms).toISOString();
  let w: TestWorker;
  beforeAll(async () => {
    w = await startTestWorker(
      testConfig((c) => {
        const team = c.teams[0];
        if (!team) throw new Error('test configuration has no team');
        team.escalation = { steps: [{ notify: ['schedule:payments-l2'], ackTimeout: '1h' }], repeat: 1 };
        team.level3 = [
          { notify: ['schedule:payments-l3'], acceptTimeout: '2s' },
          { notify: ['schedule:payments-l3-off'], acceptTimeout: '1h' },
          { notify: ['carol'], acceptTimeout: '1h' },
        ];
        // Nobody acknowledges for a while: the nudges ask the first step's schedule.
        c.severities.SEV2.nudgeEscalationAfter = '2s';
        const rotation = { timezone: 'Europe/Berlin', team: 'payments' };
        const aWeek = { from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) };
        const level3 = [{ members: ['carol', 'erin'], shift: '1w', handoff: '2026-11-02T09:00' }];
        c.schedules = [
          {
            id: 'payments-l2',
            name: 'Payments L2',
            ...rotation,
            layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
            overrides: [{ member: 'alice', ...aWeek }],
          },
          {
            id: 'payments-l3',
            name: 'Payments L3',
            ...rotation,
            layers: level3,
            overrides: [{ member: 'erin', ...aWeek }],
          },
          // Everyone away: a gap that falls through to the next Level 3 step.
          {
            id: 'payments-l3-off',
            name: 'Payments L3 weekend',
            ...rotation,
            layers: level3,
            timeOff: [
              { member: 'carol', ...aWeek },
              { member: 'erin', ...aWeek },
            ],
          },
        ];
      }),
      'record-level3-schedules',
    );
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('records an incident nudged through a schedule, handed over to a Level 3 schedule, and a gap that falls through', async () => {
    const handle = await startIncident(w);
    const reached = async (kind: string, count = 1): Promise<void> => {
      await eventually(async () =>
        (await state(handle)).timeline.filter((e) => e.kind === kind).length >= count ? true : undefined,
      );
    };
    await reached('escalation-nudge');
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(escalateUpdate, {
      args: [{ ...by('alice'), reason: 'the restart did not help' }],
    });
    // erin does not accept within 2s; the weekend schedule has nobody; carol is paged.
    await reached('paging-gap');
    await reached('level3-paged');
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('carol'), notes: 'taking it' }] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('carol'), summary: 'rolled back' }] });
    for (const f of (await state(handle)).followUps.filter((item) => item.status === 'open')) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId: f.id, reason: 'recorded for replay' }],
      });
    }
    await handle.result();
    saveHistory('level3-schedules-paged-with-a-gap', handle.workflowId, inject('temporalAddress'));
  });
});
