/**
 * Replies by email, end to end: swaks (a real SMTP client) talks to Baton's inbound listener
 * on loopback, the listener authenticates each reply with mailauth against a test DNS that
 * publishes the test's own DKIM key, and takes the step on a real incident workflow. Answers
 * go out through the configured SMTP server, a sink here. The provider route is driven
 * through the API with the same messages. Every test checks the record: what changed, who
 * did it, and that a refused message changed nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replyAddress } from '../channels/email/tokens';
import { mailerFor, type Mailer } from '../channels/email/mailer';
import type { EmailLog } from '../channels/email/inbound/act';
import { startInboundListener, type InboundListener } from '../channels/email/inbound/listener';
import { requestIdOf } from '../channels/email/inbound/reply';
import { emailRoutes } from '../channels/email/inbound/route';
import { IncidentService } from '../api/incidents';
import { UsedLinks } from '../channels/email/links/used-links';
import { createTemporalClient } from '../api/temporal';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { addNoteSignal, resolveUpdate } from '../workflows/incident/messages';
import type { IncidentState } from '../workflows/incident/state';
import { buildApp } from '../api/app';
import { swaks } from './support/swaks';
import { TOKEN_ENV } from './support/app';
import { testConfig } from './support/config';
import { domainKey, message, signed, TestDns, type MessageSpec } from './support/dkim';
import { by, startIncident, state, type IncidentHandle } from './support/incidents';
import { freePort } from './support/ports';
import { startSmtpSink, type SmtpSink } from './support/smtp';
import { afterSignals, eventsOf, terminateAll, waitForEvents } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

// 32 random bytes' worth each, as start-up asks of them (config/secrets.ts).
const SECRET = 'email-inbound-test-secret-c4f1a8e2d7b3690f5e2a1c8d4b7f0e3a';
const DOMAIN = 'reply.example.com';
const ROUTE_TOKEN = 'email-inbound-route-token-9b2e5d8a1f4c7e0b3d6a9f2c5e8b1d4a';
const MAX_BYTES = 64 * 1024;
const ENV = { BATON_EMAIL_SECRET: SECRET, EMAIL_INBOUND_TOKEN: ROUTE_TOKEN };
/** Where the listener and the API keep what they share (the replies that acted). */
const DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'baton-email-inbound-'));

let w: TestWorker;
let sink: SmtpSink;
let strict: InboundListener;
let lenient: InboundListener;
let app: FastifyInstance;
let mailer: Mailer | undefined;
let config: BatonConfig;
const handles: IncidentHandle[] = [];
const key = domainKey('example.com');
const dns = new TestDns().publishKey(key);
const logs: { level: string; message: string; fields: object }[] = [];
const log: EmailLog = {
  info: (fields, message) => logs.push({ level: 'info', message, fields }),
  warn: (fields, message) => logs.push({ level: 'warn', message, fields }),
  error: (fields, message) => logs.push({ level: 'error', message, fields }),
};

function emailConfig(smtp: SmtpSink, authentication: 'strict' | 'token-and-sender'): BatonConfig {
  return testConfig((c) => {
    c.dataDir = DATA_DIR;
    c.api = { publicUrl: 'http://baton.test' };
    c.notifications = {
      email: {
        from: 'Baton <baton@example.com>',
        smtp: {
          host: '127.0.0.1',
          port: smtp.port,
          secure: false,
          ...(smtp.caFile ? { caFile: smtp.caFile } : {}),
        },
        linkSecretEnv: 'BATON_EMAIL_SECRET',
        replyDomain: DOMAIN,
        inbound: {
          host: '127.0.0.1',
          port: 0,
          authentication,
          maxMessageBytes: MAX_BYTES,
          maxConnections: 5,
        },
        inboundRoute: { tokenEnv: 'EMAIL_INBOUND_TOKEN' },
      },
    };
  });
}

