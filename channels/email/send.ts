/**
 * Baton's emails: one per address, rendered from the team's templates (HTML and text), in one
 * thread per incident, with signed action links and a signed reply address for responders,
 * and a calendar invitation for the handover meeting. Customer emails (kind external) carry
 * the approved text and nothing internal.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type Mail from 'nodemailer/lib/mailer';
import type { Notification, ResponderSnapshot } from '../../workflows/incident/model';
import { meetingInvitation } from './invitation';
import { linkUrl, newNonce, replyAddress, signLink, type EmailStep } from './tokens';
import {
  emailView,
  loadEmailTemplates,
  plainEmailText,
  type ActionLink,
  type EmailTemplates,
} from './render';
import type { Mailer } from './mailer';

export type { Mailer } from './mailer';

export const ACTION_LABELS: Record<EmailStep, string> = {
  acknowledge: 'Acknowledge',
  escalate: 'Escalate to Level 3',
  acceptHandover: 'Accept handover',
  resolve: 'Resolve',
};

/** Every address once, whatever its case: a responder listed as a stakeholder too gets one email. */
export function emailTargets(notification: Notification): string[] {
  const targets = new Map<string, string>();
  const add = (address: string) => {
    const key = address.toLowerCase();
    if (!targets.has(key)) targets.set(key, address);
  };
  notification.emails.forEach(add);
  for (const responder of notification.responders) {
    if (responder.email) add(responder.email);
  }
  return [...targets.values()];
}

/** The responder an address belongs to (addresses compare without case). */
export function responderFor(notification: Notification, address: string): ResponderSnapshot | undefined {
  const wanted = address.toLowerCase();
  return notification.responders.find((r) => r.email?.toLowerCase() === wanted);
}

/**
 * The subject with the incident id, the same way on every internal email of an incident, so
 * that people and mail filters can tell incidents apart. Customer emails keep the notice's
 * subject as approved: the id means nothing to them and names an internal system.
 */
export function emailSubject(notification: Notification): string {
  // A header is one line: a title with a line break would end it.
  const subject = notification.subject.replace(/\s*[\r\n]+\s*/g, ' ');
  // A schedule's notice is about no incident: its subject names the schedule.
  if (notification.kind === 'external' || notification.kind === 'schedule') return subject;
  if (subject.includes(notification.incidentId)) return subject;
  return `${subject} (incident ${notification.incidentId})`;
}

/**
 * The Message-ID every email of an incident refers to, as GitHub's notifications refer to
 * `<owner/repo/issues/1@github.com>`: no email has it, yet mail clients thread on it.
 */
export function threadRoot(incidentId: string): string {
  return `<${incidentId}@baton>`;
}

/** Signed links for each step the notice offers; none without signing, for anyone but a responder. */
export function actionLinks(
  mailer: Mailer,
  notification: Notification,
  responder: ResponderSnapshot | undefined,
  expiresAt: number,
): ActionLink[] {
  const { signing } = mailer;
  const { actions } = notification;
  if (!signing || !responder || !actions || notification.kind === 'external') return [];
  return actions.steps.map((step) => {
    const token = signLink(
      {
        incident: notification.incidentId,
        responder: responder.id,
        step,
        phase: actions.phase,
        response: actions.response,
        expiresAt,
        nonce: newNonce(),
      },
      signing.secret,
    );
    return { step, label: ACTION_LABELS[step], url: linkUrl(signing.publicUrl, token) };
  });
}

let repository: EmailTemplates | undefined;

/**
 * The repository's templates, loaded at the first email. Templates that cannot be loaded
 * render nothing: every email goes as Baton's plain text (with its links) and says why in
 * `renderError`, since a page must go out even when a template change broke the set. A worker
 * that loads them itself at start-up (loadEmailTemplates) fails there instead.
 */
function repositoryTemplates(): EmailTemplates {
  if (!repository) {
    try {
      repository = loadEmailTemplates();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      repository = {
        dir: '',
        render: (notification, recipient) => ({
          text: plainEmailText(emailView(notification, recipient)),
          error,
        }),
      };
    }
  }
  return repository;
}

/** An attached chart is at most this large; a bigger file is not a chart Baton drew. */
const MAX_ATTACHMENT_BYTES = 1024 * 1024;

/**
 * The diagnostics charts a notice attaches that this worker has: SVG files in a
 * `diagnostics` folder, each at most 1 MiB. Anything else is left out (the text names every
 * chart's path), so a missing file never stops the email.
 */
