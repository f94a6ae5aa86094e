/**
 * Delivery against real peers on loopback: a Slack Web API stand-in that speaks the protocol
 * @slack/web-api uses, and a real SMTP server. The worker builds its clients from the
 * configuration and the secrets environment exactly as in production; the tests check what
 * arrived where, what the outbox says, and what the timeline records when a channel fails.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryLedger } from '../activities/ledger';
import { createNotificationActivities, type NotificationDeps } from '../activities/notifications';
import { Outbox, type OutboxEntry } from '../activities/outbox';
import type { RetryPolicy } from '../activities/retry';
import type { BatonConfig, BatonConfigInput } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { mailerFor } from '../channels/email/mailer';
import { slackClientFor } from '../worker/worker';
import { communicateUpdate } from '../workflows/incident/messages';
import type { DeliveryReport, Notification } from '../workflows/incident/model';
import type { IncidentState } from '../workflows/incident/state';
import { testConfig } from './support/config';
import { by, startIncident, state, type IncidentHandle } from './support/incidents';
import { aboutIncident, startSlackApi, type SlackApi, type SlackRequest } from './support/slack-api';
import {
  mailAbout,
  startSmtpSink,
  type ReceivedMail,
  type SmtpSink,
  type SmtpSinkOptions,
} from './support/smtp';
import { eventsOf, terminateAll, waitForEvents, waitForOutbox } from './support/timeline';
import { eventually, startTestWorker, type TestWorker, type TestWorkerOptions } from './support/worker';

const BOT_TOKEN = 'xoxb-0000000000-test-bot-token';
const TEAM_CHANNEL = '#payments-incidents';
const TITLE = 'Payments API error rate above 5%';
const PAGE_SUBJECT = `[SEV2] Incident needs acknowledgement: ${TITLE}`;
/**
 * Production's retries (5 attempts, backoff from about 1 s, 2 minutes per target) in test
 * time; the longest single wait still honours a Retry-After of 1 s.
 */
const FAST_RETRY: Partial<RetryPolicy> = { initialDelayMs: 50, maxDelayMs: 2_000, budgetMs: 10_000 };

