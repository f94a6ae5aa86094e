/**
 * `/incident oncall` and `/incident cover` end to end: slash commands signed the way Slack
 * signs them reach the real app, which reads and changes the same schedules as
 * `/api/v1/schedules` and sends its direct messages through the local Slack Web API stand-in.
 * Who is on call is pinned by overrides in the configuration, so nothing depends on the week;
 * every refusal is checked against the API's own answer and the store left as it was.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { WebClient } from '@slack/web-api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../api/app';
import { loadSecrets } from '../config/secrets';
import { TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { EXTRA_TOKENS, withTwoTeams } from './support/permissions';
import { startSlackApi, type SlackApi } from './support/slack-api';
import { sendToSlackRoute, SIGNING_SECRET, slashCommand } from './support/slack-requests';

const BOT_TOKEN = 'xoxb-0000000000-slack-schedules-test';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (at: number): string => new Date(at).toISOString();
/** Puts `member` on call from a day ago for a week, in the configuration. */
const pinned = (member: string) => [{ member, from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) }];

const SLACK_ID = { alice: 'U01ALICE', bob: 'U01BOB', frank: 'U01FRANK' } as const;
const TOKEN_OF: Record<string, string> = { ...TOKENS, frank: EXTRA_TOKENS.TOKEN_FRANK };

let slack: SlackApi;
let app: FastifyInstance;
let connection: Connection;

beforeAll(async () => {
  slack = await startSlackApi({ token: BOT_TOKEN });
  const config = testConfig((c) => {
    withTwoTeams(c);
    const frank = c.responders.find((r) => r.id === 'frank');
    if (frank) frank.slackUserId = SLACK_ID.frank;
    c.dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-slack-schedules-'));
    // Its own task queue: the schedules' workflows this API wakes are nobody else's.
    c.temporal = {
      ...c.temporal,
      address: inject('temporalAddress'),
      taskQueue: `slack-schedules-${Date.now()}`,
    };
    c.api = { ...c.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    c.notifications = {
      slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' },
    };
    c.schedules = [
      {
        id: 'payments-l2',
        team: 'payments',
        name: 'Payments L2',
        timezone: 'Europe/Berlin',
        layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
        overrides: pinned('alice'),
      },
      {
        id: 'checkout-l2',
        team: 'checkout',
        name: 'Checkout L2',
        timezone: 'America/New_York',
        layers: [{ members: ['frank'], shift: '1w', handoff: '2026-11-02T09:00' }],
      },
    ];
  });
  connection = Connection.lazy({ address: config.temporal.address });
  app = await buildApp({
    config,
    secrets: loadSecrets(config, {
      ...TOKEN_ENV,
      ...EXTRA_TOKENS,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    }),
    temporal: new Client({ connection, namespace: config.temporal.namespace }),
    slack: new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }),
  });
});
afterAll(async () => {
  await app?.close();
  await connection?.close();
  await slack?.close();
});

/** The slash command as `who` types it, and Baton's answer to them. */
async function command(who: keyof typeof SLACK_ID, text: string): Promise<string> {
  const body = slashCommand({ user: SLACK_ID[who], text, responseUrl: slack.responseUrl() });
  const response = await sendToSlackRoute(app, 'commands', body);
  expect(response.statusCode).toBe(200);
  const answer = response.json<{ response_type: string; text: string }>();
  expect(answer.response_type).toBe('ephemeral');
  return answer.text;
}

const api = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { authorization: `Bearer ${TOKEN_OF[who] ?? 'none'}` },
    ...(payload ? { payload } : {}),
  });

interface OnCallAnswer {
  member?: string;
  startLocal: string;
  endLocal: string;
}
interface OverrideAnswer {
  id: string;
  member: string;
  from: string;
  to: string;
  fromLocal: string;
  toLocal: string;
  by?: string;
}

async function onCallNow(schedule: string): Promise<OnCallAnswer> {
  return (await api('alice', 'GET', `/schedules/${schedule}/oncall`)).json<OnCallAnswer>();
}
async function overrides(schedule: string): Promise<OverrideAnswer[]> {
  return (await api('dave', 'GET', `/schedules/${schedule}/overrides`)).json<{
    overrides: OverrideAnswer[];
  }>().overrides;
}
/** The direct messages about covered shifts sent to a Slack user. */
const coverNotices = (user: string) =>
  slack
    .posted()
    .filter((r) => r.channel === user && r.text?.includes(' covers you on '))
    .map((r) => r.text);

