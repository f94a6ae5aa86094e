/**
 * How Baton reaches its SMTP server. Without TLS from the first byte (`secure`), the login
 * and every email cross the network in clear unless STARTTLS upgrades the connection, and
 * whoever sits between Baton and the server can leave STARTTLS out of the server's answer.
 * So STARTTLS is required unless the configuration says otherwise in so many words.
 */
import type { BatonConfig } from './schema';

type SmtpSettings = NonNullable<BatonConfig['notifications']['email']>['smtp'];

/** Whether a connection that did not start in TLS must upgrade with STARTTLS before anything else. */
export function smtpRequiresTls(smtp: SmtpSettings): boolean {
  return !smtp.secure && smtp.requireTLS !== false;
}

/** What start-up warns of: STARTTLS turned off explicitly. */
export function smtpWarnings(config: BatonConfig): string[] {
  const smtp = config.notifications.email?.smtp;
  if (!smtp || smtp.secure || smtp.requireTLS !== false) return [];
  return [
    `notifications.email.smtp.requireTLS is false: Baton sends to ${smtp.host}:${smtp.port} in clear ` +
      `whenever the server does not offer STARTTLS, so whoever strips it on the way reads ` +
      `${smtp.user ? 'the SMTP password and ' : ''}every email. Leave it out (STARTTLS required) or use secure: true.`,
  ];
}