beforeAll(async () => {
  sink = await startSmtpSink({ startTls: true });
  // The worker sends no email: everything the sink receives is an answer to a reply.
  w = await startTestWorker(testConfig(), 'email-inbound');
  config = emailConfig(sink, 'strict');
  const secrets = loadSecrets(config, ENV);
  mailer = mailerFor(config, secrets);
  const incidents = new IncidentService(w.client, config);
  const deps = { incidents, mailer, secrets, log, resolver: dns.resolver };
  strict = await startInboundListener({ ...deps, config, closeTimeoutMs: 1_000 });
  const lenientConfig = emailConfig(sink, 'token-and-sender');
  lenient = await startInboundListener({ ...deps, config: lenientConfig, closeTimeoutMs: 1_000 });
  // The API as production builds it, serving the route (its listener is the one above).
  const email = config.notifications.email;
  if (!email) throw new Error('the test configuration has email');
  const routeOnly = { ...email };
  delete routeOnly.inbound;
  const appConfig: BatonConfig = {
    ...config,
    temporal: { ...config.temporal, taskQueue: w.taskQueue },
    api: { ...config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
    notifications: { ...config.notifications, email: routeOnly },
  };
  app = await buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, { ...TOKEN_ENV, ...ENV }),
    temporal: w.client,
    ...(mailer ? { mailer } : {}),
    emailResolver: dns.resolver,
  });
  await app.ready();
});

afterAll(async () => {
  await terminateAll(handles);
  await strict?.close();
  await lenient?.close();
  await app?.close();
  mailer?.transport.close();
  await sink?.close();
  await w?.stop();
  rmSync(DATA_DIR, { recursive: true, force: true });
});

/** The record once the incident has started (its policy read, its first page sent). */
function started(handle: IncidentHandle): Promise<IncidentState> {
  return waitForEvents(handle, 'paged');
}

async function incident(): Promise<IncidentHandle> {
  const handle = await startIncident(w);
  handles.push(handle);
  return handle;
}

function addressFor(handle: IncidentHandle, recipient = 'alice'): string {
  return replyAddress({ incident: handle.workflowId, recipient }, SECRET, DOMAIN);
}

/** A reply as a mail client writes it, DKIM-signed by example.com unless told otherwise. */
async function reply(
  spec: Partial<MessageSpec> & { to: string },
  sign = true,
): Promise<{ raw: string; messageId: string }> {
  const built = message({ from: 'Alice Ng <alice@example.com>', ...spec });
  return { raw: sign ? await signed(built.raw, key) : built.raw, messageId: built.messageId };
}

async function deliver(listener: InboundListener, to: string, raw: string, from = 'alice@example.com') {
  const result = await swaks(listener, { from, to }, raw);
  expect(result.code, result.transcript).toBe(0);
  return result.transcript;
}

function answersTo(messageId: string) {
  return sink.messages.filter((m) => m.headers['in-reply-to'] === messageId);
}

/** The record without what moves by itself. */
function steps(s: IncidentState) {
  return {
    phase: s.phase,
    acknowledgedBy: s.acknowledgedBy,
    holder: s.holder,
    handover: s.handover?.requestedBy,
    resolution: s.resolution?.summary,
    notes: s.notes.length,
    steps: s.timeline.filter((e) => e.kind !== 'email-refused').map((e) => `${e.kind}:${e.actor}`),
  };
}

