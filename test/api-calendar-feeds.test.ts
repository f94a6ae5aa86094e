/**
 * Calendar feeds through the real app over HTTP on 127.0.0.1: a feed made through the API,
 * fetched with no credential but its URL, parsed with ical.js, holds exactly the shifts
 * GET /shifts answers for the same window; who may make, list and revoke feeds; revoked,
 * unknown and malformed tokens, and the feed of someone who left the team, all answer the
 * same 404; unknown tokens count towards the failed-authentication limit.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../api/app';
import { MAX_FEEDS_PER_OWNER } from '../api/routes/calendar-feeds';
import type { BatonConfig, BatonConfigInput } from '../config/schema';
import { loadSecrets, sha256Hex } from '../config/secrets';
import { TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { EXTRA_TOKENS, withTwoTeams } from './support/permissions';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOKEN_OF: Record<string, string> = {
  ...TOKENS,
  frank: EXTRA_TOKENS.TOKEN_FRANK,
  grace: EXTRA_TOKENS.TOKEN_GRACE,
  oscar: EXTRA_TOKENS.TOKEN_OSCAR,
};
const FEED_URL = /^http:\/\/127\.0\.0\.1:\d+\/calendars\/[A-Za-z0-9_-]{43}\.ics$/;

/** A day of bob's in place of alice, two days from now (whole hours), so the feed has an override to show. */
const overrideFrom = new Date(Math.floor((Date.now() + 2 * DAY) / HOUR) * HOUR).toISOString();
const overrideTo = new Date(Date.parse(overrideFrom) + DAY).toISOString();

function withCalendars(c: BatonConfigInput): void {
  withTwoTeams(c);
  c.schedules = [
    {
      id: 'payments-l2',
      team: 'payments',
      name: 'Payments Level 2',
      timezone: 'Europe/Berlin',
      layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2025-01-06T09:00' }],
      overrides: [{ member: 'bob', from: overrideFrom, to: overrideTo }],
    },
    {
      id: 'payments-db',
      team: 'payments',
      name: 'Payments Databases',
      timezone: 'America/New_York',
      layers: [{ members: ['bob', 'alice'], shift: '3d', handoff: '2025-01-01T08:00' }],
    },
    {
      id: 'checkout-l2',
      team: 'checkout',
      name: 'Checkout Level 2',
      timezone: 'Europe/Berlin',
      layers: [{ members: ['frank'], shift: '1w', handoff: '2025-01-06T09:00' }],
    },
  ];
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-calendar-feeds-'));
const feedsDir = path.join(dataDir, 'calendar-feeds');

let connection: Connection;
let temporal: Client;
const apps: FastifyInstance[] = [];

/** The API, listening on 127.0.0.1, over the shared data folder; its address for fetch. */
async function startApp(config: BatonConfig): Promise<{ app: FastifyInstance; base: string }> {
  const appConfig: BatonConfig = {
    ...config,
    dataDir,
    api: { ...config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
  const app = await buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, { ...TOKEN_ENV, ...EXTRA_TOKENS }),
    temporal,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('not listening');
  return { app, base: `http://127.0.0.1:${address.port}` };
}

let base: string;

beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection });
  ({ base } = await startApp(testConfig(withCalendars)));
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await connection?.close();
});

function call(who: string | undefined, method: string, url: string, at = base): Promise<Response> {
  return fetch(`${at}${url}`, {
    method,
    headers: who ? { authorization: `Bearer ${TOKEN_OF[who] ?? 'none'}` } : {},
  });
}

interface Made {
  id: string;
  url: string;
  createdAt: string;
  schedule?: string;
  responder?: string;
}

async function makeFeed(who: string, url: string, at = base): Promise<Made> {
  const response = await call(who, 'POST', url, at);
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Made;
}

interface FeedEvent {
  uid: string;
  summary: string;
  start: string;
  end: string;
  startZone: unknown;
}

/** The feed as a subscriber reads it. */
function eventsOf(text: string): FeedEvent[] {
  const calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  for (const zone of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(zone);
  return calendar.getAllSubcomponents('vevent').map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
      startZone: component.getFirstProperty('dtstart')?.getParameter('tzid'),
    };
  });
}

async function fetchFeed(url: string): Promise<{ response: Response; events: FeedEvent[] }> {
  const response = await fetch(url);
  const text = await response.text();
  return { response, events: response.status === 200 ? eventsOf(text) : [] };
}

interface ShiftAnswer {
  member?: string;
  name?: string;
  gap?: boolean;
  start: string;
  end: string;
}