describe('/incident oncall', () => {
  it("names who is on call for each of the caller's schedules, since and until when in its own time", async () => {
    const now = await onCallNow('payments-l2');
    expect(now.member).toBe('alice');
    const text = await command('bob', 'oncall');
    const lines = text.split('\n');
    expect(lines[0]).toBe('On call now for team payments:');
    expect(lines[1]).toContain(
      `• *Payments L2* (\`payments-l2\`): Alice Ng, since ${now.startLocal} until ${now.endLocal}; next: `,
    );
    // The local time carries Berlin's offset; bob does not see checkout's schedule.
    expect(now.endLocal).toMatch(/\+0[12]:00$/);
    expect(text).not.toContain('Checkout');
  });

  it('answers a team the caller cannot see as one that does not exist', async () => {
    expect(await command('alice', 'oncall checkout')).toBe('Baton has no team `checkout`.');
    expect(await command('alice', 'oncall nosuch')).toBe('Baton has no team `nosuch`.');
    const franks = await command('frank', 'oncall checkout');
    expect(franks).toContain('• *Checkout L2* (`checkout-l2`): Frank Li, since ');
    expect(franks).toMatch(/until \S+-0[45]:00; next: nobody in the next 400 days/);
  });
});

describe('/incident cover', () => {
  it('makes the override the API makes, changes who is on call, and tells the replaced member', async () => {
    const before = await overrides('payments-l2');
    const text = await command('bob', 'cover payments-l2 now 4h');
    const after = await overrides('payments-l2');
    expect(after).toHaveLength(before.length + 1);
    const created = after.at(-1) as OverrideAnswer;
    expect(created).toMatchObject({ member: 'bob', by: 'bob' });
    expect(Date.parse(created.to) - Date.parse(created.from)).toBe(4 * HOUR);
    expect(Math.abs(Date.parse(created.from) - Date.now())).toBeLessThan(60_000);
    expect(text).toBe(
      `You cover *Payments L2* from ${created.fromLocal} to ${created.toLocal} (override \`${created.id}\`), ` +
        'in place of Alice Ng (told by direct message).',
    );

    expect((await onCallNow('payments-l2')).member).toBe('bob');
    expect((await command('alice', 'oncall payments')).split('\n')[1]).toContain(
      `: Bob Okafor, since ${created.fromLocal} until ${created.toLocal}; next: Alice Ng from ${created.toLocal}`,
    );
    expect(coverNotices(SLACK_ID.alice)).toEqual([
      `Bob Okafor covers you on *Payments L2* from ${created.fromLocal} to ${created.toLocal}: you are not on call then.`,
    ]);
    expect(coverNotices(SLACK_ID.bob)).toEqual([]);
  });

  it('refuses bad times, unknown and hidden schedules with the API’s own words, changing nothing', async () => {
    const before = await overrides('payments-l2');
    const noticesBefore = slack.posted().length;
    const cases: {
      text: string;
      who: keyof typeof SLACK_ID;
      body: Record<string, string>;
      schedule: string;
    }[] = [
      {
        text: 'cover payments-l2 tomorrow 2026-11-05T12:00:00Z',
        who: 'bob',
        schedule: 'payments-l2',
        body: { member: 'bob', from: 'tomorrow', to: '2026-11-05T12:00:00Z' },
      },
      {
        text: 'cover payments-l2 2026-11-05T12:00:00Z 2026-11-05T10:00:00Z',
        who: 'bob',
        schedule: 'payments-l2',
        body: { member: 'bob', from: '2026-11-05T12:00:00Z', to: '2026-11-05T10:00:00Z' },
      },
      {
        text: `cover payments-l2 now ${iso(Date.now() + 400 * DAY)}`,
        who: 'bob',
        schedule: 'payments-l2',
        body: { member: 'bob', from: iso(Date.now()), to: iso(Date.now() + 400 * DAY) },
      },
      {
        text: 'cover nosuch now 4h',
        who: 'bob',
        schedule: 'nosuch',
        body: { member: 'bob', from: iso(Date.now()), to: iso(Date.now() + 4 * HOUR) },
      },
      // frank is not on team payments: its schedule is hidden from him, as from the API.
      {
        text: 'cover payments-l2 now 4h',
        who: 'frank',
        schedule: 'payments-l2',
        body: { member: 'frank', from: iso(Date.now()), to: iso(Date.now() + 4 * HOUR) },
      },
    ];
    for (const c of cases) {
      const fromApi = await api(c.who, 'POST', `/schedules/${c.schedule}/overrides`, c.body);
      expect([400, 404], c.text).toContain(fromApi.statusCode);
      const { error } = fromApi.json<{ error: string }>();
      expect(await command(c.who, c.text), c.text).toBe(`Nothing was changed: ${error}.`);
    }
    expect(await command('bob', 'cover payments-l2 tomorrow 4h')).toBe(
      'Nothing was changed: `4h` counts from the start, and `tomorrow` is not a time: ' +
        'write `now` or an ISO time with its offset, like 2026-11-03T09:00:00+01:00.',
    );
    expect(await overrides('payments-l2')).toEqual(before);
    expect(slack.posted()).toHaveLength(noticesBefore);
  });
});
