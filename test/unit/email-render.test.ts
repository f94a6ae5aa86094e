/**
 * Baton's emails as pure functions: the templates, the view customers get, the signed links
 * and the headers, rendered and composed without a server. The message itself is built by
 * nodemailer's stream transport and read back with mailparser, as a mail client would.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, describe, expect, it } from 'vitest';
import {
  composeEmail,
  emailSubject,
  emailTargets,
  sendEmail,
  threadRoot,
  type Mailer,
} from '../../channels/email/send';
import {
  EMAIL_TEMPLATE_DIR,
  loadEmailTemplates,
  type EmailRecipient,
  type EmailTemplates,
} from '../../channels/email/render';
import { checkLink, checkReplyAddress } from '../../channels/email/tokens';
import type { Notification } from '../../workflows/incident/model';
import { notices } from '../../workflows/incident/notices';
import { parseMail } from '../support/smtp';
import { plainIncident, take } from './plain-incident';

const SECRET = 'unit-test-link-secret';
const PUBLIC_URL = 'https://baton.example.com';
const HOSTILE_TITLE = '<script>alert(1)</script> & "x"';

function mailer(signing: 'links' | 'links-and-replies' | 'none' = 'links-and-replies'): Mailer {
  return {
    transport: nodemailer.createTransport({ streamTransport: true, buffer: true }),
    from: 'Baton <baton@example.com>',
    ...(signing === 'none'
      ? {}
      : {
          signing: {
            secret: SECRET,
            publicUrl: PUBLIC_URL,
            linkTtlMs: 3_600_000,
            ...(signing === 'links-and-replies' ? { replyDomain: 'reply.example.com' } : {}),
          },
        }),
  };
}

function pageFor(title = 'Payments API error rate above 5%'): Notification {
  const incident = plainIncident({ input: { title } });
  return {
    ...notices.page(incident.state, incident.policy, ['alice'], 'round 1 of 1, step 1 of 3'),
    id: 'n-page',
  };
}

/** The action tokens in a rendered part, in order. */
function tokensIn(part: string): string[] {
  return [...part.matchAll(/\/email\/actions\/([A-Za-z0-9_.-]+)/g)].map((m) => m[1] as string);
}

/** The message as it goes on the wire, read back. */
async function onTheWire(m: Mailer, to: string, notification: Notification) {
  const sent: Buffer[] = [];
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const recording: Mailer = {
    ...m,
    transport: {
      sendMail: async (options: Parameters<typeof transport.sendMail>[0]) => {
        const info = await transport.sendMail(options);
        sent.push(info.message as Buffer);
        return info;
      },
    } as unknown as Mailer['transport'],
  };
  await sendEmail(recording, to, notification);
  const [raw] = sent;
  if (!raw) throw new Error('nothing was sent');
  return parseMail(raw);
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function templateCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-templates-'));
  dirs.push(dir);
  cpSync(EMAIL_TEMPLATE_DIR, dir, { recursive: true });
  return dir;
}

