/**
 * Issue #21, finding 4: a data source's credentials come from the environment and are never
 * published. A real Prometheus (Debian's package) fires a rule over a gauge this file serves;
 * Baton reaches it only through a loopback gate that requires Basic auth, with the password
 * in an environment variable. The team's Loki stands at a listener that requires a bearer
 * token and answers like a cloud metadata service (plain text with a secret in it). An
 * incident runs on a real Temporal server; then the workflow's history, the record files,
 * every log line and the API's answer are searched for every configured secret (and the
 * metadata answer's), and none is anywhere, while the servers did receive the credentials.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../api/app';
import { recordFolderName } from '../activities/documentation';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import type { Alert } from '../workflows/incident/model';
import type { IncidentState } from '../workflows/incident/state';
import { TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { startIncident, state, type IncidentHandle } from './support/incidents';
import { closeNow, listenOnLoopback } from './support/loopback-server';
import { startFiringPrometheus, type FiringPrometheus } from './support/prometheus';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const METRIC = 'baton_credentials_queue_depth';
const RULE_EXPR = `${METRIC}{queue="payments"} > 5`;

const USERNAME = 'baton-diagnostics';
const PASSWORD = 'prometheus-password-4b7e19c2';
const LOKI_TOKEN = 'loki-bearer-token-d35a80f1';
const BASIC = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
const METADATA_SECRET = 'BATON-METADATA-CANARY-91c4aa';
const METADATA_BODY = `AccessKeyId : ASIABATONCANARYKEYID\nSecretAccessKey : ${METADATA_SECRET}\n`;

/** Every form a configured secret could take: as set, and inside the header it makes. */
const SECRETS = [
  PASSWORD,
  Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'),
  encodeURIComponent(PASSWORD),
  LOKI_TOKEN,
  METADATA_SECRET,
  'ASIABATONCANARYKEYID',
];

interface Gate {
  url: string;
  /** Authorization headers received, in order. */
  received: (string | undefined)[];
  refused(): number;
  stop(): Promise<void>;
}

/** A loopback gate in front of Prometheus that lets through only requests with the credential. */
async function startGate(upstreamPort: number): Promise<Gate> {
  const received: (string | undefined)[] = [];
  let refused = 0;
  const server = http.createServer((request, response) => {
    received.push(request.headers.authorization);
    if (request.headers.authorization !== BASIC) {
      refused += 1;
      response.writeHead(401, { 'www-authenticate': 'Basic realm="prometheus"' }).end();
      return;
    }
    const headers = { ...request.headers };
    delete headers.authorization;
    const upstream = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: request.method, path: request.url, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, received, refused: () => refused, stop: () => closeNow(server) };
}

/** Where the team's Loki should be: it wants the token and answers like a metadata service. */
async function startMetadataLike(): Promise<{
  url: string;
  received: (string | undefined)[];
  stop(): Promise<void>;
}> {
  const received: (string | undefined)[] = [];
  const server = http.createServer((request, response) => {
    received.push(request.headers.authorization);
    response.writeHead(200, { 'content-type': 'text/plain' }).end(METADATA_BODY);
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, received, stop: () => closeNow(server) };
}

let firing: FiringPrometheus;
let gate: Gate;
let loki: Awaited<ReturnType<typeof startMetadataLike>>;
let w: TestWorker;
let app: FastifyInstance;
const apiLog: string[] = [];

beforeAll(async () => {
  firing = await startFiringPrometheus({
    group: 'baton-credentials',
    rule: {
      alert: 'QueueTooDeep',
      expr: RULE_EXPR,
      labels: { severity: 'critical', service: 'payments' },
      annotations: { summary: 'the payments queue is deep' },
    },
    values: [[METRIC, { queue: 'payments' }, 9]],
  });
  gate = await startGate(firing.prometheus.port);
  loki = await startMetadataLike();
  const config = testConfig((c) => {
    c.diagnostics = {
      deadline: '5s',
      prometheus: {
        url: gate.url,
        auth: { basic: { username: USERNAME, passwordEnv: 'BATON_TEST_PROMETHEUS_PASSWORD' } },
        lookback: '1m',
        maxPoints: 120,
      },
      loki: { url: loki.url, auth: { bearer: { tokenEnv: 'BATON_TEST_LOKI_TOKEN' } } },
    };
  });
  w = await startTestWorker(config, 'diagnostics-credentials', {
    BATON_TEST_PROMETHEUS_PASSWORD: PASSWORD,
    BATON_TEST_LOKI_TOKEN: LOKI_TOKEN,
  });
  const appConfig: BatonConfig = {
    ...w.config,
    temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
    api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      apiLog.push(chunk.toString('utf8'));
      done();
    },
  });
  app = await buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, TOKEN_ENV),
    temporal: w.client,
    logger: { level: 'trace', stream },
  });
});