function withChannels(
  slack: SlackApi | undefined,
  smtp: { port: number } | undefined,
  change?: (input: BatonConfigInput) => void,
): BatonConfig {
  return testConfig((input) => {
    input.notifications = {
      // Every notice as a post of its own: these tests follow each target's delivery.
      ...(slack ? { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', liveMessages: false } } : {}),
      ...(smtp
        ? {
            email: {
              from: 'Baton <baton@example.com>',
              // The test server speaks plain SMTP on loopback.
              smtp: { host: '127.0.0.1', port: smtp.port, secure: false, requireTLS: false },
            },
          }
        : {}),
    };
    change?.(input);
  });
}

/** Everything a test started, torn down in afterAll whatever happened. */
const cleanups: (() => Promise<unknown>)[] = [];
const handles: IncidentHandle[] = [];
afterAll(async () => {
  await terminateAll(handles);
  const results = await Promise.allSettled(
    cleanups
      .splice(0)
      .reverse()
      .map((cleanup) => cleanup()),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

async function slackApi(options: Parameters<typeof startSlackApi>[0]): Promise<SlackApi> {
  const api = await startSlackApi(options);
  cleanups.push(() => api.close());
  return api;
}
async function smtpSink(options?: SmtpSinkOptions): Promise<SmtpSink> {
  const sink = await startSmtpSink(options);
  cleanups.push(() => sink.close());
  return sink;
}
async function worker(config: BatonConfig, name: string, env: NodeJS.ProcessEnv = {}): Promise<TestWorker> {
  const w = await startTestWorker(config, name, env, { retry: FAST_RETRY });
  cleanups.push(() => w.stop());
  return w;
}
async function incident(w: TestWorker, options: Parameters<typeof startIncident>[1] = {}) {
  const handle = await startIncident(w, options);
  handles.push(handle);
  return handle;
}

/** Polls until `count` of the items (Slack requests, mails) pass `which`; returns those that do. */
function atLeast<T>(items: () => T[], count: number, which: (item: T) => boolean = () => true): Promise<T[]> {
  return eventually(() => {
    const found = items().filter(which);
    return found.length >= count ? found : undefined;
  });
}

/** What the Slack stand-in has seen about the incident, once `count` requests pass `which`. */
function slackRequests(
  slack: SlackApi,
  incidentId: string,
  count: number,
  which?: (r: SlackRequest) => boolean,
): Promise<SlackRequest[]> {
  return atLeast(() => aboutIncident(slack.requests, incidentId), count, which);
}

/** What the SMTP server has accepted about the incident, once `count` messages pass `which`. */
function mails(
  smtp: SmtpSink,
  incidentId: string,
  count: number,
  which?: (m: ReceivedMail) => boolean,
): Promise<ReceivedMail[]> {
  return atLeast(() => mailAbout(smtp.messages, incidentId), count, which);
}

const ofKind =
  (kind: string) =>
  (entry: OutboxEntry): boolean =>
    entry.notification.kind === kind;

/** The activities that send: notify, and pageFirst for a new incident's first page. */
const sends = (activity: string | null | undefined): boolean =>
  activity === 'notify' || activity === 'pageFirst';

/** The delivery report in a sending activity's result (pageFirst returns it beside the policy). */
function reportOf(result: unknown): DeliveryReport | undefined {
  const opened = result as { sent?: { report: DeliveryReport } };
  return 'delivered' in (result as object) ? (result as DeliveryReport) : opened.sent?.report;
}

/**
 * The record once `count` sending activities have completed and the workflow has handled
 * their reports: whatever failures they carried are on the timeline by then.
 */
async function afterDeliveries(handle: IncidentHandle, count: number): Promise<IncidentState> {
  await eventually(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const notifyScheduled = new Set(
      events
        .filter((e) => sends(e.activityTaskScheduledEventAttributes?.activityType?.name))
        .map((e) => String(e.eventId)),
    );
    const completed = events.flatMap((e, index) =>
      notifyScheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ? [index] : [],
    );
    const last = completed[count - 1];
    if (last === undefined) return undefined;
    return events.slice(last).some((e) => e.workflowTaskCompletedEventAttributes) ? true : undefined;
  });
  return state(handle);
}

const failures = (s: IncidentState) =>
  eventsOf(s, 'notification-failed').map((e) => ({ summary: e.summary, details: e.details }));

describe('with Slack and email delivering', () => {
  let slack: SlackApi;
  let smtp: SmtpSink;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    smtp = await smtpSink();
    w = await worker(withChannels(slack, smtp), 'notify-ok', { SLACK_BOT_TOKEN: BOT_TOKEN });
  });

  it('pages alice by Slack DM, in the team channel and by email, and logs the delivery', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    const posted = await slackRequests(slack, id, 2);
    expect(posted.map((r) => r.channel).sort()).toEqual([TEAM_CHANNEL, 'U01ALICE']);
    for (const request of posted) {
      expect(request).toMatchObject({
        method: 'chat.postMessage',
        httpMethod: 'POST',
        token: BOT_TOKEN,
        response: { ok: true },
        metadata: { event_type: 'baton_incident', event_payload: { incident_id: id, kind: 'page' } },
      });
      expect(request.text).toContain(`*${PAGE_SUBJECT}*`);
      expect(request.text).toContain('Acknowledge to take the incident.');
    }

    const [mail] = await mails(smtp, id, 1);
    expect(mail?.to).toEqual(['alice@example.com']);
    expect(mail?.from).toBe('baton@example.com');
    expect(mail?.headers.from).toBe('Baton <baton@example.com>');
    expect(mail?.subject).toBe(`${PAGE_SUBJECT} (incident ${id})`);
    expect(mail?.subject).toContain('SEV2');
    expect(mail?.subject).toContain(TITLE);
    expect(mail?.headers['x-baton-kind']).toBe('page');
    expect(mail?.text).toContain('You are paged (round 1 of 1, step 1 of 3)');

    const [entry] = await waitForOutbox(w, id, (entries) => entries.some(ofKind('page')));
    expect(entry?.delivered).toBe(true);
    expect(entry?.report.failed).toEqual([]);
    expect(entry?.report.undelivered).toEqual([]);
    expect(entry?.report.delivered).toEqual(
      expect.arrayContaining([
        { channel: 'slack', target: TEAM_CHANNEL },
        { channel: 'slack', target: 'U01ALICE' },
        { channel: 'email', target: 'alice@example.com' },
      ]),
    );
    expect(entry?.report.delivered).toHaveLength(3);

    // Nothing else went out, and nothing failed.
    expect(aboutIncident(slack.requests, id)).toHaveLength(2);
    expect(mailAbout(smtp.messages, id)).toHaveLength(1);
    expect(failures(await afterDeliveries(handle, 1))).toEqual([]);
  });

  it('sends an approved external message only to the external subscribers, word for word', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;
    // The page goes out first; the external message is the next thing on the wire.
    await mails(smtp, id, 1);
    await slackRequests(slack, id, 2);

    const message =
      'Some card payments are failing since 10:02 UTC.\n' +
      'We’re working with our payment provider to restore service — the next update follows within 30 minutes.';
    await handle.executeUpdate(communicateUpdate, {
      args: [{ ...by('dave'), audience: 'external', message }],
    });

    const [external] = await mails(smtp, id, 1, (m) => m.headers['x-baton-kind'] === 'external');
    expect(external?.to).toEqual(['status-subscribers@example.com']);
    expect(external?.subject).toBe('Service notice: payments');
    expect(external?.text).toBe(message);
    expect(external?.text).not.toMatch(/https?:\/\//);

    const entries = await waitForOutbox(w, id, (e) => e.some(ofKind('external')));
    const entry = entries.find(ofKind('external'));
    expect(entry?.delivered).toBe(true);
    expect(entry?.report).toEqual({
      delivered: [{ channel: 'email', target: 'status-subscribers@example.com' }],
      failed: [],
      undelivered: [],
    });

    // Nobody else heard it: no Slack message, no other email.
    const externalSlack = aboutIncident(slack.requests, id).filter(
      (r) => r.metadata?.event_payload?.kind === 'external',
    );
    expect(externalSlack).toEqual([]);
    const all = mailAbout(smtp.messages, id);
    expect(all.filter((m) => m.headers['x-baton-kind'] === 'external')).toHaveLength(1);
    expect(all.map((m) => m.to).flat()).toEqual(['alice@example.com', 'status-subscribers@example.com']);
  });
});

describe('when Slack refuses the team channel', () => {
  let slack: SlackApi;
  let smtp: SmtpSink;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN, failChannels: [TEAM_CHANNEL] });
    smtp = await smtpSink();
    const config = withChannels(slack, smtp, (input) => {
      const steps = input.teams[0]?.escalation.steps;
      if (steps?.[0]) steps[0].ackTimeout = '2s';
    });
    w = await worker(config, 'notify-slack-fails', { SLACK_BOT_TOKEN: BOT_TOKEN });
  });

  it('records the failure, still emails, and still pages bob when alice does not acknowledge', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    let s = await waitForEvents(handle, 'notification-failed');
    expect(failures(s)[0]).toEqual({
      summary: expect.stringContaining(`page to ${TEAM_CHANNEL} via slack failed`) as string,
      details: {
        kind: 'page',
        channel: 'slack',
        target: TEAM_CHANNEL,
        error: expect.stringContaining('channel_not_found') as string,
      },
    });
    expect(failures(s)[0]?.summary).toContain('channel_not_found');

    // The rest of the page went out: alice's DM and her email.
    const [dm] = await slackRequests(slack, id, 1, (r) => r.response.ok);
    expect(dm?.channel).toBe('U01ALICE');
    const [toAlice] = await mails(smtp, id, 1);
    expect(toAlice).toMatchObject({ to: ['alice@example.com'], subject: `${PAGE_SUBJECT} (incident ${id})` });

    // Nobody acknowledged within alice's 2s: the timer paged bob regardless.
    s = await waitForEvents(handle, 'paged', 2);
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
    const bobDm = await slackRequests(slack, id, 1, (r) => r.channel === 'U01BOB');
    expect(bobDm[0]).toMatchObject({ token: BOT_TOKEN, response: { ok: true } });
    const [toBob] = await mails(smtp, id, 1, (m) => m.to.includes('bob@example.com'));
    expect(toBob).toMatchObject({ to: ['bob@example.com'], subject: `${PAGE_SUBJECT} (incident ${id})` });
    expect(toBob?.text).toContain('step 2 of 3');

    // Bob's page hit the same dead channel; that is on the timeline too.
    s = await waitForEvents(handle, 'notification-failed', 2);
    expect(failures(s).map((f) => f.details)).toEqual([
      expect.objectContaining({ target: TEAM_CHANNEL, channel: 'slack' }),
      expect.objectContaining({ target: TEAM_CHANNEL, channel: 'slack' }),
    ]);
    const refused = aboutIncident(slack.requests, id).filter((r) => !r.response.ok);
    expect(refused.map((r) => [r.channel, r.response.error])).toEqual([
      [TEAM_CHANNEL, 'channel_not_found'],
      [TEAM_CHANNEL, 'channel_not_found'],
    ]);

    const pages = await waitForOutbox(w, id, (e) => e.filter(ofKind('page')).length >= 2);
    for (const entry of pages.filter(ofKind('page'))) {
      expect(entry.delivered).toBe(true);
      expect(entry.report.failed).toEqual([
        {
          channel: 'slack',
          target: TEAM_CHANNEL,
          error: expect.stringContaining('channel_not_found') as string,
        },
      ]);
    }
  });
});

