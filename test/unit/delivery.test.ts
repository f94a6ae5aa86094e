/** Which failed sends are retried, how long Baton waits, and when it gives up: no server, no network. */
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { SendTimeout } from '../../activities/delivery-errors';
import { classifySmtpError } from '../../channels/email/errors';
import { classifySlackError } from '../../channels/slack/errors';
import { readLedger } from '../../activities/ledger';
import {
  backoffDelay,
  deliver,
  nextStep,
  retryPolicy,
  seconds,
  type RetryPolicy,
} from '../../activities/retry';

const platform = (error: string) => new WebAPIPlatformError({ ok: false, error });
const smtp = (fields: { code?: string; responseCode?: number }, message = 'smtp failure') =>
  Object.assign(new Error(message), fields);

describe('classifySlackError', () => {
  it('retries a 429 and keeps its Retry-After in milliseconds', () => {
    expect(classifySlackError(new WebAPIRateLimitedError(3))).toEqual({
      retry: true,
      reason: 'rate limited (HTTP 429)',
      retryAfterMs: 3_000,
    });
  });

  it('retries HTTP 5xx, network errors and a send past its deadline', () => {
    for (const status of [500, 502, 503, 504]) {
      expect(classifySlackError(new WebAPIHTTPError(status, 'x', {}, '')).retry).toBe(true);
    }
    expect(classifySlackError(new WebAPIRequestError(new Error('socket hang up'))).retry).toBe(true);
    expect(classifySlackError(new SendTimeout(20_000)).retry).toBe(true);
    // Unknown transport trouble (a 429 without a usable Retry-After, say) is transient.
    expect(classifySlackError(new Error('Retry header did not contain a valid timeout')).retry).toBe(true);
  });

  it('does not retry what Slack refuses for good, nor platform errors it does not know', () => {
    for (const error of [
      'channel_not_found',
      'invalid_auth',
      'not_authed',
      'account_inactive',
      'not_in_channel',
      'is_archived',
      'user_not_found',
      'token_revoked',
      'missing_scope',
      'some_error_slack_adds_next_year',
    ]) {
      expect(classifySlackError(platform(error))).toEqual({
        retry: false,
        reason: `Slack answered ${error}`,
      });
    }
    expect(classifySlackError(new WebAPIHTTPError(404, 'Not Found', {}, '')).retry).toBe(false);
  });

  it('retries the platform errors Slack documents as passing', () => {
    for (const error of [
      'ratelimited',
      'internal_error',
      'fatal_error',
      'service_unavailable',
      'request_timeout',
    ]) {
      expect(classifySlackError(platform(error)).retry).toBe(true);
    }
  });
});

describe('classifySmtpError', () => {
  it('retries 4xx replies and connection errors', () => {
    expect(classifySmtpError(smtp({ code: 'EENVELOPE', responseCode: 451 }))).toEqual({
      retry: true,
      reason: 'SMTP 451',
    });
    expect(classifySmtpError(smtp({ code: 'EMESSAGE', responseCode: 421 })).retry).toBe(true);
    for (const code of [
      'ECONNECTION',
      'ETIMEDOUT',
      'ESOCKET',
      'EDNS',
      'ECONNREFUSED',
      'ECONNRESET',
      'EPROTOCOL',
    ]) {
      expect(classifySmtpError(smtp({ code }))).toEqual({ retry: true, reason: code });
    }
    expect(classifySmtpError(new SendTimeout(1_000)).retry).toBe(true);
  });

  it('does not retry 5xx replies, nor a setup that cannot work', () => {
    expect(classifySmtpError(smtp({ code: 'EENVELOPE', responseCode: 550 }))).toEqual({
      retry: false,
      reason: 'SMTP 550',
    });
    expect(classifySmtpError(smtp({ code: 'EMESSAGE', responseCode: 552 })).retry).toBe(false);
    expect(classifySmtpError(smtp({ code: 'EAUTH', responseCode: 535 })).retry).toBe(false);
    expect(classifySmtpError(smtp({ code: 'ETLS' })).retry).toBe(false);
    // 503 is a session out of step, not a refusal of the message.
    expect(classifySmtpError(smtp({ code: 'EPROTOCOL', responseCode: 503 })).retry).toBe(true);
  });
});

const policy: RetryPolicy = retryPolicy({
  maxAttempts: 5,
  initialDelayMs: 1_000,
  backoffFactor: 2,
  maxDelayMs: 30_000,
  budgetMs: 120_000,
  jitter: 0.2,
});
const transient = { retry: true as const, reason: 'HTTP 503' };

