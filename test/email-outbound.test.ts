/**
 * Baton's emails on the wire: notices built as the workflow builds them, sent by the real
 * nodemailer transport the worker builds from its configuration, over STARTTLS to a real SMTP
 * server that reads them back as a mail client would. No Temporal: sendEmail is called
 * directly. The last tests send to servers that do not offer STARTTLS, or that Baton does
 * not trust.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmail } from '../channels/email/send';
import { checkLink, checkReplyAddress } from '../channels/email/tokens';
import { mailerFor, type Mailer } from '../channels/email/mailer';
import { loadSecrets } from '../config/secrets';
import type { Notification } from '../workflows/incident/model';
import { notices } from '../workflows/incident/notices';
import { testConfig } from './support/config';
import { mailAbout, startSmtpSink, type ReceivedMail, type SmtpSink } from './support/smtp';
import { plainIncident, take } from './unit/plain-incident';

// 32 random bytes' worth, as start-up asks of a link secret (config/secrets.ts).
const SECRET = 'outbound-test-link-secret-5a8d1f4b7e0c3a6d9f2b5e8c1a4d7f0b';
const PUBLIC_URL = 'https://baton.example.com';
const REPLY_DOMAIN = 'reply.example.com';

let smtp: SmtpSink;
let mailer: Mailer;

beforeAll(async () => {
  smtp = await startSmtpSink({ startTls: true });
  const config = testConfig((input) => {
    input.api = { ...input.api, publicUrl: PUBLIC_URL };
    input.notifications = {
      email: {
        from: 'Baton <baton@example.com>',
        smtp: {
          host: smtp.host,
          port: smtp.port,
          secure: false,
          ...(smtp.caFile ? { caFile: smtp.caFile } : {}),
        },
        linkSecretEnv: 'BATON_EMAIL_LINK_SECRET',
        linkTtl: '1h',
        replyDomain: REPLY_DOMAIN,
      },
    };
  });
  const built = mailerFor(config, loadSecrets(config, { BATON_EMAIL_LINK_SECRET: SECRET }));
  if (!built?.signing) throw new Error('the configuration should give a signing mailer');
  mailer = built;
});

afterAll(async () => {
  mailer?.transport.close();
  await smtp?.close();
});

/** An incident of its own for each test, as the workflow would hold it. */
function incident() {
  const plain = plainIncident();
  plain.state.id = `incident-test-${randomUUID()}`;
  plain.state.links.temporalUi = `http://127.0.0.1:8233/namespaces/default/workflows/${plain.state.id}`;
  return plain;
}

/** Sends to every target, as the notify activity does, and returns what the server accepted. */
async function deliver(notification: Notification, id: string = randomUUID()): Promise<ReceivedMail[]> {
  const withId = { ...notification, id };
  const targets = [...withId.emails, ...withId.responders.flatMap((r) => (r.email ? [r.email] : []))];
  for (const to of targets) await sendEmail(mailer, to, withId);
  return mailAbout(smtp.messages, notification.incidentId).filter(
    (m) => m.headers['message-id'] === `<${id}@baton>`,
  );
}

