import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentState } from '../workflows/incident/state';
import { buildApp } from '../api/app';
import { loadSecrets } from '../config/secrets';
import { auth, buildTestApp, TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'api');
  app = await buildTestApp(w);
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
});

async function declare(title = 'Checkout latency'): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: auth('alice'),
    payload: { title, service: 'payments', severity: 'SEV2' },
  });
  expect(response.statusCode).toBe(201);
  return response.json<{ id: string }>().id;
}

async function post(
  id: string,
  path: string,
  who: Parameters<typeof auth>[0],
  payload: object,
  headers = {},
) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/incidents/${id}/${path}`,
    headers: { ...auth(who), ...headers },
    payload,
  });
}

describe('the incident API', () => {
  it('declares an incident that starts paging and can be read back', async () => {
    const id = await declare();
    // Its first task takes the team's policy from the configuration, then pages.
    const state = await eventually(async () => {
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/incidents/${id}`,
        headers: auth('bob'),
      });
      expect(response.statusCode).toBe(200);
      const read = response.json<IncidentState>();
      return read.timeline.length >= 2 ? read : undefined;
    });
    expect(state).toMatchObject({
      id,
      phase: 'triggered',
      severity: 'SEV2',
      service: 'payments',
      team: 'payments',
    });
    expect(state.origin).toEqual({ kind: 'manual', declaredBy: 'alice' });
    expect(state.timeline.map((e) => e.kind)).toEqual(['triggered', 'paged']);
  });

  it('drives an incident through every step to closed', async () => {
    const id = await declare('Card payments failing');
    const ok = async (path: string, who: Parameters<typeof auth>[0], payload: object) => {
      const response = await post(id, path, who, payload);
      expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
      return response.json<IncidentState>();
    };
    expect((await ok('acknowledge', 'alice', {})).phase).toBe('acknowledged');
    expect(
      (
        await ok('assessment', 'alice', {
          severity: 'SEV1',
          urgency: 'high',
          impact: 'checkout down',
          observations: '502s',
        })
      ).severity,
    ).toBe('SEV1');
    expect(
      (await ok('actions', 'alice', { kind: 'restart', description: 'restart api', result: 'no change' }))
        .phase,
    ).toBe('mitigating');
    expect((await ok('escalate', 'alice', { reason: 'needs the provider experts' })).phase).toBe('escalated');
    expect((await ok('handover', 'carol', { notes: 'have it' })).holder).toBe('carol');
    expect(
      (await ok('communications', 'carol', { audience: 'internal', message: 'failover in progress' }))
        .communications,
    ).toHaveLength(1);
    expect(
      (await ok('communications', 'dave', { audience: 'external', message: 'Payments are degraded.' }))
        .communications,
    ).toHaveLength(2);
    expect((await ok('resolve', 'carol', { summary: 'failed over' })).phase).toBe('post-incident');
    await ok('report', 'carol', {
      summary: 's',
      rootCause: 'rc',
      actionsAndResults: 'a',
      recommendations: 'r',
    });
    const lessons = await ok('lessons', 'carol', {
      lessons: ['alert earlier'],
      processImprovements: ['add a failover runbook'],
      actionItems: [{ title: 'failover runbook', owner: 'bob', dueDate: '2027-01-15' }],
    });
    const item = lessons.followUps.find((f) => f.kind === 'action-item');
    expect(item?.owner).toBe('bob');
    await ok(`action-items/${item?.id ?? 'missing'}/complete`, 'bob', { note: 'written' });
    // The process improvement is tracked too: done only when it names what changed.
    const improvement = lessons.followUps.find((f) => f.kind === 'improvement');
    expect(improvement).toMatchObject({ id: 'improvement-1', owner: 'carol', status: 'open' });
    const vague = await post(id, 'action-items/improvement-1/complete', 'carol', { note: 'done' });
    expect(vague.statusCode).toBe(400);
    expect(vague.json<{ error: string }>().error).toMatch(/names what changed/);
    await ok('action-items/improvement-1/complete', 'carol', {
      changed: 'https://runbooks.example.com/payments-failover',
    });
    const waived = await ok('waivers', 'dave', {
      followUpId: 'training',
      reason: 'covered by last week’s drill',
    });
    expect(waived.followUps.find((f) => f.id === 'training')?.status).toBe('waived');
    const closed = await eventually(async () => {
      const state = (
        await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('alice') })
      ).json<IncidentState>();
      return state.phase === 'closed' ? state : undefined;
    });
    expect(closed.timeline.at(-1)?.kind).toBe('closed');

    const closedStep = await post(id, 'acknowledge', 'bob', {});
    expect(closedStep.statusCode).toBe(409);
    expect(closedStep.json<{ error: string }>().error).toMatch(/closed/);
  });

  it('answers 409 with the workflow’s reason for a refused move, and changes nothing', async () => {
    const id = await declare();
    const early = await post(id, 'handover', 'carol', { notes: 'x' });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({
      code: 'InvalidMove',
      error: expect.stringMatching(/not been escalated/) as unknown,
    });
    await post(id, 'acknowledge', 'alice', {});
    const twice = await post(id, 'acknowledge', 'bob', {});
    expect(twice.statusCode).toBe(409);
    expect(twice.json<{ error: string }>().error).toMatch(/already acknowledged by alice/);
    const report = await post(id, 'report', 'alice', {
      summary: 's',
      rootCause: 'r',
      actionsAndResults: 'a',
      recommendations: 'r',
    });
    expect(report.statusCode).toBe(409);
    const state = (
      await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('alice') })
    ).json<IncidentState>();
    expect(state.acknowledgedBy).toBe('alice');
    expect(state.timeline.filter((e) => e.kind === 'acknowledged')).toHaveLength(1);
  });

  it('answers 403 when the token’s owner may not take the step', async () => {
    const id = await declare();
    await post(id, 'acknowledge', 'alice', {});
    await post(id, 'escalate', 'alice', { reason: 'stuck' });
    const l2Handover = await post(id, 'handover', 'bob', { notes: 'I am not L3' });
    expect(l2Handover.statusCode).toBe(403);
    expect(l2Handover.json()).toMatchObject({ code: 'NotPermitted' });
    const external = await post(id, 'communications', 'alice', {
      audience: 'external',
      message: 'hello customers',
    });
    expect(external.statusCode).toBe(403);
    await post(id, 'resolve', 'alice', { summary: 'done' });
    const waiver = await post(id, 'waivers', 'alice', { followUpId: 'report', reason: 'no' });
    expect(waiver.statusCode).toBe(403);
  });

  it('answers 400 naming the field for a malformed body, and 401 without a valid token', async () => {
    const id = await declare();
    const bad = await post(id, 'assessment', 'alice', { severity: 'SEV9', urgency: 'high', impact: 'x' });
    expect(bad.statusCode).toBe(400);
    const body = bad.json<{ issues: { path: string }[] }>();
    expect(body.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['body.severity', 'body.observations']),
    );
    const extra = await post(id, 'acknowledge', 'alice', { actor: 'dave' });
    expect(extra.statusCode).toBe(400);

    const missing = await app.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/acknowledge`,
      payload: {},
    });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/Bearer/);
    const wrong = await app.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/acknowledge`,
      headers: { authorization: 'Bearer not-a-token' },
      payload: {},
    });
    expect(wrong.statusCode).toBe(401);
    const list = await app.inject({ method: 'GET', url: '/api/v1/incidents' });
    expect(list.statusCode).toBe(401);
    const declareBad = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: auth('alice'),
      payload: { title: '', service: 'pay ments' },
    });
    expect(declareBad.statusCode).toBe(400);
  });

  it('answers 404 for an unknown incident', async () => {
    const get = await app.inject({
      method: 'GET',
      url: '/api/v1/incidents/incident-nope',
      headers: auth('alice'),
    });
    expect(get.statusCode).toBe(404);
    const step = await post('incident-nope', 'acknowledge', 'alice', {});
    expect(step.statusCode).toBe(404);
    const note = await post('incident-nope', 'notes', 'alice', { text: 'hello' });
    expect(note.statusCode).toBe(404);
  });

  it('treats a retried request with the same Idempotency-Key as the same request', async () => {
    const key = { 'idempotency-key': `declare-${Date.now()}` };
    const first = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...auth('alice'), ...key },
      payload: { title: 'Retry me', service: 'payments' },
    });
    const second = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...auth('alice'), ...key },
      payload: { title: 'Retry me', service: 'payments' },
    });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    const id = first.json<{ id: string }>().id;
    expect(second.json<{ id: string }>().id).toBe(id);

    const action = { kind: 'diagnostic', description: 'pulled logs', result: 'timeouts to the provider' };
    await post(id, 'acknowledge', 'alice', {});
    const a = await post(id, 'actions', 'alice', action, { 'idempotency-key': 'action-1' });
    const b = await post(id, 'actions', 'alice', action, { 'idempotency-key': 'action-1' });
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(b.json<IncidentState>().actions).toHaveLength(1);
    const c = await post(id, 'actions', 'alice', action, { 'idempotency-key': 'action-2' });
    expect(c.json<IncidentState>().actions).toHaveLength(2);
  });

  it('accepts notes and lists incidents with filters', async () => {
    const id = await declare('Listed incident');
    const note = await post(id, 'notes', 'bob', { text: 'customer reports from EU' });
    expect(note.statusCode).toBe(202);
    await eventually(async () => {
      const state = (
        await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('bob') })
      ).json<IncidentState>();
      return state.notes.some((n) => n.by === 'bob' && n.text === 'customer reports from EU')
        ? true
        : undefined;
    });
    await post(id, 'acknowledge', 'bob', {});
    const listed = await eventually(async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/api/v1/incidents?status=acknowledged&service=payments&assignee=bob',
        headers: auth('alice'),
      });
      expect(response.statusCode).toBe(200);
      const found = response.json<{ incidents: { id: string; title: string; assignee: string }[] }>()
        .incidents;
      return found.find((i) => i.id === id);
    });
    expect(listed).toMatchObject({ title: 'Listed incident', assignee: 'bob' });
    const badFilter = await app.inject({
      method: 'GET',
      url: "/api/v1/incidents?service=x'%20OR%201=1",
      headers: auth('alice'),
    });
    expect(badFilter.statusCode).toBe(400);
  });

  it('serves the OpenAPI document and a browsable page', async () => {
    const json = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(json.statusCode).toBe(200);
    type Operation = { post?: { parameters?: { in: string; name: string }[] } };
    const doc = json.json<{ paths: Record<string, Operation> }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/webhooks/alertmanager',
        '/api/v1/incidents',
        '/api/v1/incidents/{id}/escalate',
        '/api/v1/incidents/{id}/training/confirmations',
        '/api/v1/incidents/{id}/customer-messages',
      ]),
    );
    // Steps whose path names more than the incident say so.
    const inPath = (route: string) =>
      doc.paths[route]?.post?.parameters?.filter((p) => p.in === 'path').map((p) => p.name);
    expect(inPath('/api/v1/incidents/{id}/action-items/{itemId}/complete')).toEqual(['id', 'itemId']);
    expect(inPath('/api/v1/incidents/{id}/customer-messages/{draftId}/approve')).toEqual(['id', 'draftId']);
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
  });
});

