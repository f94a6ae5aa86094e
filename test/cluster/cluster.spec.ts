/**
 * `npm run start:cluster` as an operator runs it: PostgreSQL, the Temporal server and its
 * UI, two Baton workers and two Baton APIs, each a process of its own, started by
 * scripts/cluster/main.ts itself. Every request goes over HTTP to one of the APIs; what the
 * workers sent is read from their shared outbox, who ran what from Temporal's history.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { alertGroupWorkflowId } from '../../api/incidents';
import type { IncidentState, TimelineEvent } from '../../workflows/incident/state';
import { amtoolAdd, startAlertmanager, type Alertmanager } from '../support/alertmanager';
import { groupKeyOf, receiverFor } from '../support/harness';
import {
  alive,
  apiClient,
  clusterDir,
  eventually,
  interrupt,
  outbox,
  pidsOf,
  sleep,
  startCluster,
  writeConfig,
  type ApiClient,
  type ClusterState,
  type RunningCluster,
} from './support';

// Pages every 4 s, alice, bob, dave, twice round: a dozen seconds of paging per incident.
const ACK_TIMEOUT_S = 4;
const ESCALATION = {
  steps: [
    { notify: ['alice'], ackTimeout: `${ACK_TIMEOUT_S}s` },
    { notify: ['bob'], ackTimeout: `${ACK_TIMEOUT_S}s` },
    { notify: ['dave'], ackTimeout: `${ACK_TIMEOUT_S}s` },
  ],
  repeat: 2,
};
const EXPECTED_PAGES = ['alice', 'bob', 'dave', 'alice', 'bob', 'dave'];
// A killed worker stays down this long: long enough for a whole escalation without it.
const RESTART_DELAY_S = 45;

let dir: string;
let dataDir: string;
let configFile: string;
let cluster: RunningCluster | undefined;
let state: ClusterState;
let api1: ApiClient;
let api2: ApiClient;
let temporal: Client;
let alertmanager: Alertmanager | undefined;
/** Every pid the cluster ran, to make sure none outlives the tests. */
const pids = new Set<number>();

function remember(s: ClusterState): void {
  for (const pid of pidsOf(s)) pids.add(pid);
}

async function connect(s: ClusterState): Promise<void> {
  state = s;
  remember(s);
  const [first, second] = s.apis;
  if (!first || !second) throw new Error('the cluster runs two APIs');
  api1 = apiClient(first.url);
  api2 = apiClient(second.url);
  temporal = new Client({
    connection: await Connection.connect({ address: s.temporal.address }),
    namespace: s.namespace,
  });
}

beforeAll(async () => {
  dir = clusterDir();
  dataDir = path.join(dir, 'data');
  configFile = writeConfig(dir, ESCALATION);
  cluster = await startCluster({ dataDir, configFile, args: ['--restart-delay', String(RESTART_DELAY_S)] });
  await connect(cluster.state());
});

let failed = false;
afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  await alertmanager?.stop();
  await temporal?.connection.close();
  if (cluster) await interrupt(cluster);
  for (const pid of pids) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  // After a failure the logs of every process tell what happened: keep them.
  if (dir && failed) console.error(`kept the cluster's folder for inspection: ${dir}`);
  else if (dir) rmSync(dir, { recursive: true, force: true });
});

const paged = (s: IncidentState): TimelineEvent[] => s.timeline.filter((e) => e.kind === 'paged');
const pagedTo = (e: TimelineEvent): unknown => (e.details as { to?: unknown } | undefined)?.to;