/** What GET /shifts answers over [from, to), as the events a feed would hold. */
async function shiftsAsEvents(who: string, schedule: string, scheduleName: string, from: string, to: string) {
  const response = await call(who, 'GET', `/api/v1/schedules/${schedule}/shifts?from=${from}&to=${to}`);
  expect(response.status).toBe(200);
  const { shifts } = (await response.json()) as { shifts: ShiftAnswer[] };
  return shifts
    .filter((s) => !s.gap)
    .map((s) => ({
      uid: `${schedule}-${s.member}-${s.start}@baton`,
      summary: `On call: ${s.name} (${scheduleName})`,
      start: s.start,
      end: s.end,
    }));
}

const feedFiles = (): string[] => {
  try {
    return readdirSync(feedsDir).sort();
  } catch {
    return [];
  }
};

describe("a schedule's feed", () => {
  it('is made by a member of the team, and its URL serves the shifts /shifts gives for that window', async () => {
    const made = await makeFeed('alice', '/api/v1/schedules/payments-l2/calendar-feeds');
    expect(made).toMatchObject({ schedule: 'payments-l2' });
    expect(made.id).toMatch(/^feed-[0-9a-f]{32}$/);
    expect(made.url).toMatch(FEED_URL);
    expect(made).not.toHaveProperty('token');

    const before = Date.now();
    const { response, events } = await fetchFeed(made.url);
    const after = Date.now();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('private, max-age=300');

    // The window, 30 days back and 90 ahead, with the shifts at its edges whole.
    const first = events[0] as FeedEvent;
    const last = events[events.length - 1] as FeedEvent;
    expect(Date.parse(first.start)).toBeLessThanOrEqual(after - 30 * DAY);
    expect(Date.parse(first.end)).toBeGreaterThan(before - 30 * DAY);
    expect(Date.parse(last.start)).toBeLessThan(after + 90 * DAY);
    expect(Date.parse(last.end)).toBeGreaterThanOrEqual(before + 90 * DAY);

    const expected = await shiftsAsEvents('alice', 'payments-l2', 'Payments Level 2', first.start, last.end);
    expect(events.map(({ uid, summary, start, end }) => ({ uid, summary, start, end }))).toEqual(expected);
    expect(events.length).toBeGreaterThan(15);
    // The configured override is among them, in Berlin time like every other.
    expect(events).toContainEqual(
      expect.objectContaining({ summary: 'On call: Bob Okafor (Payments Level 2)', start: overrideFrom }),
    );
    expect(new Set(events.map((e) => e.startZone))).toEqual(new Set(['Europe/Berlin']));

    // Only the token's digest is kept: the URL cannot be read back from the data folder.
    const token = /\/calendars\/([^/]+)\.ics$/.exec(made.url)?.[1] as string;
    const stored = readFileSync(path.join(feedsDir, `${made.id}.json`), 'utf8');
    expect(stored).not.toContain(token);
    expect(JSON.parse(stored)).toMatchObject({
      owner: 'alice',
      schedule: 'payments-l2',
      tokenSha256: sha256Hex(token),
    });
  });

  it('gives the same UIDs, starts and ends on a second fetch', async () => {
    const made = await makeFeed('bob', '/api/v1/schedules/payments-l2/calendar-feeds');
    const one = await fetchFeed(made.url);
    const two = await fetchFeed(made.url);
    expect(two.events).toEqual(one.events);
  });

  it('is refused to someone who cannot see the schedule (404, as for an unknown one), and stores nothing', async () => {
    const files = feedFiles();
    for (const who of ['frank', 'grace']) {
      const response = await call(who, 'POST', '/api/v1/schedules/payments-l2/calendar-feeds');
      expect(response.status, who).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe('no schedule "payments-l2"');
    }
    expect((await call('alice', 'POST', '/api/v1/schedules/nope/calendar-feeds')).status).toBe(404);
    expect((await call(undefined, 'POST', '/api/v1/schedules/payments-l2/calendar-feeds')).status).toBe(401);
    expect(feedFiles()).toEqual(files);
    // A manager who oversees every team may.
    expect((await makeFeed('oscar', '/api/v1/schedules/checkout-l2/calendar-feeds')).schedule).toBe(
      'checkout-l2',
    );
  });

  it('lists only the caller’s own feeds, without their URLs', async () => {
    const made = await makeFeed('carol', '/api/v1/schedules/payments-db/calendar-feeds');
    const response = await call('carol', 'GET', '/api/v1/calendar-feeds');
    expect(response.status).toBe(200);
    const { feeds } = (await response.json()) as { feeds: Record<string, unknown>[] };
    expect(feeds).toEqual([{ id: made.id, schedule: 'payments-db', createdAt: made.createdAt }]);
    const dave = (await (await call('dave', 'GET', '/api/v1/calendar-feeds')).json()) as {
      feeds: { id: string }[];
    };
    expect(dave.feeds.map((f) => f.id)).not.toContain(made.id);
  });
});