describe('when the SMTP server is down', () => {
  let slack: SlackApi;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    // A server that was there and stopped: its port now refuses connections.
    const stopped = await startSmtpSink();
    await stopped.close();
    w = await worker(withChannels(slack, stopped), 'notify-smtp-down', { SLACK_BOT_TOKEN: BOT_TOKEN });
  });

  it('records the email failure and still posts to Slack', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    const s = await waitForEvents(handle, 'notification-failed');
    expect(failures(s)).toEqual([
      {
        summary: expect.stringContaining('page to alice@example.com via email failed') as string,
        details: {
          kind: 'page',
          channel: 'email',
          target: 'alice@example.com',
          error: expect.stringMatching(/ECONNREFUSED.*gave up after 5 attempts/) as string,
        },
      },
    ]);
    // A refused connection is transient: four more attempts with backoff, then the report.
    const retries = w.logs.filter(
      (l) => l.message === 'notification send failed; retrying' && l.fields.incidentId === id,
    );
    expect(retries.map((l) => [l.fields.channel, l.fields.target, l.fields.attempt])).toEqual(
      [1, 2, 3, 4].map((attempt) => ['email', 'alice@example.com', attempt]),
    );
    expect(retries[0]?.fields.error).toMatch(/ECONNREFUSED/);

    const posted = await slackRequests(slack, id, 2);
    expect(posted.map((r) => [r.channel, r.response.ok]).sort()).toEqual([
      [TEAM_CHANNEL, true],
      ['U01ALICE', true],
    ]);

    const [entry] = await waitForOutbox(w, id, (e) => e.some(ofKind('page')));
    expect(entry?.delivered).toBe(true);
    expect(entry?.report.delivered).toHaveLength(2);
    expect(entry?.report.failed).toEqual([
      {
        channel: 'email',
        target: 'alice@example.com',
        error: expect.stringMatching(/ECONNREFUSED/) as string,
      },
    ]);
  });
});

describe('with a wrong Slack token', () => {
  let slack: SlackApi;
  let smtp: SmtpSink;
  let w: TestWorker;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    smtp = await smtpSink();
    w = await worker(withChannels(slack, smtp), 'notify-bad-token', { SLACK_BOT_TOKEN: 'xoxb-revoked' });
  });

  it('records invalid_auth for every Slack target and still emails', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    const s = await waitForEvents(handle, 'notification-failed', 2);
    const recorded = failures(s);
    expect(recorded.map((f) => f.details?.target).sort()).toEqual([TEAM_CHANNEL, 'U01ALICE']);
    for (const failure of recorded) {
      expect(failure.details).toMatchObject({ kind: 'page', channel: 'slack' });
      expect(failure.details?.error).toContain('invalid_auth');
      expect(failure.summary).toContain('invalid_auth');
    }

    // The stand-in saw the token the worker was given, and refused it.
    const refused = await slackRequests(slack, id, 2);
    for (const request of refused) {
      expect(request).toMatchObject({
        token: 'xoxb-revoked',
        response: { ok: false, error: 'invalid_auth' },
      });
    }

    const [mail] = await mails(smtp, id, 1);
    expect(mail).toMatchObject({ to: ['alice@example.com'], subject: `${PAGE_SUBJECT} (incident ${id})` });

    const [entry] = await waitForOutbox(w, id, (e) => e.some(ofKind('page')));
    expect(entry?.report.delivered).toEqual([{ channel: 'email', target: 'alice@example.com' }]);
    expect(entry?.report.failed.map((f) => f.target).sort()).toEqual([TEAM_CHANNEL, 'U01ALICE']);
  });
});

