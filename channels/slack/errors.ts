/** What a failed Slack call means: worth trying again, or final. */
import { ErrorCode } from '@slack/web-api';
import { field, SendTimeout, type Verdict } from '../../activities/delivery-errors';

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
