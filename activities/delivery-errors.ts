/**
 * What a failed send means: worth trying again (the peer is busy, down or slow) or final (the
 * peer understood and said no). Pure: the retry loop asks, and unit tests read the tables.
 */
import { ErrorCode } from '@slack/web-api';

export type Verdict =
  | {
      retry: true;
      reason: string;
      /** The wait the peer asked for (Slack's Retry-After). */ retryAfterMs?: number;
    }
  | { retry: false; reason: string };

/** A send that had no answer within its deadline. Whether it arrived is unknown. */
export class SendTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs / 1000}s without an answer`);
    this.name = 'SendTimeout';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: { error?: string } }).data;
    return data?.error && !err.message.includes(data.error) ? `${err.message} (${data.error})` : err.message;
  }
  return String(err);
}

const field = (err: unknown, name: string): unknown =>
  typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;

/**
 * Slack platform errors (HTTP 200, `ok: false`) that Slack documents as a passing condition.
 * Every other platform error is final: retrying `channel_not_found`, `invalid_auth`,
 * `not_in_channel`, `is_archived`, `token_revoked`, `missing_scope`… gets the same answer.
 */
export const SLACK_TRANSIENT_PLATFORM_ERRORS: ReadonlySet<string> = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

export function classifySlackError(err: unknown): Verdict {
  if (err instanceof SendTimeout) return { retry: true, reason: 'no answer within the send deadline' };
  switch (field(err, 'code')) {
    case ErrorCode.RateLimitedError: {
      const seconds = field(err, 'retryAfter');
      return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
        ? { retry: true, reason: 'rate limited (HTTP 429)', retryAfterMs: seconds * 1000 }
        : { retry: true, reason: 'rate limited (HTTP 429)' };
    }
    case ErrorCode.HTTPError: {
      const status = field(err, 'statusCode');
      if (typeof status === 'number' && (status >= 500 || status === 408 || status === 429)) {
        return { retry: true, reason: `HTTP ${status}` };
      }
      // A 4xx other than those: the request itself is wrong (a wrong apiUrl, say).
      return { retry: false, reason: `HTTP ${String(status)}` };
    }
    case ErrorCode.PlatformError: {
      const error = field(field(err, 'data'), 'error');
      const name = typeof error === 'string' ? error : 'unknown platform error';
      return SLACK_TRANSIENT_PLATFORM_ERRORS.has(name)
        ? { retry: true, reason: `Slack answered ${name}` }
        : { retry: false, reason: `Slack answered ${name}` };
    }
    case ErrorCode.RequestError:
      return { retry: true, reason: 'no answer from Slack (network)' };
    default:
      // Whatever else broke between Baton and Slack (a 429 without Retry-After, a reset
      // socket) says nothing about the message itself.
      return { retry: true, reason: 'transport error' };
  }
}

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
