/**
 * `npm run start:cluster -- --tls`: the Temporal frontend requires mutual TLS, with a CA and
 * certificates the launcher made in the data folder. Baton's worker and API connect with the
 * client certificate and work as usual; a client without it, or trusting another CA, is
 * refused, and a Baton process says which setting to fix.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  alive,
  apiClient,
  clusterDir,
  eventually,
  interrupt,
  outbox,
  pidsOf,
  ROOT,
  startCluster,
  writeConfig,
  type ClusterState,
  type RunningCluster,
} from './support';

let dir: string;
let configFile: string;
let cluster: RunningCluster | undefined;
let state: ClusterState;
let tls: NonNullable<ClusterState['tls']>;
const pids = new Set<number>();

beforeAll(async () => {
  dir = clusterDir();
  configFile = writeConfig(dir, { steps: [{ notify: ['alice'], ackTimeout: '5m' }], repeat: 1 });
  // One worker and one API: what is under test is how they connect, not how they share work.
  cluster = await startCluster({
    dataDir: path.join(dir, 'data'),
    configFile,
    args: ['--tls', '--workers', '1', '--apis', '1'],
  });
  state = cluster.state();
  for (const pid of pidsOf(state)) pids.add(pid);
  if (!state.tls) throw new Error('cluster.json has no tls section with --tls');
  tls = state.tls;
});

let failed = false;
afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});

afterAll(async () => {
  if (cluster) await interrupt(cluster);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (dir && failed) console.error(`kept the cluster's folder for inspection: ${dir}`);
  else if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a Baton entry point (worker/main.ts, api/server.ts) against the cluster; resolves when it exits. */
function runBaton(
  script: string,
  temporalEnv: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BATON_CONFIG: configFile,
    BATON_DATA_DIR: path.join(dir, 'refused'),
    TEMPORAL_ADDRESS: state.temporal.address,
    PORT: '0',
    ...temporalEnv,
  };
  for (const name of Object.keys(env)) {
    if (name.startsWith('TEMPORAL_TLS') && !(name in temporalEnv)) delete env[name];
  }
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('the cluster with --tls', () => {
  it('runs an incident through an API and a worker that connect with the client certificate', async () => {
    for (const file of [tls.caFile, tls.certFile, tls.keyFile]) expect(existsSync(file), file).toBe(true);
    // The frontend's certificate is the one the launcher made, for the name Baton checks.
    const served = execFileSync(
      'openssl',
      ['x509', '-in', path.join(path.dirname(tls.caFile), 'server.pem'), '-noout', '-ext', 'subjectAltName'],
      { encoding: 'utf8' },
    );
    expect(served).toContain(`DNS:${tls.serverName}`);

    const api = apiClient(state.apis[0]?.url ?? '');
    const id = await api.declare('alice', {
      title: 'Card payments failing',
      service: 'payments',
      severity: 'SEV2',
    });
    const paged = await eventually(async () => {
      const s = (await api.incident(id)).state;
      return s?.timeline.some((e) => e.kind === 'paged') ? s : undefined;
    }, 60_000);
    expect(paged).toMatchObject({ id, phase: 'triggered', team: 'payments' });
    const pages = outbox(state, id).filter((e) => e.notification.kind === 'page');
    expect(pages.map((e) => e.notification.responders.map((r) => r.id))).toEqual([['alice']]);

    // The same files let any client in: the workflow is there, run by the cluster's worker.
    const connection = await Connection.connect({
      address: state.temporal.address,
      tls: {
        serverNameOverride: tls.serverName,
        serverRootCACertificate: readFileSync(tls.caFile),
        clientCertPair: { crt: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      },
    });
    try {
      const described = await new Client({ connection, namespace: state.namespace }).workflow
        .getHandle(id)
        .describe();
      expect(described.status.name).toBe('RUNNING');
    } finally {
      await connection.close();
    }

    // The Web UI server reaches the frontend over TLS with the internal certificate.
    if (state.ui) {
      const response = await fetch(`${state.ui.url}/api/v1/namespaces`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBe(200);
      const listed = (await response.json()) as { namespaces: { namespaceInfo: { name: string } }[] };
      expect(listed.namespaces.map((n) => n.namespaceInfo.name)).toContain(state.namespace);
    }
  });

  it('refuses clients without the client certificate or trusting another CA, and Baton says what to set', async () => {
    // The SDK's own clients: refused at the TLS layer, so nothing is ever answered.
    const attempt = async (options: Parameters<typeof Connection.connect>[0]): Promise<unknown> => {
      const connection = await Connection.connect({
        address: state.temporal.address,
        connectTimeout: 3_000,
        ...options,
      });
      try {
        return await connection.workflowService.describeNamespace({ namespace: state.namespace });
      } finally {
        await connection.close();
      }
    };
    await expect(attempt({})).rejects.toThrow();
    await expect(
      attempt({
        tls: { serverNameOverride: tls.serverName, serverRootCACertificate: readFileSync(tls.caFile) },
      }),
    ).rejects.toThrow();

    // A Baton worker with the CA but no client certificate stops at start, naming the settings.
    const noCert = await runBaton('worker/main.ts', {
      TEMPORAL_TLS_CA: tls.caFile,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
    });
    expect(noCert.code, noCert.output).toBe(1);
    expect(noCert.output).toMatch(
      new RegExp(
        `Baton cannot connect to Temporal at ${state.temporal.address.replace(/\./g, '\\.')}: .*requires a client certificate`,
      ),
    );
    expect(noCert.output).toContain('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY');
    expect(noCert.output).not.toContain('Baton worker polling');

    // One that trusts another CA refuses the server's certificate and names its CA file.
    const otherCa = path.join(dir, 'other-ca.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, 'other-ca.key'),
        '-out',
        otherCa,
        '-days',
        '2',
        '-subj',
        '/CN=Another CA',
      ],
      { stdio: 'pipe' },
    );
    const wrongCa = await runBaton('worker/main.ts', {
      TEMPORAL_TLS_CA: otherCa,
      TEMPORAL_TLS_CERT: tls.certFile,
      TEMPORAL_TLS_KEY: tls.keyFile,
      TEMPORAL_TLS_SERVER_NAME: tls.serverName,
    });
    expect(wrongCa.code, wrongCa.output).toBe(1);
    expect(wrongCa.output).toContain(
      `the server's certificate is not signed by temporal.tls.caFile (${otherCa})`,
    );

    // An API whose client certificate file is missing does not start at all (its connection is lazy).
    const missing = path.join(dir, 'missing', 'client.pem');
    const api = await runBaton('api/server.ts', {
      TEMPORAL_TLS_CA: tls.caFile,
      TEMPORAL_TLS_CERT: missing,
      TEMPORAL_TLS_KEY: tls.keyFile,
    });
    expect(api.code, api.output).toBe(1);
    expect(api.output).toContain(`temporal.tls.certFile: ${missing} cannot be read (ENOENT: no such file)`);
  });
});