describe('without Slack or email configured', () => {
  let w: TestWorker;
  beforeAll(async () => {
    w = await worker(withChannels(undefined, undefined), 'notify-none', {
      // A token alone configures nothing: Slack needs notifications.slack too.
      SLACK_BOT_TOKEN: BOT_TOKEN,
    });
  });

  it('writes the page to the outbox as undelivered, listing every target', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    const [entry] = await waitForOutbox(w, id, (e) => e.some(ofKind('page')));
    expect(entry?.delivered).toBe(false);
    expect(entry?.report.delivered).toEqual([]);
    expect(entry?.report.failed).toEqual([]);
    expect([...(entry?.report.undelivered ?? [])].sort()).toEqual([
      'email:alice@example.com',
      `slack:${TEAM_CHANNEL}`,
      'slack:U01ALICE',
    ]);
    expect(entry?.notification).toMatchObject({ kind: 'page', subject: PAGE_SUBJECT });

    // Undelivered is not failed: nothing on the timeline says a channel broke.
    expect(failures(await afterDeliveries(handle, 1))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Nothing is sent twice: what happens after the sends, or a slow peer, never makes the notify
// activity fail or time out, which would have Temporal retry it and repeat every delivery.

/** startTestWorker, with the worker stopped by this file's cleanup whatever happens. */
async function loggingWorker(
  config: BatonConfig,
  name: string,
  env: NodeJS.ProcessEnv,
  options: TestWorkerOptions = {},
): Promise<TestWorker> {
  const w = await startTestWorker(config, name, env, { retry: FAST_RETRY, ...options });
  cleanups.push(() => w.stop());
  return w;
}

/**
 * The incident's first sending activity (the page) once it has closed and the workflow has
 * handled its outcome: how many attempts it took and the report it returned.
 */
async function firstNotify(
  handle: IncidentHandle,
): Promise<{ attempt: number; report?: DeliveryReport; failure?: string }> {
  return eventually(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => sends(e.activityTaskScheduledEventAttributes?.activityType?.name));
    if (!scheduled) return undefined;
    const id = String(scheduled.eventId);
    const closedAt = events.findIndex(
      (e) =>
        String(
          e.activityTaskCompletedEventAttributes?.scheduledEventId ??
            e.activityTaskFailedEventAttributes?.scheduledEventId ??
            e.activityTaskTimedOutEventAttributes?.scheduledEventId,
        ) === id,
    );
    if (closedAt < 0) return undefined;
    if (!events.slice(closedAt).some((e) => e.workflowTaskCompletedEventAttributes)) return undefined;
    const closed = events[closedAt];
    const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === id);
    const data = closed?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    const failure =
      closed?.activityTaskFailedEventAttributes?.failure?.message ??
      (closed?.activityTaskTimedOutEventAttributes ? 'timed out' : undefined);
    return {
      // A retried activity is recorded as started once, with the attempt that ended it.
      attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0,
      ...(data ? { report: reportOf(JSON.parse(Buffer.from(data).toString('utf8'))) } : {}),
      ...(failure !== undefined ? { failure } : {}),
    };
  }, 60_000);
}

describe('when the outbox cannot be written', () => {
  let slack: SlackApi;
  let smtp: SmtpSink;
  let w: TestWorker & { logs: TestWorker['logs'][number][] };
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    smtp = await smtpSink();
    w = await loggingWorker(
      withChannels(slack, smtp),
      'notify-outbox-broken',
      { SLACK_BOT_TOKEN: BOT_TOKEN },
      {
        // A regular file where the outbox folder belongs: the folder cannot be created.
        beforeStart: (dataDir) => writeFileSync(path.join(dataDir, 'outbox'), 'not a folder\n'),
      },
    );
  });

  it('delivers the page once, logs the outbox failure and reports it, and the activity succeeds', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;

    const notify = await firstNotify(handle);
    expect(notify.failure).toBeUndefined();
    expect(notify.attempt).toBe(1);
    expect(notify.report?.delivered).toHaveLength(3);
    expect(notify.report?.failed).toEqual([]);
    expect(notify.report?.undelivered).toEqual([
      expect.stringMatching(/^outbox:.*(EEXIST|ENOTDIR)/) as string,
    ]);

    // Each target heard the page exactly once.
    const posted = aboutIncident(slack.requests, id);
    expect(posted.map((r) => [r.channel, r.metadata?.event_payload?.kind, r.response.ok]).sort()).toEqual([
      [TEAM_CHANNEL, 'page', true],
      ['U01ALICE', 'page', true],
    ]);
    expect(mailAbout(smtp.messages, id).map((m) => m.to)).toEqual([['alice@example.com']]);

    // The workflow saw a successful delivery, and the record says the outbox missed it.
    const s = await eventually(async () => {
      const current = await state(handle);
      return eventsOf(current, 'documentation-failed').length > 0 ? current : undefined;
    });
    expect(failures(s)).toEqual([]);
    expect(JSON.stringify(s.timeline)).not.toContain('could not be sent');
    expect(eventsOf(s, 'documentation-failed')[0]?.summary).toMatch(
      /page .* was sent but not written to the outbox: .*(EEXIST|ENOTDIR)/,
    );

    const logged = w.logs.filter(
      (l) => l.message === 'notification not written to the outbox' && l.fields.incidentId === id,
    );
    expect(logged).toEqual([
      {
        message: 'notification not written to the outbox',
        fields: expect.objectContaining({
          kind: 'page',
          outbox: path.join(w.dataDir, 'outbox', `${id}.jsonl`),
          error: expect.stringMatching(/EEXIST|ENOTDIR/) as string,
        }) as Record<string, unknown>,
      },
    ]);
    expect(w.logs.some((l) => l.message === 'notification sent' && l.fields.incidentId === id)).toBe(true);
  });
});

