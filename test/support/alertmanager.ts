/**
 * A real Prometheus Alertmanager (the Debian package's binary, or ALERTMANAGER_PATH) on
 * loopback free ports, with a webhook receiver pointed at Baton, and amtool to fire and
 * resolve alerts on it the way Prometheus would.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { findExecutable, startPeerProcess } from './peer-process';
import { freePort } from './ports';

const run = promisify(execFile);
const INSTALL = 'install the Debian package prometheus-alertmanager';

export function alertmanagerBinary(): string {
  return findExecutable(
    [process.env.ALERTMANAGER_PATH, 'prometheus-alertmanager', 'alertmanager'],
    'the Alertmanager binary',
    INSTALL,
  );
}

export function amtoolBinary(): string {
  return findExecutable([process.env.AMTOOL_PATH, 'amtool'], 'amtool', INSTALL);
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

/**
 * Starts an Alertmanager and resolves once GET /-/ready answers. A port taken between
 * freePort() and the bind makes it exit; it is then started again on other ports.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<Alertmanager> {
  const am = await startPeerProcess({
    name: 'Alertmanager',
    binary: alertmanagerBinary(),
    prepare: async (dir) => {
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
      return { args, url, clusterAddress };
    },
  });
  return {
    url: am.url,
    ...(am.clusterAddress ? { clusterAddress: am.clusterAddress } : {}),
    logs: am.logs,
    stop: am.stop,
  };
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