export function chartAttachments(notification: Notification): Mail.Attachment[] {
  if (notification.kind === 'external') return [];
  return (notification.attachments ?? []).slice(0, 10).flatMap((a) => {
    const file = a.path;
    if (!path.isAbsolute(file) || !file.endsWith('.svg') || !file.split(path.sep).includes('diagnostics')) {
      return [];
    }
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size > MAX_ATTACHMENT_BYTES) return [];
    return [{ filename: path.basename(a.filename), path: file, contentType: 'image/svg+xml' }];
  });
}

/** A message for nodemailer, with the parts a test or a caller reads typed as they are built. */
export interface ComposedEmail extends Mail.Options {
  subject: string;
  text: string;
  html?: string;
  replyTo?: string;
  inReplyTo?: string;
  references?: string[];
  icalEvent?: { method: 'REQUEST'; filename: string; content: string };
  /** Why the templates did not render this email (it is then text only). */
  renderError?: string;
}

/** The message for one address, ready for the transport. */
export function composeEmail(
  mailer: Mailer,
  to: string,
  notification: Notification,
  templates: EmailTemplates = repositoryTemplates(),
): ComposedEmail {
  const external = notification.kind === 'external';
  const responder = external ? undefined : responderFor(notification, to);
  const expiresAt = Date.now() + (mailer.signing?.linkTtlMs ?? 0);
  const actions = actionLinks(mailer, notification, responder, expiresAt);
  const { signing } = mailer;
  // A reply to a schedule's notice would act on no incident: it gets no reply address.
  const replyTo =
    responder && signing?.replyDomain && notification.kind !== 'schedule'
      ? replyAddress(
          { incident: notification.incidentId, recipient: responder.id },
          signing.secret,
          signing.replyDomain,
        )
      : undefined;
  const invitation = external
    ? undefined
    : meetingInvitation(notification, {
        from: mailer.from,
        ...(signing?.publicUrl ? { publicUrl: signing.publicUrl } : {}),
      });
  const rendered = templates.render(notification, {
    address: to,
    ...(responder ? { responder } : {}),
    actions,
    actionsExpireAt: expiresAt,
    replyable: replyTo !== undefined,
    invitation: invitation !== undefined,
  });
  const root = threadRoot(notification.incidentId);
  const attachments = chartAttachments(notification);
  return {
    from: mailer.from,
    to,
    subject: emailSubject(notification),
    text: rendered.text,
    ...(rendered.html ? { html: rendered.html } : {}),
    headers: {
      'X-Baton-Incident': notification.incidentId,
      'X-Baton-Kind': notification.kind,
      // RFC 3834: auto-responders (vacation replies) do not answer Baton; the second asks
      // Exchange, which does not read the first, for the same.
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'OOF, AutoReply',
    },
    ...(notification.id ? { messageId: `<${notification.id}@baton>` } : {}),
    ...(external ? {} : { inReplyTo: root, references: [root] }),
    ...(replyTo ? { replyTo } : {}),
    ...(invitation ? { icalEvent: { method: 'REQUEST', filename: 'invite.ics', content: invitation } } : {}),
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(rendered.error ? { renderError: rendered.error } : {}),
  };
}

export interface SendEmailOptions {
  /** The templates to render with; the repository's by default, loaded once. */
  templates?: EmailTemplates;
  /** Hears why the templates did not render an email (it went as plain text): worth a log line. */
  onRenderError?: (error: string) => void;
}

/**
 * One email to one address. `signal` aborts the send (nodemailer closes the connection), so
 * a send past its deadline does not run on beside its retry. A notification with an id keeps
 * one Message-ID across retries, so a mail system that got it twice can tell.
 */
export async function sendEmail(
  mailer: Mailer,
  to: string,
  notification: Notification,
  signal?: AbortSignal,
  options: SendEmailOptions = {},
): Promise<void> {
  const { renderError, ...message } = composeEmail(
    mailer,
    to,
    notification,
    options.templates ?? mailer.templates,
  );
  // nodemailer (10.5+) takes `signal`; its type definitions do not list it yet.
  const mail: Mail.Options & { signal?: AbortSignal } = { ...message, ...(signal ? { signal } : {}) };
  await mailer.transport.sendMail(mail);
  if (renderError) {
    try {
      options.onRenderError?.(renderError);
    } catch {
      // Hearing about the fallback must not turn a sent email into a failed one (and a repeat).
    }
  }
}