describe('when the SMTP server answers slowly', () => {
  const SEND_TIMEOUT_MS = 1_000;
  // Each answer within nodemailer's idle timeouts; a message as a whole would take about 4.8 s.
  const REPLY_DELAY_MS = 1_200;
  let slack: SlackApi;
  let smtp: SmtpSink;
  let w: TestWorker & { logs: TestWorker['logs'][number][] };
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    smtp = await smtpSink({ replyDelayMs: REPLY_DELAY_MS });
    w = await loggingWorker(
      withChannels(slack, smtp),
      'notify-smtp-slow',
      { SLACK_BOT_TOKEN: BOT_TOKEN },
      { sendTimeoutMs: SEND_TIMEOUT_MS, retry: { ...FAST_RETRY, maxAttempts: 3 } },
    );
  });

  // Before: one attempt, reported as timed out, while the abandoned send ran on and delivered
  // the mail anyway. Now a send past its deadline is aborted (the connection closes before the
  // server accepts anything) and retried, as any transient failure; none of them arrives.
  it('aborts each email attempt at the send deadline, retries it, then reports it failed; posts to Slack once', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;
    const startedAt = Date.now();

    const s = await waitForEvents(handle, 'notification-failed');
    expect(failures(s)).toEqual([
      {
        summary: expect.stringMatching(
          /^page to alice@example\.com via email failed: timed out after 1s without an answer \(.*gave up after 3 attempts/,
        ) as string,
        details: {
          kind: 'page',
          channel: 'email',
          target: 'alice@example.com',
          error: expect.stringContaining('timed out after 1s') as string,
        },
      },
    ]);
    // The deadline, not the SMTP server, ended each attempt: three of them took less time
    // than the server needs for one message.
    expect(Date.now() - startedAt).toBeLessThan(4 * REPLY_DELAY_MS);
    expect(smtp.connections).toBe(3);

    const notify = await firstNotify(handle);
    expect(notify.failure).toBeUndefined();
    expect(notify.attempt).toBe(1);

    const [entry, ...more] = await waitForOutbox(w, id, (e) => e.some(ofKind('page')));
    expect(more).toEqual([]);
    expect(entry?.report.delivered).toEqual(
      expect.arrayContaining([
        { channel: 'slack', target: TEAM_CHANNEL },
        { channel: 'slack', target: 'U01ALICE' },
      ]),
    );
    expect(entry?.report.delivered).toHaveLength(2);
    expect(entry?.report.failed).toEqual([
      {
        channel: 'email',
        target: 'alice@example.com',
        error: expect.stringContaining('timed out') as string,
      },
    ]);
    const retries = w.logs.filter(
      (l) => l.message === 'notification send failed; retrying' && l.fields.incidentId === id,
    );
    expect(retries.map((l) => [l.fields.channel, l.fields.attempt, l.fields.reason])).toEqual([
      ['email', 1, 'no answer within the send deadline'],
      ['email', 2, 'no answer within the send deadline'],
    ]);

    // Well past the time the slow server would have needed: no aborted attempt delivered.
    await new Promise((resolve) => setTimeout(resolve, 5 * REPLY_DELAY_MS));
    expect(mailAbout(smtp.messages, id)).toEqual([]);
    expect(
      aboutIncident(slack.requests, id)
        .map((r) => [r.channel, r.response.ok])
        .sort(),
    ).toEqual([
      [TEAM_CHANNEL, true],
      ['U01ALICE', true],
    ]);
    expect(w.outbox(id)).toHaveLength(1);
    expect(failures(await state(handle))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Retries and the delivery ledger, one notify call at a time: the activity function is called
// directly (as a retried attempt would run it) with the clients the worker builds from the
// configuration, against the same real peers.

/** A page like the workflow's, to alice in the team channel and by DM and email. */
function page(incidentId: string, id: string | null = randomUUID()): Notification {
  return {
    ...(id !== null ? { id } : {}),
    incidentId,
    kind: 'page',
    subject: PAGE_SUBJECT,
    text: 'You are paged. Acknowledge to take the incident.',
    responders: [
      { id: 'alice', name: 'Alice Ng', level: 'L2', email: 'alice@example.com', slackUserId: 'U01ALICE' },
    ],
    slackChannels: [TEAM_CHANNEL],
    emails: [],
    links: [],
  };
}

interface Direct {
  notify: ReturnType<typeof createNotificationActivities>['notify'];
  dataDir: string;
  logs: { message: string; fields: Record<string, unknown> }[];
  ledger: DeliveryLedger;
  outbox(incidentId: string): OutboxEntry[];
}

/** The notify activity over the clients the worker builds (Slack retries off, 429s rejected). */
function directNotify(
  slack: SlackApi | undefined,
  smtp: { port: number } | undefined,
  options: Partial<NotificationDeps> = {},
): Direct {
  const config = withChannels(slack, smtp);
  const secrets = loadSecrets(config, { SLACK_BOT_TOKEN: BOT_TOKEN });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-notify-'));
  const slackClient = slackClientFor(config, secrets);
  const mailer = mailerFor(config, secrets);
  const logs: Direct['logs'] = [];
  const outbox = new Outbox(path.join(dataDir, 'outbox'));
  const ledger = new DeliveryLedger(path.join(dataDir, 'deliveries'));
  const activities = createNotificationActivities({
    outbox,
    ledger,
    log: (message, fields) => logs.push({ message, fields }),
    retry: FAST_RETRY,
    ...(slackClient ? { slack: slackClient } : {}),
    ...(mailer ? { mailer } : {}),
    ...options,
  });
  return {
    notify: (notification) => activities.notify(notification),
    dataDir,
    logs,
    ledger,
    outbox(incidentId) {
      const file = outbox.fileFor(incidentId);
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxEntry);
    },
  };
}

/** notify run inside an activity context, as a worker runs it. */
function inActivity(
  env: MockActivityEnvironment,
  d: Direct,
  notification: Notification,
): Promise<DeliveryReport> {
  return env.run<[Notification], DeliveryReport, Direct['notify']>(d.notify, notification);
}

const toChannel = (slack: SlackApi, channel: string) => slack.requests.filter((r) => r.channel === channel);

describe('retrying a target that fails for a moment', () => {
  let slack: SlackApi;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
  });

  it('waits out a Slack 429 for its Retry-After and posts the message once', async () => {
    const channel = `#rate-limited-${randomUUID()}`;
    slack.failNext(channel, { rateLimited: 1 });
    const d = directNotify(slack, undefined);
    const notification = { ...page(`inc-${randomUUID()}`), responders: [], slackChannels: [channel] };

    const startedAt = Date.now();
    const report = await d.notify(notification);
    expect(report).toEqual({
      delivered: [{ channel: 'slack', target: channel }],
      failed: [],
      undelivered: [],
    });
    expect(toChannel(slack, channel).map((r) => r.response.status)).toEqual([429, 200]);
    expect(slack.posted().filter((r) => r.channel === channel)).toHaveLength(1);
    // Retry-After: 1 was honoured rather than the 50 ms backoff.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(d.logs.filter((l) => l.message === 'notification send failed; retrying')).toEqual([
      {
        message: 'notification send failed; retrying',
        fields: expect.objectContaining({ target: channel, attempt: 1, delayMs: 1_000 }) as Record<
          string,
          unknown
        >,
      },
    ]);
  });

  it('retries a Slack 500 and posts the message once', async () => {
    const channel = `#flaky-${randomUUID()}`;
    slack.failNext(channel, { status: 500 });
    const d = directNotify(slack, undefined);
    const report = await d.notify({
      ...page(`inc-${randomUUID()}`),
      responders: [],
      slackChannels: [channel],
    });
    expect(report.delivered).toEqual([{ channel: 'slack', target: channel }]);
    expect(toChannel(slack, channel).map((r) => r.response.status)).toEqual([500, 200]);
    expect(slack.posted().filter((r) => r.channel === channel)).toHaveLength(1);
  });

  it('does not retry channel_not_found: failed after exactly one request', async () => {
    const channel = `#gone-${randomUUID()}`;
    slack.failNext(channel, { error: 'channel_not_found' });
    const d = directNotify(slack, undefined);
    const report = await d.notify({
      ...page(`inc-${randomUUID()}`),
      responders: [],
      slackChannels: [channel],
    });
    expect(report.delivered).toEqual([]);
    expect(report.failed).toEqual([
      {
        channel: 'slack',
        target: channel,
        error: 'An API error occurred: channel_not_found (permanent, not retried)',
      },
    ]);
    expect(toChannel(slack, channel)).toHaveLength(1);
  });

  it('gives up at once on a Retry-After longer than it waits, and says so', async () => {
    const channel = `#throttled-${randomUUID()}`;
    slack.failNext(channel, { rateLimited: 60 });
    const d = directNotify(slack, undefined);
    const report = await d.notify({
      ...page(`inc-${randomUUID()}`),
      responders: [],
      slackChannels: [channel],
    });
    expect(report.failed).toEqual([
      {
        channel: 'slack',
        target: channel,
        error: expect.stringMatching(
          /retry this request in 60 seconds \(asked to retry after 60s, longer than the 2s Baton waits at once/,
        ) as string,
      },
    ]);
    expect(toChannel(slack, channel)).toHaveLength(1);
  });

  it('counts a Slack answer that comes after the send deadline as delivered, and does not post again', async () => {
    const channel = `#slow-${randomUUID()}`;
    slack.failNext(channel, { delayMs: 1_500 });
    const d = directNotify(slack, undefined, { sendTimeoutMs: 500 });
    const report = await d.notify({
      ...page(`inc-${randomUUID()}`),
      responders: [],
      slackChannels: [channel],
    });
    expect(report.delivered).toEqual([{ channel: 'slack', target: channel }]);
    expect(toChannel(slack, channel)).toHaveLength(1);
    expect(
      d.logs.find((l) => l.message === 'notification send finished after its deadline')?.fields,
    ).toMatchObject({ channel: 'slack', target: channel, delivered: true });
  });

  it('retries an email refused with 451 and delivers it once', async () => {
    const greylisting = await smtpSink({
      refuse: { code: 451, times: 1, message: 'Greylisted, try again later' },
    });
    const d = directNotify(undefined, greylisting);
    const incidentId = `inc-${randomUUID()}`;
    const report = await d.notify(page(incidentId));
    expect(report.delivered).toEqual([{ channel: 'email', target: 'alice@example.com' }]);
    expect(report.failed).toEqual([]);
    expect(greylisting.refused).toBe(1);
    expect(greylisting.connections).toBe(2);
    expect(mailAbout(greylisting.messages, incidentId).map((m) => m.to)).toEqual([['alice@example.com']]);
  });

  it('does not retry an email refused with 550', async () => {
    const noMailbox = await smtpSink({ refuse: { code: 550, times: 1, message: 'No such user' } });
    const d = directNotify(undefined, noMailbox);
    const incidentId = `inc-${randomUUID()}`;
    const report = await d.notify(page(incidentId));
    expect(report.failed).toEqual([
      {
        channel: 'email',
        target: 'alice@example.com',
        error: expect.stringMatching(/550 No such user \(permanent, not retried\)$/) as string,
      },
    ]);
    expect(noMailbox.connections).toBe(1);
    expect(mailAbout(noMailbox.messages, incidentId)).toEqual([]);
  });

  it('keeps Slack delivering while the SMTP server is down, and reports the email failure', async () => {
    const stopped = await startSmtpSink();
    await stopped.close();
    const d = directNotify(slack, stopped);
    const incidentId = `inc-${randomUUID()}`;
    const report = await d.notify(page(incidentId));
    expect(report.delivered).toEqual([
      { channel: 'slack', target: TEAM_CHANNEL },
      { channel: 'slack', target: 'U01ALICE' },
    ]);
    expect(report.failed).toEqual([
      {
        channel: 'email',
        target: 'alice@example.com',
        error: expect.stringMatching(/ECONNREFUSED.*gave up after 5 attempts/) as string,
      },
    ]);
    expect(aboutIncident(slack.posted(), incidentId)).toHaveLength(2);
  });
});

