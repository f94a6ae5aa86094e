/**
 * With temporal.encryption on, what Baton writes to Temporal's history is sealed: someone who
 * reads the history straight from Temporal (the Temporal UI, `temporal workflow show`, a client
 * without Baton's codec) finds no responder's email, customer address, title or free text,
 * while the API, the worker and the codec endpoint read it all. The same incident without
 * encryption shows what such a reader saw before. The worker, the API and npm start refuse a
 * short key, and npm start encrypts as the parts do.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { ENCRYPTED_ENCODING } from '../config/payload-codec';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import type { IncidentState } from '../workflows/incident/state';
import { auth, buildTestApp, TOKEN_ENV, TOKENS } from './support/app';
import { testConfig, testConfigInput } from './support/config';
import { startBaton, startEntry, type Baton } from './support/entry-process';
import { startOwnTemporal } from './support/own-temporal';
import { freePort } from './support/ports';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const run = promisify(execFile);

// Encrypted incidents stay on a server of this file's own: on the shared one, every other
// file's incident list (a client without the codec) would meet their memos.
let temporalAddress = '';
let ownTemporal: Awaited<ReturnType<typeof startOwnTemporal>> | undefined;
beforeAll(async () => {
  ownTemporal = await startOwnTemporal();
  temporalAddress = ownTemporal.address;
});
afterAll(async () => {
  await ownTemporal?.stop();
});

const KEY_ENV = { BATON_PAYLOAD_KEYS: `k2025:${randomBytes(32).toString('base64')}` };
const TITLE = 'Checkout down for ACME Corp';
const DESCRIPTION = 'Jane Roe (jane.roe@acme.example) cannot pay at 12 Rue des Lilas';
/** Clear text the history must not hold: a responder's and a customer's address, the title, free text. */
const SECRETS_OF_THE_RECORD = [
  'alice@example.com',
  'status-subscribers@example.com',
  TITLE,
  'jane.roe@acme.example',
  '12 Rue des Lilas',
];

/**
 * Every string and byte string in a raw history, as text: what a reader without the codec
 * sees. Bytes are read as UTF-8, so a payload in clear (json/plain) shows its JSON.
 */
function rawText(value: unknown, seen = new WeakSet<object>()): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value === null || typeof value !== 'object' || seen.has(value)) return '';
  seen.add(value);
  return Object.values(value)
    .map((v) => rawText(v, seen))
    .join('\n');
}

/** The payloads' data in the Temporal CLI's JSON output (bytes in base64), read as text. */
function payloadText(json: string): string {
  const texts: string[] = [];
  JSON.parse(json, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string')
      texts.push(Buffer.from(value, 'base64').toString('utf8'));
    return value;
  });
  return texts.join('\n');
}

/** The payload the history's first event starts the incident with, in the codec protocol's JSON. */
async function startInputOf(
  client: Client,
  id: string,
): Promise<{ metadata: Record<string, string>; data: string }> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`incident ${id} has no start input`);
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? []).toString('base64'),
  };
}

/** Declares the incident as alice and waits until she has acknowledged it, read through the API. */
async function acknowledgedIncident(app: FastifyInstance): Promise<{ id: string; record: IncidentState }> {
  const declared = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: auth('alice'),
    payload: { title: TITLE, description: DESCRIPTION, service: 'payments', severity: 'SEV2' },
  });
  expect(declared.statusCode, declared.body).toBe(201);
  const { id } = declared.json<{ id: string }>();
  await eventually(async () => {
    const read = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('alice') });
    return read.json<IncidentState>().timeline.some((e) => e.kind === 'paged') ? true : undefined;
  });
  const acknowledged = await app.inject({
    method: 'POST',
    url: `/api/v1/incidents/${id}/acknowledge`,
    headers: { ...auth('alice'), 'idempotency-key': `ack-${id}` },
    payload: {},
  });
  expect(acknowledged.statusCode, acknowledged.body).toBe(200);
  const read = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('alice') });
  expect(read.statusCode).toBe(200);
  return { id, record: read.json<IncidentState>() };
}

function encryptedConfig(): BatonConfig {
  return testConfig((c) => {
    c.temporal = { encryption: { keysEnv: 'BATON_PAYLOAD_KEYS' } };
    // A second team alice is not on: she may not read every incident, so the codec refuses her.
    c.teams.push({
      id: 'search',
      slack: { channel: '#search-incidents', level3Channel: '#search-l3' },
      escalation: { steps: [{ notify: ['bob'], ackTimeout: '1h' }] },
      level3: [{ notify: ['erin'], acceptTimeout: '1h' }],
    });
    const dave = c.responders.find((r) => r.id === 'dave');
    if (dave) dave.allTeams = true;
  });
}

