/**
 * An incident's timeline and documents through the API, read from the incident store: the
 * whole timeline in pages, the record as Markdown, HTML and JSON, a chart served defensively,
 * nothing outside the incident's folder, nothing for another team's people, and all of it
 * still there once Temporal has deleted the incident.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IncidentState, TimelineEvent } from '../workflows/incident/state';
import { buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { EXTRA_TOKENS, withTwoTeams } from './support/permissions';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const run = promisify(execFile);

let w: TestWorker;
let app: FastifyInstance;

const TOKEN_OF: Record<string, string> = {
  ...TOKENS,
  frank: EXTRA_TOKENS.TOKEN_FRANK,
  oscar: EXTRA_TOKENS.TOKEN_OSCAR,
};
const as = (actor: string) => ({ authorization: `Bearer ${TOKEN_OF[actor] ?? 'none'}` });

const HOSTILE_TITLE = '<script>alert(1)</script> Checkout **down** <img src=x onerror=alert(2)>';
const CHART_FOLDER = 'diagnostics/20260101T000000Z-opened';
const CHART = `${CHART_FOLDER}/metrics-1-HighLatency.svg`;
const SECRET = 'not-for-the-api';
const HOSTILE_MESSAGE =
  '<script>alert(4)</script> [click](javascript:1) ![x](http://evil/x.svg)\n# not a heading';
/** What the documents route lists, in its order: the record, the documents, the charts. */
const LISTED: [string, string][] = [
  ['record.md', 'record'],
  ['record.json', 'record'],
  ['report.md', 'report'],
  ['communications.md', 'communications'],
  ['handover-1.md', 'handover'],
  [CHART, 'chart'],
];
const HTML_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'";

const SERVICE = 'documents-test';
let id: string;
let folder: string;
let stateTimeline: TimelineEvent[];

