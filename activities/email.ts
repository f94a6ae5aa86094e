import type { Transporter } from 'nodemailer';
import type { Notification } from '../workflows/model';

export interface Mailer {
  transport: Transporter;
  from: string;
}

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

export async function sendEmail(mailer: Mailer, to: string, notification: Notification): Promise<void> {
  await mailer.transport.sendMail({
    from: mailer.from,
    to,
    subject: notification.subject,
    text: emailText(notification),
    headers: {
      'X-Baton-Incident': notification.incidentId,
      'X-Baton-Kind': notification.kind,
    },
  });
}
