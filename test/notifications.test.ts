/**
 * Delivery against real peers on loopback: a Slack Web API stand-in that speaks the protocol
 * @slack/web-api uses, and a real SMTP server. The worker builds its clients from the
 * configuration and the secrets environment exactly as in production; the tests check what
 * arrived where, what the outbox says, and what the timeline records when a channel fails.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../activities/outbox';
import type { BatonConfig, BatonConfigInput } from '../config/schema';
import { communicateUpdate } from '../workflows/messages';
import type { DeliveryReport } from '../workflows/model';
import type { IncidentState } from '../workflows/state';
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

function withChannels(
  slack: SlackApi | undefined,
  smtp: { port: number } | undefined,
  change?: (input: BatonConfigInput) => void,
): BatonConfig {
  return testConfig((input) => {
    input.notifications = {
      ...(slack ? { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN' } } : {}),
      ...(smtp
        ? {
            email: {
              from: 'Baton <baton@example.com>',
              smtp: { host: '127.0.0.1', port: smtp.port, secure: false },
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
  const w = await startTestWorker(config, name, env);
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

/**
 * The record once `count` notify activities have completed and the workflow has handled
 * their reports: whatever failures they carried are on the timeline by then.
 */
async function afterDeliveries(handle: IncidentHandle, count: number): Promise<IncidentState> {
  await eventually(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const notifyScheduled = new Set(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify')
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
    expect(mail?.subject).toBe(PAGE_SUBJECT);
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
    expect(toAlice).toMatchObject({ to: ['alice@example.com'], subject: PAGE_SUBJECT });

    // Nobody acknowledged within alice's 2s: the timer paged bob regardless.
    s = await waitForEvents(handle, 'paged', 2);
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
    const bobDm = await slackRequests(slack, id, 1, (r) => r.channel === 'U01BOB');
    expect(bobDm[0]).toMatchObject({ token: BOT_TOKEN, response: { ok: true } });
    const [toBob] = await mails(smtp, id, 1, (m) => m.to.includes('bob@example.com'));
    expect(toBob).toMatchObject({ to: ['bob@example.com'], subject: PAGE_SUBJECT });
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
          error: expect.stringMatching(/ECONNREFUSED/) as string,
        },
      },
    ]);

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
    expect(mail).toMatchObject({ to: ['alice@example.com'], subject: PAGE_SUBJECT });

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
  const w = await startTestWorker(config, name, env, options);
  cleanups.push(() => w.stop());
  return w;
}

/**
 * The incident's first notify activity (the page) once it has closed and the workflow has
 * handled its outcome: how many attempts it took and the report it returned.
 */
async function firstNotify(
  handle: IncidentHandle,
): Promise<{ attempt: number; report?: DeliveryReport; failure?: string }> {
  return eventually(async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notify',
    );
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
      ...(data ? { report: JSON.parse(Buffer.from(data).toString('utf8')) as DeliveryReport } : {}),
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
  // Each answer within nodemailer's idle timeouts; the message as a whole takes about 4.8 s.
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
      {
        sendTimeoutMs: SEND_TIMEOUT_MS,
      },
    );
  });

  it('reports the email as timed out after the send deadline, posts to Slack once, and does not retry', async () => {
    const handle = await incident(w);
    const id = handle.workflowId;
    const startedAt = Date.now();

    const s = await waitForEvents(handle, 'notification-failed');
    expect(failures(s)).toEqual([
      {
        summary: expect.stringMatching(
          /^page to alice@example\.com via email failed: timed out after 1s/,
        ) as string,
        details: {
          kind: 'page',
          channel: 'email',
          target: 'alice@example.com',
          error: expect.stringContaining('timed out after 1s') as string,
        },
      },
    ]);
    // The deadline, not the SMTP server, ended the attempt.
    expect(Date.now() - startedAt).toBeLessThan(4 * REPLY_DELAY_MS);

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

    // The slow server takes the message in the end; that is logged, and nothing is sent again.
    const late = await eventually(
      () =>
        w.logs.find(
          (l) => l.message === 'notification send finished after its deadline' && l.fields.incidentId === id,
        ),
      15_000,
    );
    expect(late.fields).toMatchObject({ channel: 'email', target: 'alice@example.com', delivered: true });
    expect(mailAbout(smtp.messages, id)).toHaveLength(1);
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