describe('the delivery ledger', () => {
  let slack: SlackApi;
  let smtp: SmtpSink;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
    smtp = await smtpSink();
  });

  it('sends nothing when notify runs again for the same notification, and reports the same outcomes', async () => {
    const channel = `#gone-${randomUUID()}`;
    slack.failNext(channel, { error: 'channel_not_found' });
    const d = directNotify(slack, smtp);
    const incidentId = `inc-${randomUUID()}`;
    const notification = { ...page(incidentId), slackChannels: [channel] };

    const first = await d.notify(notification);
    expect(first).toEqual({
      delivered: [
        { channel: 'slack', target: 'U01ALICE' },
        { channel: 'email', target: 'alice@example.com' },
      ],
      failed: [
        {
          channel: 'slack',
          target: channel,
          error: 'An API error occurred: channel_not_found (permanent, not retried)',
        },
      ],
      undelivered: [],
    });
    const second = await d.notify(notification);
    expect(second).toEqual(first);

    expect(aboutIncident(slack.requests, incidentId)).toHaveLength(2);
    expect(mailAbout(smtp.messages, incidentId)).toHaveLength(1);
    // One outbox entry: the second run found it written.
    expect(d.outbox(incidentId)).toHaveLength(1);
    const lines = readFileSync(path.join(d.dataDir, 'deliveries', `${incidentId}.jsonl`), 'utf8')
      .trim()
      .split('\n');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          notificationId: notification.id,
          channel: 'slack',
          target: 'U01ALICE',
          delivered: true,
        }),
        expect.objectContaining({
          notificationId: notification.id,
          channel: 'slack',
          target: channel,
          delivered: false,
        }),
        expect.objectContaining({ notificationId: notification.id, channel: 'email', delivered: true }),
        expect.objectContaining({ notificationId: notification.id, outbox: true }),
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  it('after a crash, sends only to the targets without an answer, reading past a torn last line', async () => {
    const d = directNotify(slack, smtp);
    const incidentId = `inc-${randomUUID()}`;
    const notification = page(incidentId);
    // The crashed attempt had answers for the team channel (delivered) and alice's email (failed
    // for good), and was writing alice's DM when it died.
    const file = d.ledger.fileFor(incidentId);
    await d.ledger.recordAnswer(incidentId, notification.id ?? '', {
      channel: 'slack',
      target: TEAM_CHANNEL,
      delivered: true,
    });
    await d.ledger.recordAnswer(incidentId, notification.id ?? '', {
      channel: 'email',
      target: 'alice@example.com',
      delivered: false,
      error: 'Message failed: 550 mailbox full (permanent, not retried)',
    });
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}{"at":"2026-11-26T10:00:00.000Z","notificationId":"${notification.id}","chan`,
    );

    const report = await d.notify(notification);
    expect(report).toEqual({
      delivered: [
        { channel: 'slack', target: TEAM_CHANNEL },
        { channel: 'slack', target: 'U01ALICE' },
      ],
      failed: [
        {
          channel: 'email',
          target: 'alice@example.com',
          error: 'Message failed: 550 mailbox full (permanent, not retried)',
        },
      ],
      undelivered: [],
    });
    expect(aboutIncident(slack.requests, incidentId).map((r) => r.channel)).toEqual(['U01ALICE']);
    expect(mailAbout(smtp.messages, incidentId)).toEqual([]);
    expect(d.logs.some((l) => l.message === 'delivery ledger has unreadable lines (skipped)')).toBe(true);
    // The new answer went on a line of its own, after the torn one.
    const answers = await d.ledger.read(incidentId, notification.id ?? '');
    expect(answers.answers.get('slack:U01ALICE')).toEqual({
      channel: 'slack',
      target: 'U01ALICE',
      delivered: true,
    });
  });

  it('keeps no ledger for a notification without an id, and sends it again', async () => {
    const d = directNotify(slack, undefined);
    const incidentId = `inc-${randomUUID()}`;
    const notification = page(incidentId, null);
    await d.notify(notification);
    await d.notify(notification);
    expect(aboutIncident(slack.posted(), incidentId)).toHaveLength(4);
    expect(existsSync(d.ledger.fileFor(incidentId))).toBe(false);
  });
});

