/**
 * `npm start` as a person runs it: scripts/start.ts as a real process with its own Temporal
 * development server, worker and API; Ctrl-C (SIGINT) stops everything; a second start finds
 * the incidents of the first.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OutboxEntry } from '../activities/outbox';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { loadConfigFile } from '../config/load';
import { loadSecrets } from '../config/secrets';
import { incidentWorkflow } from '../workflows/incident/incident';
import { stateQuery } from '../workflows/incident/messages';
import type { IncidentState } from '../workflows/incident/state';
import {
  commandLine,
  DEMO_CONFIG,
  demoConfig,
  descendantsOf,
  startBaton,
  type Baton,
  type BatonPorts,
} from './support/entry-process';
import { onCallNow } from './support/on-call';
import { freePort } from './support/ports';
import { eventually } from './support/worker';

const TASK_QUEUE = 'baton-incidents';

/** Every Baton this file started, for afterAll to stop even when a test failed half-way. */
const started: Baton[] = [];

function track(baton: Baton): Baton {
  started.push(baton);
  return baton;
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
  // SIGINT, as a person stops it.
  await Promise.all(started.map((baton) => baton.stop('SIGINT', 30_000)));
  rmSync(tmp, { recursive: true, force: true });
});

/** The demo configuration with its ports and data folder moved somewhere private. */
function writeConfig(
  name: string,
  ports: BatonPorts,
  dataDir: string,
  change: (yaml: string) => string = (yaml) => yaml,
): string {
  const replaced = demoConfig(ports, dataDir);
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
  let ports: BatonPorts;
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
        baton.temporalServers(ports.temporal),
        `the Temporal server runs below start.ts: ${commands.join('; ')}`,
      ).not.toEqual([]);
    }
    for (let i = 0; i < interrupts; i += 1) {
      if (i > 0) await sleep(100);
      baton.kill('SIGINT');
    }
    const { code, signal } = await baton.exitWithin(60_000);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(baton.stdout()).toContain('SIGINT: stopping Baton…');
    expect(baton.stdout()).toContain('Stopped.');
    for (const port of [ports.temporal, ports.ui, ports.api]) {
      await eventually(async () => ((await portFree(port)) ? true : undefined), 5_000).catch(() => {
        throw new Error(`port ${port} is still in use after start.ts exited`);
      });
    }
    expect(await baton.leftRunning(5_000), 'processes left behind').toEqual([]);
  }

  it('brings up Temporal, its Web UI, the worker and the API, and says where each is', async () => {
    const baton = track(startBaton(configFile));
    await baton.waitForBanner();

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
    // The demo's first step pages whoever its weekly schedule has on call now.
    const onCall = onCallNow(loadConfigFile(configFile));
    expect(['alice', 'bob']).toContain(onCall);
    const paged = state.timeline.find((e) => e.kind === 'paged');
    expect(paged?.details?.to).toEqual([onCall]);
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
    expect(page.notification.responders.map((r) => r.id)).toEqual([onCall]);

    await stopAndCheckNothingIsLeft(baton);
  });

  it('finds the same incident when started again', async () => {
    expect(firstOpenedAt, 'the first test started an incident').toBeDefined();
    const baton = track(startBaton(configFile));
    await baton.waitForBanner();
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
    const baton = track(startBaton(file));
    await baton.waitForBanner();
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

    baton.kill('SIGINT');
    expect(await baton.exitWithin(60_000)).toEqual({ code: 0, signal: null });
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
    const baton = track(startBaton(file));
    const { code } = await baton.exitWithin(60_000);
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
    const baton = track(startBaton(file));
    const { code } = await baton.exitWithin(60_000);
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
    const baton = track(startBaton(file));
    const { code } = await baton.exitWithin(60_000);
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
    const refused = track(startBaton(closed, {}, 'api/server.ts'));
    expect((await refused.exitWithin(60_000)).code).toBe(1);
    expect(refused.stderr()).toContain('the Alertmanager webhook has no credentials');
    expect(refused.stderr()).not.toMatch(/^\s+at /m);

    const open = writeConfig('api-open.yaml', ports, path.join(tmp, 'api-alone-data'), allowUnauthenticated);
    const api = track(startBaton(open, {}, 'api/server.ts'));
    await eventually(() => {
      if (/WARNING: the Alertmanager webhook accepts unauthenticated requests/.test(api.stderr()))
        return true;
      if (!api.running()) throw new Error(`api/server.ts exited:\n${api.stderr()}`);
      return undefined;
    }, 60_000);
    expect(api.stderr()).toContain(`http://127.0.0.1:${ports.api}/webhooks/alertmanager`);
    api.kill('SIGINT');
    await api.exitWithin(30_000);
  });

  it('runs the worker alone (worker/main.ts) only with the channel secrets it is configured for', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('worker-smtp.yaml', ports, path.join(tmp, 'worker-data'), (yaml) =>
      yaml.replace(
        /^# notifications:$/m,
        'notifications:\n  email:\n    from: baton@example.com\n    smtp: { host: 127.0.0.1, port: 2525, user: baton, passwordEnv: BATON_TEST_UNSET_SMTP_PASSWORD }',
      ),
    );
    const worker = track(startBaton(file, {}, 'worker/main.ts'));
    expect((await worker.exitWithin(60_000)).code).toBe(1);
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
    const baton = track(startBaton(file, { PORT: 'abc' }));
    const { code } = await baton.exitWithin(60_000);
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
      for (const pid of descendantsOf(baton.pid!)) {
        const command = commandLine(pid);
        if (command) baton.descendants.set(pid, command);
      }
    }, 100);
    void baton.exited.then(() => clearInterval(timer));
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
    expect(await baton.leftRunning(5_000), 'processes left behind').toEqual([]);
  }

  it('refuses a taken API port before starting anything, naming the port', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort() };
    const file = writeConfig('api-taken-early.yaml', ports, path.join(tmp, 'api-taken-early-data'));
    const holder = await occupy(ports.api);
    try {
      const baton = track(startBaton(file));
      watchDescendants(baton);
      const { code } = await baton.exitWithin(60_000);
      expect(code).toBe(1);
      expect(baton.temporalServers(ports.temporal)).toEqual([]);
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
    const baton = track(startBaton(file));
    watchDescendants(baton);
    let holder: net.Server | undefined;
    try {
      // The port check has passed; the API listens only once Temporal and the worker are up.
      await baton.waitFor('Starting the Temporal development server', 60_000);
      holder = await occupy(ports.api);

      const { code } = await baton.exitWithin(120_000);
      expect(code, `stdout:\n${baton.stdout()}\nstderr:\n${baton.stderr()}`).toBe(1);
      if (existsSync('/proc')) {
        expect(
          baton.temporalServers(ports.temporal),
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
    const baton = track(startBaton(file));
    watchDescendants(baton);
    if (existsSync('/proc')) {
      await eventually(() => (baton.temporalServers(ports.temporal).length > 0 ? true : undefined), 60_000);
    } else {
      await baton.waitFor('Starting the Temporal development server', 60_000);
    }
    baton.kill('SIGINT');

    const { code, signal } = await baton.exitWithin(120_000);
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
