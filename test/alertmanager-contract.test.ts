/**
 * Alertmanager retries a 5xx and drops a 4xx: Baton must never answer 4xx to a notification
 * it could take. Large groups from a real Alertmanager (1,500 alerts, a 5 MiB body, a group
 * cut by `max_alerts`), label and annotation names such as `__proto__` and `constructor`,
 * a Temporal without Baton's namespace or overloaded, and a webhook without credentials.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, UNAUTHENTICATED_WEBHOOK } from '../api/app';
import { alertGroupWorkflowId } from '../api/incidents';
import { createTemporalClient } from '../api/temporal';
import { ConfigError } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { startDevServer } from '../scripts/dev-server';
import type { IncidentState } from '../workflows/incident/state';
import {
  amtoolAdd,
  postAlerts,
  startAlertmanager,
  type Alertmanager,
  type AlertmanagerOptions,
  type AmtoolAlert,
} from './support/alertmanager';
import { auth, TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { cleanupsInReverse, groupKeyOf, receiverFor, terminateQueue } from './support/harness';
import { freePort } from './support/ports';
import { eventsOf } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

// ---------------------------------------------------------------------------------------------
// Clean-up, in reverse order, whatever happened.

const onCleanup = cleanupsInReverse();

// ---------------------------------------------------------------------------------------------
// Baton as Alertmanager sees it: the API on a loopback port, its log, and every webhook answer.

interface Delivery {
  status: number;
  /** The Alertmanager that sent it (its --web.external-url). */
  from?: string;
  groupKey?: string;
  alerts: number;
  truncatedAlerts?: number;
  /** Size of the body as sent. */
  bytes: number;
  incidents?: string[];
}

interface Baton {
  w: TestWorker;
  app: FastifyInstance;
  webhookUrl: string;
  deliveries: Delivery[];
  /** The API's log, one parsed JSON line each. */
  log: Record<string, unknown>[];
}

function logStream(into: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        into.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

function recordDeliveries(app: FastifyInstance): Delivery[] {
  const deliveries: Delivery[] = [];
  const answers = new WeakMap<object, { incidents?: string[] }>();
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.routeOptions.url === '/webhooks/alertmanager' && typeof payload === 'string') {
      try {
        answers.set(request, JSON.parse(payload) as { incidents?: string[] });
      } catch {
        // Not JSON: nothing to record.
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url !== '/webhooks/alertmanager') return;
    const body = (request.body ?? {}) as {
      groupKey?: string;
      externalURL?: string;
      truncatedAlerts?: number;
      alerts?: unknown[];
    };
    const answer = answers.get(request);
    deliveries.push({
      status: reply.statusCode,
      ...(body.externalURL ? { from: body.externalURL.replace(/\/$/, '') } : {}),
      ...(body.groupKey ? { groupKey: body.groupKey } : {}),
      alerts: body.alerts?.length ?? 0,
      ...(body.truncatedAlerts !== undefined ? { truncatedAlerts: body.truncatedAlerts } : {}),
      bytes: Number(request.headers['content-length'] ?? 0),
      ...(answer?.incidents ? { incidents: answer.incidents } : {}),
    });
  });
  return deliveries;
}