describe('the SMTP listener', () => {
  it('acknowledges from a DKIM-signed "ack" by the paged responder, and confirms it', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw, messageId } = await reply({
      to,
      text: 'ack\n\nOn Thu, Nov 26, 2026 at 10:00 AM Baton <baton@example.com> wrote:\n> Reply resolve to resolve',
    });
    const transcript = await deliver(strict, to, raw);
    expect(transcript).toContain('250 2.0.0 message handled (acted)');

    const s = await state(handle);
    expect(s.phase).toBe('acknowledged');
    expect(s.acknowledgedBy).toBe('alice');
    expect(eventsOf(s, 'acknowledged').map((e) => e.actor)).toEqual(['alice']);
    expect(s.resolution).toBeUndefined();

    const [answer, ...more] = answersTo(messageId);
    expect(more).toEqual([]);
    expect(answer?.to).toEqual(['alice@example.com']);
    expect(answer?.subject).toBe('Re: [SEV2] Payments API error rate above 5%');
    expect(answer?.headers['auto-submitted']).toBe('auto-replied');
    expect(answer?.headers.references).toContain(messageId);
    expect(answer?.text).toContain(`you acknowledged incident ${handle.workflowId}`);
  });

  it('resolves from an HTML-only reply whose quoted history is a <blockquote>', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const html =
      '<html><body><div dir="ltr">resolve fixed by failover</div><br><div class="gmail_quote">' +
      '<div class="gmail_attr">On Thu, Nov 26, 2026 at 10:00 AM Baton &lt;baton@example.com&gt; wrote:<br></div>' +
      '<blockquote class="gmail_quote"><p>Payments API error rate above 5%</p>' +
      '<p>Reply <b>ack</b> to acknowledge, or escalate with a reason.</p></blockquote></div></body></html>';
    const { raw } = await reply({ to, html });
    expect(await deliver(strict, to, raw)).toContain('(acted)');

    const s = await state(handle);
    expect(s.phase).toBe('post-incident');
    expect(s.resolution).toMatchObject({ summary: 'fixed by failover', by: 'alice', automatic: false });
    expect(s.acknowledgedBy).toBeUndefined();
  });

  it('adds anything that is not a command as a note from email, and says how to act', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw, messageId } = await reply({ to, text: 'Looking at the primary now.\nIt is at 100% CPU.' });
    expect(await deliver(strict, to, raw)).toContain('(note)');

    const s = await afterSignals(handle);
    expect(s.notes.filter((n) => n.by === 'alice' && n.source === 'email').map((n) => n.text)).toEqual([
      'Looking at the primary now.\nIt is at 100% CPU.',
    ]);
    expect(s.phase).toBe('triggered');
    expect(answersTo(messageId)[0]?.text).toContain('start your reply with one of');
  });

  it('escalates with the reason the reply gives', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    await deliver(strict, to, (await reply({ to, text: 'ack' })).raw);
    const { raw } = await reply({ to, text: 'escalate the primary will not fail over\nreplica lag 2h' });
    expect(await deliver(strict, to, raw)).toContain('(acted)');
    const s = await state(handle);
    expect(s.phase).toBe('escalated');
    expect(s.handover).toMatchObject({
      requestedBy: 'alice',
      reason: 'the primary will not fail over\nreplica lag 2h',
    });
  });

  it('answers a step the incident refuses with the reason, and takes a redelivery once', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const first = await reply({ to, text: 'ack' });
    await deliver(strict, to, first.raw);
    // The sending MTA retries a message it did not hear 250 for: the same Message-ID, taken
    // once already, so it is accepted and ignored.
    expect(await deliver(strict, to, first.raw)).toContain('(ignored)');

    const second = await reply({ to, text: 'ACK' });
    expect(await deliver(strict, to, second.raw)).toContain('(refused)');

    const s = await state(handle);
    expect(eventsOf(s, 'acknowledged').map((e) => e.actor)).toEqual(['alice']);
    const [refusal, ...more] = answersTo(second.messageId);
    expect(more).toEqual([]);
    expect(refusal?.to).toEqual(['alice@example.com']);
    expect(refusal?.headers['auto-submitted']).toBe('auto-replied');
    expect(refusal?.text).toContain(
      `Baton did not act on your reply to incident ${handle.workflowId}: the incident was already acknowledged by alice`,
    );
  });

  it('confirms the sender’s training from a reply starting with "trained", once, and answers a second with the reason', async () => {
    const handle = await incident();
    await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('bob'), summary: 'rolled back the deploy' }],
    });
    const to = addressFor(handle);
    const first = await reply({
      to,
      text: 'Trained: walked through the runbook with Dave\n\nOn Thu, Nov 26, 2026 at 10:00 AM Baton <baton@example.com> wrote:\n> Training is due',
    });
    expect(await deliver(strict, to, first.raw)).toContain('(acted)');

    const s = await state(handle);
    const attendance = s.followUps.find((f) => f.kind === 'training')?.attendance ?? [];
    const alice = attendance.find((a) => a.member === 'alice');
    expect(alice).toMatchObject({ status: 'confirmed' });
    expect(attendance.filter((a) => a.status === 'confirmed').map((a) => a.member)).toEqual(['alice']);
    expect(eventsOf(s, 'training-confirmed').map((e) => ({ actor: e.actor, details: e.details }))).toEqual([
      { actor: 'alice', details: { member: 'alice', note: 'walked through the runbook with Dave' } },
    ]);
    const [done] = answersTo(first.messageId);
    expect(done?.to).toEqual(['alice@example.com']);
    expect(done?.text).toContain(`Done: you confirmed your training on incident ${handle.workflowId}`);

    const second = await reply({ to, text: 'trained' });
    expect(await deliver(strict, to, second.raw)).toContain('(refused)');
    const after = await state(handle);
    expect(after.followUps).toEqual(s.followUps);
    expect(eventsOf(after, 'training-confirmed')).toHaveLength(1);
    const [refusal, ...more] = answersTo(second.messageId);
    expect(more).toEqual([]);
    expect(refusal?.text).toContain(
      `Baton did not act on your reply to incident ${handle.workflowId}: alice already confirmed training at ${alice?.at ?? '?'}`,
    );
  });

  it('refuses a reply from another address, records the attempt and answers nobody', async () => {
    const handle = await incident();
    const before = steps(await started(handle));
    const to = addressFor(handle);
    // Bob is a responder and example.com signs his mail: he is just not who this address was for.
    const { raw, messageId } = await reply({ to, from: 'bob@example.com', text: 'resolve nothing to see' });
    expect(await deliver(strict, to, raw, 'bob@example.com')).toContain('(rejected)');

    const s = await waitForEvents(handle, 'email-refused');
    expect(steps(s)).toEqual(before);
    expect(eventsOf(s, 'email-refused').map((e) => e.details)).toMatchObject([
      { from: 'bob@example.com', reason: 'sent from bob@example.com, which is not the address of alice' },
    ]);
    expect(answersTo(messageId)).toEqual([]);
    expect(sink.messages.filter((m) => m.to.includes('bob@example.com'))).toEqual([]);
  });

  it('refuses unsigned mail in strict mode: nothing changes, the attempt is on record', async () => {
    const handle = await incident();
    const before = steps(await started(handle));
    const to = addressFor(handle);
    const { raw, messageId } = await reply({ to, text: 'resolve spoofed' }, false);
    expect(await deliver(strict, to, raw)).toContain('(rejected)');

    const s = await waitForEvents(handle, 'email-refused');
    expect(steps(s)).toEqual(before);
    const [refused] = eventsOf(s, 'email-refused');
    expect(refused?.details).toMatchObject({ from: 'alice@example.com' });
    expect(String(refused?.details?.reason)).toContain('example.com did not vouch for the sender');
    expect(answersTo(messageId)).toEqual([]);
  });

  it("refuses a signed reply replayed to another incident, with that incident's address on top", async () => {
    const first = await incident();
    const second = await incident();
    const toFirst = addressFor(first);
    const toSecond = addressFor(second);
    const before = steps(await started(second));
    const { raw } = await reply({ to: toFirst, text: 'resolve rolled back the deploy' });
    expect(await deliver(strict, toFirst, raw)).toContain('(acted)');
    expect((await state(first)).phase).toBe('post-incident');

    // Whoever gets hold of the signed reply (a mail archive, a forwarded copy) and alice's
    // address for the second incident puts that address on top of the signed To.
    const replayed = `To: ${toSecond}\r\n${raw}`;
    const transcript = await deliver(strict, toSecond, replayed, 'mallory@attacker.example');
    expect(transcript).toContain('(rejected)');
    const posted = await app.inject({
      method: 'POST',
      url: '/email/inbound',
      headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${ROUTE_TOKEN}` },
      payload: replayed,
    });
    expect(posted.json()).toMatchObject({
      outcome: 'rejected',
      reason: 'the message has more than one To header',
    });

    const s = await waitForEvents(second, 'email-refused');
    expect(steps(s)).toEqual(before);
    expect(s.resolution).toBeUndefined();
    // One refusal a minute per incident and sender is recorded; the other was only logged.
    expect(eventsOf(s, 'email-refused').map((e) => e.details?.reason)).toEqual([
      'the message has more than one To header',
    ]);
  });

  it('refuses a signed reply sent again under a new Message-ID, and takes a redelivery once', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw } = await reply({ to, text: 'Failover started at 10:02.' });
    expect(await deliver(strict, to, raw)).toContain('(note)');
    expect(await deliver(strict, to, raw)).toContain('(ignored)');
    const again = `Message-ID: <again-${Date.now()}@attacker.example>\r\n${raw}`;
    expect(await deliver(strict, to, again, 'mallory@attacker.example')).toContain('(rejected)');

    const s = await waitForEvents(handle, 'email-refused');
    expect(s.notes.filter((n) => n.source === 'email').map((n) => n.text)).toEqual([
      'Failover started at 10:02.',
    ]);
    expect(eventsOf(s, 'email-refused').map((e) => e.details?.reason)).toEqual([
      'the message has more than one Message-ID header',
    ]);
  });

  it('takes a signed reply once for good, even after the incident has forgotten its request id', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw, messageId } = await reply({ to, text: 'Replica promoted; watching the error rate.' });
    expect(await deliver(strict, to, raw)).toContain('(note)');

    // The incident remembers its newest 500 request ids (workflows/incident/limits.ts): 500 notes later,
    // as a long incident gathers them, the reply's is forgotten.
    for (let batch = 0; batch < 10; batch += 1) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          handle.signal(addNoteSignal, { ...by('bob'), text: `observation ${batch * 50 + i}` }),
        ),
      );
    }
    await afterSignals(handle, 'bob');

    // Whoever kept a copy of the signed reply sends it again, as it is, by both ways in.
    expect(await deliver(strict, to, raw, 'mallory@attacker.example')).toContain('(ignored)');
    const posted = await app.inject({
      method: 'POST',
      url: '/email/inbound',
      headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${ROUTE_TOKEN}` },
      payload: raw,
    });
    expect(posted.json()).toMatchObject({ outcome: 'ignored', reason: 'this reply was taken once already' });

    const s = await afterSignals(handle);
    expect(
      s.notes.filter((n) => n.text === 'Replica promoted; watching the error rate.').map((n) => n.by),
    ).toEqual(['alice']);
    expect(answersTo(messageId)).toHaveLength(1);
  });

  it('refuses a tampered reply address at RCPT TO', async () => {
    const handle = await incident();
    const before = steps(await started(handle));
    const to = addressFor(handle);
    const at = to.indexOf('@');
    const tampered = `${to.slice(0, at - 1)}${to[at - 1] === 'a' ? 'b' : 'a'}${to.slice(at)}`;
    const { raw } = await reply({ to: tampered, text: 'resolve tampered' });
    const result = await swaks(strict, { from: 'alice@example.com', to: tampered }, raw);
    expect(result.code).not.toBe(0);
    expect(result.transcript).toContain('550 5.1.1 no such mailbox here');
    // Nor is it a relay for anyone else.
    const relay = await swaks(strict, { from: 'alice@example.com', to: 'someone@example.org' }, raw);
    expect(relay.transcript).toContain('550 5.1.1 no such mailbox here');

    const s = await afterSignals(handle);
    expect(eventsOf(s, 'email-refused')).toEqual([]);
    expect(s.phase).toBe(before.phase);
    expect(s.notes.map((n) => n.source)).toEqual(['api']);
  });

  it('ignores an auto-reply and a bounce, and answers neither', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const auto = await reply({
      to,
      subject: 'Automatic reply: [SEV2] Payments API error rate above 5%',
      text: 'ack',
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    expect(await deliver(strict, to, auto.raw)).toContain('(ignored)');
    const bounce = await reply({ to, text: 'ack' });
    expect(await deliver(strict, to, bounce.raw, '<>')).toContain('(ignored)');

    const s = await afterSignals(handle);
    expect(s.phase).toBe('triggered');
    expect(s.acknowledgedBy).toBeUndefined();
    expect(eventsOf(s, 'email-refused')).toEqual([]);
    expect(answersTo(auto.messageId)).toEqual([]);
    expect(answersTo(bounce.messageId)).toEqual([]);
  });

  it('refuses a message larger than maxMessageBytes with 552', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw } = await reply({ to, text: `ack\n${'x'.repeat(100)}\n`.repeat(1_000) }, false);
    expect(raw.length).toBeGreaterThan(MAX_BYTES);
    const result = await swaks(strict, { from: 'alice@example.com', to }, raw);
    expect(result.code).not.toBe(0);
    expect(result.transcript).toContain('552 5.3.4');
    expect((await state(handle)).phase).toBe('triggered');
  });

  it('survives a message that is not mail at all', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const junk = 'not a header\r\n\u0000\u0001\u00ff garbage =?x?Q?broken?=\r\n.\r\n..\r\n';
    expect(await deliver(strict, to, junk)).toContain('(rejected)');
    const s = await waitForEvents(handle, 'email-refused');
    expect(s.phase).toBe('triggered');
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    // Still listening.
    const { raw } = await reply({ to, text: 'ack' });
    expect(await deliver(strict, to, raw)).toContain('(acted)');
  });

  it('acts on unsigned mail from the right sender with token-and-sender', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw } = await reply({ to, text: 'ack' }, false);
    expect(await deliver(lenient, to, raw)).toContain('(acted)');
    expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });

    // The sender must still be the recipient of the address.
    const other = await incident();
    const otherTo = addressFor(other);
    const bob = await reply({ to: otherTo, from: 'bob@example.com', text: 'ack' }, false);
    expect(await deliver(lenient, otherTo, bob.raw, 'bob@example.com')).toContain('(rejected)');
    const s = await waitForEvents(other, 'email-refused');
    expect(s.acknowledgedBy).toBeUndefined();
  });
});

