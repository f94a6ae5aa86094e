/**
 * A real Prometheus (Debian's `prometheus` package) for tests, on a free loopback port with a
 * data folder of its own: it scrapes what the test names (itself by default, a gauge the test
 * serves, Baton's /metrics), evaluates the test's rule files and sends its alerts where the
 * test listens. Beside it, the two small peers such tests need: a metrics endpoint whose
 * values the test sets, and a receiver that records what Prometheus sends to Alertmanager.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { stringify } from 'yaml';
import { findExecutable, startPeerProcess } from './peer-process';
import { freePort } from './ports';
import { closeNow, listenOnLoopback } from './loopback-server';

export function prometheusBinary(): string {
  return findExecutable(
    [process.env.PROMETHEUS_PATH, '/usr/bin/prometheus', 'prometheus'],
    'the Prometheus binary',
    'install the Debian package prometheus (apt-get install --no-install-recommends prometheus)',
  );
}

/** One scrape job over static targets (host:port), in Prometheus' own configuration shape. */
export function staticScrape(
  jobName: string,
  targets: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { job_name: jobName, static_configs: [{ targets }], ...extra };
}

export interface PrometheusOptions {
  /** Default 1s, so that a test sees new values within a second or two. */
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Prometheus scrapes its own /metrics as job "prometheus" (default true). */
  scrapeSelf?: boolean;
  /** More scrape jobs, as Prometheus writes them (see staticScrape). */
  scrapeConfigs?: Record<string, unknown>[];
  /** Rule files' contents (`{ groups: [...] }`), written to the data folder. */
  rules?: Record<string, unknown>[];
  /** Rule files that already exist. */
  ruleFiles?: string[];
  /** Where alerts go: host:port of Alertmanagers (or an AlertReceiver's `target`). */
  alertmanagers?: string[];
  /** Path prefix of the external URL (`/prometheus`), as behind a reverse proxy. */
  externalPath?: string;
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value?: string;
}

export interface Prometheus {
  /** http://127.0.0.1:<port>, plus the external path if one was given. */
  url: string;
  port: number;
  /** The configuration it runs with (YAML). */
  config: string;
  logs(): string;
  /** GET /api/v1/alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  /** Resolves once an alert of that name is in that state; rejects with the logs after the timeout. */
  waitForAlert(alertname: string, state?: 'pending' | 'firing', timeoutMs?: number): Promise<PrometheusAlert>;
  /** An instant query's result (GET /api/v1/query). */
  query(expression: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

export function prometheusConfig(
  options: PrometheusOptions & { selfTarget: string; ruleFilePaths: string[] },
): string {
  const interval = options.scrapeInterval ?? '1s';
  return stringify({
    global: {
      scrape_interval: interval,
      scrape_timeout: interval,
      evaluation_interval: options.evaluationInterval ?? '1s',
    },
    rule_files: options.ruleFilePaths,
    scrape_configs: [
      ...(options.scrapeSelf === false
        ? []
        : [
            staticScrape('prometheus', [options.selfTarget], {
              metrics_path: `${options.externalPath ?? ''}/metrics`,
            }),
          ]),
      ...(options.scrapeConfigs ?? []),
    ],
    ...(options.alertmanagers && options.alertmanagers.length > 0
      ? {
          alerting: {
            alertmanagers: [
              { api_version: 'v2', timeout: '2s', static_configs: [{ targets: options.alertmanagers }] },
            ],
          },
        }
      : {}),
  });
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as { status?: string; data?: T; error?: string };
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`GET ${url}: HTTP ${response.status} ${body.error ?? ''}`);
  }
  return body.data;
}

