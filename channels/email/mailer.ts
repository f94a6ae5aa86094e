/**
 * The SMTP side of email, built from notifications.email: the worker sends Baton's emails
 * with it, and the API answers replies with it.
 */
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import { ConfigError } from '../../config/load';
import type { BatonConfig } from '../../config/schema';
import type { Secrets } from '../../config/secrets';
import { smtpRequiresTls } from '../../config/smtp';
import type { EmailTemplates } from './render';

/** What signs the links and reply addresses in emails; absent, emails offer neither. */
export interface EmailSigning {
  secret: string;
  /** Where people's browsers reach Baton (api.publicUrl): action links start with it. */
  publicUrl: string;
  linkTtlMs: number;
  /** Reply addresses are `reply+<token>@<replyDomain>`; without it, replies go to From. */
  replyDomain?: string;
}

export interface Mailer {
  transport: Transporter;
  from: string;
  signing?: EmailSigning;
  /** The templates emails are rendered with; the repository's when absent. */
  templates?: EmailTemplates;
}

export function signingFor(config: BatonConfig, secrets: Secrets): EmailSigning | undefined {
  const email = config.notifications.email;
  const secret = secrets.emailLinkSecret;
  const publicUrl = config.api.publicUrl;
  if (!email || !secret || !publicUrl) return undefined;
  return {
    secret,
    publicUrl,
    linkTtlMs: email.linkTtl,
    ...(email.replyDomain ? { replyDomain: email.replyDomain } : {}),
  };
}

/** The CA of smtp.caFile, read once at start; a file that cannot be read stops start-up, named. */
function trustedCa(caFile: string): Buffer {
  try {
    return readFileSync(caFile);
  } catch (err) {
    throw new ConfigError(
      `notifications.email.smtp.caFile: cannot read ${caFile}: ${(err as Error).message}`,
    );
  }
}

/**
 * Builds the transport. Without `secure`, STARTTLS is required (smtp.requireTLS, config/smtp.ts):
 * nodemailer then asks for it even when the server's answer leaves it out, and stops before
 * AUTH and MAIL FROM when the server will not upgrade, so neither the password nor an email
 * crosses the network in clear. The server's certificate is checked either way.
 */
export function mailerFor(config: BatonConfig, secrets: Secrets): Mailer | undefined {
  const email = config.notifications.email;
  if (!email) return undefined;
  const { smtp } = email;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtpRequiresTls(smtp),
    ...(smtp.caFile ? { tls: { ca: trustedCa(smtp.caFile) } } : {}),
    ...(smtp.user ? { auth: { user: smtp.user, pass: secrets.smtpPassword ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  const signing = signingFor(config, secrets);
  return { transport, from: email.from, ...(signing ? { signing } : {}) };
}
