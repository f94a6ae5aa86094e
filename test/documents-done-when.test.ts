/**
 * Documents, done when: `npm start` on the demo configuration, a real Prometheus whose rule
 * fires over a gauge this file serves, and a real Alertmanager whose receiver is Baton's
 * webhook. The incident the alert opens is driven through the API to closed; its folder and
 * the API then give the timeline, the record, the handover package with the chart from that
 * Prometheus, the drafted and the completed final report and the lessons, and all of it is
 * still served once Temporal has deleted the workflow.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IncidentState, TimelineEvent } from '../workflows/incident/state';
import { startAlertmanager, type Alertmanager } from './support/alertmanager';
import { demoConfig, startBaton, type Baton, type BatonPorts } from './support/entry-process';
import { pinOnCallInYaml } from './support/on-call';
import { freePort } from './support/ports';
import {
  startMetricsEndpoint,
  startPrometheus,
  staticScrape,
  type MetricsEndpoint,
  type Prometheus,
} from './support/prometheus';
import { eventually } from './support/worker';

const run = promisify(execFile);

/** The demo tokens, published in the README. */
const TOKENS = {
  alice: 'l2-demo-token',
  bob: 'l2b-demo-token',
  carol: 'l3-demo-token',
  dave: 'manager-demo-token',
} as const;
type Person = keyof typeof TOKENS;
const WEBHOOK_TOKEN = 'alertmanager-demo-token';

const METRIC = 'baton_done_when_queue_depth';
const ALERT = 'PaymentsQueueTooDeep';
const SERIES = { queue: 'payments' };
const ACTION = 'drained the payments queue by hand';
const ROOT_CAUSE = 'a stuck consumer after the provider timed out';
const RECOMMENDATIONS = 'restart stuck consumers automatically';
const LESSON = 'watch consumer lag, not only queue depth';
const IMPROVEMENT = 'add consumer lag to the payments runbook';
const CHANGED = 'https://runbooks.example.com/payments-queue#consumer-lag';
const ACTION_ITEM = 'alert on consumer lag';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-documents-done-when-'));
const dataDir = path.join(tmp, 'data');

let gauge: MetricsEndpoint | undefined;
let am: Alertmanager | undefined;
let prometheus: Prometheus | undefined;
let ports: BatonPorts;
let api: string;
let baton: Baton | undefined;

/** The demo configuration on private ports and data folder, with diagnostics for this Prometheus. */
function writeConfig(prometheusUrl: string): string {
  // alice is on call for the demo schedule, whatever the week: the walk below is hers.
  const replaced = pinOnCallInYaml(demoConfig(ports, dataDir), 'alice');
  expect(replaced).not.toMatch(/^diagnostics:/m);
  const diagnostics = [
    '',
    'diagnostics:',
    '  deadline: 20s',
    '  prometheus:',
    `    allowedServers: ['${prometheusUrl}']`,
    // It listens on 127.0.0.1: loopback is allowed in so many words (issue #21).
    "    allowedNetworks: ['127.0.0.1']",
    '    lookback: 1m',
    '    maxPoints: 120',
    '',
  ].join('\n');
  const file = path.join(tmp, 'baton.yaml');
  writeFileSync(file, `${replaced}${diagnostics}`);
  return file;
}

// ---------------------------------------------------------------------------------------------
// The API as the team uses it.

type Headers = Record<string, string>;