/**
 * Starts Prometheus and resolves once GET /-/ready answers. A port taken between freePort()
 * and the bind makes it exit; it is then started again on another port.
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<Prometheus> {
  const { url, port, config, logs, stop } = await startPeerProcess({
    name: 'Prometheus',
    binary: prometheusBinary(),
    prepare: async (dir) => {
      const ruleFilePaths = [...(options.ruleFiles ?? [])];
      (options.rules ?? []).forEach((rules, index) => {
        const file = path.join(dir, `rules-${index + 1}.yml`);
        writeFileSync(file, stringify(rules));
        ruleFilePaths.push(file);
      });
      const port = await freePort();
      const prefix = (options.externalPath ?? '').replace(/\/+$/, '');
      const url = `http://127.0.0.1:${port}${prefix}`;
      const config = prometheusConfig({ ...options, selfTarget: `127.0.0.1:${port}`, ruleFilePaths });
      const configFile = path.join(dir, 'prometheus.yml');
      writeFileSync(configFile, config);
      const args = [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}`,
        '--storage.tsdb.retention.time=2h',
        '--log.level=info',
      ];
      return { args, url, port, config };
    },
  });
  const alerts = async () => (await getJson<{ alerts: PrometheusAlert[] }>(`${url}/api/v1/alerts`)).alerts;
  return {
    url,
    port,
    config,
    logs,
    alerts,
    async waitForAlert(alertname, state = 'firing', timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let seen: PrometheusAlert[] = [];
      while (Date.now() < deadline) {
        seen = await alerts();
        const found = seen.find((a) => a.labels.alertname === alertname && a.state === state);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(
        `alert ${alertname} was not ${state} within ${timeoutMs / 1000}s; alerts: ${JSON.stringify(seen)}\n${logs().slice(-5_000)}`,
      );
    },
    async query(expression) {
      const data = await getJson<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `${url}/api/v1/query?query=${encodeURIComponent(expression)}`,
      );
      return data.result;
    },
    stop,
  };
}

/** A /metrics endpoint on loopback serving gauges whose values the test sets. */
export interface MetricsEndpoint {
  /** host:port, for a scrape target. */
  target: string;
  /** Sets (or with undefined, removes) one series: a value Prometheus sees from its next scrape. */
  set(name: string, labels: Record<string, string>, value: number | undefined): void;
  /** Requests answered so far. */
  scrapes(): number;
  stop(): Promise<void>;
}

function exposition(
  series: Map<string, { name: string; labels: Record<string, string>; value: number }>,
): string {
  const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const names = new Set([...series.values()].map((s) => s.name));
  const lines: string[] = [];
  for (const name of names) {
    lines.push(`# TYPE ${name} gauge`);
    for (const s of series.values()) {
      if (s.name !== name) continue;
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`);
      lines.push(`${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${s.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function startMetricsEndpoint(): Promise<MetricsEndpoint> {
  const series = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  let scrapes = 0;
  const server = http.createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    scrapes += 1;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition(series));
  });
  const port = await listenOnLoopback(server);
  return {
    target: `127.0.0.1:${port}`,
    set(name, labels, value) {
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (value === undefined) series.delete(key);
      else series.set(key, { name, labels, value });
    },
    scrapes: () => scrapes,
    stop: () => closeNow(server),
  };
}

/** An alert as Prometheus posts it to Alertmanager's /api/v2/alerts. */
export interface SentAlert {
  labels: Record<string, string>;
  /** Absent when the rule has none. */
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

/** Stands where an Alertmanager would and keeps what Prometheus sends it. */
export interface AlertReceiver {
  /** host:port, for PrometheusOptions.alertmanagers. */
  target: string;
  received(): SentAlert[];
  /** Resolves with the first alert of that name received, within the timeout. */
  waitFor(alertname: string, timeoutMs?: number): Promise<SentAlert>;
  stop(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const received: SentAlert[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/api/v2/alerts') {
        try {
          received.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as SentAlert[]));
        } catch {
          response.writeHead(400).end();
          return;
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await listenOnLoopback(server);
  return {
    target: `127.0.0.1:${port}`,
    received: () => [...received],
    async waitFor(alertname, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = received.find((a) => a.labels.alertname === alertname);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`Prometheus sent no alert ${alertname} within ${timeoutMs / 1000}s`);
    },
    stop: () => closeNow(server),
  };
}

/** A Prometheus scraping one gauge of the test's, with one alerting rule that fires on it. */
export interface FiringPrometheus {
  prometheus: Prometheus;
  gauge: MetricsEndpoint;
  receiver: AlertReceiver;
  /** The alert as Prometheus sent it, with the generatorURL it built itself. */
  sent: SentAlert;
  stop(): Promise<void>;
}

/**
 * Starts the gauge endpoint, an alert receiver standing in for Alertmanager, and Prometheus
 * with `rule` over the gauge, and waits until Prometheus has sent the firing alert.
 */
export async function startFiringPrometheus(options: {
  group: string;
  rule: {
    alert: string;
    expr: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  /** Gauge values to serve from the start: metric name, labels, value. */
  values: [string, Record<string, string>, number][];
}): Promise<FiringPrometheus> {
  const gauge = await startMetricsEndpoint();
  for (const [metric, labels, value] of options.values) gauge.set(metric, labels, value);
  const receiver = await startAlertReceiver();
  const prometheus = await startPrometheus({
    scrapeConfigs: [staticScrape('queues', [gauge.target])],
    alertmanagers: [receiver.target],
    rules: [{ groups: [{ name: options.group, rules: [options.rule] }] }],
  });
  await prometheus.waitForAlert(options.rule.alert);
  const sent = await receiver.waitFor(options.rule.alert);
  return {
    prometheus,
    gauge,
    receiver,
    sent,
    async stop() {
      await prometheus.stop();
      await receiver.stop();
      await gauge.stop();
    },
  };
}