afterAll(async () => {
  await app?.close();
  await w?.stop();
  await gate?.stop();
  await loki?.stop();
  await firing?.stop();
});

/** Every string in a value, bytes (Temporal payloads) decoded as UTF-8. */
function textsOf(value: unknown, out: string[] = []): string[] {
  if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const inner of Object.values(value)) textsOf(inner, out);
  return out;
}

/** Every file under a folder, by path relative to it. */
function filesUnder(folder: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(folder, file)] = readFileSync(file, 'utf8');
  }
  return files;
}

function expectNoSecretIn(where: string, text: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false);
}

describe('diagnostics sources that need credentials', () => {
  it('logs in with the credentials from the environment and publishes them nowhere', async () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array): void => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (capture(chunk), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (capture(chunk), true));
    let handle: IncidentHandle;
    let s: IncidentState;
    let folder: string;
    let files: Record<string, string>;
    try {
      const { sent } = firing;
      const alert: Alert = {
        fingerprint: 'fp-credentials',
        status: 'firing',
        labels: sent.labels,
        annotations: sent.annotations ?? {},
        startsAt: sent.startsAt,
        generatorURL: sent.generatorURL,
      };
      handle = await startIncident(w, { severity: 'SEV1', alerts: [alert] });
      s = await eventually(async () => {
        const now = await state(handle);
        return now.diagnostics?.some((d) => d.occasion === 'opened') ? now : undefined;
      });
      folder = path.join(w.dataDir, 'incidents', recordFolderName(s));
      // The record files are written once the incident is idle again.
      files = await eventually(() => {
        const found = filesUnder(folder);
        return found['timeline.jsonl']?.includes('diagnostics-failed') &&
          found['record.json']?.includes('metrics-1-queuetoodeep.svg')
          ? found
          : undefined;
      });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }

    // The servers got the credentials, and the chart came through the gate.
    expect(gate.received.length).toBeGreaterThan(0);
    expect(gate.received.every((a) => a === BASIC)).toBe(true);
    expect(gate.refused()).toBe(0);
    expect(loki.received).toEqual([`Bearer ${LOKI_TOKEN}`]);
    const [collected] = s.diagnostics ?? [];
    expect(collected?.charts).toHaveLength(1);
    expect(collected?.charts[0]?.text).toMatch(/^current value 9 at \d\d:\d\d:\d\d UTC \(fires when > 5\)$/);
    const failed = s.timeline.filter((e) => e.kind === 'diagnostics-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.summary).toMatch(
      new RegExp(
        `^Logs unavailable: Loki at ${loki.url} answered HTTP 200 with something other than JSON \\(query \\{`,
      ),
    );

    // The workflow's history, payloads decoded: it names the gate, and holds none of the secrets.
    const history = textsOf(await handle.fetchHistory()).join('\n');
    expect(history).toContain('collectIncidentDiagnostics');
    expect(history).toContain(gate.url);
    expectNoSecretIn('the workflow history', history);

    // The record, its timeline and every diagnostics file in the incident's folder.
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining(['record.json', 'record.md', 'timeline.jsonl']),
    );
    expect(files['timeline.jsonl']).toContain(`Loki at ${loki.url} answered HTTP 200`);
    for (const [name, text] of Object.entries(files)) expectNoSecretIn(name, text);

    // The worker's log, the API's log and whatever the process printed meanwhile.
    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/incidents/${encodeURIComponent(handle.workflowId)}`,
      headers: { authorization: `Bearer ${TOKENS.alice}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain(`Loki at ${loki.url}`);
    expect(response.body).toContain('diagnostics-failed');
    expectNoSecretIn('the API answer', response.body);
    const workerLog = w.logs.map((l) => JSON.stringify(l)).join('\n');
    expectNoSecretIn('the worker log', workerLog);
    expect(apiLog.join('')).toContain('/api/v1/incidents/');
    expectNoSecretIn('the API log', apiLog.join(''));
    expectNoSecretIn('the process output', written.join(''));
  });
});
