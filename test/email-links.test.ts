/**
 * Email action links against real incident workflows: opening a link shows a confirmation
 * and changes nothing; the confirmation's POST takes the step once, as the responder the
 * link was sent to; tampered, expired, reused and outdated links are refused with a page
 * that says why, and change nothing.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkUrl, newNonce, signLink, type EmailStep } from '../channels/email/tokens';
import { buildApp } from '../api/app';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import type { Phase } from '../workflows/incident/model';
import { TOKEN_ENV } from './support/app';
import { testConfig } from './support/config';
import { startIncident, state, type IncidentHandle } from './support/incidents';
import { eventsOf, terminateAll } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

const SECRET = 'email-links-test-secret-0123456789';
const PUBLIC_URL = 'https://baton.example.test';

let w: TestWorker;
let app: FastifyInstance;
let config: BatonConfig;
const handles: IncidentHandle[] = [];

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'email-links');
  config = {
    ...w.config,
    temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
    api: { ...w.config.api, publicUrl: PUBLIC_URL, allowUnauthenticated: true },
    notifications: {
      ...w.config.notifications,
      email: {
        from: 'baton@example.test',
        // The API sends nothing for links; the address is never dialled here.
        smtp: { host: '127.0.0.1', port: 9, secure: false },
        linkSecretEnv: 'EMAIL_LINK_SECRET',
        linkTtl: 86_400_000,
      },
    },
  };
  app = await buildApp({
    config,
    secrets: loadSecrets(config, { ...TOKEN_ENV, EMAIL_LINK_SECRET: SECRET }),
    temporal: w.client,
  });
});

afterAll(async () => {
  await terminateAll(handles);
  await app?.close();
  await w?.stop();
});

async function incident(): Promise<IncidentHandle> {
  const handle = await startIncident(w);
  handles.push(handle);
  await state(handle);
  return handle;
}

function link(
  handle: IncidentHandle,
  responder: string,
  step: EmailStep,
  phase: Phase,
  options: { expiresAt?: number; secret?: string } = {},
): string {
  const token = signLink(
    {
      incident: handle.workflowId,
      responder,
      step,
      phase,
      response: 0,
      expiresAt: options.expiresAt ?? Date.now() + 3_600_000,
      nonce: newNonce(),
    },
    options.secret ?? SECRET,
  );
  return new URL(linkUrl(PUBLIC_URL, token)).pathname;
}

const open = (url: string) => app.inject({ method: 'GET', url });
const confirm = (url: string, fields: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });

describe('email action links', () => {
  it('opening a link only asks; confirming acknowledges once, as the responder it was sent to', async () => {
    const handle = await incident();
    const url = link(handle, 'alice', 'acknowledge', 'triggered');

    const page = await open(url);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('Acknowledge the incident?');
    expect(page.body).toContain('Alice Ng');
    expect(page.body).toContain('<form method="post">');
    // A mail scanner that opens the link twice changes nothing.
    await open(url);
    expect((await state(handle)).phase).toBe('triggered');

    const done = await confirm(url);
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Alice Ng acknowledged the incident');
    // The next moves are offered as fresh links, for the phase the incident is in now.
    expect(done.body).toMatch(
      /href="https:\/\/baton\.example\.test\/email\/actions\/[^"]+"[^>]*>Escalate to Level 3</,
    );
    const after = await state(handle);
    expect(after).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice', holder: 'alice' });
    expect(eventsOf(after, 'acknowledged')).toHaveLength(1);

    const again = await confirm(url);
    expect(again.statusCode).toBe(410);
    expect(again.body).toContain('This link was already used');
    expect((await open(url)).statusCode).toBe(410);
    expect(eventsOf(await state(handle), 'acknowledged')).toHaveLength(1);
  });

  it('refuses a tampered, a foreign-signed and an expired link, and changes nothing', async () => {
    const handle = await incident();
    const url = link(handle, 'alice', 'acknowledge', 'triggered');
    // The token names bob instead of alice, under alice's signature.
    const [body, signature] = url.slice('/email/actions/'.length).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
    claims[2] = 'bob';
    const forged = `/email/actions/${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    for (const bad of [
      forged,
      link(handle, 'alice', 'acknowledge', 'triggered', { secret: 'someone-else-s-secret' }),
      '/email/actions/not-a-token',
    ]) {
      for (const res of [await open(bad), await confirm(bad)]) {
        expect(res.statusCode).toBe(400);
        expect(res.body).toContain('This link is not valid');
        expect(res.body).toContain('Nothing was changed.');
      }
    }
    const expired = link(handle, 'alice', 'acknowledge', 'triggered', { expiresAt: Date.now() - 1_000 });
    const res = await confirm(expired);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('This link has expired');
    const s = await state(handle);
    expect(s.phase).toBe('triggered');
    expect(eventsOf(s, 'acknowledged')).toHaveLength(0);
  });

  it('a link for a phase the incident has left is refused, and not used up', async () => {
    const handle = await incident();
    expect((await confirm(link(handle, 'alice', 'acknowledge', 'triggered'))).statusCode).toBe(200);
    const late = link(handle, 'bob', 'acknowledge', 'triggered');
    const res = await confirm(late);
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain('The incident has moved on');
    expect(res.body).toContain('it is acknowledged now');
    expect((await state(handle)).acknowledgedBy).toBe('alice');
  });

  it('escalation asks for its reason, and the Level 3 Accept link hands the incident over', async () => {
    const handle = await incident();
    await confirm(link(handle, 'alice', 'acknowledge', 'triggered'));
    const escalate = link(handle, 'alice', 'escalate', 'acknowledged');
    const form = await open(escalate);
    expect(form.body).toContain('name="reason"');

    const missing = await confirm(escalate, { reason: '   ' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('Why Level 3 is needed is needed');
    // Refused for a missing field, the link still works.
    const escalated = await confirm(escalate, { reason: 'the failover did not take' });
    expect(escalated.statusCode).toBe(200);
    expect((await state(handle)).handover?.reason).toBe('the failover did not take');

    const accept = await confirm(link(handle, 'carol', 'acceptHandover', 'escalated'));
    expect(accept.statusCode).toBe(200);
    expect(accept.body).toContain('Carol Diaz accepted the handover of the incident');
    const s = await state(handle);
    expect(s).toMatchObject({ phase: 'collaborating', holder: 'carol' });
    expect(s.handover).toMatchObject({ acceptedBy: 'carol', notes: 'Accepted from the email link' });
  });

  it("answers the workflow's own refusal with its reason and changes nothing", async () => {
    const handle = await incident();
    // Level 2 cannot accept a handover; the workflow's rule says so, and the page repeats it.
    await confirm(link(handle, 'alice', 'acknowledge', 'triggered'));
    await confirm(link(handle, 'alice', 'escalate', 'acknowledged'), { reason: 'stuck' });
    const res = await confirm(link(handle, 'bob', 'acceptHandover', 'escalated'));
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Not done');
    const s = await state(handle);
    expect(s.phase).toBe('escalated');
    expect(s.handover?.acceptedBy).toBeUndefined();
  });
});

describe('email action links in the API log', () => {
  const lines: string[] = [];
  let logged: FastifyInstance;
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    logged = await buildApp({
      config,
      secrets: loadSecrets(config, { ...TOKEN_ENV, EMAIL_LINK_SECRET: SECRET }),
      temporal: w.client,
      logger: { level: 'info', stream },
    });
  });
  afterAll(async () => {
    await logged?.close();
  });

  it('acknowledges from a link whose token appears in no log line, whatever the request', async () => {
    const handle = await incident();
    const url = link(handle, 'alice', 'acknowledge', 'triggered');
    const token = url.slice('/email/actions/'.length);
    const signature = token.split('.')[1] ?? '';
    expect(signature.length).toBeGreaterThan(20);

    expect((await logged.inject({ method: 'GET', url })).statusCode).toBe(200);
    // A wrong method and a mangled path are answered 404 and logged as "not found".
    expect((await logged.inject({ method: 'PUT', url })).statusCode).toBe(404);
    expect((await logged.inject({ method: 'GET', url: `/EMAIL/actions/${token}?x=1` })).statusCode).toBe(404);
    const done = await logged.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(done.statusCode).toBe(200);
    expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });

    const all = lines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(signature);
    // Each request is still logged, under its masked address.
    const entries = lines.map(
      (l) => JSON.parse(l) as { msg?: string; req?: { method?: string; url?: string } },
    );
    const incoming = entries.filter((e) => e.msg === 'incoming request').map((e) => e.req);
    expect(incoming).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'GET', url: '/email/actions/[masked]' }),
        expect.objectContaining({ method: 'POST', url: '/email/actions/[masked]' }),
        expect.objectContaining({ method: 'GET', url: '/EMAIL/actions/[masked]?x=1' }),
      ]),
    );
    expect(entries.map((e) => e.msg)).toContain('Route PUT:/email/actions/[masked] not found');
  });
});