/** A worker on its own task queue and the API (webhook bearer WEBHOOK_TOKEN) on a free port. */
async function startBaton(name: string): Promise<Baton> {
  const w = await startTestWorker(testConfig(), `amc-${name}`);
  onCleanup(`worker ${name}`, async () => {
    await w.stop();
    rmSync(w.dataDir, { recursive: true, force: true });
  });
  const config: BatonConfig = {
    ...w.config,
    temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
    api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
  const log: Record<string, unknown>[] = [];
  const app = await buildApp({
    config,
    secrets: loadSecrets(config, TOKEN_ENV),
    temporal: w.client,
    logger: { level: 'info', stream: logStream(log) },
  });
  const deliveries = recordDeliveries(app);
  onCleanup(`api ${name}`, () => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onCleanup(`incidents ${name}`, () => terminateQueue(w.client, w.taskQueue));
  return { w, app, webhookUrl: `${address}/webhooks/alertmanager`, deliveries, log };
}

async function amStarted(options: AlertmanagerOptions, name: string): Promise<Alertmanager> {
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

function incidentWhen(
  app: FastifyInstance,
  id: string,
  check: (s: IncidentState) => boolean,
  timeoutMs = 60_000,
): Promise<IncidentState> {
  return eventually(async () => {
    const s = await incident(app, id);
    return check(s) ? s : undefined;
  }, timeoutMs);
}

/** `count` alerts of one group, as a fleet-wide outage fires them: one per instance. */
function flood(alertname: string, count: number, description = ''): AmtoolAlert[] {
  const startsAt = new Date(Date.now() - 60_000);
  return Array.from({ length: count }, (_, i) => ({
    labels: { alertname, service: 'payments', severity: 'critical', instance: `node-${i}` },
    annotations: { summary: `${alertname} on payments`, ...(description ? { description } : {}) },
    startsAt,
  }));
}

/** A notification as Alertmanager 0.25 sends it (webhook payload version 4). */
function notification(receiver: string, alertname: string): Record<string, unknown> {
  return {
    receiver,
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: { alertname, service: 'payments', severity: 'critical', instance: 'a' },
        annotations: { summary: `${alertname} on payments` },
        startsAt: '2026-11-26T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: `f0${alertname.length.toString(16).padStart(15, '0')}`,
      },
    ],
    groupLabels: { alertname, service: 'payments' },
    commonLabels: { alertname, service: 'payments', severity: 'critical' },
    commonAnnotations: { summary: `${alertname} on payments` },
    externalURL: 'http://alertmanager.example:9093',
    version: '4',
    groupKey: groupKeyOf(alertname),
    truncatedAlerts: 0,
  };
}

// ---------------------------------------------------------------------------------------------

describe('large alert groups from a real Alertmanager', () => {
  let baton: Baton;
  let am: Alertmanager;
  const receiver = receiverFor('large');

  beforeAll(async () => {
    baton = await startBaton('large');
    // One notification per group: no re-sends to wait through while the tests look.
    am = await amStarted(
      {
        receiver,
        webhook: { url: baton.webhookUrl, bearer: TOKENS.webhook },
        groupInterval: '5s',
        repeatInterval: '1h',
      },
      'large',
    );
  });

  it('takes a group of 1,500 alerts: the incident keeps 500 and counts the other 1,000', async () => {
    const id = alertGroupWorkflowId(receiver, groupKeyOf('NodeDown'));
    await postAlerts(am, flood('NodeDown', 1_500));
    const sent = await eventually(
      () =>
        baton.deliveries.find((d) => d.groupKey === groupKeyOf('NodeDown') && d.alerts === 1_500) ??
        undefined,
      60_000,
    );
    expect(sent).toMatchObject({ status: 202, incidents: [id], from: am.url });
    // Nothing about this group was ever refused.
    expect(
      baton.deliveries.filter(
        (d) => d.from === am.url && d.groupKey === groupKeyOf('NodeDown') && d.status !== 202,
      ),
    ).toEqual([]);

    const s = await incidentWhen(baton.app, id, (x) => x.alerts.length + (x.alertsOmitted ?? 0) >= 1_500);
    expect(s.alerts).toHaveLength(500);
    expect(s.alertsOmitted).toBe(1_000);
    expect(new Set(s.alerts.map((a) => a.labels.instance)).size).toBe(500);
    expect(s.title).toBe('NodeDown on payments');
    expect(eventsOf(s, 'triggered')).toHaveLength(1);
    expect(eventsOf(s, 'paged')).toHaveLength(1);
    // The group went to Temporal in several signals, none over the workflow's 1,000 alerts.
    const received = baton.log.find(
      (l) => l.msg === 'alert group received' && l.incident === id && l.alerts === 1_500,
    );
    expect(received).toMatchObject({ alerts: 1_500, signals: 3 });
  });

  it('takes a 5 MiB notification', async () => {
    const id = alertGroupWorkflowId(receiver, groupKeyOf('DiskPressure'));
    // 5,000 alerts with a 1 kB description each: Alertmanager sends them in one body.
    await postAlerts(am, flood('DiskPressure', 5_000, 'Disk usage above 90%. '.repeat(46)));
    const sent = await eventually(
      () =>
        baton.deliveries.find((d) => d.groupKey === groupKeyOf('DiskPressure') && d.alerts === 5_000) ??
        undefined,
      90_000,
    );
    expect(sent.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(sent).toMatchObject({ status: 202, incidents: [id] });
    expect(
      baton.deliveries.filter((d) => d.groupKey === groupKeyOf('DiskPressure') && d.status !== 202),
    ).toEqual([]);

    const s = await incidentWhen(baton.app, id, (x) => x.alerts.length + (x.alertsOmitted ?? 0) >= 5_000);
    // The record keeps what fits (at most 500) and counts the rest; none is lost or counted twice.
    expect(s.alerts.length).toBeGreaterThan(0);
    expect(s.alerts.length).toBeLessThanOrEqual(500);
    expect(s.alerts.length + (s.alertsOmitted ?? 0)).toBe(5_000);
    expect(s.alerts[0]?.annotations.description).toMatch(/^Disk usage above 90%/);
    expect(eventsOf(s, 'paged')).toHaveLength(1);
  });

  it('records how many alerts Alertmanager left out under max_alerts', async () => {
    const truncatingReceiver = receiverFor('max-alerts');
    const truncating = await amStarted(
      {
        receiver: truncatingReceiver,
        webhook: { url: baton.webhookUrl, bearer: TOKENS.webhook, maxAlerts: 1_000 },
        groupInterval: '5s',
        repeatInterval: '1h',
      },
      'max-alerts',
    );
    const id = alertGroupWorkflowId(truncatingReceiver, groupKeyOf('NodeDown'));
    await postAlerts(truncating, flood('NodeDown', 1_500));
    const sent = await eventually(
      () => baton.deliveries.find((d) => d.from === truncating.url && d.truncatedAlerts === 500),
      60_000,
    );
    expect(sent).toMatchObject({ status: 202, alerts: 1_000, incidents: [id] });
    const warning = await eventually(() =>
      baton.log.find((l) => l.incident === id && l.truncatedAlerts !== undefined),
    );
    expect(warning).toMatchObject({
      level: 40,
      truncatedAlerts: 500,
      groupKey: groupKeyOf('NodeDown'),
      msg: 'Alertmanager left out 500 alert(s) of the group (its max_alerts)',
    });
    const s = await incidentWhen(baton.app, id, (x) => x.alerts.length + (x.alertsOmitted ?? 0) >= 1_000);
    expect(s.alerts).toHaveLength(500);
    // The incident keeps Alertmanager's own count of what it left out.
    expect(await incidentWhen(baton.app, id, (x) => x.alertsTruncated === 500)).toMatchObject({
      alertsTruncated: 500,
    });
    // Alertmanager picks which 1,000 to send; a flush before all 1,500 had arrived may have
    // picked others, so the incident may know a few more than one notification carried.
    expect(s.alerts.length + (s.alertsOmitted ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(s.alerts.length + (s.alertsOmitted ?? 0)).toBeLessThanOrEqual(1_500);
    expect(baton.deliveries.filter((d) => d.from === truncating.url && d.status !== 202)).toEqual([]);
  });
});

describe('label and annotation names are data', () => {
  let baton: Baton;
  let am: Alertmanager;
  const receiver = receiverFor('names');

  beforeAll(async () => {
    baton = await startBaton('names');
    am = await amStarted({ receiver, webhook: { url: baton.webhookUrl, bearer: TOKENS.webhook } }, 'names');
  });

  it('keeps a __proto__ label and a constructor annotation from Alertmanager on the incident', async () => {
    const id = alertGroupWorkflowId(receiver, groupKeyOf('Prototype'));
    await amtoolAdd(am, {
      // Computed keys: a literal `__proto__: …` would set the prototype, not a label.
      labels: {
        alertname: 'Prototype',
        service: 'payments',
        ['__proto__']: 'polluted',
        constructor: 'label',
      },
      annotations: { summary: 'names are data', constructor: 'annotation', ['__proto__']: 'also data' },
      startsAt: new Date(Date.now() - 10_000),
    });
    const sent = await eventually(
      () => baton.deliveries.find((d) => d.groupKey === groupKeyOf('Prototype')),
      30_000,
    );
    expect(sent).toMatchObject({ status: 202, incidents: [id] });

    const s = await eventually(() => incident(baton.app, id), 30_000);
    const alert = s.alerts[0];
    expect(alert).toBeDefined();
    expect(Object.entries(alert?.labels ?? {}).sort()).toEqual(
      [
        ['__proto__', 'polluted'],
        ['alertname', 'Prototype'],
        ['constructor', 'label'],
        ['service', 'payments'],
      ].sort(),
    );
    expect(Object.entries(alert?.annotations ?? {}).sort()).toEqual(
      [
        ['__proto__', 'also data'],
        ['constructor', 'annotation'],
        ['summary', 'names are data'],
      ].sort(),
    );
    expect(Object.getPrototypeOf(alert?.labels)).toBe(Object.prototype);
    expect(s.title).toBe('names are data');
  });

  it('still refuses a __proto__ key in the body of the incident API', async () => {
    const response = await baton.app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...auth('alice'), 'content-type': 'application/json' },
      payload: '{"title":"t","service":"payments","__proto__":{"severity":"SEV1"}}',
    });
    expect(response.statusCode).toBe(400);
  });

  it('cuts the annotations of an alert too large for one Temporal payload, and opens the incident', async () => {
    const id = alertGroupWorkflowId(receiver, groupKeyOf('StackTrace'));
    const [alert] = flood('StackTrace', 1, `${'at frame\n'.repeat(150_000)}end of trace`);
    if (!alert) throw new Error('no alert');
    // Too long for amtool's command line; Alertmanager's API takes it.
    await postAlerts(am, [alert]);
    const sent = await eventually(
      () => baton.deliveries.find((d) => d.groupKey === groupKeyOf('StackTrace')),
      30_000,
    );
    expect(sent.bytes).toBeGreaterThan(1024 * 1024);
    expect(sent).toMatchObject({ status: 202, incidents: [id] });
    // The page goes out first; the record shows it once the workflow has taken its report.
    const s = await eventually(async () => {
      const found = await incident(baton.app, id);
      return eventsOf(found, 'paged').length > 0 ? found : undefined;
    }, 30_000);
    expect(s.alerts).toHaveLength(1);
    expect(s.alerts[0]?.annotations.description).toMatch(/^at frame\n/);
    expect(s.alerts[0]?.annotations.summary).toBe('StackTrace on payments');
    expect(eventsOf(s, 'paged')).toHaveLength(1);
    const cut = await eventually(() => baton.log.find((l) => l.incident === id && l.fingerprints));
    expect(cut).toMatchObject({
      level: 40,
      fingerprints: [s.alerts[0]?.fingerprint],
      msg: '1 alert(s) too large for Temporal: their longest annotations were cut',
    });
  });
});

describe('Temporal problems answer 503, which Alertmanager retries', () => {
  it('answers 503 when Temporal has no such namespace, and 404 only for an unknown incident', async () => {
    const baton = await startBaton('namespace');
    const config = testConfig((c) => {
      c.temporal = { address: inject('temporalAddress'), namespace: `baton-missing-${randomUUID()}` };
      c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    });
    const secrets = loadSecrets(config, TOKEN_ENV);
    const client = createTemporalClient(config, secrets);
    onCleanup('client of the missing namespace', () => client.connection.close());
    const app = await buildApp({ config, secrets, temporal: client });
    const deliveries = recordDeliveries(app);
    onCleanup('api of the missing namespace', () => app.close());
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const receiver = receiverFor('namespace');

    const direct = await fetch(`${address}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.webhook}` },
      body: JSON.stringify(notification(receiver, 'DiskFull')),
    });
    expect(direct.status).toBe(503);
    expect(await direct.json()).toMatchObject({
      code: 'TemporalUnavailable',
      error: expect.stringMatching(/namespace/) as unknown,
    });

    const am = await amStarted(
      { receiver, webhook: { url: `${address}/webhooks/alertmanager`, bearer: TOKENS.webhook } },
      'namespace',
    );
    await amtoolAdd(am, {
      labels: { alertname: 'HighLatency', service: 'payments' },
      startsAt: new Date(Date.now() - 10_000),
    });
    await eventually(() => (/unexpected status code 503/.test(am.logs()) ? true : undefined), 30_000);
    expect(am.logs()).not.toMatch(/unexpected status code 4\d\d/);
    expect(deliveries.filter((d) => d.from === am.url).map((d) => d.status)).toEqual(
      deliveries.filter((d) => d.from === am.url).map(() => 503),
    );

    // The incident API says the same: Temporal's problem, not an unknown incident.
    const read = await app.inject({
      method: 'GET',
      url: '/api/v1/incidents/anything',
      headers: auth('alice'),
    });
    expect(read.statusCode).toBe(503);
    const unknown = await baton.app.inject({
      method: 'GET',
      url: `/api/v1/incidents/no-such-incident-${randomUUID()}`,
      headers: auth('alice'),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'NotFound' });
  });

  it('answers 503 when Temporal is overloaded (RESOURCE_EXHAUSTED)', async () => {
    // A server that takes one request per second in the namespace.
    const port = await freePort();
    const server = await startDevServer({
      cli: inject('temporalCli'),
      port,
      dynamicConfig: { 'frontend.namespaceRPS': 1, 'frontend.namespaceBurstRatio': 1 },
    });
    onCleanup('throttled Temporal server', () => server.stop());
    const config = testConfig((c) => {
      c.temporal = { address: server.address, taskQueue: 'nobody-polls' };
      c.api = { alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    });
    const secrets = loadSecrets(config, TOKEN_ENV);
    const client = createTemporalClient(config, secrets);
    onCleanup('client of the throttled server', () => client.connection.close());
    const app = await buildApp({ config, secrets, temporal: client });
    onCleanup('api of the throttled server', () => app.close());

    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/webhooks/alertmanager',
          headers: { authorization: `Bearer ${TOKENS.webhook}` },
          payload: notification(receiverFor(`burst-${i}`), 'Burst'),
        }),
      ),
    );
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s !== 202 && s !== 503)).toEqual([]);
    const refused = answers.filter((a) => a.statusCode === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]?.json()).toMatchObject({ code: 'TemporalUnavailable' });
  });
});