beforeAll(async () => {
  w = await startTestWorker(testConfig(withTwoTeams), 'documents');
  app = await buildTestApp(w, w.config, EXTRA_TOKENS);

  const declared = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: as('alice'),
    // A service of its own, so that the lists below find it among every test's incidents.
    payload: { title: HOSTILE_TITLE, service: SERVICE, severity: 'SEV2' },
  });
  expect(declared.statusCode, declared.body).toBe(201);
  id = declared.json<{ id: string }>().id;
  const step = async (p: string, who: string, payload: object) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/${p}`,
      headers: as(who),
      payload,
    });
    expect(res.statusCode, `${p}: ${res.body}`).toBe(200);
    return res.json<IncidentState>();
  };
  await step('acknowledge', 'alice', {});
  await step('assessment', 'alice', {
    severity: 'SEV2',
    urgency: 'high',
    impact: 'checkout down',
    observations: '502s',
  });
  await step('actions', 'alice', { kind: 'restart', description: 'restart api', result: 'no change' });
  await step('escalate', 'alice', { reason: HOSTILE_MESSAGE });
  await step('handover', 'carol', { notes: 'have it' });
  await step('communications', 'carol', { audience: 'internal', message: HOSTILE_MESSAGE });
  const resolved = await step('resolve', 'carol', { summary: 'failed over' });
  stateTimeline = resolved.timeline;
  // The record reaches the store in an activity after each step.
  const root = path.join(w.dataDir, 'incidents');
  folder = await eventually(() => {
    const name = readdirSync(root).find((n) => n.startsWith(`${id}-`));
    if (!name) return undefined;
    const dir = path.join(root, name);
    const lines = readFileSync(path.join(dir, 'timeline.jsonl'), 'utf8').split('\n').filter(Boolean);
    return lines.length >= stateTimeline.length &&
      readFileSync(path.join(dir, 'record.md'), 'utf8').includes('## Resolution') &&
      existsSync(path.join(dir, 'report.md'))
      ? dir
      : undefined;
  });
  // A chart as diagnostics would write it (the test worker's Prometheus does not answer),
  // one that carries script, and links that point out of the incident's folder.
  mkdirSync(path.join(folder, CHART_FOLDER), { recursive: true });
  writeFileSync(
    path.join(folder, CHART),
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(3)</script><text>p99</text></svg>\n',
  );
  writeFileSync(path.join(w.dataDir, 'secret.md'), SECRET);
  writeFileSync(path.join(w.dataDir, 'secret.svg'), `<svg>${SECRET}</svg>`);
  symlinkSync(path.join(w.dataDir, 'secret.svg'), path.join(folder, CHART_FOLDER, 'linked.svg'));
  mkdirSync(path.join(w.dataDir, 'outside'), { recursive: true });
  writeFileSync(path.join(w.dataDir, 'outside', 'chart.svg'), `<svg>${SECRET}</svg>`);
  symlinkSync(
    path.join(w.dataDir, 'outside'),
    path.join(folder, 'diagnostics', '20260101T000001Z-escalated'),
  );
});

afterAll(async () => {
  await w?.client.workflow
    .getHandle(id)
    .terminate('test finished')
    .catch(() => undefined);
  await app?.close();
  await w?.stop();
});

function get(url: string, actor = 'alice', headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, headers: { ...as(actor), ...headers } });
}

type Page = { events: (TimelineEvent & { seq: number })[]; next?: number };

async function wholeTimeline(limit: number): Promise<{ events: Page['events']; pages: number }> {
  const events: Page['events'] = [];
  let after = 0;
  for (let pages = 1; ; pages++) {
    const res = await get(`/api/v1/incidents/${id}/timeline?after=${after}&limit=${limit}`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<Page>();
    events.push(...page.events);
    if (page.next === undefined) return { events, pages };
    expect(page.next).toBe(page.events.at(-1)?.seq);
    after = page.next;
  }
}

async function expectEverythingServed(): Promise<void> {
  const { events } = await wholeTimeline(100);
  expect(events.map((e) => e.kind)).toEqual(stateTimeline.map((e) => e.kind));
  const listed = await get(`/api/v1/incidents/${id}/documents`);
  expect(listed.statusCode).toBe(200);
  expect(listed.json<{ documents: { name: string }[] }>().documents.map((d) => d.name)).toEqual(
    LISTED.map(([name]) => name),
  );
  const md = await get(`/api/v1/incidents/${id}/documents/record.md`);
  expect(md.statusCode).toBe(200);
  expect(md.body).toContain('| Acknowledged | alice at ');
}

describe('an incident’s timeline and documents', () => {
  it('serves the whole timeline from the store in seq order, in pages', async () => {
    const all = await get(`/api/v1/incidents/${id}/timeline`);
    expect(all.statusCode).toBe(200);
    const { events, next } = all.json<Page>();
    expect(next).toBeUndefined();
    const kinds = events.map((e) => e.kind);
    expect(kinds).toEqual(stateTimeline.map((e) => e.kind));
    expect(kinds.slice(0, 2)).toEqual(['triggered', 'paged']);
    expect(kinds.indexOf('acknowledged')).toBeLessThan(kinds.indexOf('action'));
    expect(kinds.indexOf('action')).toBeLessThan(kinds.indexOf('resolved'));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.find((e) => e.kind === 'acknowledged')?.actor).toBe('alice');

    const paged = await wholeTimeline(2);
    expect(paged.events).toEqual(events);
    expect(paged.pages).toBe(Math.ceil(events.length / 2));
    const tail = (await get(`/api/v1/incidents/${id}/timeline?after=3&limit=1`)).json<Page>();
    expect(tail.events.map((e) => e.seq)).toEqual([4]);
    expect(tail.next).toBe(4);
    const past = (await get(`/api/v1/incidents/${id}/timeline?after=1000`)).json<Page>();
    expect(past).toEqual({ events: [] });
  });

  it('answers 400 for a bad after or limit', async () => {
    for (const query of [
      'after=-1',
      'after=x',
      'after=1.5',
      'limit=0',
      'limit=5000',
      'limit=ten',
      'page=2',
    ]) {
      const res = await get(`/api/v1/incidents/${id}/timeline?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('InvalidInput');
    }
  });

  it('lists the record, the documents and the charts, with sizes and times, and no links', async () => {
    const res = await get(`/api/v1/incidents/${id}/documents`);
    expect(res.statusCode).toBe(200);
    const { documents } = res.json<{
      documents: { name: string; kind: string; contentType: string; bytes: number; modifiedAt: string }[];
    }>();
    expect(documents.map((d) => [d.name, d.kind])).toEqual(LISTED);
    expect(documents.find((d) => d.name === 'record.md')?.bytes).toBe(
      readFileSync(path.join(folder, 'record.md')).length,
    );
    expect(documents.find((d) => d.name === CHART)?.contentType).toBe('image/svg+xml');
    for (const d of documents) expect(Date.parse(d.modifiedAt)).toBeGreaterThan(Date.now() - 600_000);
  });

  it('serves the record as Markdown, as escaped HTML when the browser asks, and as JSON', async () => {
    const md = await get(`/api/v1/incidents/${id}/documents/record.md`);
    expect(md.statusCode).toBe(200);
    expect(md.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(md.body).toBe(readFileSync(path.join(folder, 'record.md'), 'utf8'));
    expect(md.body).toContain('# &lt;script&gt;alert(1)&lt;/script&gt; Checkout \\*\\*down\\*\\*');
    expect(md.body).toMatch(/\| Acknowledged \| alice at \d{4}-/);

    const html = await get(`/api/v1/incidents/${id}/documents/record.md`, 'alice', {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    });
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['content-security-policy']).toBe(HTML_PAGE_POLICY);
    expect(html.headers['x-content-type-options']).toBe('nosniff');
    expect(html.headers.vary).toMatch(/Accept/);
    expect(html.body).toContain(
      '<h1>&lt;script&gt;alert(1)&lt;/script&gt; Checkout **down** &lt;img src=x onerror=alert(2)&gt;</h1>',
    );
    expect(html.body).toMatch(/<tr><td>Acknowledged<\/td><td>alice at \d{4}-[^<]*<\/td><\/tr>/);
    expect(html.body).toContain('<h2>Resolution</h2>');
    expect(html.body).toMatch(/<li>[^<]* <strong>acknowledged<\/strong> alice: /);
    expect(html.body).not.toMatch(/<script|<img/i);

    const markdownPreferred = await get(`/api/v1/incidents/${id}/documents/record.md`, 'alice', {
      accept: 'text/markdown, text/html;q=0.5',
    });
    expect(markdownPreferred.headers['content-type']).toBe('text/markdown; charset=utf-8');

    const json = await get(`/api/v1/incidents/${id}/documents/record.json`);
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.json<IncidentState>()).toMatchObject({
      id,
      title: HOSTILE_TITLE,
      team: 'payments',
      acknowledgedBy: 'alice',
      phase: 'post-incident',
    });
  });

  it('serves the drafted report, the handover and the communications log, as Markdown and escaped HTML', async () => {
    const html = (name: string) =>
      get(`/api/v1/incidents/${id}/documents/${name}`, 'alice', { accept: 'text/html' });
    const report = await get(`/api/v1/incidents/${id}/documents/report.md`);
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(report.body).toBe(readFileSync(path.join(folder, 'report.md'), 'utf8'));
    expect(report.body).toContain('**Draft**');
    expect(report.body).toMatch(/## Summary\n\nfailed over/);
    expect(report.body).toMatch(/- Time to acknowledge: \d+(s|m)/);
    expect(report.body).toMatch(/- Time to escalate: \d+(s|m)/);
    expect(report.body).toContain(
      '- carol: accepted the handover, holds the incident, communicated, resolved',
    );
    expect(report.body).toMatch(/\*\*handover-accepted\*\* carol/);

    const handover = await get(`/api/v1/incidents/${id}/documents/handover-1.md`);
    expect(handover.statusCode).toBe(200);
    expect(handover.body).toContain(
      '# Handover: &lt;script&gt;alert(1)&lt;/script&gt; Checkout \\*\\*down\\*\\*',
    );
    expect(handover.body).toMatch(/Accepted by carol at \d{4}-[^:]*:\d\d:[\d.]+Z: have it/);
    expect(handover.body).not.toMatch(/^# not a heading/m);

    const log = await get(`/api/v1/incidents/${id}/documents/communications.md`);
    expect(log.body).toContain(
      '**internal (team and stakeholders)** from carol (no approval needed): &lt;script&gt;',
    );

    for (const name of ['report.md', 'handover-1.md', 'communications.md']) {
      const page = await html(name);
      expect(page.statusCode, name).toBe(200);
      expect(page.headers['content-type'], name).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy'], name).toBe(HTML_PAGE_POLICY);
      expect(page.body, name).not.toMatch(/<(script|a|img)[\s>]/i);
    }
    expect((await html('communications.md')).body).toContain(
      '&lt;script&gt;alert(4)&lt;/script&gt; [click](javascript:1)',
    );
    // A handover's chart images link relative to the document: the same route serves the chart.
    const chartUrl = new URL(CHART, `http://baton/api/v1/incidents/${id}/documents/handover-1.md`);
    expect((await get(chartUrl.pathname)).statusCode).toBe(200);
  });

  it('serves a chart as SVG that may run and load nothing', async () => {
    const res = await get(`/api/v1/incidents/${id}/documents/${CHART}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toBe(readFileSync(path.join(folder, CHART), 'utf8'));
  });

  it('reads nothing outside the incident’s folder', async () => {
    const attempts = [
      `${CHART_FOLDER}/linked.svg`,
      'diagnostics/20260101T000001Z-escalated/chart.svg',
      '..%2F..%2Fsecret.md',
      '../../secret.md',
      '%2E%2E/%2E%2E/secret.md',
      'diagnostics/..%2F..%2F..%2Fsecret.svg',
      `${encodeURIComponent(path.join(w.dataDir, 'secret.md'))}`,
      `/${path.join(w.dataDir, 'secret.md')}`,
      'timeline.jsonl',
      'record.md%00.svg',
      'record.md/',
      'RECORD.MD',
    ];
    for (const attempt of attempts) {
      const res = await get(`/api/v1/incidents/${id}/documents/${attempt}`);
      expect([400, 404], `${attempt}: ${res.statusCode}`).toContain(res.statusCode);
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toContain('"seq"');
    }
    for (const badId of ['..', '..%2F..%2Fsecret', '%2Fetc', `${id}%2F..`, `${id.slice(0, -2)}`]) {
      for (const route of ['timeline', 'documents', 'documents/record.md']) {
        const res = await get(`/api/v1/incidents/${badId}/${route}`);
        expect([400, 404], `${badId}/${route}: ${res.statusCode}`).toContain(res.statusCode);
        expect(res.body).not.toContain(SECRET);
      }
    }
  });

  it('answers 404 for an unknown incident or document, and to another team’s people', async () => {
    for (const route of ['timeline', 'documents', 'documents/record.md']) {
      const unknown = await get(`/api/v1/incidents/incident-nope/${route}`);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toEqual({ error: 'no incident "incident-nope"', code: 'NotFound' });
      const hidden = await get(`/api/v1/incidents/${id}/${route}`, 'frank');
      expect(hidden.statusCode).toBe(404);
      expect(hidden.json()).toEqual({ error: `no incident "${id}"`, code: 'NotFound' });
      // A manager who oversees every team sees it.
      expect((await get(`/api/v1/incidents/${id}/${route}`, 'oscar')).statusCode).toBe(200);
      const anonymous = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}/${route}` });
      expect(anonymous.statusCode).toBe(401);
    }
    const missing = await get(`/api/v1/incidents/${id}/documents/diagnostics/nothing.svg`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ code: string }>().code).toBe('NotFound');
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/incidents/{id}/timeline',
        '/api/v1/incidents/{id}/documents',
        '/api/v1/incidents/{id}/documents/{*}',
      ]),
    );
  });

  it('still serves the timeline and documents once Temporal has deleted the incident', async () => {
    await expectEverythingServed();
    await run(inject('temporalCli'), [
      'workflow',
      'delete',
      '--address',
      inject('temporalAddress'),
      '--workflow-id',
      id,
    ]);
    await eventually(async () =>
      (await get(`/api/v1/incidents/${id}`)).statusCode === 404 ? true : undefined,
    );
    await expectEverythingServed();
    const html = await get(`/api/v1/incidents/${id}/documents/record.md`, 'alice', { accept: 'text/html' });
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await get(`/api/v1/incidents/${id}/documents/${CHART}`)).statusCode).toBe(200);
    expect((await get(`/api/v1/incidents/${id}/timeline`, 'frank')).statusCode).toBe(404);

    // The list shows it again, from the store, only when asked to and only to its team.
    type Listed = { incidents: { id: string; archived?: boolean; team: string; status: string }[] };
    const listed = async (query: string, who = 'alice') => {
      const res = await get(`/api/v1/incidents${query}`, who);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Listed>().incidents;
    };
    await eventually(async () => ((await listed('')).some((i) => i.id === id) ? undefined : true));
    expect((await listed('')).some((i) => i.id === id)).toBe(false);
    const archived = (await listed(`?include=archived&service=${SERVICE}`)).find((i) => i.id === id);
    expect(archived).toMatchObject({ id, archived: true, status: 'post-incident', team: 'payments' });
    expect(
      (await listed(`?include=archived&status=post-incident&service=${SERVICE}`)).some((i) => i.id === id),
    ).toBe(true);
    expect(
      (await listed(`?include=archived&status=closed&service=${SERVICE}`)).some((i) => i.id === id),
    ).toBe(false);
    expect((await listed('?include=archived&limit=200', 'frank')).some((i) => i.id === id)).toBe(false);
    // Alone, whatever Temporal still keeps: every one archived, this one among them.
    const only = await listed('?include=archived-only&limit=200');
    expect(only.every((i) => i.archived === true)).toBe(true);
    expect(only.some((i) => i.id === id)).toBe(true);
    expect((await listed('?include=archived-only&limit=200', 'frank')).some((i) => i.id === id)).toBe(false);
    expect((await get('/api/v1/incidents?include=everything')).statusCode).toBe(400);
  });
});
