/**
 * `npm start` as a person runs it: scripts/start.ts as a real process with its own Temporal
 * development server, worker and API; Ctrl-C (SIGINT) stops everything; a second start finds
 * the incidents of the first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OutboxEntry } from '../activities/outbox';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { loadConfigFile } from '../config/load';
import { loadSecrets } from '../config/secrets';
import { incidentWorkflow } from '../workflows/incident';
import { stateQuery } from '../workflows/messages';
import type { IncidentState } from '../workflows/state';
import { freePort } from './support/ports';
import { eventually } from './support/worker';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO_CONFIG = path.join(ROOT, 'config', 'baton.yaml');
const TASK_QUEUE = 'baton-incidents';

// ---------------------------------------------------------------------------------------------
// Running scripts/start.ts

interface Baton {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** Every process below start.ts seen so far (the Temporal server among them), with its command line. */
  descendants: Map<number, string>;
}

const started: Baton[] = [];

function startBaton(
  configFile: string,
  extraEnv: Record<string, string> = {},
  script = 'scripts/start.ts',
): Baton {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PORT', 'BATON_DATA_DIR', 'NODE_OPTIONS']) {
    delete env[name];
  }
  Object.assign(env, {
    BATON_CONFIG: configFile,
    TEMPORAL_CLI_PATH: inject('temporalCli'),
    ...extraEnv,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  const baton: Baton = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    isRunning: () => running,
    descendants: new Map(),
  };
  started.push(baton);
  return baton;
}

