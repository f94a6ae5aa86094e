/** What a failed SMTP send means: worth trying again, or final. */
import { field, SendTimeout, type Verdict } from '../../activities/delivery-errors';

/**
 * Nodemailer codes for a setup that cannot work however often it is tried (credentials, TLS,
 * an envelope it will not build). Connection codes (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS,
 * ECONNREFUSED…) and anything unknown are transient.
 */
export const SMTP_PERMANENT_CODES: ReadonlySet<string> = new Set([
  'EENVELOPE',
  'EAUTH',
  'ENOAUTH',
  'EOAUTH2',
  'ETLS',
  'EREQUIRETLS',
  'ECONFIG',
  'ESTREAM',
  'EMAXRECIPIENTS',
  'EFILEACCESS',
  'EURLACCESS',
]);

export function classifySmtpError(err: unknown): Verdict {
  if (err instanceof SendTimeout) return { retry: true, reason: 'no answer within the send deadline' };
  // The server's reply decides first (RFC 5321): 4yz is transient, 5yz permanent. 503 (bad
  // sequence of commands) is about the session, not the message: a new connection can pass.
  const responseCode = field(err, 'responseCode');
  if (typeof responseCode === 'number') {
    if (responseCode >= 400 && responseCode < 500) return { retry: true, reason: `SMTP ${responseCode}` };
    if (responseCode >= 500 && responseCode < 600 && responseCode !== 503) {
      return { retry: false, reason: `SMTP ${responseCode}` };
    }
  }
  const code = field(err, 'code');
  if (typeof code === 'string' && SMTP_PERMANENT_CODES.has(code)) return { retry: false, reason: code };
  return { retry: true, reason: typeof code === 'string' ? code : 'transport error' };
}