async function request(
  method: 'GET' | 'POST',
  route: string,
  who: Person,
  options: { body?: object; headers?: Headers } = {},
): Promise<{ status: number; headers: globalThis.Headers; text: string }> {
  const response = await fetch(`${api}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKENS[who]}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function getJson<T>(route: string, who: Person = 'alice'): Promise<T> {
  const res = await request('GET', route, who);
  expect(res.status, `GET ${route}: ${res.text}`).toBe(200);
  return JSON.parse(res.text) as T;
}

let id: string;

async function step(route: string, who: Person, body: object): Promise<IncidentState> {
  const res = await request('POST', `/api/v1/incidents/${id}/${route}`, who, { body });
  expect(res.status, `${route} by ${who}: ${res.text}`).toBe(200);
  return JSON.parse(res.text) as IncidentState;
}

const incident = (): Promise<IncidentState> => getJson<IncidentState>(`/api/v1/incidents/${id}`);

async function doc(name: string, headers: Headers = {}) {
  return request('GET', `/api/v1/incidents/${id}/documents/${name}`, 'alice', { headers });
}

type Page = { events: (TimelineEvent & { seq: number })[]; next?: number };

async function wholeTimeline(limit: number): Promise<Page['events']> {
  const events: Page['events'] = [];
  let after = 0;
  for (;;) {
    const page = await getJson<Page>(`/api/v1/incidents/${id}/timeline?after=${after}&limit=${limit}`);
    events.push(...page.events);
    if (page.next === undefined) return events;
    after = page.next;
  }
}

function incidentFolder(): string {
  const root = path.join(dataDir, 'incidents');
  const name = readdirSync(root).find((n) => n.startsWith(`${id}-`));
  if (!name) throw new Error(`no folder for ${id} in ${root}`);
  return path.join(root, name);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  // The gauge below the rule's threshold: nothing fires until the test says so.
  gauge = await startMetricsEndpoint();
  gauge.set(METRIC, SERIES, 1);
  ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
  api = `http://127.0.0.1:${ports.api}`;
  am = await startAlertmanager({
    webhook: { url: `${api}/webhooks/alertmanager`, bearer: WEBHOOK_TOKEN },
  });
  prometheus = await startPrometheus({
    scrapeConfigs: [staticScrape('queues', [gauge.target])],
    alertmanagers: [new URL(am.url).host],
    rules: [
      {
        groups: [
          {
            name: 'baton-documents-done-when',
            rules: [
              {
                alert: ALERT,
                expr: `${METRIC}{queue="payments"} > 5`,
                labels: { severity: 'critical', service: 'payments' },
                annotations: { summary: 'the payments queue is too deep' },
              },
            ],
          },
        ],
      },
    ],
  });
  baton = startBaton(writeConfig(prometheus.url));
  await baton.waitForBanner(180_000);
}, 300_000);

