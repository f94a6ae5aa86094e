/**
 * The demo configuration, pointed at an SMTP server and with the reply listener on (all from
 * the environment), from an alert to a handover driven by email alone: the HTML page email,
 * a DKIM-signed "ack" reply from the paged responder sent with swaks, an "escalate" reply,
 * the Level 3 email's Accept link opened and confirmed, and the meeting invitation.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLink, checkReplyAddress } from '../channels/email/tokens';
import { buildApp, emailListenerOf } from '../api/app';
import { loadConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { domainKey, message, signed, TestDns } from './support/dkim';
import { postCriticalGroup, receiverFor } from './support/harness';
import { state } from './support/incidents';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from './support/smtp';
import { pinOnCall } from './support/on-call';
import { swaks } from './support/swaks';
import { eventsOf, terminateAll } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const LINK_SECRET = 'email-done-when-secret-0123456789';
const PUBLIC_URL = 'https://baton.example.test';
const exampleCom = domainKey('example.com');
const dns = new TestDns().publishKey(exampleCom);

let sink: SmtpSink;
let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  sink = await startSmtpSink();
  const env = {
    SMTP_HOST: sink.host,
    SMTP_PORT: String(sink.port),
    // The test server speaks plain SMTP on loopback.
    SMTP_REQUIRE_TLS: 'false',
    EMAIL_FROM: 'Baton <baton@example.test>',
    BATON_PUBLIC_URL: PUBLIC_URL,
    BATON_EMAIL_LINK_SECRET: LINK_SECRET,
    EMAIL_REPLY_DOMAIN: 'reply.example.test',
    EMAIL_INBOUND_PORT: '0',
  };
  // alice is on call for the demo schedule, whatever the week: the page below is hers.
  const config = pinOnCall(loadConfig(env).config, 'alice');
  w = await startTestWorker(config, 'email-done-when', env);
  const appConfig: BatonConfig = { ...w.config, temporal: { ...w.config.temporal, taskQueue: w.taskQueue } };
  app = await buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, env),
    temporal: w.client,
    emailResolver: dns.resolver,
  });
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
  await sink?.close();
});

function mailTo(id: string, address: string, kind: string): Promise<ReceivedMail> {
  return eventually(() =>
    sink.messages.find(
      (m) =>
        m.headers['x-baton-incident'] === id && m.headers['x-baton-kind'] === kind && m.to.includes(address),
    ),
  );
}

/** The href of the button whose text is `label` in an email's HTML. */
function buttonHref(html: string | undefined, label: string): string {
  const found = new RegExp(`<a\\s+href=['"]([^'"]+)['"][^>]*>\\s*${label}\\s*</a>`).exec(html ?? '');
  if (!found?.[1]) throw new Error(`no "${label}" button in the email`);
  return found[1].replace(/&amp;/g, '&');
}

async function replyFromAlice(to: string, text: string): Promise<void> {
  const { raw } = message({ from: 'Alice Ng <alice@example.com>', to, text });
  const result = await swaks(
    emailListenerOf(app) ?? { port: 0 },
    { from: 'alice@example.com', to },
    await signed(raw, exampleCom),
  );
  expect(result.code, result.transcript).toBe(0);
  expect(result.transcript).toContain('(acted)');
}

describe('the demo configuration with email from the environment', () => {
  it('pages by HTML email, acknowledges from a reply, and hands over from the Accept link', async () => {
    expect(emailListenerOf(app)?.port).toBeGreaterThan(0);
    const id = await postCriticalGroup(app, receiverFor('email-done-when'), 'fp-email-done-when');
    const handle = w.client.workflow.getHandle(id);
    try {
      // The page: HTML and text, the incident in its subject, threaded, answerable.
      const page = await mailTo(id, 'alice@example.com', 'page');
      expect(page.subject).toContain(id);
      expect(page.html).toContain('<a');
      expect(page.text).toContain('You are paged');
      expect(page.headers['references']).toContain(`<${id}@baton>`);
      const replyTo = page.headers['reply-to'] ?? '';
      expect(checkReplyAddress(replyTo, LINK_SECRET)).toEqual({ incident: id, recipient: 'alice' });
      const ackLink = buttonHref(page.html, 'Acknowledge');
      expect(checkLink(ackLink.split('/').pop() ?? '', LINK_SECRET)).toMatchObject({
        ok: true,
        claims: { incident: id, responder: 'alice', step: 'acknowledge' },
      });

      // "ack" by reply, signed by alice's domain, sent by a real SMTP client.
      await replyFromAlice(replyTo, 'ack\n\nOn Fri, Baton wrote:\n> You are paged');
      expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });

      await replyFromAlice(replyTo, 'escalate the provider fails every payment\nfailover did not help');
      const escalated = await state(handle);
      expect(escalated.phase).toBe('escalated');
      expect(escalated.handover?.reason).toContain('the provider fails every payment');

      // Level 3's email: the package with an Accept link, and the meeting as an invitation.
      const handover = await mailTo(id, 'carol@example.com', 'handover');
      const accept = new URL(buttonHref(handover.html, 'Accept handover'));
      expect(accept.origin).toBe(PUBLIC_URL);
      const opened = await app.inject({ method: 'GET', url: accept.pathname });
      expect(opened.statusCode).toBe(200);
      expect((await state(handle)).phase).toBe('escalated');
      const confirmed = await app.inject({
        method: 'POST',
        url: accept.pathname,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'notes=on+it',
      });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      const accepted = await state(handle);
      expect(accepted).toMatchObject({ phase: 'collaborating', holder: 'carol' });
      expect(accepted.handover).toMatchObject({ acceptedBy: 'carol', notes: 'on it' });
      expect(eventsOf(accepted, 'handover-accepted')).toHaveLength(1);

      const meeting = await mailTo(id, 'carol@example.com', 'meeting');
      // iCalendar folds long lines (CRLF and a space); read it unfolded.
      const calendar = (meeting.calendar ?? '').replace(/\r\n[ \t]/g, '');
      expect(calendar).toContain('METHOD:REQUEST');
      expect(calendar).toMatch(/^ATTENDEE[^\r\n]*mailto:carol@example\.com$/im);
      expect(calendar).toMatch(/^ATTENDEE[^\r\n]*mailto:alice@example\.com$/im);
    } finally {
      await terminateAll([handle]);
    }
  });
});
