/**
 * A real Prometheus Alertmanager (the Debian package's binary, or ALERTMANAGER_PATH) on
 * loopback free ports, with a webhook receiver pointed at Baton, and amtool to fire and
 * resolve alerts on it the way Prometheus would.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from './ports';

const run = promisify(execFile);

function executable(candidates: (string | undefined)[], what: string): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of candidates) {
    if (!candidate) continue;
    const paths = candidate.includes('/') ? [candidate] : dirs.map((d) => path.join(d, candidate));
    for (const p of paths) {
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // Try the next one.
      }
    }
  }
  throw new Error(
    `${what} not found (tried ${candidates.filter(Boolean).join(', ')}); ` +
      'install the Debian package prometheus-alertmanager',
  );
}

export function alertmanagerBinary(): string {
  return executable(
    [process.env.ALERTMANAGER_PATH, 'prometheus-alertmanager', 'alertmanager'],
    'the Alertmanager binary',
  );
}

export function amtoolBinary(): string {
  return executable([process.env.AMTOOL_PATH, 'amtool'], 'amtool');
}

export interface AlertmanagerOptions {
  /**
   * Where the webhook receiver posts, the bearer token it sends (none without one), and its
   * `max_alerts` (Alertmanager then sends that many and counts the rest in `truncatedAlerts`).
   */
  webhook: { url: string; bearer?: string; maxAlerts?: number };
  receiver?: string;
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /**
   * Clustered (HA) mode: this instance gossips on a port of its own and joins the peers
   * given. Without it the instance runs alone (--cluster.listen-address='').
   */
  cluster?: { peers: string[]; peerTimeout?: string };
}

export interface Alertmanager {
  /** http://127.0.0.1:<port> */
  url: string;
  /** host:port of the gossip listener, when clustered. */
  clusterAddress?: string;
  /** What the process wrote so far (debug level: every failed notification is there). */
  logs(): string;
  stop(): Promise<void>;
}

export function alertmanagerConfig(options: AlertmanagerOptions): string {
  const receiver = options.receiver ?? 'baton';
  return stringify({
    route: {
      receiver,
      group_by: options.groupBy ?? ['alertname', 'service'],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '2s',
      repeat_interval: options.repeatInterval ?? '4s',
    },
    receivers: [
      {
        name: receiver,
        webhook_configs: [
          {
            url: options.webhook.url,
            send_resolved: true,
            ...(options.webhook.bearer !== undefined
              ? { http_config: { authorization: { type: 'Bearer', credentials: options.webhook.bearer } } }
              : {}),
            ...(options.webhook.maxAlerts !== undefined ? { max_alerts: options.webhook.maxAlerts } : {}),
          },
        ],
      },
    ],
  });
}

async function ready(url: string, child: ChildProcess, exited: Promise<unknown>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone || child.exitCode !== null) return false;
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Alertmanager at ${url} was not ready within ${timeoutMs / 1000}s`);
}

/**
 * Starts an Alertmanager and resolves once GET /-/ready answers. A port taken between
 * freePort() and the bind makes it exit; it is then started again on other ports.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Alertmanager> {
  const binary = alertmanagerBinary();
  let lastLogs = '';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-alertmanager-'));
    const configFile = path.join(dir, 'alertmanager.yml');
    writeFileSync(configFile, alertmanagerConfig(options));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = [
      `--config.file=${configFile}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      '--log.level=debug',
    ];
    let clusterAddress: string | undefined;
    if (options.cluster) {
      clusterAddress = `127.0.0.1:${await freePort()}`;
      args.push(
        `--cluster.listen-address=${clusterAddress}`,
        `--cluster.advertise-address=${clusterAddress}`,
        ...options.cluster.peers.map((peer) => `--cluster.peer=${peer}`),
        `--cluster.peer-timeout=${options.cluster.peerTimeout ?? '1s'}`,
        '--cluster.settle-timeout=2s',
        '--cluster.gossip-interval=100ms',
        '--cluster.pushpull-interval=2s',
        '--cluster.reconnect-interval=1s',
      );
    } else {
      args.push('--cluster.listen-address=');
    }

    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      // Enough to diagnose a failure; the start of a long run is the least interesting part.
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    // Never outlive the test process, whatever happens to it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);

    const stop = async (): Promise<void> => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    let up: boolean;
    try {
      up = await ready(url, child, exited, 30_000);
    } catch (err) {
      await stop();
      throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
    }
    if (!up) {
      lastLogs = output;
      await stop();
      continue;
    }
    return { url, ...(clusterAddress ? { clusterAddress } : {}), logs: () => output, stop };
  }
  throw new Error(`Alertmanager exited before it was ready, three times; last output:\n${lastLogs}`);
}

/** RFC 3339 to the second, as amtool wants it. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface AmtoolAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Prometheus keeps an alert's start time on every re-send; so do the tests. */
  startsAt: Date;
  /** A time not after now resolves the alert. */
  endsAt?: Date;
}

/** `amtool alert add` against one Alertmanager. */
export async function amtoolAdd(am: Alertmanager, alert: AmtoolAlert): Promise<void> {
  const args = [
    'alert',
    'add',
    `--alertmanager.url=${am.url}`,
    '--timeout=10s',
    ...Object.entries(alert.labels).map(([name, value]) => `${name}=${value}`),
    ...Object.entries(alert.annotations ?? {}).map(([name, value]) => `--annotation=${name}=${value}`),
    `--start=${rfc3339(alert.startsAt)}`,
    ...(alert.endsAt ? [`--end=${rfc3339(alert.endsAt)}`] : []),
  ];
  try {
    await run(amtoolBinary(), args, { timeout: 20_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`amtool ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/**
 * Many alerts in one call to Alertmanager's API (POST /api/v2/alerts), as a Prometheus with
 * thousands of firing series sends them; amtool takes one alert per run.
 */
export async function postAlerts(am: Alertmanager, alerts: AmtoolAlert[]): Promise<void> {
  const response = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      alerts.map((a) => ({
        labels: a.labels,
        annotations: a.annotations ?? {},
        startsAt: rfc3339(a.startsAt),
        ...(a.endsAt ? { endsAt: rfc3339(a.endsAt) } : {}),
      })),
    ),
    signal: AbortSignal.timeout(60_000),
  });
  if (!response.ok) {
    throw new Error(`POST ${am.url}/api/v2/alerts: ${response.status} ${await response.text()}`);
  }
}

/** Alertmanager's own view: cluster status and peers (GET /api/v2/status). */
export async function clusterStatus(am: Alertmanager): Promise<{ status: string; peers: unknown[] }> {
  const response = await fetch(`${am.url}/api/v2/status`);
  const body = (await response.json()) as { cluster?: { status?: string; peers?: unknown[] } };
  return { status: body.cluster?.status ?? 'none', peers: body.cluster?.peers ?? [] };
}