describe('notify as a Temporal activity', () => {
  let slack: SlackApi;
  beforeAll(async () => {
    slack = await slackApi({ token: BOT_TOKEN });
  });

  it('heartbeats at least once a second with the answered targets while it waits to retry', async () => {
    const channel = `#rate-limited-${randomUUID()}`;
    slack.failNext(channel, { rateLimited: 2 });
    const d = directNotify(slack, undefined, { retry: { ...FAST_RETRY, maxDelayMs: 3_000 } });
    const notification = {
      ...page(`inc-${randomUUID()}`),
      responders: [],
      slackChannels: [channel, 'U01ALICE'],
    };
    const env = new MockActivityEnvironment();
    const beats: { at: number; details: unknown }[] = [];
    env.on('heartbeat', (details: unknown) => beats.push({ at: Date.now(), details }));

    const startedAt = Date.now();
    const report = await inActivity(env, d, notification);
    const endedAt = Date.now();
    expect(report.delivered).toEqual([
      { channel: 'slack', target: channel },
      { channel: 'slack', target: 'U01ALICE' },
    ]);
    const times = [startedAt, ...beats.map((b) => b.at), endedAt];
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...gaps)).toBeLessThan(1_500);
    // While the channel waited out its Retry-After, the DM was already answered.
    expect(beats.at(-1)?.details).toEqual({
      notificationId: notification.id,
      answered: expect.arrayContaining([
        { channel: 'slack', target: 'U01ALICE', delivered: true },
        { channel: 'slack', target: channel, delivered: true },
      ]) as unknown,
    });
    expect(
      beats.some(
        (b) =>
          JSON.stringify(b.details) ===
          JSON.stringify({
            notificationId: notification.id,
            answered: [{ channel: 'slack', target: 'U01ALICE', delivered: true }],
          }),
      ),
    ).toBe(true);
  });

  it('stops when cancelled before every target has an answer, and the next attempt sends only the rest', async () => {
    const channel = `#rate-limited-${randomUUID()}`;
    slack.failNext(channel, { rateLimited: 1 });
    const d = directNotify(slack, undefined);
    const incidentId = `inc-${randomUUID()}`;
    const notification = { ...page(incidentId), responders: [], slackChannels: [channel, 'U01ALICE'] };
    notification.text = 'cancelled mid-way';
    const env = new MockActivityEnvironment();
    const running = inActivity(env, d, notification);
    // The DM is answered at once; the channel waits out its Retry-After when the cancel comes.
    await eventually(() => (aboutIncident(slack.requests, incidentId).length >= 2 ? true : undefined));
    env.cancel('WORKER_SHUTDOWN');
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect(
      aboutIncident(slack.requests, incidentId)
        .map((r) => [r.channel, r.response.status])
        .sort(),
    ).toEqual([
      [channel, 429],
      ['U01ALICE', 200],
    ]);
    expect(d.outbox(incidentId)).toEqual([]);

    // The retry (a new attempt) posts to the channel only.
    const report = await inActivity(new MockActivityEnvironment({ attempt: 2 }), d, notification);
    expect(report.delivered).toEqual([
      { channel: 'slack', target: channel },
      { channel: 'slack', target: 'U01ALICE' },
    ]);
    expect(
      aboutIncident(slack.posted(), incidentId)
        .map((r) => r.channel)
        .sort(),
    ).toEqual([channel, 'U01ALICE']);
    expect(d.outbox(incidentId)).toHaveLength(1);
  });

  it('resumes from the heartbeat details of an attempt on another worker (no ledger there)', async () => {
    const d = directNotify(slack, undefined);
    const incidentId = `inc-${randomUUID()}`;
    const notification = page(incidentId);
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: {
        notificationId: notification.id,
        answered: [{ channel: 'slack', target: TEAM_CHANNEL, delivered: true }],
      },
    });
    const report = await inActivity(env, d, notification);
    expect(report.delivered).toEqual([
      { channel: 'slack', target: TEAM_CHANNEL },
      { channel: 'slack', target: 'U01ALICE' },
    ]);
    expect(aboutIncident(slack.requests, incidentId).map((r) => r.channel)).toEqual(['U01ALICE']);
  });

  it('returns a finished delivery even when cancelled as it ends', async () => {
    const d = directNotify(slack, undefined);
    const incidentId = `inc-${randomUUID()}`;
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (details: { answered?: unknown[] }) => {
      // Cancelled the moment the last target is answered.
      if ((details.answered?.length ?? 0) === 2) env.cancel('TIMED_OUT');
    });
    const report = await inActivity(env, d, page(incidentId));
    expect(report.delivered).toHaveLength(2);
    expect(d.outbox(incidentId)).toHaveLength(1);
  });
});
