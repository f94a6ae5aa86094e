/**
 * A real Prometheus Alertmanager in front of Baton, end to end: alerts fired and resolved
 * with amtool reach the API over HTTP as Alertmanager's webhook, re-sends and an HA pair's
 * duplicates open one incident with one initial page, wrong credentials and bad bodies are
 * refused, and an alert fired while Temporal is down is delivered by Alertmanager's retries
 * once Temporal is back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../api/app';
import { alertGroupWorkflowId } from '../api/incidents';
import { createTemporalClient } from '../api/temporal';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { startDevServer, type DevServer } from '../scripts/dev-server';
import { createBatonWorker } from '../worker/worker';
import type { IncidentState } from '../workflows/incident/state';
import {
  amtoolAdd,
  clusterStatus,
  startAlertmanager,
  type Alertmanager,
  type AmtoolAlert,
} from './support/alertmanager';
import { auth, buildTestApp, TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { cleanupsInReverse, groupKeyOf, receiverFor, terminateQueue } from './support/harness';
import { freePort } from './support/ports';
import { eventsOf } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

// ---------------------------------------------------------------------------------------------
// Clean-up: every process and folder this file starts is stopped and removed, in reverse order,
// whatever happened.

const onCleanup = cleanupsInReverse();

// ---------------------------------------------------------------------------------------------
// Baton as Alertmanager sees it: the API on a loopback port, and a record of every webhook
// request it answered.

interface Delivery {
  status: number;
  userAgent: string;
  /** The Alertmanager that sent it (its --web.external-url). */
  from?: string;
  groupKey?: string;
  notification?: 'firing' | 'resolved';
  alerts: { fingerprint: string; status: string; instance?: string }[];
  /** The incidents the 202 answer named. */
  incidents?: string[];
}

interface WebhookBody {
  groupKey?: string;
  status?: 'firing' | 'resolved';
  externalURL?: string;
  alerts?: { fingerprint?: string; status?: string; labels?: Record<string, string> }[];
}

/**
 * Records every request to the webhook with the status it was answered with. `settled()`
 * waits for requests still being handled (a caller that gave up does not stop the handler),
 * so the Temporal client is closed only once nothing uses it.
 */
