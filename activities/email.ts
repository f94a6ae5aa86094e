import type Mail from 'nodemailer/lib/mailer';
import type { Notification } from '../workflows/model';
import type { Mailer } from './mailer';

export type { Mailer } from './mailer';

export function emailTargets(notification: Notification): string[] {
  const targets = new Set(notification.emails);
  for (const responder of notification.responders) {
    if (responder.email) targets.add(responder.email);
  }
  return [...targets];
}

export function emailText(notification: Notification): string {
  const links = notification.links.map((l) => `${l.label}: ${l.url}`);
  return [notification.text, ...(links.length > 0 ? ['', ...links] : [])].join('\n');
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
): Promise<void> {
  // nodemailer (10.5+) takes `signal`; its type definitions do not list it yet.
  const options: Mail.Options & { signal?: AbortSignal } = {
    from: mailer.from,
    to,
    subject: notification.subject,
    text: emailText(notification),
    headers: {
      'X-Baton-Incident': notification.incidentId,
      'X-Baton-Kind': notification.kind,
    },
    ...(notification.id ? { messageId: `<${notification.id}@baton>` } : {}),
    ...(signal ? { signal } : {}),
  };
  await mailer.transport.sendMail(options);
}