async function waitForBanner(baton: Baton, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!baton.stdout().includes('Baton is running.')) {
    if (!baton.isRunning()) {
      throw new Error(
        `start.ts exited before it was running.\nstdout:\n${baton.stdout()}\nstderr:\n${baton.stderr()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`start.ts was not running within ${timeoutMs / 1000}s.\nstderr:\n${baton.stderr()}`);
    }
    await sleep(200);
  }
  recordDescendants(baton);
}

function recordDescendants(baton: Baton): void {
  for (const pid of descendantsOf(baton.child.pid!)) baton.descendants.set(pid, commandLine(pid));
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

async function waitForExit(
  baton: Baton,
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`start.ts did not exit within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([baton.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Leaves nothing running whatever happened in the test: SIGINT first, then SIGKILL for all. */
async function killBaton(baton: Baton): Promise<void> {
  if (baton.isRunning()) {
    recordDescendants(baton);
    baton.child.kill('SIGINT');
    await waitForExit(baton, 30_000).catch(() => baton.child.kill('SIGKILL'));
  }
  for (const [pid, command] of baton.descendants) {
    // The same process, not another that got its number since.
    if (alive(pid) && commandLine(pid) === command) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Processes and ports (Linux /proc)

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (command) state ppid ..."; the command may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

function descendantsOf(root: number): number[] {
  if (!existsSync('/proc')) return [];
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const current = queue.shift()!;
    for (const [pid, parent] of parents) {
      if (parent === current) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Running, not merely a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function httpStatus(url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  await response.arrayBuffer();
  return response.status;
}

// ---------------------------------------------------------------------------------------------

const tmp = mkdtempSync(path.join(os.tmpdir(), 'baton-start-test-'));
afterAll(async () => {
  // Every process this file started, stopped even when a test failed half-way.
  await Promise.all(started.map(killBaton));
  rmSync(tmp, { recursive: true, force: true });
});

/** The demo configuration with its ports and data folder moved somewhere private. */
function writeConfig(
  name: string,
  ports: { temporal: number; ui: number; api: number },
  dataDir: string,
  change: (yaml: string) => string = (yaml) => yaml,
): string {
  const demo = readFileSync(DEMO_CONFIG, 'utf8');
  const replaced = demo
    .replace(/^dataDir: .*$/m, `dataDir: ${dataDir}`)
    .replace(/^ {2}address: 127\.0\.0\.1:7233$/m, `  address: 127.0.0.1:${ports.temporal}`)
    .replace(/^ {2}uiUrl: .*$/m, `  uiUrl: http://127.0.0.1:${ports.ui}`)
    .replace(/^ {2}port: 3000$/m, `  port: ${ports.api}`);
  // Guard against the demo file changing under the replacements above.
  expect(replaced).toContain(`address: 127.0.0.1:${ports.temporal}`);
  expect(replaced).toContain(`uiUrl: http://127.0.0.1:${ports.ui}`);
  expect(replaced).toContain(`port: ${ports.api}`);
  expect(replaced).toContain(`dataDir: ${dataDir}`);
  const file = path.join(tmp, name);
  writeFileSync(file, change(replaced));
  return file;
}

/** The demo configuration without its webhook credentials. */
function withoutWebhookAuth(yaml: string): string {
  const changed = yaml.replace(/^ {2}alertmanager:\n {4}bearer: .*\n/m, '');
  expect(changed).not.toContain('alertmanager:');
  return changed;
}

/** The demo configuration with an open webhook, asked for in so many words. */
function allowUnauthenticated(yaml: string): string {
  const changed = yaml.replace(/^ {2}alertmanager:\n {4}bearer: .*\n/m, '  allowUnauthenticated: true\n');
  expect(changed).toContain('allowUnauthenticated: true');
  return changed;
}

describe('npm start (scripts/start.ts)', () => {
  let ports: { temporal: number; ui: number; api: number };
  let dataDir: string;
  let configFile: string;
  const workflowId = `incident-start-test-${randomUUID()}`;
  let firstOpenedAt: string;

  beforeAll(async () => {
    ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    dataDir = path.join(tmp, 'data');
    configFile = writeConfig('baton.yaml', ports, dataDir);
  });

  async function withClient<T>(use: (client: Client) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    try {
      return await use(new Client({ connection }));
    } finally {
      await connection.close();
    }
  }

  async function stopAndCheckNothingIsLeft(baton: Baton, interrupts = 1): Promise<void> {
    if (existsSync('/proc')) {
      const commands = [...baton.descendants.values()];
      expect(
        commands.some((c) => c.includes('start-dev') && c.includes(`--port ${ports.temporal}`)),
        `the Temporal server runs below start.ts: ${commands.join('; ')}`,
      ).toBe(true);
    }
    for (let i = 0; i < interrupts; i += 1) {
      if (i > 0) await sleep(100);
      baton.child.kill('SIGINT');
    }
    const { code, signal } = await waitForExit(baton, 60_000);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(baton.stdout()).toContain('SIGINT: stopping Baton…');
    expect(baton.stdout()).toContain('Stopped.');
    for (const port of [ports.temporal, ports.ui, ports.api]) {
      await eventually(async () => ((await portFree(port)) ? true : undefined), 5_000).catch(() => {
        throw new Error(`port ${port} is still in use after start.ts exited`);
      });
    }
    const left = await eventually(() => {
      const running = [...baton.descendants.keys()].filter(alive);
      return running.length === 0 ? running : undefined;
    }, 5_000).catch(() => [...baton.descendants.keys()].filter(alive));
    expect(left, 'processes left behind').toEqual([]);
  }

  it('brings up Temporal, its Web UI, the worker and the API, and says where each is', async () => {
    const baton = startBaton(configFile);
    await waitForBanner(baton);

    const out = baton.stdout();
    expect(out).toContain(`API            http://127.0.0.1:${ports.api}`);
    expect(out).toContain(
      `Webhook        http://127.0.0.1:${ports.api}/webhooks/alertmanager   (bearer token required)`,
    );
    expect(out).toContain(
      `Temporal       127.0.0.1:${ports.temporal} (development server, state in ${path.join(dataDir, 'temporal.db')})`,
    );
    expect(out).toContain(`Temporal UI    http://127.0.0.1:${ports.ui}`);
    expect(out).toContain(`Worker         task queue ${TASK_QUEUE}`);
    expect(out).toContain(`Configuration  ${configFile}`);
    expect(out).toContain(`Outbox         ${path.join(dataDir, 'outbox')}`);
    expect(existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);

    expect(await httpStatus(`http://127.0.0.1:${ports.api}/healthz`)).toBe(200);
    expect(await httpStatus(`http://127.0.0.1:${ports.api}/readyz`)).toBe(200);
    await eventually(async () =>
      (await httpStatus(`http://127.0.0.1:${ports.ui}/`)) === 200 ? true : undefined,
    );

    // An incident started the way the Temporal CLI would: no policy, so the workflow takes it
    // from the configuration the worker loaded.
    const state = await withClient(async (client) => {
      await client.workflow.start(incidentWorkflow, {
        taskQueue: TASK_QUEUE,
        workflowId,
        args: [
          {
            title: 'Checkout fails for some cards',
            service: 'payments',
            origin: { kind: 'manual', declaredBy: 'alice' },
          },
        ],
      });
      const handle = client.workflow.getHandle(workflowId);
      return eventually(async () => {
        const s = await handle.query(stateQuery);
        return s.timeline.some((e) => e.kind === 'paged') ? s : undefined;
      });
    });
    expect(state.phase).toBe('triggered');
    expect(state.team).toBe('payments');
    expect(state.severity).toBe('SEV3'); // the demo route for service=payments
    const paged = state.timeline.find((e) => e.kind === 'paged');
    expect(paged?.details?.to).toEqual(['alice']);
    firstOpenedAt = state.openedAt;

    // No Slack, no SMTP: the page waits in the outbox, marked as not delivered.
    const outboxFile = path.join(dataDir, 'outbox', `${workflowId}.jsonl`);
    const entries = await eventually(() => {
      if (!existsSync(outboxFile)) return undefined;
      const lines = readFileSync(outboxFile, 'utf8').split('\n').filter(Boolean);
      const parsed = lines.map((line) => JSON.parse(line) as OutboxEntry);
      return parsed.some((e) => e.notification.kind === 'page') ? parsed : undefined;
    });
    const page = entries.find((e) => e.notification.kind === 'page')!;
    expect(page.delivered).toBe(false);
    expect(page.report.delivered).toEqual([]);
    expect(page.notification.incidentId).toBe(workflowId);
    expect(page.notification.responders.map((r) => r.id)).toEqual(['alice']);

    await stopAndCheckNothingIsLeft(baton);
  });

  it('finds the same incident when started again', async () => {
    expect(firstOpenedAt, 'the first test started an incident').toBeDefined();
    const baton = startBaton(configFile);
    await waitForBanner(baton);
    expect(await httpStatus(`http://127.0.0.1:${ports.api}/readyz`)).toBe(200);

    const state: IncidentState = await withClient((client) =>
      client.workflow.getHandle(workflowId).query(stateQuery),
    );
    expect(state.id).toBe(workflowId);
    expect(state.openedAt).toBe(firstOpenedAt);
    expect(state.phase).toBe('triggered');
    expect(state.title).toBe('Checkout fails for some cards');

    // A terminal's Ctrl-C arrives twice (directly and relayed by npm and tsx): still a clean stop.
    await stopAndCheckNothingIsLeft(baton, 2);
  });
});

describe('npm start with api.allowUnauthenticated: true', () => {
  it('says in the banner that the webhook accepts unauthenticated requests, and accepts them', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('open.yaml', ports, path.join(tmp, 'open-data'), allowUnauthenticated);
    const baton = startBaton(file);
    await waitForBanner(baton);
    expect(baton.stdout()).toContain(
      `Webhook        http://127.0.0.1:${ports.api}/webhooks/alertmanager   (NO AUTHENTICATION: accepts unauthenticated requests (api.allowUnauthenticated: true))`,
    );
    expect(baton.stderr()).toContain('WARNING: the Alertmanager webhook accepts unauthenticated requests');

    const response = await fetch(`http://127.0.0.1:${ports.api}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        receiver: 'baton',
        status: 'firing',
        groupKey: `{}:{alertname="Open-${randomUUID()}"}`,
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'Open', service: 'payments' },
            startsAt: new Date().toISOString(),
            fingerprint: 'f1',
          },
        ],
      }),
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(202);

    baton.child.kill('SIGINT');
    expect(await waitForExit(baton, 60_000)).toEqual({ code: 0, signal: null });
  });
});

describe('start-up refuses what it cannot run', () => {
  it('stops on a bad configuration file, naming the field, without a stack trace', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('bad.yaml', ports, path.join(tmp, 'bad-data'), (yaml) => {
      const bad = yaml.replace(
        '- { notify: [bob], ackTimeout: 5m }',
        '- { notify: [bob], ackTimeout: 5 minutes }',
      );
      expect(bad).not.toBe(yaml);
      return bad;
    });
    const baton = startBaton(file);
    const { code } = await waitForExit(baton, 60_000);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(baton.stderr()).toContain(`${file} is invalid:`);
    expect(baton.stderr()).toContain(
      'teams[0].escalation.steps[1].ackTimeout: "5 minutes" is not a duration; write it like 30s, 5m, 1h30m or 2d',
    );
    expect(baton.stderr()).not.toMatch(/^\s+at /m);
    expect(baton.stdout()).not.toContain('Starting the Temporal development server');
    expect(existsSync(path.join(tmp, 'bad-data'))).toBe(false);
  });

  it('refuses to start without webhook credentials unless allowUnauthenticated says so', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig(
      'open-webhook.yaml',
      ports,
      path.join(tmp, 'open-webhook-data'),
      withoutWebhookAuth,
    );
    const baton = startBaton(file);
    const { code } = await waitForExit(baton, 60_000);
    expect(code).toBe(1);
    expect(baton.stderr()).toContain(
      `the Alertmanager webhook has no credentials: set api.alertmanager in ${file} (bearer: { tokenEnv | tokenSha256 } or basic: { username, passwordEnv | passwordSha256 }), or api.allowUnauthenticated: true to let it accept unauthenticated requests`,
    );
    expect(baton.stderr()).not.toMatch(/^\s+at /m);
    expect(baton.stdout()).not.toContain('Starting the Temporal development server');
  });

  it('refuses to start while a secret variable is unset, naming it and who needs it', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('unset-secret.yaml', ports, path.join(tmp, 'unset-secret-data'), (yaml) => {
      const changed = yaml
        .replace(
          /bearer: \{ tokenSha256: [0-9a-f]{64} \}/,
          'bearer: { tokenEnv: BATON_TEST_UNSET_WEBHOOK_TOKEN }',
        )
        .replace(
          /^# notifications:$/m,
          'notifications:\n  slack: { tokenEnv: BATON_TEST_UNSET_SLACK_TOKEN }',
        );
      expect(changed).toContain('BATON_TEST_UNSET_WEBHOOK_TOKEN');
      expect(changed).toContain('BATON_TEST_UNSET_SLACK_TOKEN');
      return changed;
    });
    const baton = startBaton(file);
    const { code } = await waitForExit(baton, 60_000);
    expect(code).toBe(1);
    expect(baton.stderr()).toContain(
      "BATON_TEST_UNSET_WEBHOOK_TOKEN: needed by the API, to check Alertmanager's webhook token (api.alertmanager.bearer.tokenEnv)",
    );
    expect(baton.stderr()).toContain(
      'BATON_TEST_UNSET_SLACK_TOKEN: needed by the worker, to send Slack messages (notifications.slack.tokenEnv)',
    );
    expect(baton.stderr()).not.toMatch(/^\s+at /m);
    expect(baton.stdout()).not.toContain('Starting the Temporal development server');
  });

  it('runs the API alone (api/server.ts) only with webhook credentials or allowUnauthenticated, and says so', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const closed = writeConfig(
      'api-closed.yaml',
      ports,
      path.join(tmp, 'api-alone-data'),
      withoutWebhookAuth,
    );
    const refused = startBaton(closed, {}, 'api/server.ts');
    expect((await waitForExit(refused, 60_000)).code).toBe(1);
    expect(refused.stderr()).toContain('the Alertmanager webhook has no credentials');
    expect(refused.stderr()).not.toMatch(/^\s+at /m);

    const open = writeConfig('api-open.yaml', ports, path.join(tmp, 'api-alone-data'), allowUnauthenticated);
    const api = startBaton(open, {}, 'api/server.ts');
    await eventually(() => {
      if (/WARNING: the Alertmanager webhook accepts unauthenticated requests/.test(api.stderr()))
        return true;
      if (!api.isRunning()) throw new Error(`api/server.ts exited:\n${api.stderr()}`);
      return undefined;
    }, 60_000);
    expect(api.stderr()).toContain(`http://127.0.0.1:${ports.api}/webhooks/alertmanager`);
    api.child.kill('SIGINT');
    await waitForExit(api, 30_000);
  });

  it('runs the worker alone (worker/main.ts) only with the channel secrets it is configured for', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('worker-smtp.yaml', ports, path.join(tmp, 'worker-data'), (yaml) =>
      yaml.replace(
        /^# notifications:$/m,
        'notifications:\n  email:\n    from: baton@example.com\n    smtp: { host: 127.0.0.1, port: 2525, user: baton, passwordEnv: BATON_TEST_UNSET_SMTP_PASSWORD }',
      ),
    );
    const worker = startBaton(file, {}, 'worker/main.ts');
    expect((await waitForExit(worker, 60_000)).code).toBe(1);
    expect(worker.stderr()).toContain(
      'BATON_TEST_UNSET_SMTP_PASSWORD: needed by the worker, to log in to the SMTP server (notifications.email.smtp.passwordEnv)',
    );
    // Responders' tokens are the API's business, not the worker's.
    expect(worker.stderr()).not.toContain('API token');
    expect(worker.stderr()).not.toMatch(/^\s+at /m);
  });

  it('stops on a PORT that is not a number', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('port.yaml', ports, path.join(tmp, 'port-data'));
    const baton = startBaton(file, { PORT: 'abc' });
    const { code } = await waitForExit(baton, 60_000);
    expect(code).toBe(1);
    expect(baton.stderr()).toContain('PORT must be a port number, not "abc"');
    expect(baton.stderr()).not.toMatch(/^\s+at /m);
  });
});

describe('start-up that fails half-way leaves nothing running', () => {
  /**
   * Records every process below start.ts, every 100 ms until it exits (the Temporal server
   * included). A process that has exited but not been reaped has an empty command line; it
   * keeps the one it was seen with.
   */
  function watchDescendants(baton: Baton): void {
    const timer = setInterval(() => {
      for (const pid of descendantsOf(baton.child.pid!)) {
        const command = commandLine(pid);
        if (command) baton.descendants.set(pid, command);
      }
    }, 100);
    void baton.exited.then(() => clearInterval(timer));
  }

  function temporalServersOf(baton: Baton, port: number): number[] {
    return [...baton.descendants]
      .filter(([, command]) => command.includes('start-dev') && command.includes(`--port ${port}`))
      .map(([pid]) => pid);
  }

  async function waitForOutput(baton: Baton, text: string, timeoutMs = 60_000): Promise<void> {
    await eventually(() => {
      if (baton.stdout().includes(text)) return true;
      if (!baton.isRunning()) {
        throw new Error(`start.ts exited.\nstdout:\n${baton.stdout()}\nstderr:\n${baton.stderr()}`);
      }
      return undefined;
    }, timeoutMs);
  }

  /** Occupies a port the way another program would: a plain TCP server on it. */
  async function occupy(port: number): Promise<net.Server> {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve());
    });
    return server;
  }

  const closeServer = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  async function expectNothingLeft(baton: Baton, ports: { temporal: number; ui: number }): Promise<void> {
    for (const port of [ports.temporal, ports.ui]) {
      await eventually(async () => ((await portFree(port)) ? true : undefined), 5_000).catch(() => {
        throw new Error(`port ${port} is still in use after start.ts exited`);
      });
    }
    const left = await eventually(() => {
      const running = [...baton.descendants.keys()].filter(alive);
      return running.length === 0 ? running : undefined;
    }, 5_000).catch(() => [...baton.descendants.entries()].filter(([pid]) => alive(pid)));
    expect(left, 'processes left behind').toEqual([]);
  }

  it('refuses a taken API port before starting anything, naming the port', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('api-taken-early.yaml', ports, path.join(tmp, 'api-taken-early-data'));
    const holder = await occupy(ports.api);
    try {
      const baton = startBaton(file);
      watchDescendants(baton);
      const { code } = await waitForExit(baton, 60_000);
      expect(code).toBe(1);
      expect(temporalServersOf(baton, ports.temporal)).toEqual([]);
      expect(baton.stderr()).toContain(
        `port ${ports.api} on 127.0.0.1, where the Baton API should listen, is already in use`,
      );
      expect(baton.stderr()).toContain('PORT=<another port> npm start');
      expect(baton.stderr()).not.toMatch(/^\s+at /m);
      expect(baton.stdout()).not.toContain('Starting the Temporal development server');
      expect(await portFree(ports.temporal)).toBe(true);
    } finally {
      await closeServer(holder);
    }
  });

  it('stops the Temporal server it started when the API port is taken meanwhile', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('api-taken-late.yaml', ports, path.join(tmp, 'api-taken-late-data'));
    const baton = startBaton(file);
    watchDescendants(baton);
    let holder: net.Server | undefined;
    try {
      // The port check has passed; the API listens only once Temporal and the worker are up.
      await waitForOutput(baton, 'Starting the Temporal development server');
      holder = await occupy(ports.api);

      const { code } = await waitForExit(baton, 120_000);
      expect(code, `stdout:\n${baton.stdout()}\nstderr:\n${baton.stderr()}`).toBe(1);
      if (existsSync('/proc')) {
        expect(
          temporalServersOf(baton, ports.temporal),
          `the Temporal server ran below start.ts: ${[...baton.descendants.values()].join('; ')}\n` +
            `stdout:\n${baton.stdout()}\nstderr:\n${baton.stderr()}`,
        ).not.toEqual([]);
      }
      await expectNothingLeft(baton, ports);
      expect(baton.stderr()).toContain(
        `port ${ports.api} on 127.0.0.1, where the Baton API should listen, is already in use`,
      );
      expect(baton.stderr()).not.toMatch(/^\s+at /m);
      expect(baton.stdout()).toContain('start-up failed: stopping Baton…');
      expect(baton.stdout()).toContain('Stopped.');
      expect(baton.stdout()).not.toContain('Baton is running.');
    } finally {
      if (holder) await closeServer(holder);
    }
  });

  it('stops the Temporal server on Ctrl-C while still starting', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('interrupted.yaml', ports, path.join(tmp, 'interrupted-data'));
    const baton = startBaton(file);
    watchDescendants(baton);
    if (existsSync('/proc')) {
      await eventually(
        () => (temporalServersOf(baton, ports.temporal).length > 0 ? true : undefined),
        60_000,
      );
    } else {
      await waitForOutput(baton, 'Starting the Temporal development server');
    }
    baton.child.kill('SIGINT');

    const { code, signal } = await waitForExit(baton, 120_000);
    expect({ code, signal }).toEqual({ code: 130, signal: null });
    expect(baton.stdout()).toContain('SIGINT: stopping Baton…');
    expect(baton.stdout()).toContain('Stopped.');
    expect(baton.stdout()).not.toContain('Baton is running.');
    await expectNothingLeft(baton, ports);
    expect(await portFree(ports.api)).toBe(true);
  });
});

describe('/readyz', () => {
  async function appFor(address: string) {
    const config = loadConfigFile(DEMO_CONFIG);
    config.temporal.address = address;
    const secrets = loadSecrets(config, {});
    const temporal = createTemporalClient(config, secrets);
    const app = await buildApp({ config, secrets, temporal });
    return {
      app,
      close: async (): Promise<void> => {
        await app.close();
        await temporal.connection.close();
      },
    };
  }

  it('answers 503 when Temporal is not reachable, while /healthz stays 200', async () => {
    const { app, close } = await appFor(`127.0.0.1:${await freePort()}`);
    try {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      const started = Date.now();
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'unavailable', temporal: 'unreachable' });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await close();
    }
  });

  it('answers 200 when Temporal is reachable', async () => {
    const { app, close } = await appFor(inject('temporalAddress'));
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', temporal: 'reachable' });
    } finally {
      await close();
    }
  });
});