describe('backoff', () => {
  it('doubles from about a second, capped, and jitter only shortens a wait', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, noJitter))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000,
    ]);
    expect(backoffDelay(1, policy, () => 1)).toBe(800);
    expect(backoffDelay(10, policy, () => 0.5)).toBe(27_000);
  });

  it('refuses a policy that cannot work', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(/invalid retry policy/);
    expect(() => retryPolicy({ budgetMs: -1 })).toThrow(/invalid retry policy/);
    expect(() => retryPolicy({ jitter: 2 })).toThrow(/invalid retry policy/);
  });

  it('writes durations for people', () => {
    expect([seconds(50), seconds(1_500), seconds(120_000)]).toEqual(['0.05s', '1.5s', '120s']);
  });
});

describe('nextStep', () => {
  const step = (attempts: number, verdict: Parameters<typeof nextStep>[0]['verdict'], elapsedMs = 0) =>
    nextStep({ attempts, verdict, elapsedMs, policy, random: () => 0 });

  it('waits with backoff after a transient failure', () => {
    expect(step(1, transient)).toEqual({ retry: true, delayMs: 1_000 });
    expect(step(3, transient, 10_000)).toEqual({ retry: true, delayMs: 4_000 });
  });

  it('stops at once after a permanent failure', () => {
    expect(step(1, { retry: false, reason: 'Slack answered channel_not_found' })).toEqual({
      retry: false,
      why: 'permanent, not retried',
    });
  });

  it('stops after the last attempt, saying how many there were', () => {
    expect(step(5, transient, 15_000)).toEqual({
      retry: false,
      why: 'HTTP 503; gave up after 5 attempts in 15s',
    });
  });

  it('honours Retry-After exactly, without jitter', () => {
    expect(step(1, { ...transient, retryAfterMs: 7_000 })).toEqual({ retry: true, delayMs: 7_000 });
  });

  it('gives up on a Retry-After longer than any single wait, or past the budget', () => {
    expect(step(1, { ...transient, retryAfterMs: 60_000 })).toEqual({
      retry: false,
      why: 'asked to retry after 60s, longer than the 30s Baton waits at once; gave up after 1 attempt in 0s',
    });
    expect(step(2, { ...transient, retryAfterMs: 20_000 }, 110_000)).toEqual({
      retry: false,
      why: 'asked to retry after 20s, past the 120s budget for one target; gave up after 2 attempts in 110s',
    });
  });

  it('gives up when the next backoff would pass the budget', () => {
    expect(step(2, transient, 119_000)).toEqual({
      retry: false,
      why: 'HTTP 503; the next attempt would pass the 120s budget for one target; gave up after 2 attempts in 119s',
    });
  });
});

