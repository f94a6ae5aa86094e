/**
 * Baton's metrics as Prometheus sees them. The standalone worker (worker/main.ts) with
 * BATON_WORKER_METRICS serves the Temporal SDK's metrics and Baton's notification counter
 * through the SDK's exporter; the API (api/server.ts) serves /metrics behind the token in
 * BATON_METRICS_TOKEN. A real Prometheus (Debian's package) scrapes both, and Baton's metrics
 * are read back through its HTTP API, along with every expression of the Grafana dashboard.
 * SIGTERM then stops both processes cleanly.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NOTIFICATIONS_METRIC } from '../activities/notifications';
import type { OutboxEntry } from '../activities/outbox';
import { INCIDENT_METRICS } from '../workflows/incident/metrics';
import { startEntry, type EntryProcess } from './support/entry-process';
import { cleanupsInReverse, firingGroup, receiverFor, terminateQueue } from './support/harness';
import { freePort } from './support/ports';
import { startPrometheus, staticScrape } from './support/prometheus';
import { parseMetrics, sumOf } from './support/prometheus-text';
import { eventually } from './support/worker';

const onCleanup = cleanupsInReverse();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-metrics-scrape-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One of Baton's entry points in a process of its own, with the test's environment. */
function start(entry: string, env: Record<string, string>): EntryProcess {
  const started = startEntry(entry, {
    ...process.env,
    BATON_WORKER_METRICS: '',
    BATON_METRICS_TOKEN: '',
    ...env,
  });
  onCleanup(entry, () => {
    if (started.running()) started.kill('SIGKILL');
  });
  return started;
}