describe('an incident with temporal.encryption on', () => {
  let w: TestWorker;
  let temporal: Client;
  let app: FastifyInstance;
  let apiUrl: string;
  let incident: { id: string; record: IncidentState };

  beforeAll(async () => {
    w = await startTestWorker(encryptedConfig(), 'encryption', KEY_ENV, { address: temporalAddress });
    const config: BatonConfig = {
      ...w.config,
      temporal: { ...w.config.temporal, address: temporalAddress, taskQueue: w.taskQueue },
      api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
    };
    // The API's own client, as api/server.ts and npm start build it: with the codec.
    const secrets = loadSecrets(config, { ...TOKEN_ENV, ...KEY_ENV });
    temporal = createTemporalClient(config, secrets);
    app = await buildApp({ config, secrets, temporal });
    apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    incident = await acknowledgedIncident(app);
  });
  afterAll(async () => {
    if (incident) await w?.client.workflow.getHandle(incident.id).terminate('test over');
    await app?.close();
    await temporal?.connection.close();
    await w?.stop();
  });

  it('reads the whole record through the API', () => {
    expect(incident.record).toMatchObject({ title: TITLE, description: DESCRIPTION, phase: 'acknowledged' });
    expect(incident.record.timeline.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['triggered', 'paged', 'acknowledged']),
    );
  });

  it("keeps responders' and customers' addresses, the title and free text out of the raw history", async () => {
    // w.client is a plain client: no codec, as the Temporal UI and CLI read the history.
    const history = await w.client.workflow.getHandle(incident.id).fetchHistory();
    const raw = rawText(history);
    // The history is there and sealed: many events, payloads with the encrypted encoding.
    expect(history.events?.length ?? 0).toBeGreaterThan(10);
    expect(raw).toContain(ENCRYPTED_ENCODING);
    expect(raw).toContain('k2025');
    for (const text of SECRETS_OF_THE_RECORD) expect(raw, text).not.toContain(text);
  });

  it('keeps the search attributes readable for operators', async () => {
    // Straight from Temporal, as the UI reads them: not payloads through a codec.
    const described = await w.client.workflowService.describeWorkflowExecution({
      namespace: w.config.temporal.namespace,
      execution: { workflowId: incident.id },
    });
    const fields = described.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
    const readable = Object.fromEntries(
      Object.entries(fields).map(([name, payload]) => [name, defaultPayloadConverter.fromPayload(payload)]),
    );
    expect(readable).toMatchObject({
      IncidentStatus: ['acknowledged'],
      IncidentSeverity: ['SEV2'],
      IncidentService: ['payments'],
      IncidentTeam: ['payments'],
      IncidentAssignee: ['alice'],
    });
  });

  it("decodes a payload of that history at /codec/decode for a responder who may read every team's incidents", async () => {
    const payload = await startInputOf(w.client, incident.id);
    expect(Buffer.from(payload.metadata.encoding ?? '', 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    for (const who of ['dave', 'bob'] as const) {
      const response = await app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: { ...auth(who), 'x-namespace': 'default' },
        payload: { payloads: [payload] },
      });
      expect(response.statusCode, response.body).toBe(200);
      const [decoded] = response.json<{ payloads: { metadata: Record<string, string>; data: string }[] }>()
        .payloads;
      expect(Buffer.from(decoded?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
      const input = JSON.parse(Buffer.from(decoded?.data ?? '', 'base64').toString()) as Record<
        string,
        unknown
      >;
      expect(input).toMatchObject({ title: TITLE, description: DESCRIPTION, service: 'payments' });
    }
  });

  it('refuses to decode without a credential (401), with a wrong one (401), and for a responder of one team (403)', async () => {
    const payload = await startInputOf(w.client, incident.id);
    const attempts = [
      { headers: {}, status: 401 },
      { headers: { authorization: 'Bearer not-a-token' }, status: 401 },
      {
        headers: { authorization: `Basic ${Buffer.from(`dave:${TOKENS.dave}`).toString('base64')}` },
        status: 401,
      },
      { headers: auth('alice'), status: 403 },
    ];
    for (const attempt of attempts) {
      const response = await app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: attempt.headers,
        payload: { payloads: [payload] },
      });
      expect(response.statusCode, JSON.stringify(attempt.headers)).toBe(attempt.status);
      expect(response.json()).not.toHaveProperty('payloads');
    }
    const encode = await app.inject({
      method: 'POST',
      url: '/codec/encode',
      payload: { payloads: [] },
    });
    expect(encode.statusCode).toBe(401);
  });

  it('encodes what the UI sends so that decoding gives it back, and refuses a changed payload (400)', async () => {
    const typed = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"hi"').toString('base64'),
    };
    const encoded = await app.inject({
      method: 'POST',
      url: '/codec/encode',
      headers: auth('dave'),
      payload: { payloads: [typed] },
    });
    expect(encoded.statusCode, encoded.body).toBe(200);
    const [sealed] = encoded.json<{ payloads: { metadata: Record<string, string>; data: string }[] }>()
      .payloads;
    expect(Buffer.from(sealed?.metadata.encoding ?? '', 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const decoded = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: auth('dave'),
      payload: { payloads: [sealed] },
    });
    expect(decoded.json()).toEqual({ payloads: [typed] });

    const bytes = Buffer.from(sealed?.data ?? '', 'base64');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    const changed = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: auth('dave'),
      payload: { payloads: [{ ...sealed, data: bytes.toString('base64') }] },
    });
    expect(changed.statusCode).toBe(400);
    const refusal = changed.json<{ code: string; error: string }>();
    expect(refusal.code).toBe('CannotDecrypt');
    expect(refusal.error).toContain('does not authenticate');
  });

  it("answers the Temporal UI's preflight from its origin only, and marks answers for that origin", async () => {
    const ui = 'http://127.0.0.1:8233';
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: {
        origin: ui,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ui);
    expect(String(preflight.headers['access-control-allow-headers'])).toMatch(
      /Authorization.*Content-Type.*X-Namespace/,
    );
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');

    const payload = await startInputOf(w.client, incident.id);
    const fromUi = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { ...auth('dave'), origin: ui },
      payload: { payloads: [payload] },
    });
    expect(fromUi.statusCode).toBe(200);
    expect(fromUi.headers['access-control-allow-origin']).toBe(ui);
    // A refusal carries the header too, so the UI can show why.
    const refused = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { origin: ui },
      payload: { payloads: [] },
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(ui);

    const elsewhere = 'https://evil.example';
    const foreign = await app.inject({
      method: 'OPTIONS',
      url: '/codec/decode',
      headers: { origin: elsewhere, 'access-control-request-method': 'POST' },
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const foreignPost = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: { ...auth('dave'), origin: elsewhere },
      payload: { payloads: [payload] },
    });
    expect(foreignPost.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets the Temporal CLI show the history decoded through the endpoint, with a credential only', async () => {
    const cli = inject('temporalCli');
    const show = ['workflow', 'show', '--workflow-id', incident.id, '--address', temporalAddress];
    const codec = ['--codec-endpoint', `${apiUrl}/codec`, '--output', 'json', '--command-timeout', '5s'];
    const decoded = await run(cli, [...show, ...codec, '--codec-auth', `Bearer ${TOKENS.dave}`]);
    const shown = payloadText(decoded.stdout);
    expect(shown).toContain(TITLE);
    expect(shown).toContain('alice@example.com');

    // Refused, the CLI retries the codec until the same timeout and gives up: it shows nothing.
    const anonymous = await run(cli, [...show, ...codec]).then(
      (r) => ({ failed: false, out: r.stdout, err: r.stderr }),
      (e: { stdout?: string; stderr?: string }) => ({
        failed: true,
        out: e.stdout ?? '',
        err: e.stderr ?? '',
      }),
    );
    expect(anonymous.failed).toBe(true);
    expect(anonymous.err + anonymous.out).not.toContain(TITLE);
  });
});