afterAll(async () => {
  // SIGTERM, as a service manager stops it.
  if (baton) await baton.stop('SIGTERM', 60_000);
  await prometheus?.stop();
  await am?.stop();
  await gauge?.stop();
  rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('an incident from a Prometheus alert through Alertmanager to closed, on npm start', () => {
  let chart: string;

  it('opens the incident from the alert, as SEV1 for payments, and charts it from that Prometheus', async () => {
    gauge!.set(METRIC, SERIES, 9);
    await prometheus!.waitForAlert(ALERT, 'firing', 60_000);
    type Listed = { incidents: { id: string; service: string; severity: string }[] };
    const listed = await eventually(async () => {
      const { incidents } = await getJson<Listed>('/api/v1/incidents?service=payments');
      return incidents.length > 0 ? incidents : undefined;
    }, 90_000);
    expect(listed).toHaveLength(1);
    id = listed[0]!.id;

    const opened = await eventually(async () => {
      const s = await incident();
      return s.diagnostics?.some((d) => d.occasion === 'opened') ? s : undefined;
    }, 60_000);
    expect(opened).toMatchObject({ severity: 'SEV1', team: 'payments', service: 'payments' });
    expect(opened.origin.kind).toBe('alertmanager');
    expect(opened.alerts.map((a) => [a.labels.alertname, a.status])).toEqual([[ALERT, 'firing']]);
    expect(opened.alerts[0]?.generatorURL?.startsWith(`${prometheus!.url}/graph?g0.expr=`)).toBe(true);
    const diagnostics = opened.diagnostics!.find((d) => d.occasion === 'opened')!;
    expect(diagnostics.failures).toEqual([]);
    expect(diagnostics.charts.map((c) => c.alertname)).toEqual([ALERT]);
    expect(diagnostics.charts[0]?.text).toMatch(/^current value 9 at .* \(fires when > 5\)$/);
    expect(opened.timeline.find((e) => e.kind === 'paged')?.details?.to).toEqual(['alice']);
  }, 240_000);

  it('drafts the final report from what happened once Level 3 resolves it', async () => {
    expect(id, 'the alert opened an incident').toBeDefined();
    expect((await step('acknowledge', 'alice', {})).phase).toBe('acknowledged');
    await step('assessment', 'alice', {
      severity: 'SEV1',
      urgency: 'critical',
      impact: 'card payments queue up and time out',
      observations: `${METRIC} at 9 and rising`,
    });
    expect(
      (await step('actions', 'alice', { kind: 'other', description: ACTION, result: 'it refills' })).phase,
    ).toBe('mitigating');
    expect((await step('escalate', 'alice', { reason: 'the queue keeps refilling' })).phase).toBe(
      'escalated',
    );
    expect((await step('handover', 'carol', { notes: 'taking it' })).holder).toBe('carol');
    // The collection at escalation, while the alert still fires, before the queue drains.
    const escalated = await eventually(async () => {
      const s = await incident();
      return s.diagnostics?.some((d) => d.occasion === 'escalated') ? s : undefined;
    }, 60_000);
    expect(escalated.diagnostics!.flatMap((d) => d.failures)).toEqual([]);

    // The queue drains: Prometheus sends the alert resolved, Alertmanager tells Baton, and the
    // acknowledged incident stays open for a person to resolve (unacknowledged-only).
    gauge!.set(METRIC, SERIES, 0);
    const cleared = await eventually(async () => {
      const s = await incident();
      return s.alerts.length > 0 && s.alerts.every((a) => a.status === 'resolved') ? s : undefined;
    }, 120_000);
    expect(cleared.phase).toBe('collaborating');
    expect(cleared.resolution).toBeUndefined();

    const resolved = await step('resolve', 'carol', { summary: 'restarted the stuck consumer' });
    expect(resolved.phase).toBe('post-incident');
    expect(resolved.resolution).toMatchObject({ by: 'carol', automatic: false });

    const draft = await eventually(async () => {
      const res = await doc('report.md');
      return res.status === 200 && res.text.includes('restarted the stuck consumer') ? res : undefined;
    }, 60_000);
    expect(draft.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    const report = draft.text;
    expect(report).toContain('**Draft**');
    expect(report).not.toContain('**Final report**');
    expect(report).toMatch(/## Summary\n\nrestarted the stuck consumer/);
    expect(report).toContain(`alice other: ${ACTION} → it refills`);
    expect(report).toMatch(/- Time to acknowledge: \d+[smhd]/);
    expect(report).toMatch(/- Time to escalate: \d+[smhd]/);
    expect(report).toMatch(/- Time to resolve: \d+[smhd]/);
    expect(report).toContain('- alice: acknowledged, assessed, took actions, escalated');
    expect(report).toMatch(/- carol: accepted the handover, holds the incident, resolved/);
    expect(report).toMatch(/## Root cause\n\n\(completed when the final report is submitted\)/);
    expect(report).toMatch(/\*\*handover-accepted\*\* carol/);
    expect(report).toContain('| Severity | SEV1 |');
  }, 300_000);

  it('closes once the report, the lessons, their follow-ups and everyone’s training are done', async () => {
    expect(id, 'the alert opened an incident').toBeDefined();
    await step('report', 'carol', {
      summary: 'the payments queue backed up behind a stuck consumer',
      rootCause: ROOT_CAUSE,
      actionsAndResults: 'drained the queue, then restarted the consumer',
      recommendations: RECOMMENDATIONS,
    });
    const lessons = await step('lessons', 'carol', {
      lessons: [LESSON],
      processImprovements: [{ title: IMPROVEMENT, owner: 'dave' }],
      actionItems: [{ title: ACTION_ITEM, owner: 'bob', dueDate: '2027-01-31' }],
    });
    const improvement = lessons.followUps.find((f) => f.kind === 'improvement');
    expect(improvement).toMatchObject({ id: 'improvement-1', owner: 'dave', status: 'open' });
    const item = lessons.followUps.find((f) => f.kind === 'action-item');
    expect(item).toMatchObject({ owner: 'bob', status: 'open', title: ACTION_ITEM });

    await step(`action-items/${item!.id}/complete`, 'bob', { note: 'lag alert in place' });
    await step('action-items/improvement-1/complete', 'dave', { changed: CHANGED });
    const trained = await step('training', 'dave', {
      date: '2026-12-10',
      attendees: ['alice', 'bob', 'carol', 'dave'],
      material: 'consumer lag drill',
    });
    const training = trained.followUps.find((f) => f.kind === 'training');
    const members = (training?.attendance ?? []).map((a) => a.member);
    expect([...members].sort()).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(trained.phase).toBe('post-incident');

    for (const member of members) {
      const res = await request('POST', `/api/v1/incidents/${id}/training/confirmations`, member as Person, {
        body: {},
      });
      expect(res.status, `${member} confirms: ${res.text}`).toBe(200);
    }
    const closed = await eventually(async () => {
      const s = await incident();
      return s.phase === 'closed' ? s : undefined;
    }, 60_000);
    expect(closed.followUps.map((f) => [f.kind, f.status])).toEqual(
      expect.arrayContaining([
        ['report', 'done'],
        ['lessons', 'done'],
        ['training', 'done'],
        ['action-item', 'done'],
        ['improvement', 'done'],
      ]),
    );
    expect(closed.timeline.at(-1)?.kind).toBe('closed');
  }, 180_000);

  let timeline: Page['events'];

  async function expectDocuments(): Promise<void> {
    // The timeline, in pages, to its close.
    const events = await wholeTimeline(7);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const kinds = events.map((e) => e.kind);
    for (const kind of ['triggered', 'paged', 'acknowledged', 'escalated', 'resolved', 'closed'] as const) {
      expect(kinds, kind).toContain(kind);
    }
    expect(kinds.indexOf('triggered')).toBe(0);
    expect(kinds.at(-1)).toBe('closed');
    expect(kinds.indexOf('diagnostics-collected')).toBeGreaterThan(kinds.indexOf('paged'));
    expect(events.find((e) => e.kind === 'acknowledged')?.actor).toBe('alice');
    if (timeline) expect(events).toEqual(timeline);
    timeline = events;

    const listed = await getJson<{ documents: { name: string; kind: string; contentType: string }[] }>(
      `/api/v1/incidents/${id}/documents`,
    );
    const names = listed.documents.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining(['record.md', 'record.json', 'report.md', 'lessons.md', 'handover-1.md', chart]),
    );
    expect(listed.documents.find((d) => d.name === chart)?.contentType).toBe('image/svg+xml');

    // The record, as Markdown and as HTML.
    const record = await doc('record.md');
    expect(record.status).toBe(200);
    expect(record.text).toMatch(/\| Acknowledged \| alice at \d{4}-/);
    expect(record.text).toContain(ACTION);
    const recordHtml = await doc('record.md', { accept: 'text/html' });
    expect(recordHtml.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(recordHtml.text).toMatch(/<tr><td>Acknowledged<\/td><td>alice at \d{4}-/);
    const json = JSON.parse((await doc('record.json')).text) as IncidentState;
    expect(json).toMatchObject({ id, phase: 'closed', severity: 'SEV1', acknowledgedBy: 'alice' });

    // The handover package, with the chart from the alert's own Prometheus.
    const handover = await doc('handover-1.md');
    expect(handover.status).toBe(200);
    expect(handover.text).toMatch(/Accepted by carol at \d{4}-[^:]*:\d\d:[\d.]+Z: taking it/);
    expect(handover.text).toContain('## Charts');
    expect(handover.text).toContain(`](${chart})`);
    const handoverHtml = await doc('handover-1.md', { accept: 'text/html' });
    expect(handoverHtml.text).toContain(`<img src="${chart}"`);
    const svgUrl = new URL(chart, `${api}/api/v1/incidents/${id}/documents/handover-1.md`);
    const svg = await request('GET', svgUrl.pathname, 'alice');
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svg.text).toMatch(/<polyline[^>]* points="[^"]+"/);
    expect(svg.text).toContain('fires when value &gt; 5');

    // The final report, completed.
    const report = await doc('report.md');
    expect(report.text).toMatch(/\*\*Final report\*\*, submitted by carol at \d{4}-/);
    expect(report.text).not.toContain('**Draft**');
    expect(report.text).toMatch(new RegExp(`## Root cause\\n\\n${ROOT_CAUSE}`));
    expect(report.text).toMatch(new RegExp(`## Recommendations\\n\\n${RECOMMENDATIONS}`));
    expect(report.text).toContain(ACTION);
    expect(report.text).toMatch(/- carol: accepted the handover, .*wrote the final report/);
    const reportHtml = await doc('report.md', { accept: 'text/html' });
    expect(reportHtml.text).toContain('<h2>Root cause</h2>');
    expect(reportHtml.text).toContain(ROOT_CAUSE);

    // The lessons: the lesson, the improvement and what changed, the item, the training.
    const lessons = await doc('lessons.md');
    expect(lessons.status).toBe(200);
    expect(lessons.text).toContain(`- ${LESSON}`);
    // The improvement's row: owner, done by whom, and what changed (Markdown-escaped: # as \#).
    const row = (lessons.text.split('\n').find((l) => l.startsWith('| improvement-1 |')) ?? '')
      .split(' | ')
      .map((cell) => cell.replace(/^\| | \|$/g, ''));
    expect(row[1]).toBe(IMPROVEMENT);
    expect(row[2]).toBe('dave');
    expect(row[4]).toMatch(/^done by dave at \d{4}-/);
    expect(row[5]).toBe(CHANGED.replace('#', '\\#'));
    expect(lessons.text).toMatch(
      new RegExp(`\\| ${ACTION_ITEM} \\| bob \\| 2027-01-31[^|]* \\| done by bob at `),
    );
    for (const member of ['alice', 'bob', 'carol', 'dave']) {
      expect(lessons.text).toMatch(new RegExp(`\\| ${member} \\| confirmed \\| \\d{4}-`));
    }
    expect(lessons.text).toContain('Nobody is pending.');
    expect(lessons.text).toMatch(/Session on 2026-12-10, recorded by dave at /);
    const lessonsHtml = await doc('lessons.md', { accept: 'text/html' });
    expect(lessonsHtml.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(lessonsHtml.text).toContain(LESSON);
    expect(lessonsHtml.text).toContain(CHANGED);
  }

  it('gives the timeline, the record, the handover with its chart, the report and the lessons, in the folder and through the API', async () => {
    expect(id, 'the incident closed').toBeDefined();
    const folder = incidentFolder();
    const s = await incident();
    const charts = (s.diagnostics ?? []).flatMap((d) => d.charts);
    expect(charts.length).toBeGreaterThanOrEqual(2); // opened and escalated
    for (const c of charts)
      expect(c.chart.startsWith(path.join(folder, 'diagnostics') + path.sep)).toBe(true);
    chart = path.relative(folder, charts[0]!.chart).split(path.sep).join('/');
    expect(chart).toMatch(/^diagnostics\/[^/]+-opened\/[^/]+\.svg$/);

    // The folder is written by an activity after each step: wait for the closed record.
    await eventually(() => {
      const lines = readFileSync(path.join(folder, 'timeline.jsonl'), 'utf8').split('\n').filter(Boolean);
      const last = JSON.parse(lines.at(-1) ?? '{}') as TimelineEvent;
      return last.kind === 'closed' &&
        (JSON.parse(readFileSync(path.join(folder, 'record.json'), 'utf8')) as IncidentState).phase ===
          'closed'
        ? true
        : undefined;
    }, 60_000);
    for (const name of ['record.md', 'record.json', 'report.md', 'lessons.md', 'handover-1.md', chart]) {
      expect(existsSync(path.join(folder, name)), name).toBe(true);
    }
    await expectDocuments();
    // What the API serves is what the folder holds.
    for (const name of ['record.md', 'report.md', 'lessons.md', 'handover-1.md', chart]) {
      expect((await doc(name)).text, name).toBe(readFileSync(path.join(folder, name), 'utf8'));
    }
  }, 120_000);

  it('still gives all of it, and lists the incident as archived, once Temporal has deleted the workflow', async () => {
    expect(timeline, 'the documents were read before the deletion').toBeDefined();
    const address = `127.0.0.1:${ports.temporal}`;
    await run(inject('temporalCli'), ['workflow', 'delete', '--address', address, '--workflow-id', id], {
      timeout: 30_000,
    });
    // The deletion is asynchronous: describe answers until Temporal has done it.
    const describe = ['workflow', 'describe', '--address', address, '--workflow-id', id];
    const gone = await eventually(
      () =>
        run(inject('temporalCli'), describe, { timeout: 30_000 }).then(
          () => undefined,
          (err: Error & { stderr?: string }) => {
            const said = `${err.message}\n${err.stderr ?? ''}`;
            return /not found/i.test(said) ? said : undefined;
          },
        ),
      120_000,
    );
    expect(gone).toMatch(/not found/i);
    await eventually(
      async () =>
        (await request('GET', `/api/v1/incidents/${id}`, 'alice')).status === 404 ? true : undefined,
      120_000,
    );

    await expectDocuments();

    type Listed = { incidents: { id: string; archived?: boolean; status: string; team: string }[] };
    // Temporal's list forgets it a moment after the deletion; the store's list keeps it.
    await eventually(async () => {
      const current = await getJson<Listed>('/api/v1/incidents');
      return current.incidents.some((i) => i.id === id) ? undefined : true;
    }, 60_000);
    const archived = await getJson<Listed>('/api/v1/incidents?include=archived');
    expect(archived.incidents.find((i) => i.id === id)).toMatchObject({
      id,
      archived: true,
      status: 'closed',
      team: 'payments',
    });
  }, 360_000);

  it('stops on SIGTERM with everything below it, the Temporal server included', async () => {
    const b = baton!;
    b.recordDescendants();
    const commands = [...b.descendants.values()];
    expect(
      b.temporalServers(ports.temporal),
      `the Temporal server runs below start.ts: ${commands.join('; ')}`,
    ).not.toEqual([]);
    b.kill('SIGTERM');
    expect(await b.exitWithin(90_000)).toEqual({ code: 0, signal: null });
    expect(b.stdout()).toContain('Stopped.');
    expect(await b.leftRunning(15_000), 'processes left behind').toEqual([]);
  }, 120_000);
});