describe('the limits per remote address', () => {
  let limited: InboundListener;

  beforeAll(async () => {
    limited = await startInboundListener({
      config,
      incidents: new IncidentService(w.client, config),
      secrets: loadSecrets(config, ENV),
      log,
      resolver: dns.resolver,
      closeTimeoutMs: 1_000,
      perAddress: { connections: 3, messages: 2, windowMs: 60_000 },
    });
  });

  afterAll(async () => {
    await limited?.close();
  });

  it('defers a message past the limit with 450, then refuses connections with 421', async () => {
    const to = replyAddress({ incident: 'incident-limits', recipient: 'alice' }, SECRET, DOMAIN);
    // Auto-replies: handled (ignored) without Temporal.
    const { raw } = await reply({ to, text: 'ack', headers: { 'Auto-Submitted': 'auto-replied' } }, false);
    expect(await deliver(limited, to, raw)).toContain('(ignored)');
    expect(await deliver(limited, to, raw)).toContain('(ignored)');
    const third = await swaks(limited, { from: 'alice@example.com', to }, raw);
    expect(third.code).not.toBe(0);
    expect(third.transcript).toMatch(/<\*\* +450 4\.7\.1 too many messages from your address/);
    const fourth = await swaks(limited, { from: 'alice@example.com', to }, raw);
    expect(fourth.code).not.toBe(0);
    expect(fourth.transcript).toMatch(/<\*\* +421 4\.7\.0 too many connections from your address/);
    // Other listeners count their own.
    expect(await deliver(strict, to, raw)).toContain('(ignored)');
  });
});

