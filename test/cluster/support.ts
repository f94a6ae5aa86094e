/**
 * The cluster as `npm run start:cluster` runs it: scripts/cluster/main.ts as a real process,
 * on free loopback ports and a data folder of the test's own, with a Baton configuration the
 * test writes. What it runs is read from the cluster.json it keeps while running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { OutboxEntry } from '../../activities/outbox';
import type { IncidentState } from '../../workflows/incident/state';

export { alive } from '../support/entry-process';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The demo configuration's published tokens (README, "Demo tokens"). */
export const DEMO_TOKENS = {
  alice: 'l2-demo-token',
  bob: 'l2b-demo-token',
  carol: 'l3-demo-token',
  dave: 'manager-demo-token',
  webhook: 'alertmanager-demo-token',
} as const;
export type Who = keyof typeof DEMO_TOKENS;

export interface ClusterState {
  pid: number;
  dataDir: string;
  batonDataDir: string;
  namespace: string;
  taskQueue: string;
  temporal: { address: string; pid: number };
  /** With --tls: what Baton's processes connect with (the CA, its client certificate and key). */
  tls: { caFile: string; certFile: string; keyFile: string; serverName: string } | null;
  ui: { url: string; pid: number } | null;
  postgres: { port: number; pid: number };
  apis: { name: string; pid: number | null; url: string; log: string }[];
  workers: { name: string; pid: number | null; log: string }[];
}

export interface RunningCluster {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  state(): ClusterState;
}

/**
 * A data folder for one test run. mkdtemp makes it 0700; PostgreSQL runs as the `postgres`
 * user when the tests run as root, and must be able to enter it.
 */
export function clusterDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-cluster-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** The demo configuration with the escalation policy shortened to seconds; returns its file. */
export function writeConfig(dir: string, escalation: object): string {
  const config = parse(readFileSync(path.join(ROOT, 'config', 'baton.yaml'), 'utf8')) as {
    teams: { escalation: object }[];
  };
  for (const team of config.teams) team.escalation = escalation;
  const file = path.join(dir, 'baton.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** Starts scripts/cluster/main.ts; resolves once it says it is running. */
export async function startCluster(options: {
  dataDir: string;
  configFile: string;
  args?: string[];
  timeoutMs?: number;
}): Promise<RunningCluster> {
  const env: NodeJS.ProcessEnv = { ...process.env, BATON_CONFIG: options.configFile };
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PORT', 'BATON_DATA_DIR', 'NODE_OPTIONS']) {
    delete env[name];
  }
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'scripts', 'cluster', 'main.ts'),
      '--data-dir',
      options.dataDir,
      '--postgres-port',
      '0',
      '--temporal-port',
      '0',
      '--ui-port',
      '0',
      '--api-port',
      '0',
      ...(options.args ?? []),
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  // Never outlive the test run: the cluster's own exit handler takes its processes along.
  const killOnExit = (): void => {
    if (running) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stateFile = path.join(options.dataDir, 'cluster.json');
  const cluster: RunningCluster = {
    child,
    output: () => out,
    exited,
    isRunning: () => running,
    state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState,
  };
  // The first run on a machine builds the Temporal server and the UI server with Go.
  const deadline = Date.now() + (options.timeoutMs ?? 900_000);
  while (!out.includes('The Baton cluster is running.') || !existsSync(stateFile)) {
    if (!running) throw new Error(`start:cluster exited before it was running:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGINT');
      throw new Error(`start:cluster was not running in time:\n${out}`);
    }
    await sleep(250);
  }
  return cluster;
}

/** Ctrl-C, as a person stops it; resolves with how it exited (SIGKILL after `timeoutMs`). */
export async function interrupt(
  cluster: RunningCluster,
  timeoutMs = 90_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (cluster.isRunning()) cluster.child.kill('SIGINT');
  const timer = setTimeout(() => cluster.child.kill('SIGKILL'), timeoutMs);
  try {
    return await cluster.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Every process a cluster state names: the launcher, Temporal, PostgreSQL, the UI, APIs and workers. */
export function pidsOf(s: ClusterState): number[] {
  return [
    s.pid,
    s.temporal.pid,
    s.postgres.pid,
    s.ui?.pid,
    ...s.apis.map((a) => a.pid),
    ...s.workers.map((w) => w.pid),
  ].filter((pid): pid is number => typeof pid === 'number' && pid > 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns something other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  throw new Error(
    `not within ${timeoutMs / 1000}s${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** One of the cluster's APIs, called over HTTP as any client would. */
export function apiClient(url: string) {
  const call = async (method: 'GET' | 'POST', route: string, who: Who, body?: object) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${DEMO_TOKENS[who]}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, text };
  };
  return {
    url,
    call,
    async declare(who: Who, body: object): Promise<string> {
      const r = await call('POST', '/api/v1/incidents', who, body);
      if (r.status !== 201) throw new Error(`declare answered ${r.status}: ${r.text}`);
      return (r.body as { id: string }).id;
    },
    /** A step on an incident that must succeed; answers the new state. */
    async step(id: string, step: string, who: Who, body: object = {}): Promise<IncidentState> {
      const r = await call('POST', `/api/v1/incidents/${id}/${step}`, who, body);
      if (r.status !== 200) throw new Error(`${step} through ${url} answered ${r.status}: ${r.text}`);
      return r.body as IncidentState;
    },
    async incident(
      id: string,
      who: Who = 'alice',
    ): Promise<{ status: number; state?: IncidentState; text?: string }> {
      const r = await call('GET', `/api/v1/incidents/${id}`, who);
      return r.status === 200
        ? { status: r.status, state: r.body as IncidentState }
        : { status: r.status, text: r.text };
    },
    async list(query: string, who: Who = 'alice'): Promise<{ id: string; status: string }[]> {
      const r = await call('GET', `/api/v1/incidents?${query}`, who);
      if (r.status !== 200) throw new Error(`list answered ${r.status}: ${r.text}`);
      return (r.body as { incidents: { id: string; status: string }[] }).incidents;
    },
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** What the workers wrote to the shared outbox for one incident. */
export function outbox(state: ClusterState, incidentId: string): OutboxEntry[] {
  const file = path.join(state.batonDataDir, 'outbox', `${incidentId}.jsonl`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxEntry);
}