describe('feeds per person', () => {
  it('are at most 20: the next is refused with 409 until one is revoked', async () => {
    const made: Made[] = [];
    for (let i = 0; i < MAX_FEEDS_PER_OWNER; i++) {
      made.push(await makeFeed('grace', '/api/v1/schedules/checkout-l2/calendar-feeds'));
    }
    const files = feedFiles();
    const refused = await call('grace', 'POST', '/api/v1/responders/grace/calendar-feeds');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toMatch(/revoke one first/);
    expect(feedFiles()).toEqual(files);
    expect((await call('grace', 'DELETE', `/api/v1/calendar-feeds/${made[0]?.id}`)).status).toBe(204);
    expect((await makeFeed('grace', '/api/v1/responders/grace/calendar-feeds')).responder).toBe('grace');
  });
});

describe('revoking a feed', () => {
  it('is for its owner or a manager of the team; the URL answers 404 from then on', async () => {
    const made = await makeFeed('alice', '/api/v1/schedules/payments-l2/calendar-feeds');
    const refused = await call('bob', 'DELETE', `/api/v1/calendar-feeds/${made.id}`);
    expect(refused.status).toBe(404);
    expect((await call('frank', 'DELETE', `/api/v1/calendar-feeds/${made.id}`)).status).toBe(404);
    expect((await fetchFeed(made.url)).response.status).toBe(200);

    const revoked = await call('dave', 'DELETE', `/api/v1/calendar-feeds/${made.id}`);
    expect(revoked.status).toBe(204);
    const gone = await fetch(made.url);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: 'not found', code: 'NotFound' });
    expect((await call('alice', 'DELETE', `/api/v1/calendar-feeds/${made.id}`)).status).toBe(404);
    expect(feedFiles()).not.toContain(`${made.id}.json`);

    const own = await makeFeed('alice', '/api/v1/schedules/payments-l2/calendar-feeds');
    expect((await call('alice', 'DELETE', `/api/v1/calendar-feeds/${own.id}`)).status).toBe(204);
    expect((await fetch(own.url)).status).toBe(404);
  });

  it('answers 404 for an unknown feed id', async () => {
    for (const id of [`feed-${'0'.repeat(32)}`, 'nope', '..%2F..%2Fetc']) {
      const response = await call('dave', 'DELETE', `/api/v1/calendar-feeds/${id}`);
      expect(response.status, id).toBe(404);
    }
  });
});