/** The dashboard's expressions with its variables as Grafana would fill them in. */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(path.join('monitoring', 'grafana-dashboard.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return dashboard.panels
    .flatMap((p) => p.targets ?? [])
    .map((t) =>
      t.expr
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h')
        .replaceAll('$window', '1h')
        .replaceAll('$team', '.*')
        .replaceAll('$api_job', 'baton-api'),
    );
}

describe('Prometheus scraping the worker and the API', () => {
  it('reads Baton metrics from both through its HTTP API, each page target counted once', async () => {
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    const address = inject('temporalAddress');
    const taskQueue = `metrics-scrape-${randomUUID().slice(0, 8)}`;
    const dataDir = path.join(tmp, 'data');
    // The demo configuration (its tokens work on loopback) on a task queue of this test's own.
    const file = path.join(tmp, 'baton.yaml');
    writeFileSync(
      file,
      readFileSync(path.join('config', 'baton.yaml'), 'utf8')
        .replace(/^dataDir: .*$/m, `dataDir: ${dataDir}`)
        .replace(/^ {2}taskQueue: .*$/m, `  taskQueue: ${taskQueue}`),
    );
    const metricsToken = randomUUID();
    const tokenFile = path.join(tmp, 'metrics-token');
    writeFileSync(tokenFile, metricsToken);
    const common = { BATON_CONFIG: file, TEMPORAL_ADDRESS: address };

    const worker = start('worker/main.ts', { ...common, BATON_WORKER_METRICS: `127.0.0.1:${workerPort}` });
    const api = start('api/server.ts', {
      ...common,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      BATON_METRICS_TOKEN: metricsToken,
    });
    const connection = await Connection.connect({ address });
    onCleanup('Temporal connection', () => connection.close());
    onCleanup('incidents', () => terminateQueue(new Client({ connection }), taskQueue));
    // The worker bundles the workflow code before it polls.
    await worker.waitFor(`metrics at http://127.0.0.1:${workerPort}/metrics`, 110_000);
    await api.waitFor('bearer token from BATON_METRICS_TOKEN', 60_000);

    const prometheus = await startPrometheus({
      scrapeSelf: false,
      scrapeConfigs: [
        staticScrape('baton-api', [`127.0.0.1:${apiPort}`], {
          authorization: { credentials_file: tokenFile },
        }),
        staticScrape('baton-worker', [`127.0.0.1:${workerPort}`]),
      ],
    });
    onCleanup('Prometheus', () => prometheus.stop());

    const opened = await fetch(`http://127.0.0.1:${apiPort}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { authorization: 'Bearer alertmanager-demo-token', 'content-type': 'application/json' },
      body: JSON.stringify(firingGroup(receiverFor('scrape'), 'ScrapeTest', 's1')),
    });
    expect(opened.status).toBe(202);
    const incident = ((await opened.json()) as { incidents: string[] }).incidents[0] as string;

    // Without Slack or SMTP the page's targets are undelivered; the outbox lists them.
    const outboxFile = path.join(dataDir, 'outbox', `${incident}.jsonl`);
    const pages = await eventually(() => {
      if (!existsSync(outboxFile)) return undefined;
      const entries = readFileSync(outboxFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxEntry)
        .filter((e) => e.notification.kind === 'page');
      return entries.length > 0 ? entries : undefined;
    }, 30_000);
    const undelivered = pages.flatMap((p) => p.report.undelivered);
    const count = (channel: string) => undelivered.filter((t) => t.startsWith(`${channel}:`)).length;
    expect(count('email')).toBeGreaterThan(0);

    // The worker's exporter, read directly: each target once, in seconds and prefixes as documented.
    const direct = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${workerPort}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseMetrics(await response.text());
      const ready =
        sumOf(samples, NOTIFICATIONS_METRIC, { kind: 'page', taskQueue }) > 0 &&
        sumOf(samples, 'temporal_activity_execution_latency_count', { task_queue: taskQueue }) > 0;
      return ready ? samples : undefined;
    }, 15_000);
    const undeliveredPages = { kind: 'page', outcome: 'undelivered', taskQueue };
    expect(sumOf(direct, NOTIFICATIONS_METRIC, { ...undeliveredPages, channel: 'email' })).toBe(
      count('email'),
    );
    expect(sumOf(direct, NOTIFICATIONS_METRIC, { ...undeliveredPages, channel: 'slack' })).toBe(
      count('slack'),
    );
    expect(sumOf(direct, NOTIFICATIONS_METRIC, { kind: 'page', outcome: 'delivered', taskQueue })).toBe(0);

    // Alice acknowledges through the API: the workflow counts the incident opened and records
    // its time to acknowledge, once (the meter is silent when a workflow replays).
    const acknowledged = await fetch(`http://127.0.0.1:${apiPort}/api/v1/incidents/${incident}/acknowledge`, {
      method: 'POST',
      // Alice's token in the demo configuration (the README's walk uses it too).
      headers: { authorization: 'Bearer l2-demo-token', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(acknowledged.status).toBe(200);
    const incidentLabels = { team: 'payments', severity: 'SEV1', taskQueue };
    const measured = await eventually(async () => {
      const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text());
      return sumOf(samples, `${INCIDENT_METRICS.timeToAcknowledge}_count`, incidentLabels) > 0
        ? samples
        : undefined;
    }, 15_000);
    expect(sumOf(measured, INCIDENT_METRICS.opened, incidentLabels)).toBe(1);
    expect(sumOf(measured, `${INCIDENT_METRICS.timeToAcknowledge}_count`, incidentLabels)).toBe(1);
    const secondsToAcknowledge = sumOf(measured, `${INCIDENT_METRICS.timeToAcknowledge}_sum`, incidentLabels);
    expect(secondsToAcknowledge).toBeGreaterThan(0);
    expect(secondsToAcknowledge).toBeLessThan(120);

    // Through Prometheus's HTTP API: both targets up (the API's with its token), the webhook's
    // 202, the page's notifications and the incident by severity.
    const scalar = async (expression: string): Promise<number | undefined> => {
      const result = await prometheus.query(expression);
      return result[0] ? Number(result[0].value[1]) : undefined;
    };
    await eventually(async () => ((await scalar('sum(up)')) === 2 ? true : undefined), 20_000);
    expect(await scalar(`baton_webhook_answers_total{job="baton-api",status="202"}`)).toBe(1);
    expect(
      await eventually(
        async () =>
          scalar(
            `sum(baton_notifications_total{job="baton-worker",kind="page",outcome="undelivered",taskQueue="${taskQueue}"})`,
          ),
        20_000,
      ),
    ).toBe(undelivered.filter((t) => /^(slack|email):/.test(t)).length);
    expect(
      await scalar(`sum(temporal_worker_task_slots_available{job="baton-worker",task_queue="${taskQueue}"})`),
    ).toBeGreaterThan(0);
    expect(
      await eventually(
        async () =>
          scalar(
            `sum by (severity) (${INCIDENT_METRICS.opened}{job="baton-worker",severity="SEV1",taskQueue="${taskQueue}"})`,
          ),
        20_000,
      ),
    ).toBe(1);
    expect(
      await scalar(
        `sum(${INCIDENT_METRICS.timeToAcknowledge}_count{job="baton-worker",taskQueue="${taskQueue}"})`,
      ),
    ).toBe(1);

    // Every expression of the dashboard is valid PromQL for this Prometheus.
    for (const expression of dashboardExpressions()) {
      await expect(prometheus.query(expression), expression).resolves.toBeDefined();
    }

    api.kill('SIGTERM');
    worker.kill('SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.stderr()).not.toMatch(/^\s+at /m);
  });
});