describe('the webhook without credentials', () => {
  it('refuses to build the API when neither credentials nor allowUnauthenticated are configured', async () => {
    const config = testConfig();
    expect(config.api.alertmanager).toBeUndefined();
    expect(config.api.allowUnauthenticated).toBe(false);
    const secrets = loadSecrets(config, TOKEN_ENV);
    const client = createTemporalClient(config, secrets);
    try {
      const built = buildApp({ config, secrets, temporal: client });
      await expect(built).rejects.toBeInstanceOf(ConfigError);
      await expect(built).rejects.toThrow(
        /the Alertmanager webhook has no credentials: set api\.alertmanager .* or api\.allowUnauthenticated: true/,
      );
    } finally {
      await client.connection.close();
    }
  });

  it('accepts unauthenticated requests with allowUnauthenticated: true, and says so', async () => {
    const w = await startTestWorker(testConfig(), 'amc-open');
    onCleanup('worker open', async () => {
      await w.stop();
      rmSync(w.dataDir, { recursive: true, force: true });
    });
    onCleanup('incidents open', () => terminateQueue(w.client, w.taskQueue));
    const config = testConfig((c) => {
      c.temporal = { taskQueue: w.taskQueue };
      c.api = { allowUnauthenticated: true };
    });
    const log: Record<string, unknown>[] = [];
    const app = await buildApp({
      config,
      secrets: loadSecrets(config, TOKEN_ENV),
      temporal: w.client,
      logger: { level: 'info', stream: logStream(log) },
    });
    onCleanup('api open', () => app.close());
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    expect(log.find((l) => l.msg === UNAUTHENTICATED_WEBHOOK)).toMatchObject({ level: 40 });

    // A real Alertmanager configured without any credentials.
    const receiver = receiverFor('open');
    const am = await amStarted({ receiver, webhook: { url: `${address}/webhooks/alertmanager` } }, 'open');
    await amtoolAdd(am, {
      labels: { alertname: 'HighLatency', service: 'payments', instance: 'a' },
      startsAt: new Date(Date.now() - 10_000),
    });
    const id = alertGroupWorkflowId(receiver, groupKeyOf('HighLatency'));
    const s = await eventually(() => incident(app, id), 30_000);
    expect(s.alerts.map((a) => a.labels.instance)).toEqual(['a']);
    expect(am.logs()).not.toMatch(/unexpected status code/);
  });
});