describe('the feed URL', () => {
  it('answers an unknown, altered or malformed token 404, alike and with no hint', async () => {
    const made = await makeFeed('alice', '/api/v1/schedules/payments-l2/calendar-feeds');
    const token = /\/calendars\/([^/]+)\.ics$/.exec(made.url)?.[1] as string;
    const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const answers = await Promise.all(
      [
        `/calendars/${'A'.repeat(43)}.ics`,
        `/calendars/${altered}.ics`,
        `/calendars/${token}`,
        `/calendars/${token}.ics.ics`,
        '/calendars/short.ics',
        `/calendars/${token.slice(0, 42)}%00.ics`,
      ].map(async (url) => {
        const response = await fetch(`${base}${url}`, {
          headers: { authorization: `Bearer ${TOKENS.alice}` },
        });
        return { url, status: response.status, body: await response.text() };
      }),
    );
    for (const a of answers)
      expect({ url: a.url, status: a.status, body: a.body }).toEqual({
        url: a.url,
        status: 404,
        body: '{"error":"not found","code":"NotFound"}',
      });
    expect((await fetchFeed(made.url)).response.status).toBe(200);
  });

  it('is listed in the API docs, the feed itself without a bearer token', async () => {
    const docs = (await (await fetch(`${base}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(docs.paths['/calendars/{file}']?.get?.security).toEqual([]);
    expect(Object.keys(docs.paths['/api/v1/schedules/{id}/calendar-feeds'] ?? {})).toEqual(['post']);
    expect(Object.keys(docs.paths['/api/v1/responders/{id}/calendar-feeds'] ?? {})).toEqual(['post']);
    expect(Object.keys(docs.paths['/api/v1/calendar-feeds'] ?? {})).toEqual(['get']);
    expect(Object.keys(docs.paths['/api/v1/calendar-feeds/{feedId}'] ?? {})).toEqual(['delete']);
  });
});

describe("a responder's feed", () => {
  it('is made by the responder or a manager of their team, and holds their shifts of every schedule', async () => {
    const own = await makeFeed('alice', '/api/v1/responders/alice/calendar-feeds');
    expect(own).toMatchObject({ responder: 'alice' });
    expect(own.url).toMatch(FEED_URL);
    const { events } = await fetchFeed(own.url);
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.summary.startsWith('On call: Alice Ng ('))).toBe(true);
    expect(new Set(events.map((e) => e.uid.split('-alice-')[0]))).toEqual(
      new Set(['payments-l2', 'payments-db']),
    );
    expect(new Set(events.map((e) => e.startZone))).toEqual(new Set(['Europe/Berlin', 'America/New_York']));

    // Exactly alice's shifts of each schedule, as /shifts gives them.
    for (const [schedule, name] of [
      ['payments-l2', 'Payments Level 2'],
      ['payments-db', 'Payments Databases'],
    ] as const) {
      const mine = events.filter((e) => e.uid.startsWith(`${schedule}-alice-`));
      const first = mine[0] as FeedEvent;
      const last = mine[mine.length - 1] as FeedEvent;
      const expected = (await shiftsAsEvents('alice', schedule, name, first.start, last.end)).filter((e) =>
        e.uid.startsWith(`${schedule}-alice-`),
      );
      expect(mine.map(({ uid, summary, start, end }) => ({ uid, summary, start, end }))).toEqual(expected);
    }

    const byManager = await makeFeed('dave', '/api/v1/responders/alice/calendar-feeds');
    expect((await fetchFeed(byManager.url)).events.map((e) => e.uid)).toEqual(events.map((e) => e.uid));
    expect((await makeFeed('oscar', '/api/v1/responders/alice/calendar-feeds')).responder).toBe('alice');
  });

  it('is refused to a teammate (403) and to someone of another team (404), storing nothing', async () => {
    const files = feedFiles();
    const teammate = await call('bob', 'POST', '/api/v1/responders/alice/calendar-feeds');
    expect(teammate.status).toBe(403);
    expect(((await teammate.json()) as { error: string }).error).toMatch(/only alice or a manager/);
    expect((await call('frank', 'POST', '/api/v1/responders/alice/calendar-feeds')).status).toBe(404);
    expect((await call('grace', 'POST', '/api/v1/responders/alice/calendar-feeds')).status).toBe(404);
    expect((await call('alice', 'POST', '/api/v1/responders/zed/calendar-feeds')).status).toBe(404);
    expect(feedFiles()).toEqual(files);
  });

  it('may be revoked by the responder, not by a teammate', async () => {
    const made = await makeFeed('dave', '/api/v1/responders/alice/calendar-feeds');
    expect((await call('bob', 'DELETE', `/api/v1/calendar-feeds/${made.id}`)).status).toBe(404);
    expect((await call('alice', 'DELETE', `/api/v1/calendar-feeds/${made.id}`)).status).toBe(204);
    expect((await fetch(made.url)).status).toBe(404);
  });
});

describe('a feed whose owner left the team', () => {
  it('answers 404 once the configuration no longer puts them on it', async () => {
    // carol is on team payments as its Level 3.
    const carols = await makeFeed('carol', '/api/v1/schedules/payments-l2/calendar-feeds');
    const davesOfAlice = await makeFeed('dave', '/api/v1/responders/alice/calendar-feeds');
    expect((await fetchFeed(carols.url)).response.status).toBe(200);

    const without = testConfig((c) => {
      withCalendars(c);
      for (const team of c.teams) {
        if (team.id !== 'payments') continue;
        team.level3 = [{ notify: ['erin'], acceptTimeout: '1h' }];
        // dave stops managing payments too: the approver is grace now.
        team.escalation.steps = team.escalation.steps.filter((s) => !s.notify.includes('dave'));
        if (team.stakeholders?.external) team.stakeholders.external.approvers = ['grace'];
      }
    });
    const moved = await startApp(without);
    const path = (url: string) => url.slice(base.length);
    const carolNow = await fetch(`${moved.base}${path(carols.url)}`);
    expect(carolNow.status).toBe(404);
    expect(await carolNow.text()).toBe('{"error":"not found","code":"NotFound"}');
    expect((await fetch(`${moved.base}${path(davesOfAlice.url)}`)).status).toBe(404);
    // The feed is kept: back on the team, its URL works again.
    expect((await fetchFeed(carols.url)).response.status).toBe(200);
  });
});

describe('guessing feed URLs', () => {
  it('counts unknown tokens as failed authentications: past the limit, 429; a real feed is still served', async () => {
    const { base: guessed } = await startApp(
      testConfig((c) => {
        withCalendars(c);
        c.api = { ...c.api, publicUrl: 'https://baton.example.com/' };
      }),
    );
    const made = await makeFeed('alice', '/api/v1/schedules/payments-l2/calendar-feeds', guessed);
    expect(made.url).toMatch(/^https:\/\/baton\.example\.com\/calendars\/[A-Za-z0-9_-]{43}\.ics$/);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await fetch(`${guessed}/calendars/${String(i).padStart(43, 'G')}.ics`)).status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(404), 429]);
    const served = await fetch(`${guessed}${made.url.slice('https://baton.example.com'.length)}`);
    expect(served.status).toBe(200);
  });
});