describe('outbound email', () => {
  it('pages alice with a text and an HTML part, the incident id in the subject and signed links and reply address', async () => {
    const { state, policy } = incident();
    const page = notices.page(state, policy, ['alice'], 'round 1 of 1, step 1 of 3');
    const [mail, ...more] = await deliver(page);
    expect(more).toEqual([]);

    expect(mail?.to).toEqual(['alice@example.com']);
    expect(mail?.headers['content-type']).toMatch(/^multipart\/alternative;/);
    expect(mail?.subject).toBe(
      `[SEV2] Incident needs acknowledgement: ${state.title} (incident ${state.id})`,
    );
    expect(mail?.text).toContain(
      'You are paged (round 1 of 1, step 1 of 3). Acknowledge to take the incident.',
    );
    expect(mail?.html).toContain(
      'You are paged (round 1 of 1, step 1 of 3). Acknowledge to take the incident.',
    );
    expect(mail?.html).toContain(`href='${state.links.temporalUi}'`);
    expect(mail?.headers['auto-submitted']).toBe('auto-generated');
    expect(mail?.headers['x-baton-kind']).toBe('page');

    // The button and the text link are the same signed link, for alice, to acknowledge.
    const [, token] = /\/email\/actions\/([A-Za-z0-9_.-]+)/.exec(String(mail?.html)) ?? [];
    expect(mail?.text).toContain(`Acknowledge: ${PUBLIC_URL}/email/actions/${token}`);
    expect(checkLink(String(token), SECRET)).toMatchObject({
      ok: true,
      claims: {
        incident: state.id,
        responder: 'alice',
        step: 'acknowledge',
        phase: 'triggered',
        response: 0,
      },
    });

    const replyTo = String(mail?.headers['reply-to']);
    expect(replyTo).toMatch(new RegExp(`^reply\\+[a-z2-7]+@${REPLY_DOMAIN.replace(/\./g, '\\.')}$`));
    expect(checkReplyAddress(replyTo, SECRET)).toEqual({ incident: state.id, recipient: 'alice' });
  });

  it('threads two notices of one incident on one root, each with its own Message-ID', async () => {
    const plain = incident();
    const { state, policy } = plain;
    const first = await deliver(notices.page(state, policy, ['alice'], 'round 1 of 1, step 1 of 3'), 'n-1');
    take(plain, 'acknowledge', { actor: 'alice' });
    const second = await deliver(notices.assessReminder(plain.state, policy, 3_600_000), 'n-2');

    const root = `<${state.id}@baton>`;
    const thread = [...first, ...second];
    expect(thread.map((m) => [m.to, m.headers['message-id']])).toEqual([
      [['alice@example.com'], '<n-1@baton>'],
      [['alice@example.com'], '<n-2@baton>'],
    ]);
    for (const mail of thread) {
      expect(mail.headers['in-reply-to']).toBe(root);
      expect(mail.headers.references).toBe(root);
      expect(mail.subject.endsWith(` (incident ${state.id})`)).toBe(true);
      expect(mail.subject.split(state.id)).toHaveLength(2);
    }
    // Reminders offer nothing to click.
    expect(second[0]?.text).not.toContain('/email/actions/');
    // Another incident has another root.
    const other = incident();
    const [elsewhere] = await deliver(notices.page(other.state, other.policy, ['alice'], 'round 1 of 1'));
    expect(elsewhere?.headers['in-reply-to']).toBe(`<${other.state.id}@baton>`);
  });

  it('invites Level 2 and Level 3 to the handover meeting with a METHOD:REQUEST calendar', async () => {
    const plain = incident();
    take(plain, 'acknowledge', { actor: 'alice' });
    take(plain, 'escalate', { actor: 'alice', reason: 'the restart did not help' });
    const meeting = notices.handoverMeeting(plain.state, plain.policy, ['carol']);
    const at = String(meeting.meeting?.at);
    const mails = await deliver(meeting);
    expect(
      mails
        .map((m) => m.to)
        .flat()
        .sort(),
    ).toEqual(['alice@example.com', 'carol@example.com']);

    for (const mail of mails) {
      const part = mail.attachments.find((a) => a.contentType === 'text/calendar');
      expect(part?.headers.get('content-type')).toMatchObject({ params: { method: 'REQUEST' } });
      expect(mail.attachments.some((a) => a.contentType === 'application/ics')).toBe(true);

      const ics = String(mail.calendar).replace(/\r\n[ \t]/g, '');
      expect(ics).toContain('METHOD:REQUEST');
      expect(ics).toContain(`UID:${meeting.meeting?.uid}`);
      const dtstart = new Date(at)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      expect(ics).toContain(`DTSTART:${dtstart}`);
      expect(ics).toMatch(/ORGANIZER;CN="Alice Ng":mailto:alice@example\.com/i);
      expect(ics).toMatch(/ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE;CN="Alice Ng":mailto:alice@example\.com/i);
      expect(ics).toMatch(
        /ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE;CN="Carol Diaz":mailto:carol@example\.com/i,
      );
      expect(ics).toContain(`${PUBLIC_URL}/api/v1/incidents/${plain.state.id}`);
      expect(mail.text).toContain('The calendar invitation is attached');
      expect(mail.headers['in-reply-to']).toBe(`<${plain.state.id}@baton>`);
    }
  });

  it('sends customers the approved text only: no id, links, reply address or thread', async () => {
    const { state, policy } = incident();
    const message =
      'Some card payments are failing since 10:02 UTC.\nThe next update follows within 30 minutes.';
    const [mail, ...more] = await deliver(notices.externalUpdate(state, policy, message));
    expect(more).toEqual([]);
    expect(mail?.to).toEqual(['status-subscribers@example.com']);
    expect(mail?.subject).toBe('Service notice: payments');
    expect(mail?.text).toBe(message);
    expect(mail?.html).toContain('Some card payments are failing since 10:02 UTC.<br />');
    for (const part of [String(mail?.text), String(mail?.html)]) {
      expect(part).not.toContain(state.id);
      expect(part).not.toMatch(/https?:\/\//);
    }
    expect(mail?.headers['reply-to']).toBeUndefined();
    expect(mail?.headers['in-reply-to']).toBeUndefined();
    expect(mail?.headers.references).toBeUndefined();
  });
});

describe('the connection to the SMTP server', () => {
  const PASSWORD = 'smtp-password-that-must-not-leak';
  const sinks: SmtpSink[] = [];
  const mailers: Mailer[] = [];

  afterAll(async () => {
    for (const m of mailers) m.transport.close();
    for (const sink of sinks) await sink.close();
  });

  /** A mailer that logs in as baton, built as the worker builds it. */
  function mailerTo(sink: SmtpSink, smtpSettings: { requireTLS?: boolean; caFile?: string } = {}) {
    const config = testConfig((input) => {
      input.notifications = {
        email: {
          from: 'Baton <baton@example.com>',
          smtp: {
            host: sink.host,
            port: sink.port,
            user: 'baton',
            passwordEnv: 'SMTP_PASSWORD',
            ...smtpSettings,
          },
        },
      };
    });
    const built = mailerFor(config, loadSecrets(config, { SMTP_PASSWORD: PASSWORD }));
    if (!built) throw new Error('the configuration should give a mailer');
    mailers.push(built);
    return built;
  }

  async function sink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
    const started = await startSmtpSink(options);
    sinks.push(started);
    return started;
  }

  const message = { from: 'baton@example.com', to: 'alice@example.com', subject: 'page', text: 'ack?' };

  it('refuses to send, and never logs in, when the server does not offer STARTTLS', async () => {
    const plain = await sink();
    const mailer = mailerTo(plain);
    await expect(mailer.transport.sendMail(message)).rejects.toThrow(/STARTTLS/);
    expect(plain.authAttempts).toEqual([]);
    expect(plain.messages).toEqual([]);
    expect(plain.connections).toBe(1);
  });

  it('sends in clear, password and all, only when requireTLS: false says so', async () => {
    const plain = await sink();
    await mailerTo(plain, { requireTLS: false }).transport.sendMail(message);
    expect(plain.authAttempts).toEqual([{ username: 'baton', secure: false }]);
    expect(plain.messages.map((m) => m.subject)).toEqual(['page']);
  });

  it('logs in and sends inside STARTTLS, trusting the CA of caFile', async () => {
    const tls = await sink({ startTls: true });
    await mailerTo(tls, { ...(tls.caFile ? { caFile: tls.caFile } : {}) }).transport.sendMail(message);
    expect(tls.authAttempts).toEqual([{ username: 'baton', secure: true }]);
    expect(tls.messages.map((m) => m.subject)).toEqual(['page']);
  });

  it('refuses a server whose certificate no trusted CA signed, before logging in', async () => {
    const tls = await sink({ startTls: true });
    await expect(mailerTo(tls).transport.sendMail(message)).rejects.toThrow(/certificate/i);
    expect(tls.authAttempts).toEqual([]);
    expect(tls.messages).toEqual([]);
  });

  it('names caFile when the file cannot be read', () => {
    const config = testConfig((input) => {
      input.notifications = {
        email: {
          from: 'Baton <baton@example.com>',
          smtp: { host: '127.0.0.1', port: 25, caFile: '/nonexistent/ca.pem' },
        },
      };
    });
    expect(() => mailerFor(config, loadSecrets(config, {}))).toThrow(
      /notifications\.email\.smtp\.caFile: cannot read \/nonexistent\/ca\.pem/,
    );
  });
});