function recordDeliveries(app: FastifyInstance): {
  deliveries: Delivery[];
  settled: () => Promise<void>;
} {
  const deliveries: Delivery[] = [];
  const answers = new WeakMap<object, unknown>();
  let handling = 0;
  app.addHook('onRequest', async () => {
    handling += 1;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    handling -= 1;
    if (request.routeOptions.url === '/webhooks/alertmanager' && typeof payload === 'string') {
      try {
        answers.set(request, JSON.parse(payload));
      } catch {
        // Not JSON: nothing to record.
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== '/webhooks/alertmanager') return;
    const body = (request.body ?? {}) as WebhookBody;
    const answer = answers.get(request) as { incidents?: string[] } | undefined;
    deliveries.push({
      status: reply.statusCode,
      userAgent: request.headers['user-agent'] ?? '',
      ...(body.externalURL ? { from: body.externalURL.replace(/\/$/, '') } : {}),
      ...(body.groupKey ? { groupKey: body.groupKey } : {}),
      ...(body.status ? { notification: body.status } : {}),
      alerts: (body.alerts ?? []).map((a) => ({
        fingerprint: a.fingerprint ?? '',
        status: a.status ?? '',
        ...(a.labels?.instance ? { instance: a.labels.instance } : {}),
      })),
      ...(answer?.incidents ? { incidents: answer.incidents } : {}),
    });
  });
  return {
    deliveries,
    settled: () =>
      eventually(() => (handling <= 0 ? true : undefined), 30_000).then(
        () => undefined,
        () => undefined,
      ),
  };
}

interface Baton {
  receiver: string;
  w: TestWorker;
  app: FastifyInstance;
  webhookUrl: string;
  deliveries: Delivery[];
}

/** A worker on its own task queue and the API listening on 127.0.0.1 at a free port. */
async function startBaton(name: string): Promise<Baton> {
  const w = await startTestWorker(testConfig(), `am-${name}`);
  onCleanup(`worker ${name}`, async () => {
    await w.stop();
    rmSync(w.dataDir, { recursive: true, force: true });
  });
  const app = await buildTestApp(w);
  const { deliveries, settled } = recordDeliveries(app);
  onCleanup(`api ${name}`, async () => {
    await app.close();
    await settled();
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  // Nothing may keep running on the shared worker's server once the file is done.
  onCleanup(`incidents ${name}`, () => terminateQueue(w.client, w.taskQueue));
  return { receiver: receiverFor(name), w, app, webhookUrl: `${address}/webhooks/alertmanager`, deliveries };
}

/** Every incident workflow ever started on a task queue (open or not), by id. */
async function incidentIds(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    ids.push(info.workflowId);
  }
  return ids.sort();
}

async function amStarted(options: Parameters<typeof startAlertmanager>[0], name: string) {
  const am = await startAlertmanager(options);
  onCleanup(`alertmanager ${name}`, () => am.stop());
  return am;
}

async function incident(app: FastifyInstance, id: string): Promise<IncidentState> {
  const response = await app.inject({
    method: 'GET',
    url: `/api/v1/incidents/${id}`,
    headers: auth('alice'),
  });
  if (response.statusCode !== 200) throw new Error(`GET ${id}: ${response.statusCode} ${response.body}`);
  return response.json<IncidentState>();
}

/** Polls the incident until `check` accepts it. */
function incidentWhen(
  app: FastifyInstance,
  id: string,
  check: (s: IncidentState) => boolean,
  timeoutMs = 30_000,
): Promise<IncidentState> {
  return eventually(async () => {
    const s = await incident(app, id);
    return check(s) ? s : undefined;
  }, timeoutMs);
}

/** Fails unless Temporal has no workflow with this id. */
async function expectNoWorkflow(client: Client, id: string): Promise<void> {
  const outcome = await client.workflow
    .getHandle(id)
    .describe()
    .then(
      (d) => `a workflow (${d.status.name})`,
      (err: unknown) => err,
    );
  expect(outcome).toBeInstanceOf(WorkflowNotFoundError);
}

/** Waits until Alertmanager logged a line matching `pattern`; on failure, shows its notifications. */
async function logged(am: Alertmanager, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  try {
    await eventually(() => (pattern.test(am.logs()) ? true : undefined), timeoutMs);
  } catch (err) {
    const notify = am
      .logs()
      .split('\n')
      .filter((line) => /notif|webhook|level=(warn|error)/i.test(line))
      .slice(-15);
    throw new Error(
      `${(err as Error).message}: Alertmanager never logged ${String(pattern)}; it said:\n${notify.join('\n')}`,
      { cause: err },
    );
  }
}

function from(deliveries: Delivery[], am: Alertmanager): Delivery[] {
  return deliveries.filter((d) => d.from === am.url);
}

function latency(instance: string, startsAt: Date, endsAt?: Date): AmtoolAlert {
  return {
    labels: { alertname: 'HighLatency', service: 'payments', severity: 'critical', instance },
    annotations: { summary: 'Checkout p99 latency above 2s' },
    startsAt,
    ...(endsAt ? { endsAt } : {}),
  };
}

const pages = (w: TestWorker, id: string) => w.outbox(id).filter((e) => e.notification.kind === 'page');

// ---------------------------------------------------------------------------------------------

describe('one Alertmanager in front of Baton', () => {
  let baton: Baton;
  let am: Alertmanager;
  const startsAt = new Date(Date.now() - 60_000);
  let id: string;

  beforeAll(async () => {
    baton = await startBaton('single');
    id = alertGroupWorkflowId(baton.receiver, groupKeyOf('HighLatency'));
    am = await amStarted(
      { receiver: baton.receiver, webhook: { url: baton.webhookUrl, bearer: TOKENS.webhook } },
      'single',
    );
  });

  it('opens one incident for the alert group, however often Alertmanager re-sends it', async () => {
    await amtoolAdd(am, latency('a', startsAt));
    // The first notification and at least two re-sends (repeat_interval 4s, flushes every 2s).
    const sent = await eventually(() => {
      const mine = from(baton.deliveries, am).filter((d) => d.groupKey === groupKeyOf('HighLatency'));
      return mine.length >= 3 ? mine : undefined;
    }, 60_000);
    const agent: unknown = expect.stringMatching(/^Alertmanager\//);
    expect(sent.map((d) => [d.status, d.userAgent, d.notification, d.incidents])).toEqual(
      sent.map(() => [202, agent, 'firing', [id]]),
    );
    expect(new Set(sent.map((d) => d.alerts[0]?.fingerprint)).size).toBe(1);

    // Exactly one workflow on this worker's queue: the group's.
    await eventually(async () =>
      (await incidentIds(baton.w.client, baton.w.taskQueue)).length ? 1 : undefined,
    );
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([id]);

    const s = await incident(baton.app, id);
    expect(s).toMatchObject({
      id,
      phase: 'triggered',
      severity: 'SEV1',
      service: 'payments',
      team: 'payments',
      title: 'Checkout p99 latency above 2s',
      origin: {
        kind: 'alertmanager',
        receiver: baton.receiver,
        groupKey: groupKeyOf('HighLatency'),
        externalURL: am.url,
      },
    });
    expect(s.alerts).toHaveLength(1);
    expect(s.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'HighLatency', service: 'payments', severity: 'critical', instance: 'a' },
      annotations: { summary: 'Checkout p99 latency above 2s' },
      startsAt: startsAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    expect(s.runbooks).toEqual([
      {
        alertname: 'HighLatency',
        url: 'https://runbooks.example.com/high-latency',
        steps: ['check the last deploy'],
      },
    ]);
    // Re-sends added nothing: one trigger, one page, no "alerts fired again".
    expect(eventsOf(s, 'triggered')).toHaveLength(1);
    expect(eventsOf(s, 'paged')).toHaveLength(1);
    expect(eventsOf(s, 'alerts-fired')).toHaveLength(0);
    const paged = await eventually(() => (pages(baton.w, id).length > 0 ? pages(baton.w, id) : undefined));
    expect(paged).toHaveLength(1);
    expect(paged[0]?.notification.responders.map((r) => r.id)).toEqual(['alice']);
  });

  it('adds a second alert of the same group to the same incident', async () => {
    const before = baton.deliveries.length;
    await amtoolAdd(am, latency('b', startsAt));
    const s = await incidentWhen(baton.app, id, (x) => x.alerts.length === 2);
    // Recorded once the answer is out, which can be a moment after the workflow has the alert.
    const joined = await eventually(() =>
      baton.deliveries
        .slice(before)
        .find((d) => d.alerts.some((a) => a.instance === 'b' && a.status === 'firing')),
    );
    expect(joined).toMatchObject({ status: 202, incidents: [id], groupKey: groupKeyOf('HighLatency') });
    const fingerprintB = joined.alerts.find((a) => a.instance === 'b')?.fingerprint;

    expect(s.alerts.map((a) => [a.labels.instance, a.status])).toEqual([
      ['a', 'firing'],
      ['b', 'firing'],
    ]);
    expect(eventsOf(s, 'alerts-fired').map((e) => e.details)).toEqual([{ fingerprints: [fingerprintB] }]);
    expect(eventsOf(s, 'triggered')).toHaveLength(1);
    expect(eventsOf(s, 'paged')).toHaveLength(1);
    expect(s.phase).toBe('triggered');
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([id]);
  });

  it('records alerts that resolve, and resolves the unacknowledged incident when all have cleared', async () => {
    await amtoolAdd(am, latency('a', startsAt, new Date()));
    const partly = await incidentWhen(baton.app, id, (x) => eventsOf(x, 'alerts-resolved').length >= 1);
    expect(partly.alerts.map((a) => [a.labels.instance, a.status])).toEqual([
      ['a', 'resolved'],
      ['b', 'firing'],
    ]);
    // One alert still firing: the incident stays open.
    expect(partly.phase).toBe('triggered');
    expect(partly.resolution).toBeUndefined();

    await amtoolAdd(am, latency('b', startsAt, new Date()));
    const cleared = await incidentWhen(baton.app, id, (x) => x.resolution !== undefined);
    expect(cleared.alerts.every((a) => a.status === 'resolved')).toBe(true);
    expect(eventsOf(cleared, 'alerts-resolved')).toHaveLength(2);
    expect(cleared.resolution).toMatchObject({ automatic: true, by: 'baton' });
    expect(eventsOf(cleared, 'resolved')).toHaveLength(1);
    expect(cleared.phase).not.toBe('triggered');
    // The last notification Alertmanager sent for the group was "resolved".
    const last = await eventually(() => {
      const d = from(baton.deliveries, am)
        .filter((x) => x.groupKey === groupKeyOf('HighLatency'))
        .at(-1);
      return d?.notification === 'resolved' ? d : undefined;
    });
    expect(last).toMatchObject({ status: 202, notification: 'resolved', incidents: [id] });
    expect(eventsOf(cleared, 'triggered')).toHaveLength(1);
    expect(eventsOf(cleared, 'paged')).toHaveLength(1);
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([id]);
  });

  it('keeps an acknowledged incident open when its alerts clear (unacknowledged-only policy)', async () => {
    const errorsId = alertGroupWorkflowId(baton.receiver, groupKeyOf('ErrorRate'));
    const errors = (endsAt?: Date): AmtoolAlert => ({
      labels: { alertname: 'ErrorRate', service: 'payments', severity: 'warning', instance: 'a' },
      annotations: { summary: 'Payments 5xx above 5%' },
      startsAt,
      ...(endsAt ? { endsAt } : {}),
    });
    await amtoolAdd(am, errors());
    const opened = await eventually(() => incident(baton.app, errorsId), 30_000);
    // The route for service=payments without severity=critical.
    expect(opened.severity).toBe('SEV3');
    expect(opened.runbooks).toEqual([]);
    const ack = await baton.app.inject({
      method: 'POST',
      url: `/api/v1/incidents/${errorsId}/acknowledge`,
      headers: auth('alice'),
      payload: {},
    });
    expect(ack.statusCode, ack.body).toBe(200);

    await amtoolAdd(am, errors(new Date()));
    const s = await incidentWhen(baton.app, errorsId, (x) => eventsOf(x, 'alerts-resolved').length >= 1);
    expect(s.alerts.map((a) => a.status)).toEqual(['resolved']);
    expect(s.phase).toBe('acknowledged');
    expect(s.resolution).toBeUndefined();
    expect(eventsOf(s, 'resolved')).toHaveLength(0);
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([errorsId, id].sort());
  });
});

describe('an HA pair of Alertmanagers', () => {
  let baton: Baton;
  let am1: Alertmanager;
  let am2: Alertmanager;

  beforeAll(async () => {
    baton = await startBaton('ha');
    const webhook = { url: baton.webhookUrl, bearer: TOKENS.webhook };
    const receiver = baton.receiver;
    // A peer timeout this short lets the second instance send before the first one's
    // notification log reaches it: Baton, not the gossip, has to absorb the duplicates.
    am1 = await amStarted({ receiver, webhook, cluster: { peers: [], peerTimeout: '10ms' } }, 'ha-1');
    am2 = await amStarted(
      { receiver, webhook, cluster: { peers: [am1.clusterAddress ?? ''], peerTimeout: '10ms' } },
      'ha-2',
    );
    await eventually(async () => {
      const [s1, s2] = await Promise.all([clusterStatus(am1), clusterStatus(am2)]);
      return s1.status === 'ready' && s2.status === 'ready' && s1.peers.length === 2 && s2.peers.length === 2
        ? true
        : undefined;
    }, 30_000);
  });

  it('opens one incident with one page when both receive the same alert', async () => {
    const startsAt = new Date(Date.now() - 30_000);
    const id = alertGroupWorkflowId(baton.receiver, groupKeyOf('HighLatency'));
    // As Prometheus does: every alert goes to every Alertmanager of the pair.
    await Promise.all([amtoolAdd(am1, latency('a', startsAt)), amtoolAdd(am2, latency('a', startsAt))]);

    const sent = await eventually(() => {
      const one = from(baton.deliveries, am1);
      const two = from(baton.deliveries, am2);
      return one.length >= 1 && two.length >= 1 && one.length + two.length >= 4
        ? [...one, ...two]
        : undefined;
    }, 60_000);
    expect(sent.map((d) => [d.status, d.groupKey, d.incidents])).toEqual(
      sent.map(() => [202, groupKeyOf('HighLatency'), [id]]),
    );

    await eventually(async () =>
      (await incidentIds(baton.w.client, baton.w.taskQueue)).length ? 1 : undefined,
    );
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([id]);
    const s = await incident(baton.app, id);
    expect(s.alerts).toHaveLength(1);
    expect(s.severity).toBe('SEV1');
    expect(eventsOf(s, 'triggered')).toHaveLength(1);
    expect(eventsOf(s, 'paged')).toHaveLength(1);
    expect(eventsOf(s, 'alerts-fired')).toHaveLength(0);
    const paged = await eventually(() => (pages(baton.w, id).length > 0 ? pages(baton.w, id) : undefined));
    expect(paged).toHaveLength(1);
  });
});

/** A notification as Alertmanager 0.25 sends it (webhook payload version 4). */
function notification(
  receiver: string,
  alertname: string,
  status: 'firing' | 'resolved',
  instances: string[] = ['a'],
): Record<string, unknown> {
  return {
    receiver,
    status,
    alerts: instances.map((instance, i) => ({
      status,
      labels: { alertname, service: 'payments', severity: 'critical', instance },
      annotations: { summary: `${alertname} on payments` },
      startsAt: '2026-11-26T10:00:00Z',
      endsAt: status === 'resolved' ? '2026-11-26T10:05:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.example:9090/graph?g0.expr=${alertname}`,
      fingerprint: `f${i}${alertname.length.toString(16).padStart(15, '0')}`,
    })),
    groupLabels: { alertname, service: 'payments' },
    commonLabels: { alertname, service: 'payments', severity: 'critical' },
    commonAnnotations: { summary: `${alertname} on payments` },
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: groupKeyOf(alertname),
    truncatedAlerts: 0,
  };
}

describe('requests Baton refuses', () => {
  let baton: Baton;
  beforeAll(async () => {
    baton = await startBaton('refusals');
  });

  async function post(body: unknown, authorization?: string): Promise<Response> {
    return fetch(baton.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Alertmanager/0.25.0',
        ...(authorization ? { authorization } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  it('answers an Alertmanager with the wrong token 401, and starts nothing', async () => {
    const am = await amStarted(
      { receiver: baton.receiver, webhook: { url: baton.webhookUrl, bearer: 'not-the-webhook-token' } },
      'wrong',
    );
    await amtoolAdd(am, latency('a', new Date()));
    // Alertmanager does not retry a 4xx within a flush, but tries again at the next one.
    const refused = await eventually(() => {
      const mine = baton.deliveries.filter((d) => d.status === 401 && /^Alertmanager\//.test(d.userAgent));
      return mine.length >= 2 ? mine : undefined;
    }, 30_000);
    // Credentials are checked before the body is read.
    expect(refused.every((d) => d.groupKey === undefined)).toBe(true);
    await logged(am, /unexpected status code 401/);
    await am.stop();

    await expectNoWorkflow(baton.w.client, alertGroupWorkflowId(baton.receiver, groupKeyOf('HighLatency')));
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([]);
  });

  it('answers 401 to a realistic notification with a wrong or missing token', async () => {
    for (const authorization of [
      `Bearer ${TOKENS.webhook}x`,
      'Bearer ',
      `Basic ${btoa(`baton:${TOKENS.webhook}`)}`,
      undefined,
    ]) {
      const response = await post(notification(baton.receiver, 'DiskFull', 'firing'), authorization);
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await response.json()).toMatchObject({ code: 'Unauthorized' });
    }
    await expectNoWorkflow(baton.w.client, alertGroupWorkflowId(baton.receiver, groupKeyOf('DiskFull')));
  });

  it('answers 400 with the issues to a malformed notification', async () => {
    const bearer = `Bearer ${TOKENS.webhook}`;
    const body = { ...notification(baton.receiver, 'DiskFull', 'firing'), status: 'burning', alerts: [] };
    const response = await post(body, bearer);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { code: string; issues: { path: string; message: string }[] };
    expect(answer.code).toBe('InvalidInput');
    expect(answer.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['body.status', 'body.alerts']));

    const noFingerprint = notification(baton.receiver, 'DiskFull', 'firing') as {
      alerts: Record<string, unknown>[];
    };
    delete noFingerprint.alerts[0]?.fingerprint;
    const missing = await post(noFingerprint, bearer);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'body.alerts.0.fingerprint',
    ]);

    const notJson = await post('{"receiver": "baton", ', bearer);
    expect(notJson.status).toBe(400);
    await expectNoWorkflow(baton.w.client, alertGroupWorkflowId(baton.receiver, groupKeyOf('DiskFull')));
  });

  it('answers 413 only to a body over 16 MiB', async () => {
    const body = notification(baton.receiver, 'DiskFull', 'firing') as {
      commonAnnotations: Record<string, string>;
    };
    body.commonAnnotations.description = 'x'.repeat(16 * 1024 * 1024);
    const response = await baton.app.inject({
      method: 'POST',
      url: '/webhooks/alertmanager',
      headers: { authorization: `Bearer ${TOKENS.webhook}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(response.statusCode).toBe(413);
    await expectNoWorkflow(baton.w.client, alertGroupWorkflowId(baton.receiver, groupKeyOf('DiskFull')));
  });

  it('answers 202 with no incident to a resolved notification for a group without one', async () => {
    const response = await post(
      notification(baton.receiver, 'QueueBacklog', 'resolved', ['a', 'b']),
      `Bearer ${TOKENS.webhook}`,
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ incidents: [] });
    await expectNoWorkflow(baton.w.client, alertGroupWorkflowId(baton.receiver, groupKeyOf('QueueBacklog')));
    expect(await incidentIds(baton.w.client, baton.w.taskQueue)).toEqual([]);
  });
});

describe('an alert group whose labels are too large for Temporal', () => {
  let w: TestWorker;
  let app: FastifyInstance;
  let webhookUrl: string;
  type LogLine = { level: number; msg: string; [field: string]: unknown };
  const logged: LogLine[] = [];

  beforeAll(async () => {
    w = await startTestWorker(testConfig(), 'am-large-labels');
    onCleanup('worker large-labels', async () => {
      await w.stop();
      rmSync(w.dataDir, { recursive: true, force: true });
    });
    const config: BatonConfig = {
      ...w.config,
      temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
      api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
    };
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line) logged.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    app = await buildApp({
      config,
      secrets: loadSecrets(config, TOKEN_ENV),
      temporal: w.client,
      logger: { level: 'warn', stream },
    });
    onCleanup('api large-labels', () => app.close());
    onCleanup('incidents large-labels', () => terminateQueue(w.client, w.taskQueue));
    webhookUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}/webhooks/alertmanager`;
  });

  it('opens the incident with the oversized label values cut, logged and recorded on the alert', async () => {
    const receiver = receiverFor('large-labels');
    const body = notification(receiver, 'PodCrashLooping', 'firing') as {
      alerts: { labels: Record<string, string> }[];
      commonLabels: Record<string, string>;
    };
    // A relabelling mistake that copies a pod's spec and annotations into labels: 1.5 MB of
    // labels, which Alertmanager repeats in commonLabels for a group of one alert.
    const huge = { pod_spec: 's'.repeat(1_000_000), pod_annotations: 'a'.repeat(500_000) };
    Object.assign(body.alerts[0]?.labels ?? {}, huge);
    Object.assign(body.commonLabels, huge);
    const response = await fetch(webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Alertmanager/0.25.0',
        authorization: `Bearer ${TOKENS.webhook}`,
      },
      body: JSON.stringify(body),
    });
    const id = alertGroupWorkflowId(receiver, groupKeyOf('PodCrashLooping'));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 202,
      body: { incidents: [id] },
    });

    const s = await incidentWhen(app, id, (x) => eventsOf(x, 'paged').length >= 1);
    expect(s).toMatchObject({ phase: 'triggered', severity: 'SEV1', service: 'payments' });
    const [recorded, ...others] = s.alerts;
    expect(others).toEqual([]);
    expect(recorded?.labels).toMatchObject({ alertname: 'PodCrashLooping', instance: 'a' });
    expect(recorded?.labels.pod_spec).toMatch(/^s+…$/);
    expect(recorded?.annotations.baton_labels_truncated).toMatch(
      /^pod_spec \(\d{6} of 1000000 bytes cut\); pod_annotations \(\d{6} of 500000 bytes cut\)$/,
    );
    expect(recorded?.annotations.summary).toBe('PodCrashLooping on payments');

    const warning = logged.find((l) => /labels too large/.test(l.msg));
    expect(warning).toMatchObject({ level: 40, incident: id, groupKey: groupKeyOf('PodCrashLooping') });
    expect(warning?.cut).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\[0\]\.labels\.pod_spec \(\d{6} of 1000000 bytes cut\)$/),
        expect.stringMatching(/^commonLabels\.pod_annotations \(\d{6} of 500000 bytes cut\)$/),
      ]),
    );
    expect(JSON.stringify(warning).length).toBeLessThan(10_000);
  });
});