describe('the cluster on one machine', () => {
  it('runs an incident from declaration to closed, each step through the other API than the last', async () => {
    const id = await api1.declare('alice', {
      title: 'Card payments failing',
      service: 'payments',
      severity: 'SEV2',
    });
    // Declared on one API, paged by a worker, read on the other.
    const first = await eventually(async () => {
      const s = (await api2.incident(id)).state;
      return s && paged(s).length > 0 ? s : undefined;
    });
    expect(first).toMatchObject({ id, phase: 'triggered', service: 'payments', team: 'payments' });

    expect((await api2.step(id, 'acknowledge', 'alice')).phase).toBe('acknowledged');
    const twice = await api1.call('POST', `/api/v1/incidents/${id}/acknowledge`, 'bob', {});
    expect(twice.status).toBe(409);
    expect(twice.text).toMatch(/already acknowledged by alice/);
    expect(
      (
        await api1.step(id, 'assessment', 'alice', {
          severity: 'SEV1',
          urgency: 'critical',
          impact: 'checkout down',
          observations: '502 from the provider',
        })
      ).severity,
    ).toBe('SEV1');
    await api2.step(id, 'actions', 'alice', {
      kind: 'restart',
      description: 'restarted payments-api',
      result: 'no change',
    });
    expect((await api1.step(id, 'escalate', 'alice', { reason: 'restart did not help' })).phase).toBe(
      'escalated',
    );
    expect((await api2.step(id, 'handover', 'carol', { notes: 'taking it' })).holder).toBe('carol');
    await api1.step(id, 'communications', 'carol', { audience: 'internal', message: 'failing over' });
    await api2.step(id, 'communications', 'dave', {
      audience: 'external',
      message: 'Card payments are degraded.',
    });
    expect((await api1.step(id, 'resolve', 'carol', { summary: 'failed over' })).phase).toBe('post-incident');
    await api2.step(id, 'report', 'carol', {
      summary: 'provider outage',
      rootCause: 'provider outage',
      actionsAndResults: 'failed over',
      recommendations: 'fail over sooner',
    });
    const lessons = await api1.step(id, 'lessons', 'carol', {
      lessons: ['fail over sooner'],
      processImprovements: ['failover runbook'],
      actionItems: [{ title: 'automate failover', owner: 'bob', dueDate: '2027-01-31' }],
    });
    const item = lessons.followUps.find((f) => f.kind === 'action-item');
    expect(item?.owner).toBe('bob');
    await api2.step(id, `action-items/${item?.id ?? 'missing'}/complete`, 'bob', {});
    // The process improvement is done when it names what changed.
    await api1.step(id, 'action-items/improvement-1/complete', 'carol', {
      changed: 'https://runbooks.example.com/payments-failover',
    });
    await api1.step(id, 'training', 'dave', {
      date: '2026-12-10',
      attendees: ['alice', 'bob'],
      material: 'failover drill',
    });
    // Training is done once every member of the team confirmed, each through either API.
    const members = ['alice', 'bob', 'carol', 'dave'] as const;
    for (const [index, member] of members.entries()) {
      await (index % 2 === 0 ? api1 : api2).step(id, 'training/confirmations', member, {});
    }

    const closed = await eventually(async () => {
      const s = (await api2.incident(id)).state;
      return s?.phase === 'closed' ? s : undefined;
    });
    expect(closed.timeline.at(-1)?.kind).toBe('closed');
    // The list comes from Temporal's visibility store in PostgreSQL, by search attribute.
    for (const api of [api1, api2]) {
      const listed = await eventually(async () => {
        const found = (await api.list('status=closed&service=payments')).find((i) => i.id === id);
        return found;
      });
      expect(listed.status).toBe('closed');
    }
    expect((await api1.list('status=triggered')).map((i) => i.id)).not.toContain(id);
  });

  it('opens an incident from a real Alertmanager’s webhook on one API, readable on the other', async () => {
    const receiver = receiverFor('cluster');
    alertmanager = await startAlertmanager({
      receiver,
      webhook: { url: `${api2.url}/webhooks/alertmanager`, bearer: 'alertmanager-demo-token' },
    });
    await amtoolAdd(alertmanager, {
      labels: { alertname: 'CheckoutErrors', service: 'payments', severity: 'critical' },
      annotations: { summary: 'Checkout errors above 5%' },
      startsAt: new Date(),
    });
    const id = alertGroupWorkflowId(receiver, groupKeyOf('CheckoutErrors'));
    const opened = await eventually(async () => {
      const s = (await api1.incident(id)).state;
      return s && paged(s).length > 0 ? s : undefined;
    }, 60_000);
    // The route for critical payments alerts makes it a SEV1 of the payments team.
    expect(opened).toMatchObject({ id, phase: 'triggered', severity: 'SEV1', team: 'payments' });
    expect(opened.origin).toMatchObject({ kind: 'alertmanager' });
    expect(opened.alerts.map((a) => a.labels.alertname)).toEqual(['CheckoutErrors']);
    // Its first page is in the workers' outbox, once.
    const pages = outbox(state, id).filter((e) => e.notification.kind === 'page');
    expect(pages.map((e) => e.notification.responders.map((r) => r.id))).toEqual([['alice']]);
    await api2.step(id, 'acknowledge', 'alice');
    await alertmanager.stop();
    alertmanager = undefined;
  });

  it('keeps paging when a worker dies with SIGKILL: the other takes over, no page lost or sent twice', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const api = i % 2 === 0 ? api1 : api2;
      ids.push(
        await api.declare('alice', { title: `Crash drill ${i}`, service: 'payments', severity: 'SEV3' }),
      );
    }
    // Every incident has had its first page, from whichever worker took it.
    await eventually(async () => {
      for (const id of ids) {
        const s = (await api1.incident(id)).state;
        if (!s || paged(s).length === 0) return undefined;
      }
      return true;
    });

    // The worker that ran the most of them dies, as a machine does: no shutdown at all.
    const identities = new Map<string, Set<string>>();
    for (const id of ids) identities.set(id, await workerIdentities(id, 0));
    const byWorker = state.workers.map((w) => ({
      ...w,
      incidents: ids.filter((id) => [...(identities.get(id) ?? [])].some((i) => i.startsWith(`${w.pid}@`))),
    }));
    byWorker.sort((a, b) => b.incidents.length - a.incidents.length);
    const [victim, survivor] = byWorker;
    if (!victim?.pid || !survivor?.pid) throw new Error('the cluster runs two workers');
    expect(victim.incidents.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');

    // Each incident pages its whole escalation, and then the managers.
    const finals = await Promise.all(
      ids.map((id) =>
        eventually(async () => {
          const s = (await api2.incident(id)).state;
          return s?.timeline.some((e) => e.kind === 'escalation-exhausted') ? s : undefined;
        }, 90_000),
      ),
    );
    // Time for a late repeat to show before anything is counted.
    await sleep(2 * ACK_TIMEOUT_S * 1000);
    expect(Date.now() - killedAt, 'the killed worker must still be down').toBeLessThan(
      RESTART_DELAY_S * 1000,
    );

    for (const [index, id] of ids.entries()) {
      const final = (await api2.incident(id)).state ?? finals[index];
      if (!final) throw new Error(`no state for ${id}`);
      const pages = paged(final);
      expect(pages.map(pagedTo), id).toEqual(EXPECTED_PAGES.map((who) => [who]));
      // Paging went on at its pace: no step waited for the dead worker to come back.
      for (let i = 1; i < pages.length; i++) {
        const gap = Date.parse(pages[i]?.at ?? '') - Date.parse(pages[i - 1]?.at ?? '');
        expect(gap, `${id}: page ${i + 1} after page ${i}`).toBeLessThan((ACK_TIMEOUT_S + 8) * 1000);
      }
      // The outbox holds each page once, to the right person, in order, and then the
      // managers' page (dave) that says nobody acknowledged.
      const sent = outbox(state, id).filter((e) => e.notification.kind === 'page');
      expect(new Set(sent.map((e) => e.notification.id)).size, id).toBe(sent.length);
      expect(sent.map((e) => e.notification.responders.map((r) => r.id))).toEqual(
        [...EXPECTED_PAGES, 'dave'].map((who) => [who]),
      );
    }

    // Everything after the kill ran on the survivor, including the victim's incidents.
    for (const id of victim.incidents) {
      const after = await workerIdentities(id, killedAt + 1_000);
      expect(after.size, id).toBeGreaterThan(0);
      for (const identity of after)
        expect(identity.startsWith(`${survivor.pid}@`), `${id}: ${identity}`).toBe(true);
    }
  });

  it('stops everything on Ctrl-C and starts again on the same data, without setting anything up twice', async () => {
    const id = await api1.declare('alice', {
      title: 'Survives a restart',
      service: 'payments',
      severity: 'SEV2',
    });
    await api2.step(id, 'acknowledge', 'bob');
    await temporal.connection.close();
    const before = cluster!.state();
    remember(before);

    const exit = await interrupt(cluster!);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(cluster!.output()).toContain('Stopped.');
    const left = [...pids].filter(alive);
    expect(left, 'processes still running after Ctrl-C').toEqual([]);

    cluster = await startCluster({ dataDir, configFile, timeoutMs: 180_000 });
    const output = cluster.output();
    expect(output).not.toContain('initdb');
    expect(output).not.toContain('creating the database');
    expect(output).toMatch(/temporal: version [\d.]+, up to date/);
    expect(output).toMatch(/temporal_visibility: version [\d.]+, up to date/);
    expect(output).not.toContain('search attributes registered');
    expect(output).not.toContain('Restarting the Temporal server');
    await connect(cluster.state());

    const startedAt = Date.now();
    const after = await api2.incident(id);
    console.info(
      `first read after the restart: ${after.status} in ${Date.now() - startedAt} ms ${after.text ?? ''}`,
    );
    expect(after).toMatchObject({ status: 200, state: { id, phase: 'acknowledged', acknowledgedBy: 'bob' } });
    // And it still works: a step through the restarted APIs and workers.
    expect((await api1.step(id, 'resolve', 'bob', { summary: 'gone after the restart' })).phase).toBe(
      'post-incident',
    );
  });
});

/** The identities of the workers that ran an incident's workflow and activity tasks since `sinceMs`. */
async function workerIdentities(workflowId: string, sinceMs: number): Promise<Set<string>> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const found = new Set<string>();
  for (const event of history.events ?? []) {
    const at = event.eventTime
      ? Number(event.eventTime.seconds) * 1000 + (event.eventTime.nanos ?? 0) / 1e6
      : 0;
    const identity =
      event.workflowTaskCompletedEventAttributes?.identity ??
      event.activityTaskStartedEventAttributes?.identity;
    if (identity && at >= sinceMs) found.add(identity);
  }
  return found;
}