describe('the same incident without encryption (the default)', () => {
  let w: TestWorker;
  let app: FastifyInstance;

  beforeAll(async () => {
    w = await startTestWorker(testConfig(), 'no-encryption', {}, { address: temporalAddress });
    app = await buildTestApp(w);
  });
  afterAll(async () => {
    await app?.close();
    await w?.stop();
  });

  it('leaves every one of them in clear in the raw history, for anyone who reaches Temporal', async () => {
    const { id } = await acknowledgedIncident(app);
    const raw = rawText(await w.client.workflow.getHandle(id).fetchHistory());
    await w.client.workflow.getHandle(id).terminate('test over');
    for (const text of SECRETS_OF_THE_RECORD) expect(raw, text).toContain(text);
    expect(raw).not.toContain(ENCRYPTED_ENCODING);
  });

  it('has no codec endpoint', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/codec/decode',
      headers: auth('dave'),
      payload: { payloads: [] },
    });
    expect(response.statusCode).toBe(404);
  });
});

describe('start-up with encryption on', () => {
  it('stops the worker, the API and npm start when a key is shorter than 32 bytes, naming the variable', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-encryption-start-'));
    try {
      const input = testConfigInput();
      input.dataDir = dir;
      input.temporal = { encryption: { keysEnv: 'BATON_PAYLOAD_KEYS' } };
      input.api = { port: 0, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
      const file = path.join(dir, 'baton.yaml');
      writeFileSync(file, stringify(input));
      const short = randomBytes(16).toString('base64');
      const env = {
        PATH: process.env.PATH,
        ...TOKEN_ENV,
        BATON_CONFIG: file,
        // A server that is there: were the key accepted, npm start would not start its own.
        TEMPORAL_ADDRESS: temporalAddress,
        BATON_PAYLOAD_KEYS: `k1:${short}`,
      };
      const entries = ['worker/main.ts', 'api/server.ts', 'scripts/start.ts'].map((entry) => ({
        entry,
        process: startEntry(entry, env),
      }));
      for (const { entry, process: started } of entries) {
        const exit = await started.exitWithin(60_000);
        expect(exit.code, `${entry}: ${started.stdout()}${started.stderr()}`).toBe(1);
        expect(started.stderr()).toContain(
          'the payload encryption keys in BATON_PAYLOAD_KEYS are not usable:\n  - BATON_PAYLOAD_KEYS entry 1 (key "k1") is 16 bytes; AES-256 needs exactly 32 (too short)',
        );
        expect(started.stderr() + started.stdout()).not.toContain(short);
        expect(started.stdout()).not.toContain('Baton worker polling');
        expect(started.stdout()).not.toContain('Baton is running');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start with encryption on', () => {
  let dir: string;
  let baton: Baton | undefined;
  let raw: Client | undefined;
  let id: string | undefined;

  afterAll(async () => {
    if (id) await raw?.workflow.getHandle(id).terminate('test over');
    await raw?.connection.close();
    await baton?.stop('SIGINT', 60_000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('encrypts what its worker and API write, says so, and reads its incidents back', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'baton-encryption-npm-start-'));
    const port = await freePort();
    const input = testConfigInput();
    input.dataDir = dir;
    input.temporal = {
      address: temporalAddress,
      taskQueue: `npm-start-encryption-${Date.now()}`,
      encryption: { keysEnv: 'BATON_PAYLOAD_KEYS' },
    };
    input.api = { port, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    const file = path.join(dir, 'baton.yaml');
    writeFileSync(file, stringify(input));
    // TEMPORAL_ADDRESS: the run's server, so that npm start starts none of its own.
    baton = startBaton(file, {
      ...TOKEN_ENV,
      ...KEY_ENV,
      TEMPORAL_ADDRESS: temporalAddress,
      BATON_WORKER_METRICS: 'off',
    });
    await baton.waitForBanner();
    expect(baton.stdout()).toContain(
      `History        payloads encrypted with key k2025 of BATON_PAYLOAD_KEYS; the UI and CLI decrypt through http://127.0.0.1:${port}/codec`,
    );

    const api = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' };
    const declared = await fetch(`${api}/api/v1/incidents`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ title: TITLE, description: DESCRIPTION, service: 'payments' }),
    });
    expect(declared.status).toBe(201);
    id = ((await declared.json()) as { id: string }).id;
    const record = await eventually(async () => {
      const read = (await (
        await fetch(`${api}/api/v1/incidents/${id}`, { headers })
      ).json()) as IncidentState;
      return read.timeline?.some((e) => e.kind === 'paged') ? read : undefined;
    });
    expect(record).toMatchObject({ title: TITLE, description: DESCRIPTION });

    raw = new Client({ connection: await Connection.connect({ address: temporalAddress }) });
    const text = rawText(await raw.workflow.getHandle(id).fetchHistory());
    expect(text).toContain(ENCRYPTED_ENCODING);
    for (const secret of SECRETS_OF_THE_RECORD) expect(text, secret).not.toContain(secret);
  });
});