// Last in the file: its worker connects without startTestWorker, which installs the SDK
// runtime for the whole process the first time it runs.
describe('Temporal down while Alertmanager notifies', () => {
  const cli = inject('temporalCli');
  const receiver = receiverFor('temporal-down');
  let dir: string;
  let dbFile: string;
  let port: number;
  let server: DevServer | undefined;
  let worker: { stop(): Promise<void> } | undefined;
  let config: BatonConfig;
  let app: FastifyInstance;
  let deliveries: Delivery[];
  let client: Client;

  /** A Baton worker against the second server, as worker/main.ts would build it. */
  async function startWorker(): Promise<{ stop(): Promise<void> }> {
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    let w: Worker;
    try {
      w = await createBatonWorker({
        config,
        secrets: loadSecrets(config, {}),
        connection,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        log: () => undefined,
      });
    } catch (err) {
      await connection.close();
      throw err;
    }
    const running = w.run();
    return {
      async stop() {
        w.shutdown();
        await running;
        await connection.close();
      },
    };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'baton-temporal-down-'));
    onCleanup('temporal-down folder', () => rmSync(dir, { recursive: true, force: true }));
    dbFile = path.join(dir, 'temporal.db');
    port = await freePort();
    server = await startDevServer({ cli, port, dbFile });
    onCleanup('second Temporal server', () => server?.stop());
    config = testConfig((c) => {
      c.dataDir = path.join(dir, 'data');
      c.temporal = { address: `127.0.0.1:${port}`, taskQueue: 'am-temporal-down' };
      c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    });
    worker = await startWorker();
    onCleanup('worker of the second server', () => worker?.stop());
    const secrets = loadSecrets(config, TOKEN_ENV);
    // The API's own client, as in production: a lazy connection made on first use.
    client = createTemporalClient(config, secrets);
    onCleanup('API client of the second server', () => client.connection.close());
    app = await buildApp({ config, secrets, temporal: client });
    const recorded = recordDeliveries(app);
    deliveries = recorded.deliveries;
    onCleanup('API of the second server', async () => {
      await app.close();
      await recorded.settled();
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  });

  it('answers 503 while Temporal is down, and the incident opens from Alertmanager’s retry once it is back', async () => {
    const address = app.server.address();
    const webhookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/webhooks/alertmanager`;
    // Connected once, as an API that has been running for a while.
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    await worker?.stop();
    worker = undefined;
    await server?.stop();
    server = undefined;

    // /readyz answers from a check at most 5 s old (health.ts): it turns 503 within that.
    await eventually(async () => {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      return ready.statusCode === 503 ? true : undefined;
    }, 10_000);
    const direct = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.webhook}` },
      body: JSON.stringify(notification(receiver, 'DiskFull', 'firing')),
    });
    expect(direct.status).toBe(503);
    expect(await direct.json()).toMatchObject({ code: 'TemporalUnavailable' });

    const am = await amStarted(
      { receiver, webhook: { url: webhookUrl, bearer: TOKENS.webhook } },
      'temporal-down',
    );
    await amtoolAdd(am, latency('a', new Date(Date.now() - 10_000)));
    // What Alertmanager itself saw: a 503, which it retries.
    await logged(am, /unexpected status code 503/, 60_000);
    expect(am.logs()).not.toMatch(/unexpected status code 4\d\d/);

    server = await startDevServer({ cli, port, dbFile });
    worker = await startWorker();

    const id = alertGroupWorkflowId(receiver, groupKeyOf('HighLatency'));
    const s = await incidentWhen(app, id, (x) => eventsOf(x, 'paged').length >= 1, 90_000);
    expect(s).toMatchObject({
      phase: 'triggered',
      severity: 'SEV1',
      origin: { groupKey: groupKeyOf('HighLatency') },
    });
    expect(s.alerts.map((a) => a.labels.instance)).toEqual(['a']);
    expect(eventsOf(s, 'triggered')).toHaveLength(1);
    expect(deliveries.some((d) => d.from === am.url && d.status === 202 && d.incidents?.[0] === id)).toBe(
      true,
    );
    // The 503 was an answer, not an acceptance: the direct request opened nothing.
    await expectNoWorkflow(client, alertGroupWorkflowId(receiver, groupKeyOf('DiskFull')));
    await eventually(async () => {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      return ready.statusCode === 200 ? true : undefined;
    }, 10_000);
    await client.workflow.getHandle(id).terminate('test finished');
  });
});