describe('the incident API when things go sideways', () => {
  it('refuses an Idempotency-Key reused for a different step, and accepts a long key', async () => {
    const id = await declare('Key reuse');
    const key = { 'idempotency-key': 'k'.repeat(199) };
    expect((await post(id, 'acknowledge', 'alice', {}, key)).statusCode).toBe(200);
    expect((await post(id, 'acknowledge', 'alice', {}, key)).statusCode).toBe(200);
    const reused = await post(id, 'resolve', 'alice', { summary: 'done' }, key);
    expect(reused.statusCode).toBe(400);
    expect(reused.json<{ error: string }>().error).toMatch(/already used for acknowledge/);
    const s = (
      await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('alice') })
    ).json<IncidentState>();
    expect(s.phase).toBe('acknowledged');
  });

  it('answers 504 instead of hanging when no worker runs the incident', async () => {
    const orphanApp = await buildApp({
      config: {
        ...w.config,
        temporal: { ...w.config.temporal, taskQueue: `nobody-polls-${Date.now()}` },
        api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
      },
      secrets: loadSecrets(w.config, TOKEN_ENV),
      temporal: w.client,
      answerWithinMs: 1_500,
    });
    try {
      const declared = await orphanApp.inject({
        method: 'POST',
        url: '/api/v1/incidents',
        headers: auth('alice'),
        payload: { title: 'Nobody home', service: 'payments' },
      });
      expect(declared.statusCode).toBe(201);
      const id = declared.json<{ id: string }>().id;
      const step = await orphanApp.inject({
        method: 'POST',
        url: `/api/v1/incidents/${id}/acknowledge`,
        headers: auth('alice'),
        payload: {},
      });
      expect(step.statusCode).toBe(504);
      expect(step.json<{ error: string }>().error).toMatch(/worker/);
      const read = await orphanApp.inject({
        method: 'GET',
        url: `/api/v1/incidents/${id}`,
        headers: auth('alice'),
      });
      expect(read.statusCode).toBe(504);
      await w.client.workflow.getHandle(id).terminate('test finished');
    } finally {
      await orphanApp.close();
    }
  });

  it('opens no second incident when Alertmanager re-sends alerts of a closed one, but does for a new firing', async () => {
    const receiver = `resend-${Date.now()}`;
    const payload = (startsAt: string) => ({
      version: '4',
      status: 'firing',
      receiver,
      groupKey: `{}:{alertname="HighLatency"}`,
      groupLabels: { alertname: 'HighLatency' },
      commonLabels: { alertname: 'HighLatency', service: 'payments' },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighLatency', service: 'payments' },
          annotations: {},
          startsAt,
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example/graph',
          fingerprint: 'resend-fp',
        },
      ],
    });
    const webhook = (body: object) =>
      app.inject({
        method: 'POST',
        url: '/webhooks/alertmanager',
        headers: { authorization: `Bearer ${TOKENS.webhook}` },
        payload: body,
      });

    const first = await webhook(payload('2026-11-26T10:00:00Z'));
    expect(first.statusCode).toBe(202);
    const [id] = first.json<{ incidents: string[] }>().incidents;
    if (!id) throw new Error('no incident');
    await post(id, 'acknowledge', 'alice', {});
    const resolved = await post(id, 'resolve', 'alice', { summary: 'fixed' });
    // A SEV3 incident owes its final report, and nothing more.
    expect(resolved.json<IncidentState>().followUps.map((f) => f.id)).toEqual(['report']);
    expect((await post(id, 'waivers', 'dave', { followUpId: 'report', reason: 'test' })).statusCode).toBe(
      200,
    );
    await eventually(async () =>
      (await w.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED' ? true : undefined,
    );

    const resent = await webhook(payload('2026-11-26T10:00:00Z'));
    expect(resent.statusCode).toBe(202);
    expect(resent.json<{ incidents: string[] }>().incidents).toEqual([]);
    expect((await w.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');

    const again = await webhook(payload('2026-11-26T11:00:00Z'));
    expect(again.json<{ incidents: string[] }>().incidents).toEqual([id]);
    const reopened = await w.client.workflow.getHandle(id).describe();
    expect(reopened.status.name).toBe('RUNNING');
    await w.client.workflow.getHandle(id).terminate('test finished');
  });
});