describe('POST /email/inbound', () => {
  async function post(raw: string, authorization?: string) {
    return app.inject({
      method: 'POST',
      url: '/email/inbound',
      headers: {
        'content-type': 'message/rfc822',
        ...(authorization ? { authorization } : {}),
      },
      payload: raw,
    });
  }

  it('acts on a DKIM-signed reply posted with the bearer token', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw, messageId } = await reply({ to, text: 'ack' });
    const response = await post(raw, `Bearer ${ROUTE_TOKEN}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      outcome: 'acted',
      incident: handle.workflowId,
      reason: `alice acknowledged ${handle.workflowId}`,
    });
    expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });
    expect(answersTo(messageId)).toHaveLength(1);

    // Refused for good: still 200, so that the provider does not retry it.
    const again = await reply({ to, text: 'ack' });
    const refused = await post(again.raw, `Bearer ${ROUTE_TOKEN}`);
    expect(refused.statusCode).toBe(200);
    expect(refused.json()).toMatchObject({ outcome: 'refused' });
  });

  it('answers 401 without the bearer token, or with another, and changes nothing', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw } = await reply({ to, text: 'ack' });
    for (const authorization of [undefined, 'Bearer not-the-token', `Basic ${ROUTE_TOKEN}`]) {
      const response = await post(raw, authorization);
      expect(response.statusCode, authorization).toBe(401);
      expect(response.json()).toEqual({ error: 'a valid bearer token is required', code: 'Unauthorized' });
    }
    const s = await afterSignals(handle);
    expect(s.phase).toBe('triggered');
    expect(eventsOf(s, 'email-refused')).toEqual([]);
  });

  it('signals an incident a bounded number of refused emails, however their From and addresses vary', async () => {
    const handle = await incident();
    await started(handle);
    const to = addressFor(handle);
    const forge = async (i: number, remoteAddress: string) => {
      const { raw } = await reply(
        { to, from: `Forger ${i} <forger-${i}@example.net>`, text: 'resolve' },
        false,
      );
      const response = await app.inject({
        method: 'POST',
        url: '/email/inbound',
        headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${ROUTE_TOKEN}` },
        payload: raw,
        remoteAddress,
      });
      expect(response.json()).toMatchObject({ outcome: 'rejected', incident: handle.workflowId });
    };
    // From one address, a new From each time: one reaches the incident this minute.
    for (let i = 1; i <= 5; i += 1) await forge(i, '192.0.2.50');
    // From many addresses: ten in all, this hour.
    for (let i = 6; i <= 20; i += 1) await forge(i, `192.0.2.${45 + i}`);

    const s = await afterSignals(handle);
    expect(s.emailRefusals).toBe(10);
    expect(eventsOf(s, 'email-refused').map((e) => e.details?.from)).toEqual([
      'forger-1@example.net',
      ...Array.from({ length: 9 }, (_, i) => `forger-${i + 6}@example.net`),
    ]);
    expect(steps(s).phase).toBe('triggered');
  });

  it('refuses an unsigned reply in strict mode: SPF cannot be checked from here', async () => {
    const handle = await incident();
    const to = addressFor(handle);
    const { raw } = await reply({ to, text: 'ack' }, false);
    const response = await post(raw, `Bearer ${ROUTE_TOKEN}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ outcome: 'rejected', incident: handle.workflowId });
    expect(response.json<{ reason: string }>().reason).toContain('spf not checked');
    const s = await waitForEvents(handle, 'email-refused');
    expect(s.acknowledgedBy).toBeUndefined();
  });
});

describe('while Temporal is unavailable', () => {
  let down: InboundListener;
  let downApp: FastifyInstance;
  let client: ReturnType<typeof createTemporalClient>;

  beforeAll(async () => {
    const downConfig: BatonConfig = {
      ...config,
      temporal: { ...config.temporal, address: `127.0.0.1:${await freePort()}` },
    };
    const secrets = loadSecrets(downConfig, ENV);
    client = createTemporalClient(downConfig, secrets);
    const deps = {
      config: downConfig,
      incidents: new IncidentService(client, downConfig, 3_000),
      mailer,
      secrets,
      log,
      resolver: dns.resolver,
    };
    down = await startInboundListener({ ...deps, closeTimeoutMs: 1_000 });
    downApp = Fastify();
    await downApp.register(emailRoutes(deps));
  });

  afterAll(async () => {
    await down?.close();
    await downApp?.close();
    await client?.connection.close();
  });

  const to = replyAddress({ incident: 'incident-while-down', recipient: 'alice' }, SECRET, DOMAIN);

  it('answers 451 so that the sending MTA retries, for a step and for a refusal to record', async () => {
    const signedAck = await reply({ to, text: 'ack' });
    const unsigned = await reply({ to, text: 'ack' }, false);
    for (const { raw } of [signedAck, unsigned]) {
      const result = await swaks(down, { from: 'alice@example.com', to }, raw);
      expect(result.code).not.toBe(0);
      expect(result.transcript).toMatch(/<\*\* +451 4\.3\.0 Temporal is unavailable/);
    }
    expect(answersTo(signedAck.messageId)).toEqual([]);
    // Not taken: the retry may act.
    const used = new UsedLinks(DATA_DIR, 'replies');
    expect(await used.used(requestIdOf(signedAck.messageId, ''))).toBe(false);
  });

  it('answers 503 on the provider route', async () => {
    const { raw } = await reply({ to, text: 'ack' });
    const response = await downApp.inject({
      method: 'POST',
      url: '/email/inbound',
      headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${ROUTE_TOKEN}` },
      payload: raw,
    });
    expect(response.statusCode, response.body).toBe(503);
    expect(response.headers['retry-after']).toBe('60');
    expect(response.json()).toMatchObject({ code: 'Deferred' });
  });
});