describe('deliver', () => {
  const fast = retryPolicy({ maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 50, budgetMs: 2_000, jitter: 0 });
  const failing = (errors: Error[]) => {
    let calls = 0;
    return {
      get calls() {
        return calls;
      },
      send: async () => {
        const error = errors[calls];
        calls += 1;
        if (error !== undefined) throw error;
      },
    };
  };

  it('retries transient failures until one attempt goes through', async () => {
    const peer = failing([new WebAPIHTTPError(500, 'x', {}, ''), new WebAPIRequestError(new Error('reset'))]);
    const retries: number[] = [];
    const outcome = await deliver({
      send: peer.send,
      classify: classifySlackError,
      policy: fast,
      sendTimeoutMs: 1_000,
      onRetry: (r) => retries.push(r.attempt),
    });
    expect(outcome).toEqual({ delivered: true, attempts: 3 });
    expect(peer.calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('tries a permanent failure once', async () => {
    const peer = failing([platform('channel_not_found')]);
    const outcome = await deliver({
      send: peer.send,
      classify: classifySlackError,
      policy: fast,
      sendTimeoutMs: 1_000,
    });
    expect(outcome).toEqual({
      delivered: false,
      attempts: 1,
      error: 'An API error occurred: channel_not_found (permanent, not retried)',
    });
    expect(peer.calls).toBe(1);
  });

  it('stops after maxAttempts and reports the last error', async () => {
    const down = smtp({ code: 'ESOCKET' }, 'connect ECONNREFUSED 127.0.0.1:25');
    const peer = failing([down, down, down, down, down]);
    const outcome = await deliver({
      send: peer.send,
      classify: classifySmtpError,
      policy: fast,
      sendTimeoutMs: 1_000,
    });
    expect(peer.calls).toBe(4);
    expect(outcome.delivered).toBe(false);
    expect(!outcome.delivered && outcome.error).toMatch(
      /^connect ECONNREFUSED 127\.0\.0\.1:25 \(ESOCKET; gave up after 4 attempts in [\d.]+s\)$/,
    );
  });

  it('aborts a send past its deadline and retries only once it has ended', async () => {
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const outcome = await deliver({
      // Like nodemailer: hangs until aborted, then rejects with EABORT. The third attempt answers.
      send: (signal) => {
        calls += 1;
        inFlight += 1;
        most = Math.max(most, inFlight);
        if (calls === 3) {
          inFlight -= 1;
          return Promise.resolve();
        }
        return new Promise<void>((_resolve, reject) =>
          signal.addEventListener('abort', () => {
            inFlight -= 1;
            reject(
              Object.assign(new Error('Message sending aborted'), { name: 'AbortError', code: 'EABORT' }),
            );
          }),
        );
      },
      classify: classifySmtpError,
      policy: fast,
      sendTimeoutMs: 30,
    });
    expect(outcome).toEqual({ delivered: true, attempts: 3 });
    expect(most).toBe(1);
  });

  it('counts an answer that comes after the deadline as delivered, and does not send again', async () => {
    let calls = 0;
    const late: unknown[] = [];
    const outcome = await deliver({
      // Like Slack's client: cannot be aborted, answers after the deadline.
      send: () => {
        calls += 1;
        return new Promise((resolve) => setTimeout(resolve, 80));
      },
      classify: classifySlackError,
      policy: fast,
      sendTimeoutMs: 20,
      onLate: (o) => late.push(o),
    });
    expect(outcome).toEqual({ delivered: true, attempts: 1 });
    expect(calls).toBe(1);
    expect(late).toEqual([{ delivered: true }]);
  });

  it('gives up with a timeout when a send outlasts the whole budget', async () => {
    const outcome = await deliver({
      send: () => new Promise((resolve) => setTimeout(resolve, 400)),
      classify: classifySlackError,
      policy: { ...fast, budgetMs: 100 },
      sendTimeoutMs: 30,
    });
    expect(outcome.delivered).toBe(false);
    expect(!outcome.delivered && outcome.error).toMatch(/^timed out after 0\.03s without an answer \(/);
  });

  it('stops waiting to retry when cancelled, and says the answer is unknown', async () => {
    const cancel = new AbortController();
    const peer = failing([new WebAPIHTTPError(503, 'x', {}, ''), new WebAPIHTTPError(503, 'x', {}, '')]);
    const started = Date.now();
    setTimeout(() => cancel.abort(), 20);
    const outcome = await deliver({
      send: peer.send,
      classify: classifySlackError,
      policy: { ...fast, initialDelayMs: 1_000, maxDelayMs: 1_000 },
      sendTimeoutMs: 1_000,
      cancelled: cancel.signal,
    });
    expect(outcome).toMatchObject({ delivered: false, attempts: 1, interrupted: true });
    expect(peer.calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('readLedger', () => {
  const line = (value: object) => JSON.stringify({ at: '2026-01-01T00:00:00.000Z', ...value });

  it('reads the answers for one notification, the first answer per target standing', () => {
    const text = [
      line({ notificationId: 'n1', channel: 'slack', target: '#a', delivered: true }),
      line({ notificationId: 'n2', channel: 'slack', target: '#a', delivered: false, error: 'other' }),
      line({ notificationId: 'n1', channel: 'email', target: 'a@x', delivered: false, error: 'SMTP 550' }),
      line({ notificationId: 'n1', channel: 'slack', target: '#a', delivered: false, error: 'later' }),
      line({ notificationId: 'n1', outbox: true }),
      '',
    ].join('\n');
    const record = readLedger(text, 'n1');
    expect([...record.answers.values()]).toEqual([
      { channel: 'slack', target: '#a', delivered: true },
      { channel: 'email', target: 'a@x', delivered: false, error: 'SMTP 550' },
    ]);
    expect(record.outboxWritten).toBe(true);
    expect(record.skipped).toBe(0);
    expect(readLedger(text, 'n3').answers.size).toBe(0);
  });

  it('skips a torn last line and lines of the wrong shape', () => {
    const whole = line({ notificationId: 'n1', channel: 'slack', target: '#a', delivered: true });
    const text = `${whole}\n${line({ notificationId: 'n1', channel: 'sms', target: 'x', delivered: true })}\n${whole.slice(0, 30)}`;
    const record = readLedger(text, 'n1');
    expect([...record.answers.keys()]).toEqual(['slack:#a']);
    expect(record.skipped).toBe(2);
  });
});
