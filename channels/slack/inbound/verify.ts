import { verifySlackRequest } from '@slack/bolt';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from '../../../api/errors';

/** Slack's rule: a request signed more than five minutes ago (or ahead) is refused. */
const MAX_SKEW_SECONDS = 5 * 60;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Checks that Slack signed this raw body with the app's signing secret: the `v0` HMAC over
 * `v0:<timestamp>:<body>`, compared in constant time by Slack's own implementation
 * (`verifySlackRequest` from @slack/bolt), with requests older than five minutes refused.
 * A forged, unsigned or replayed-late request is a 401.
 */
export function verifySlackSignature(
  signingSecret: string,
  rawBody: string,
  headers: IncomingHttpHeaders,
  nowMs: number = Date.now(),
): void {
  const signature = header(headers, 'x-slack-signature');
  const timestamp = header(headers, 'x-slack-request-timestamp');
  if (!signature || !timestamp) {
    throw new HttpError(401, 'the request is not signed by Slack', 'Unauthorized');
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new HttpError(401, 'the request timestamp is not a Unix time', 'Unauthorized');
  }
  const seconds = Number(timestamp);
  // Bolt refuses old requests; one from the future is refused too, so a signature made
  // ahead of time cannot be kept for later.
  if (seconds - Math.floor(nowMs / 1000) > MAX_SKEW_SECONDS) {
    throw new HttpError(401, 'the request timestamp is in the future', 'Unauthorized');
  }
  try {
    verifySlackRequest({
      signingSecret,
      body: rawBody,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': seconds },
      nowMilliseconds: nowMs,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Failed to verify authenticity: /, '') : '';
    throw new HttpError(
      401,
      `the Slack signature is not valid${reason ? ` (${reason})` : ''}`,
      'Unauthorized',
    );
  }
}