describe('rendering', () => {
  it('escapes a hostile title in the HTML part and keeps it as written in the text part', () => {
    const email = composeEmail(mailer(), 'alice@example.com', pageFor(HOSTILE_TITLE));
    const html = email.html ?? '';
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;');
    expect(email.text).toContain(HOSTILE_TITLE);
    expect(email.text).not.toContain('&lt;');
    expect(email.renderError).toBeUndefined();
  });

  it('sends a text and an HTML alternative, the notice text in both with its line breaks', async () => {
    const notification = pageFor();
    const mail = await onTheWire(mailer(), 'alice@example.com', notification);
    expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(mail.text).toContain('Service: payments · Team: payments · Severity: SEV2');
    expect(mail.text).toContain(
      'You are paged (round 1 of 1, step 1 of 3). Acknowledge to take the incident.',
    );
    expect(mail.html).toMatch(/^<!doctype html>/);
    // The notice's line break is a <br />, its blank line a new paragraph.
    expect(mail.html).toContain('Payments API error rate above 5%<br />Service: payments');
    expect(mail.html).toMatch(/Severity: SEV2<\/p>\s*<p[^>]*>You are paged/);
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
    expect(mail.headers['x-baton-incident']).toBe('inc-unit');
    expect(mail.headers['x-baton-kind']).toBe('page');
  });

  it('shows a link that is not http(s) as text, never as a link', () => {
    const notification = pageFor();
    notification.links = [
      { label: 'Graph: Evil', url: 'javascript:alert(1)' },
      { label: 'Runbook', url: 'https://runbooks.example.com/a?b=1&c=2' },
    ];
    const html = composeEmail(mailer(), 'alice@example.com', notification).html ?? '';
    expect(html).not.toMatch(/href=['"]javascript:/i);
    expect(html).toContain('javascript:alert(1)');
    expect(html).toContain("href='https://runbooks.example.com/a?b&#x3D;1&amp;c&#x3D;2'");
  });
});

describe('action links', () => {
  it('gives a responder one signed link per step, for them, in both parts, saying a confirmation page opens', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    const nudge = notices.escalationNudge(incident.state, incident.policy, 3_600_000);
    expect(nudge.actions?.steps).toEqual(['escalate', 'resolve']);
    const before = Date.now();

    const email = composeEmail(mailer(), 'Alice@Example.com', nudge);
    const html = email.html ?? '';
    const text = email.text;

    const htmlTokens = tokensIn(html);
    expect(htmlTokens).toHaveLength(2);
    expect(tokensIn(text)).toEqual(htmlTokens);
    const claims = htmlTokens.map((token) => {
      const check = checkLink(token, SECRET);
      if (!check.ok) throw new Error(`link does not check: ${check.reason}`);
      return check.claims;
    });
    expect(claims.map((c) => c.step)).toEqual(['escalate', 'resolve']);
    for (const c of claims) {
      expect(c).toMatchObject({
        incident: 'inc-unit',
        responder: 'alice',
        phase: nudge.actions?.phase,
        response: nudge.actions?.response,
      });
      expect(c.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
      expect(c.expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    }
    expect(new Set(claims.map((c) => c.nonce)).size).toBe(2);
    // Another secret does not pass them.
    expect(checkLink(htmlTokens[0] as string, 'another secret')).toMatchObject({
      ok: false,
      reason: 'tampered',
    });

    expect(html).toContain('>Escalate to Level 3</a>');
    expect(html).toContain('>Resolve</a>');
    expect(html).toContain('opens a confirmation page');
    expect(text).toMatch(new RegExp(`^Escalate to Level 3: ${PUBLIC_URL}/email/actions/\\S+$`, 'm'));
    expect(text).toMatch(new RegExp(`^Resolve: ${PUBLIC_URL}/email/actions/\\S+$`, 'm'));
    expect(text).toContain('opens a confirmation page');
  });

  it('gives no links to an address that is not a responder', () => {
    const notification = { ...pageFor(), emails: ['payments-leads@example.com'] };
    const email = composeEmail(mailer(), 'payments-leads@example.com', notification);
    expect(tokensIn(email.html ?? '')).toEqual([]);
    expect(tokensIn(email.text)).toEqual([]);
    expect(email.replyTo).toBeUndefined();
    expect(email.html).not.toContain('Alice');
  });

  it('offers no links and no reply address without signing, and still renders both parts', () => {
    const email = composeEmail(mailer('none'), 'alice@example.com', pageFor());
    expect(email.html ?? '').toContain('You are paged');
    expect(email.text).toContain('You are paged');
    expect(email.html ?? '').not.toContain('/email/actions/');
    expect(email.text).not.toContain('/email/actions/');
    expect(email.text).not.toContain('confirmation page');
    expect(email.replyTo).toBeUndefined();
  });

  it('gives a signed reply address only with a reply domain', () => {
    const withReplies = composeEmail(mailer('links-and-replies'), 'alice@example.com', pageFor());
    expect(checkReplyAddress(withReplies.replyTo ?? '', SECRET)).toEqual({
      incident: 'inc-unit',
      recipient: 'alice',
    });
    expect(withReplies.replyTo ?? '').toMatch(/@reply\.example\.com$/);
    expect(withReplies.text).toContain('Reply with ack, escalate <reason> or resolve <summary>');

    const linksOnly = composeEmail(mailer('links'), 'alice@example.com', pageFor());
    expect(linksOnly.replyTo).toBeUndefined();
    expect(linksOnly.text).not.toContain('Reply with ack');
    expect(tokensIn(linksOnly.text)).toHaveLength(1);
  });
});

describe('headers', () => {
  it('adds the incident id to the subject once, and threads every internal email on one root', () => {
    const page = pageFor();
    const email = composeEmail(mailer(), 'alice@example.com', page);
    expect(email.subject).toBe(`${page.subject} (incident inc-unit)`);
    expect(emailSubject({ ...page, subject: `${page.subject} (incident inc-unit)` })).toBe(email.subject);
    expect(email.messageId).toBe('<n-page@baton>');
    expect(email.inReplyTo).toBe(threadRoot('inc-unit'));
    expect(email.references).toEqual(['<inc-unit@baton>']);
    expect(email.headers).toMatchObject({
      'X-Baton-Incident': 'inc-unit',
      'X-Baton-Kind': 'page',
      'Auto-Submitted': 'auto-generated',
    });
  });

  it('writes a title with a line break as one subject line', () => {
    expect(emailSubject({ ...pageFor(), subject: '[SEV2] Incident: one\r\ntwo' })).toBe(
      '[SEV2] Incident: one two (incident inc-unit)',
    );
  });

  it('sends each address once, whatever its case', () => {
    const notification = { ...pageFor(), emails: ['ALICE@example.com', 'leads@example.com'] };
    expect(emailTargets(notification)).toEqual(['ALICE@example.com', 'leads@example.com']);
  });
});

describe('customer emails (external)', () => {
  function external(): Notification {
    const incident = plainIncident();
    const notice = notices.externalUpdate(
      incident.state,
      incident.policy,
      'Some card payments are failing since 10:02 UTC.\nThe next update follows within 30 minutes.',
    );
    // Even a notice that carried internal parts by mistake must not show them to customers.
    return {
      ...notice,
      id: 'n-external',
      responders: [{ id: 'alice', name: 'Alice Ng', level: 'L2', email: 'status-subscribers@example.com' }],
      links: [{ label: 'Incident in Temporal', url: 'http://127.0.0.1:8233/workflows/inc-unit' }],
      actions: { phase: 'triggered', response: 0, steps: ['acknowledge'] },
    };
  }

  it('carries the approved text word for word and nothing internal', async () => {
    const notification = external();
    const email = composeEmail(mailer(), 'status-subscribers@example.com', notification);
    expect(email.subject).toBe('Service notice: payments');
    expect(email.text).toBe(notification.text);
    expect(email.replyTo).toBeUndefined();
    expect(email.inReplyTo).toBeUndefined();
    expect(email.references).toBeUndefined();
    expect(email.icalEvent).toBeUndefined();
    for (const part of [email.html ?? '', email.text]) {
      expect(part).not.toContain('inc-unit');
      expect(part).not.toContain('Alice');
      expect(part).not.toContain('Baton');
      expect(part).not.toMatch(/https?:\/\//);
      expect(tokensIn(part)).toEqual([]);
    }
    expect(email.html ?? '').toContain('Some card payments are failing since 10:02 UTC.<br />');

    const mail = await onTheWire(mailer(), 'status-subscribers@example.com', notification);
    expect(mail.text).toBe(notification.text);
    expect(mail.headers['reply-to']).toBeUndefined();
    expect(mail.headers['references']).toBeUndefined();
    expect(mail.headers['in-reply-to']).toBeUndefined();
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
  });
});

describe('the meeting invitation', () => {
  it('invites the responders to the handover meeting, organized by the Level 2 holder', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'unknown territory' });
    const meeting = notices.handoverMeeting(incident.state, incident.policy, ['carol']);
    expect(meeting.meeting).toBeDefined();

    const email = composeEmail(mailer(), 'carol@example.com', meeting);
    const event = email.icalEvent;
    if (!event) throw new Error('no invitation');
    expect(event.method).toBe('REQUEST');
    const ics = event.content.replace(/\r\n[ \t]/g, '');
    expect(ics).toContain('METHOD:REQUEST');
    expect(ics).toContain(`UID:${meeting.meeting?.uid}`);
    const start = new Date(String(meeting.meeting?.at));
    const stamp = (d: Date) =>
      d
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
    expect(ics).toContain(`DTSTART:${stamp(start)}`);
    expect(ics).toContain(`DTEND:${stamp(new Date(start.getTime() + 30 * 60_000))}`);
    expect(ics).toMatch(/ORGANIZER;CN="?Alice Ng"?:mailto:alice@example\.com/);
    for (const [name, address] of [
      ['Alice Ng', 'alice@example.com'],
      ['Carol Diaz', 'carol@example.com'],
    ]) {
      const line = ics
        .split('\r\n')
        .find((l) => l.startsWith('ATTENDEE') && l.toLowerCase().endsWith(`:mailto:${address}`));
      expect(line).toContain('ROLE=REQ-PARTICIPANT');
      expect(line).toContain('RSVP=TRUE');
      expect(line).toContain(`CN="${name}"`);
    }
    expect(ics).toContain('SUMMARY:[SEV2] Handover meeting: Payments API error rate above 5%');
    expect(ics).toContain(`${PUBLIC_URL}/api/v1/incidents/inc-unit`);
    expect(email.text).toContain('The calendar invitation is attached');
    expect(email.text).toContain(
      `When: ${start.toISOString().slice(0, 16).replace('T', ' ')} UTC (30 minutes)`,
    );
  });

  it('goes only with the meeting notice', () => {
    expect(composeEmail(mailer(), 'alice@example.com', pageFor()).icalEvent).toBeUndefined();
  });
});

describe('templates', () => {
  const recipient: EmailRecipient = { address: 'alice@example.com' };

  it('loads a team’s own directory: its kind template, and the default for kinds without one', () => {
    const dir = templateCopy();
    writeFileSync(path.join(dir, 'page.txt'), 'PAGED! {{heading}}\n{{text}}\n');
    writeFileSync(path.join(dir, 'page.html.hbs'), '<p class="ours">{{heading}}</p>\n');
    writeFileSync(path.join(dir, 'default.txt'), 'Our default: {{text}}\n');
    const templates = loadEmailTemplates(dir);
    expect(templates.dir).toBe(dir);

    const page = templates.render(pageFor(HOSTILE_TITLE), recipient);
    expect(page.text).toMatch(/^PAGED! \[SEV2\] Incident needs acknowledgement: <script>/);
    expect(page.html).toContain('<p class="ours">[SEV2] Incident needs acknowledgement: &lt;script&gt;');

    const incident = plainIncident();
    const closed = templates.render(notices.closed(incident.state, incident.policy), recipient);
    expect(closed.text).toMatch(/^Our default: Every follow-up is done or waived/);
    expect(closed.error).toBeUndefined();
  });

  it('refuses to load a template that does not compile, naming the file', () => {
    const dir = templateCopy();
    writeFileSync(path.join(dir, 'nudge.html.hbs'), '<p>{{#if actions.length}}unclosed</p>\n');
    expect(() => loadEmailTemplates(dir)).toThrow(/nudge\.html\.hbs does not compile/);
  });

  it('refuses a helper Handlebars does not have, and a file named after no kind', () => {
    const helper = templateCopy();
    writeFileSync(path.join(helper, 'resolved.txt'), '{{shout text}}\n');
    expect(() => loadEmailTemplates(helper)).toThrow(/resolved\.txt does not compile/);

    const misnamed = templateCopy();
    writeFileSync(path.join(misnamed, 'pgae.txt'), '{{text}}\n');
    expect(() => loadEmailTemplates(misnamed)).toThrow(/pgae\.txt: "pgae" is not a notification kind/);

    const missing = templateCopy();
    rmSync(path.join(missing, 'layout.txt'));
    expect(() => loadEmailTemplates(missing)).toThrow(/layout\.txt is missing/);
  });

  it('sends the plain text with the links when a template fails while rendering', async () => {
    const dir = templateCopy();
    // Compiles, and throws at render: #each needs something to iterate.
    writeFileSync(path.join(dir, 'page.html.hbs'), '{{#each}}{{/each}}\n');
    const templates: EmailTemplates = loadEmailTemplates(dir);
    const errors: string[] = [];
    const sent: { html?: unknown; text?: unknown }[] = [];
    const m: Mailer = {
      ...mailer(),
      transport: {
        sendMail: async (options: { html?: unknown; text?: unknown }) => {
          sent.push(options);
          return {};
        },
      } as unknown as Mailer['transport'],
    };

    await sendEmail(m, 'alice@example.com', pageFor(), undefined, {
      templates,
      onRenderError: (e) => errors.push(e),
    });
    expect(errors).toEqual([expect.stringContaining('Must pass iterator to #each')]);
    expect(sent[0]?.html).toBeUndefined();
    const text = String(sent[0]?.text);
    expect(text).toContain('You are paged (round 1 of 1, step 1 of 3)');
    const [token] = tokensIn(text);
    expect(checkLink(String(token), SECRET)).toMatchObject({ ok: true, claims: { step: 'acknowledge' } });
  });
});
