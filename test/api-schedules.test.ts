/**
 * On-call schedules through the API, against the real app and a real worker (for the pages
 * the fairness report counts): who is on call, the shifts, overrides and time off with their
 * permissions, every refusal leaving the store unchanged, many people adding at once, the
 * Prometheus gauge, and the issue's done-when sequence on the demo configuration.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderScheduleStore } from '../activities/store/schedule-store';
import { loadConfigFile } from '../config/load';
import type { BatonConfigInput } from '../config/schema';
import { countPages } from '../schedules/fairness';
import type { TimelineEvent } from '../workflows/incident/state';
import { auth, buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { EXTRA_TOKENS, withTwoTeams } from './support/permissions';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The store's clock: what it prunes is measured from here, so fixed dates stay fresh. */
const STORE_NOW = Date.parse('2026-11-04T12:00:00Z');
/** alice's first week: Monday 2026-11-02 09:00 to 2026-11-09 09:00 Berlin (08:00Z). */
const IN_ALICES_WEEK = '2026-11-04T12:00:00Z';
const IN_BOBS_WEEK = '2026-11-11T12:00:00Z';
const S = '/api/v1/schedules/payments-l2';

const TOKEN_OF: Record<string, string> = {
  ...TOKENS,
  frank: EXTRA_TOKENS.TOKEN_FRANK,
  grace: EXTRA_TOKENS.TOKEN_GRACE,
  oscar: EXTRA_TOKENS.TOKEN_OSCAR,
};
const as = (who: string) => ({ authorization: `Bearer ${TOKEN_OF[who] ?? 'none'}` });

function withSchedules(c: BatonConfigInput): void {
  withTwoTeams(c);
  c.schedules = [
    {
      id: 'payments-l2',
      team: 'payments',
      name: 'Payments Level 2',
      timezone: 'Europe/Berlin',
      layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
    },
    {
      id: 'checkout-l2',
      team: 'checkout',
      name: 'Checkout Level 2',
      timezone: 'Europe/Berlin',
      layers: [{ members: ['frank'], shift: '1w', handoff: '2026-11-02T09:00' }],
    },
  ];
}

let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  w = await startTestWorker(testConfig(withSchedules), 'api-schedules');
  const store = new FolderScheduleStore(path.join(w.dataDir, 'schedules'), { now: () => STORE_NOW });
  app = await buildTestApp(w, w.config, EXTRA_TOKENS, { schedules: store });
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
});

const get = (who: string, url: string) => app.inject({ method: 'GET', url, headers: as(who) });
const post = (who: string, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: as(who), payload });
const del = (who: string, url: string) => app.inject({ method: 'DELETE', url, headers: as(who) });

interface OverrideAnswer {
  id: string;
  member: string;
  by?: string;
  configured: boolean;
}
interface TimeOffAnswer {
  id: string;
  member: string;
  by?: string;
}

async function overrides(): Promise<OverrideAnswer[]> {
  const response = await get('dave', `${S}/overrides`);
  expect(response.statusCode).toBe(200);
  return response.json<{ overrides: OverrideAnswer[] }>().overrides;
}
async function timeOff(member: string): Promise<TimeOffAnswer[]> {
  const response = await get(member, `/api/v1/responders/${member}/time-off`);
  expect(response.statusCode).toBe(200);
  return response.json<{ timeOff: TimeOffAnswer[] }>().timeOff;
}
async function removeAllOverrides(): Promise<void> {
  for (const o of await overrides())
    expect((await del('dave', `${S}/overrides/${o.id}`)).statusCode).toBe(204);
}

/** The answer is a 400 whose error and issues name the field. */
function expectInvalid(response: LightMyRequestResponse, field: string, message: RegExp): void {
  expect(response.statusCode, response.body).toBe(400);
  const body = response.json<{ error: string; code: string; issues?: { path: string; message: string }[] }>();
  expect(body.code).toBe('InvalidInput');
  expect(body.error).toContain(field);
  expect(body.error).toMatch(message);
  if (body.issues) expect(body.issues.map((i) => i.path)).toContain(field);
}

const inAYearAndMore = () => new Date(Date.now() + 400 * DAY).toISOString();
const soon = (hours: number) => new Date(Date.now() + hours * HOUR).toISOString();

describe('who is on call', () => {
  it('lists only the schedules of the caller’s teams, each with who is on call now', async () => {
    const alice = await get('alice', '/api/v1/schedules');
    expect(alice.statusCode).toBe(200);
    const list = alice.json<{
      schedules: { id: string; team: string; layers: { shift: string }[]; onCall: { member?: string } }[];
    }>().schedules;
    expect(list.map((s) => s.id)).toEqual(['payments-l2']);
    expect(list[0]?.layers[0]?.shift).toBe('1w');
    expect(['alice', 'bob']).toContain(list[0]?.onCall.member);
    const frank = await get('frank', '/api/v1/schedules');
    expect(frank.json<{ schedules: { id: string }[] }>().schedules.map((s) => s.id)).toEqual(['checkout-l2']);
    const oscar = await get('oscar', '/api/v1/schedules');
    expect(oscar.json<{ schedules: { id: string }[] }>().schedules.map((s) => s.id)).toEqual([
      'payments-l2',
      'checkout-l2',
    ]);
  });

  it('names the member of the week, the layer that put them there, and the shift in UTC and local time', async () => {
    const response = await get('bob', `${S}/oncall?at=${IN_ALICES_WEEK}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      schedule: 'payments-l2',
      at: '2026-11-04T12:00:00.000Z',
      member: 'alice',
      name: 'Alice Ng',
      source: { type: 'layer', layer: 0 },
      start: '2026-11-02T08:00:00.000Z',
      end: '2026-11-09T08:00:00.000Z',
      startLocal: '2026-11-02T09:00+01:00',
      endLocal: '2026-11-09T09:00+01:00',
    });
    const next = await get('bob', `${S}/oncall?at=${IN_BOBS_WEEK}`);
    expect(next.json()).toMatchObject({ member: 'bob', start: '2026-11-09T08:00:00.000Z' });
  });

  it('answers a gap before the first handoff', async () => {
    const response = await get('alice', `${S}/oncall?at=2026-11-01T12:00:00Z`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ gap: true, reason: 'no-layer', end: '2026-11-02T08:00:00.000Z' });
    expect(response.json()).not.toHaveProperty('member');
  });

  it('lists the final shifts of a window', async () => {
    const response = await get('alice', `${S}/shifts?from=2026-11-02T00:00:00Z&to=2026-11-16T00:00:00Z`);
    expect(response.statusCode).toBe(200);
    const { shifts } = response.json<{
      shifts: { member?: string; gap?: boolean; start: string; end: string }[];
    }>();
    expect(shifts.map((s) => [s.member ?? 'gap', s.start, s.end])).toEqual([
      ['gap', '2026-11-02T00:00:00.000Z', '2026-11-02T08:00:00.000Z'],
      ['alice', '2026-11-02T08:00:00.000Z', '2026-11-09T08:00:00.000Z'],
      ['bob', '2026-11-09T08:00:00.000Z', '2026-11-16T00:00:00.000Z'],
    ]);
  });

  it('refuses a window over 400 days, one that ends before it starts, and a time that is not ISO, naming why', async () => {
    const long = await get('alice', `${S}/shifts?from=2026-01-01T00:00:00Z&to=2027-03-01T00:00:00Z`);
    expect(long.statusCode).toBe(400);
    expect(long.json<{ error: string }>().error).toMatch(/at most 400 days/);
    const backwards = await get('alice', `${S}/shifts?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z`);
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json<{ error: string }>().error).toMatch(/to must be after from/);
    const report = await get('alice', `${S}/report?from=2025-01-01T00:00:00Z&to=2026-11-01T00:00:00Z`);
    expect(report.statusCode).toBe(400);
    expect(report.json<{ error: string }>().error).toMatch(/at most 400 days/);
    expectInvalid(await get('alice', `${S}/oncall?at=tomorrow`), 'querystring.at', /ISO time/);
    expectInvalid(await get('alice', `${S}/shifts?from=2026-11-02`), 'querystring.from', /ISO time/);
  });
});

describe('who may see a schedule', () => {
  it('answers 404 to another team’s member and manager, as for an unknown schedule', async () => {
    const before = await overrides();
    for (const who of ['frank', 'grace']) {
      for (const url of [`${S}/oncall`, `${S}/shifts`, `${S}/report`, `${S}/overrides`]) {
        const response = await get(who, url);
        expect(response.statusCode, `${who} ${url}`).toBe(404);
        expect(response.json<{ error: string }>().error).toBe('no schedule "payments-l2"');
      }
      const added = await post(who, `${S}/overrides`, { member: who, from: soon(1), to: soon(2) });
      expect(added.statusCode).toBe(404);
    }
    expect((await get('alice', '/api/v1/schedules/nope/oncall')).statusCode).toBe(404);
    expect(await overrides()).toEqual(before);
  });

  it('answers 401 without a token', async () => {
    const response = await app.inject({ method: 'GET', url: `${S}/oncall` });
    expect(response.statusCode).toBe(401);
  });

  it('shows the schedules of every team to a manager who oversees them all', async () => {
    expect((await get('oscar', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({
      member: 'alice',
    });
  });
});

describe('overrides', () => {
  it('lets a member put themselves on call in place of the one whose turn it is', async () => {
    const response = await post('bob', `${S}/overrides`, {
      member: 'bob',
      from: '2026-11-04T00:00:00Z',
      to: '2026-11-05T00:00:00+00:00',
      replacing: 'alice',
    });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<OverrideAnswer & { from: string; fromLocal: string; replacing: string }>();
    expect(created).toMatchObject({
      member: 'bob',
      replacing: 'alice',
      by: 'bob',
      from: '2026-11-04T00:00:00.000Z',
      fromLocal: '2026-11-04T01:00+01:00',
      configured: false,
    });
    expect(created.id).toMatch(/^override-[0-9a-f]{32}$/);
    expect(response.headers.location).toBe(`${S}/overrides/${created.id}`);
    expect((await get('alice', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({
      member: 'bob',
      source: { type: 'override', id: created.id, replacing: 'alice' },
      start: '2026-11-04T00:00:00.000Z',
      end: '2026-11-05T00:00:00.000Z',
    });
    expect((await overrides()).map((o) => o.id)).toEqual([created.id]);
    await removeAllOverrides();
  });

  it('refuses a member who puts someone else on call (403), and changes nothing', async () => {
    const before = await overrides();
    const response = await post('alice', `${S}/overrides`, {
      member: 'bob',
      from: '2026-11-04T00:00:00Z',
      to: '2026-11-05T00:00:00Z',
    });
    expect(response.statusCode).toBe(403);
    expect(response.json<{ error: string }>().error).toMatch(/only a manager of team payments/);
    expect(await overrides()).toEqual(before);
    expect((await get('alice', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({
      member: 'alice',
    });
  });

  it('lets a manager put anyone of the team on call, and remove any override', async () => {
    const response = await post('dave', `${S}/overrides`, {
      member: 'bob',
      from: '2026-11-04T00:00:00Z',
      to: '2026-11-05T00:00:00Z',
    });
    expect(response.statusCode).toBe(201);
    const { id } = response.json<OverrideAnswer>();
    expect((await get('alice', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({ member: 'bob' });
    const mine = await post('alice', `${S}/overrides`, {
      member: 'alice',
      from: IN_BOBS_WEEK,
      to: '2026-11-12T00:00:00Z',
    });
    expect(mine.statusCode).toBe(201);
    expect((await del('dave', `${S}/overrides/${mine.json<OverrideAnswer>().id}`)).statusCode).toBe(204);
    expect((await del('dave', `${S}/overrides/${id}`)).statusCode).toBe(204);
    expect(await overrides()).toEqual([]);
    expect((await get('alice', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({
      member: 'alice',
    });
  });

  it('lets a member remove an override that covers them, but not someone else’s', async () => {
    const made = await post('dave', `${S}/overrides`, {
      member: 'bob',
      from: '2026-11-04T00:00:00Z',
      to: '2026-11-05T00:00:00Z',
    });
    const { id } = made.json<OverrideAnswer>();
    const refused = await del('alice', `${S}/overrides/${id}`);
    expect(refused.statusCode).toBe(403);
    expect((await overrides()).map((o) => o.id)).toEqual([id]);
    expect((await del('frank', `${S}/overrides/${id}`)).statusCode).toBe(404);
    expect((await overrides()).map((o) => o.id)).toEqual([id]);
    expect((await del('bob', `${S}/overrides/${id}`)).statusCode).toBe(204);
    expect((await del('bob', `${S}/overrides/${id}`)).statusCode).toBe(404);
    expect((await del('dave', `${S}/overrides/override-unknown`)).statusCode).toBe(404);
    expect(await overrides()).toEqual([]);
  });

  describe('refuses a bad override with a 400 naming the field, and stores nothing', () => {
    const cases: [string, () => object, string, RegExp][] = [
      [
        'one that ends before it starts',
        () => ({ member: 'bob', from: '2026-11-05T00:00:00Z', to: '2026-11-04T00:00:00Z' }),
        'body.to',
        /not after it starts/,
      ],
      [
        'one that ends as it starts',
        () => ({ member: 'bob', from: '2026-11-05T00:00:00Z', to: '2026-11-05T00:00:00Z' }),
        'body.to',
        /not after it starts/,
      ],
      [
        'one starting more than a year out',
        () => ({ member: 'bob', from: inAYearAndMore(), to: new Date(Date.now() + 401 * DAY).toISOString() }),
        'body.from',
        /more than a year from now/,
      ],
      [
        'one ending more than a year out',
        () => ({ member: 'bob', from: soon(1), to: inAYearAndMore() }),
        'body.to',
        /more than a year from now/,
      ],
      [
        'an unknown member',
        () => ({ member: 'zed', from: soon(1), to: soon(2) }),
        'body.member',
        /unknown responder "zed"/,
      ],
      [
        'a member of another team',
        () => ({ member: 'frank', from: soon(1), to: soon(2) }),
        'body.member',
        /frank is not on team payments/,
      ],
      [
        'an unknown replaced member',
        () => ({ member: 'bob', from: soon(1), to: soon(2), replacing: 'zed' }),
        'body.replacing',
        /unknown responder/,
      ],
      [
        'a time without an offset',
        () => ({ member: 'bob', from: '2026-11-04T00:00', to: soon(2) }),
        'body.from',
        /not an ISO time with an offset/,
      ],
      ['a missing field', () => ({ member: 'bob', from: soon(1) }), 'body.to', /./],
      [
        'a field of its own',
        () => ({ member: 'bob', from: soon(1), to: soon(2), note: 'x' }),
        'body',
        /note/,
      ],
    ];
    for (const [what, body, field, message] of cases) {
      it(what, async () => {
        const before = await overrides();
        expectInvalid(await post('dave', `${S}/overrides`, body()), field, message);
        expect(await overrides()).toEqual(before);
      });
    }
  });

  it('keeps every one of 20 overrides posted at once, under distinct ids', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post('dave', `${S}/overrides`, {
          member: i % 2 ? 'alice' : 'bob',
          from: new Date(STORE_NOW + i * HOUR).toISOString(),
          to: new Date(STORE_NOW + (i + 1) * HOUR).toISOString(),
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(201));
    const ids = answers.map((a) => a.json<OverrideAnswer>().id);
    expect(new Set(ids).size).toBe(20);
    const listed = await overrides();
    expect(listed).toHaveLength(20);
    expect(new Set(listed.map((o) => o.id))).toEqual(new Set(ids));
    await removeAllOverrides();
  });
});

describe('time off', () => {
  const away = { from: '2026-11-03T00:00:00Z', to: '2026-11-06T00:00:00Z' };

  it('lets a responder set their own: their shift goes to the next free member of the layer', async () => {
    const response = await post('alice', '/api/v1/responders/alice/time-off', away);
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<TimeOffAnswer>();
    expect(created).toMatchObject({ member: 'alice', by: 'alice', from: '2026-11-03T00:00:00.000Z' });
    expect(created.id).toMatch(/^timeoff-[0-9a-f]{32}$/);
    expect((await get('bob', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({
      member: 'bob',
      source: { type: 'layer', layer: 0, replacing: 'alice' },
      start: '2026-11-03T00:00:00.000Z',
      end: '2026-11-06T00:00:00.000Z',
    });
    // Teammates see it; removing it gives the shift back.
    expect((await get('bob', '/api/v1/responders/alice/time-off')).json()).toEqual({ timeOff: [created] });
    expect((await del('alice', `/api/v1/responders/alice/time-off/${created.id}`)).statusCode).toBe(204);
    expect(await timeOff('alice')).toEqual([]);
    expect((await get('bob', `${S}/oncall?at=${IN_ALICES_WEEK}`)).json()).toMatchObject({ member: 'alice' });
  });

  it('lets a manager of a team the person is on set and remove it', async () => {
    const response = await post('dave', '/api/v1/responders/alice/time-off', away);
    expect(response.statusCode).toBe(201);
    const { id, by } = response.json<TimeOffAnswer>();
    expect(by).toBe('dave');
    expect((await del('dave', `/api/v1/responders/alice/time-off/${id}`)).statusCode).toBe(204);
    expect(await timeOff('alice')).toEqual([]);
  });

  it('refuses a teammate (403) and hides the person from other teams (404), changing nothing', async () => {
    const own = (await post('alice', '/api/v1/responders/alice/time-off', away)).json<TimeOffAnswer>();
    const before = await timeOff('alice');
    const bob = await post('bob', '/api/v1/responders/alice/time-off', away);
    expect(bob.statusCode).toBe(403);
    expect(bob.json<{ error: string }>().error).toMatch(/only alice or a manager/);
    expect((await del('bob', `/api/v1/responders/alice/time-off/${own.id}`)).statusCode).toBe(403);
    for (const who of ['frank', 'grace']) {
      expect((await post(who, '/api/v1/responders/alice/time-off', away)).statusCode).toBe(404);
      expect((await get(who, '/api/v1/responders/alice/time-off')).statusCode).toBe(404);
      expect((await del(who, `/api/v1/responders/alice/time-off/${own.id}`)).statusCode).toBe(404);
    }
    expect((await get('alice', '/api/v1/responders/zed/time-off')).statusCode).toBe(404);
    expect(await timeOff('alice')).toEqual(before);
    expect((await del('alice', `/api/v1/responders/alice/time-off/timeoff-unknown`)).statusCode).toBe(404);
    // An id of someone else's time off is not this person's.
    const bobs = (await post('bob', '/api/v1/responders/bob/time-off', away)).json<TimeOffAnswer>();
    expect((await del('dave', `/api/v1/responders/alice/time-off/${bobs.id}`)).statusCode).toBe(404);
    expect((await timeOff('bob')).map((t) => t.id)).toEqual([bobs.id]);
    expect((await del('bob', `/api/v1/responders/bob/time-off/${bobs.id}`)).statusCode).toBe(204);
    expect((await del('alice', `/api/v1/responders/alice/time-off/${own.id}`)).statusCode).toBe(204);
  });

  describe('refuses bad time off with a 400 naming the field, and stores nothing', () => {
    const cases: [string, () => object, string, RegExp][] = [
      [
        'time off ending before it starts',
        () => ({ from: '2026-11-06T00:00:00Z', to: '2026-11-03T00:00:00Z' }),
        'body.to',
        /not after it starts/,
      ],
      [
        'time off starting more than a year out',
        () => ({ from: inAYearAndMore(), to: new Date(Date.now() + 401 * DAY).toISOString() }),
        'body.from',
        /more than a year/,
      ],
      [
        'time off ending more than a year out',
        () => ({ from: soon(1), to: inAYearAndMore() }),
        'body.to',
        /more than a year/,
      ],
      [
        'time off that is not a time',
        () => ({ from: 'monday', to: soon(1) }),
        'body.from',
        /not an ISO time/,
      ],
      [
        'time off naming a member in the body',
        () => ({ member: 'bob', from: soon(1), to: soon(2) }),
        'body',
        /member/,
      ],
    ];
    for (const [what, body, field, message] of cases) {
      it(what, async () => {
        const before = await timeOff('alice');
        expectInvalid(await post('alice', '/api/v1/responders/alice/time-off', body()), field, message);
        expect(await timeOff('alice')).toEqual(before);
      });
    }
  });
});

describe('the fairness report', () => {
  it('gives each member’s hours, outside business hours, for a window', async () => {
    const response = await get('alice', `${S}/report?from=2026-11-02T00:00:00Z&to=2026-11-16T00:00:00Z`);
    expect(response.statusCode).toBe(200);
    const report = response.json<{
      members: { member: string; name: string; hoursOnCall: number; hoursOutsideBusinessHours: number }[];
      gapHours: number;
    }>();
    // alice 2 Nov 08:00Z – 9 Nov 08:00Z; bob from then to the window's end (15 Nov 24:00Z).
    expect(report.members.map((m) => [m.member, m.name, m.hoursOnCall])).toEqual([
      ['alice', 'Alice Ng', 168],
      ['bob', 'Bob Okafor', 160],
    ]);
    // A week has 40 business hours (Mon–Fri 09:00–17:00 Berlin).
    expect(report.members[0]?.hoursOutsideBusinessHours).toBe(168 - 40);
    expect(report.gapHours).toBe(8);
  });

  it('counts the pages the team’s incidents sent each member', async () => {
    const from = new Date(Date.now() - HOUR).toISOString();
    const declared = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: auth('alice'),
      payload: { title: 'Card payments failing', service: 'payments', severity: 'SEV2' },
    });
    expect(declared.statusCode).toBe(201);
    const { id } = declared.json<{ id: string }>();
    // The first step pages alice; the report reads it from the incident's timeline.jsonl.
    const paged = await eventually(async () => {
      const timeline = await app.inject({
        method: 'GET',
        url: `/api/v1/incidents/${id}/timeline`,
        headers: auth('alice'),
      });
      if (timeline.statusCode !== 200) return undefined;
      return timeline.json<{ events: TimelineEvent[] }>().events.find((e) => e.kind === 'paged');
    });
    const to = new Date(Date.now() + HOUR).toISOString();
    const report = await eventually(async () => {
      const answer = (await get('dave', `${S}/report?from=${from}&to=${to}`)).json<{
        members: { member: string; pages: number; nightsWoken: number }[];
      }>();
      return answer.members.find((m) => m.member === 'alice')?.pages === 1 ? answer : undefined;
    });
    const at = Date.parse(paged.at);
    const expectedNights = countPages('Europe/Berlin', [{ member: 'alice', at }], at, at + 1).get(
      'alice',
    )?.nightsWoken;
    expect(report.members.find((m) => m.member === 'alice')).toMatchObject({
      pages: 1,
      nightsWoken: expectedNights,
    });
    expect(report.members.find((m) => m.member === 'bob')).toMatchObject({ pages: 0, nightsWoken: 0 });
    // Another team's schedule counts none of payments' pages.
    const checkout = (await get('frank', `/api/v1/schedules/checkout-l2/report?from=${from}&to=${to}`)).json<{
      members: { member: string; pages: number }[];
    }>();
    expect(checkout.members).toEqual([expect.objectContaining({ member: 'frank', pages: 0 })]);
  });

  it('serves this week’s hours per member as baton_oncall_hours', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const lines = response.body.split('\n').filter((l) => l.startsWith('baton_oncall_hours{'));
    const hours = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
    );
    const alice = hours['baton_oncall_hours{schedule="payments-l2",member="alice"}'];
    const bob = hours['baton_oncall_hours{schedule="payments-l2",member="bob"}'];
    // A local week is 168 hours (167 or 169 across a DST change), shared by the two.
    expect(alice).toBeGreaterThan(0);
    expect(bob).toBeGreaterThan(0);
    expect([167, 168, 169]).toContain((alice ?? 0) + (bob ?? 0));
    expect(hours['baton_oncall_hours{schedule="checkout-l2",member="frank"}']).toBe(
      (alice ?? 0) + (bob ?? 0),
    );
  });
});

describe('the issue’s done-when, on the demo configuration', () => {
  let demo: FastifyInstance;
  const ALICE = { authorization: 'Bearer l2-demo-token' };
  const DAVE = { authorization: 'Bearer manager-demo-token' };
  const D = '/api/v1/schedules/payments-l2';

  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-demo-schedules-'));
    const config = { ...loadConfigFile(path.resolve('config/baton.yaml')), dataDir };
    const store = new FolderScheduleStore(path.join(dataDir, 'schedules'), { now: () => STORE_NOW });
    demo = await buildTestApp(w, config, {}, { schedules: store });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('names this week’s member, then the member a manager’s override puts there, and reports both members’ hours', async () => {
    const before = await demo.inject({
      method: 'GET',
      url: `${D}/oncall?at=${IN_ALICES_WEEK}`,
      headers: ALICE,
    });
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({ member: 'alice', source: { type: 'layer', layer: 0 } });

    const made = await demo.inject({
      method: 'POST',
      url: `${D}/overrides`,
      headers: DAVE,
      payload: { member: 'bob', from: '2026-11-04T00:00:00Z', to: '2026-11-05T00:00:00Z' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const { id } = made.json<{ id: string }>();

    const after = await demo.inject({
      method: 'GET',
      url: `${D}/oncall?at=${IN_ALICES_WEEK}`,
      headers: ALICE,
    });
    expect(after.json()).toMatchObject({
      member: 'bob',
      name: 'Bob Okafor',
      source: { type: 'override', id },
    });

    const report = await demo.inject({
      method: 'GET',
      url: `${D}/report?from=2026-11-02T00:00:00Z&to=2026-11-16T00:00:00Z`,
      headers: DAVE,
    });
    expect(report.statusCode).toBe(200);
    const members = report.json<{ members: { member: string; hoursOnCall: number }[] }>().members;
    expect(members.map((m) => [m.member, m.hoursOnCall])).toEqual([
      ['alice', 168 - 24],
      ['bob', 160 + 24],
    ]);
  });

  it('names the member of the current week without a time', async () => {
    const now = await demo.inject({ method: 'GET', url: `${D}/oncall`, headers: ALICE });
    expect(now.statusCode).toBe(200);
    const answer = now.json<{ member: string; start: string; end: string; at: string }>();
    expect(['alice', 'bob']).toContain(answer.member);
    expect(Date.parse(answer.start)).toBeLessThanOrEqual(Date.parse(answer.at));
    expect(Date.parse(answer.end)).toBeGreaterThan(Date.parse(answer.at));
    // A weekly shift: one week long (give or take DST).
    expect(Math.abs(Date.parse(answer.end) - Date.parse(answer.start) - 7 * DAY)).toBeLessThanOrEqual(HOUR);
  });
});

describe('the README’s walk through schedules', () => {
  let demo: FastifyInstance;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-readme-schedules-'));
    demo = await buildTestApp(w, { ...loadConfigFile(path.resolve('config/baton.yaml')), dataDir });
    await demo.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('runs as written against the demo configuration', async () => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## On-call schedules'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const address = demo.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    const script = (block as string).replace('http://127.0.0.1:3000', `http://127.0.0.1:${address.port}`);
    // Each answer on a line of its own; the script itself runs as written.
    const { stdout } = await promisify(execFile)('bash', [
      '-euc',
      `curl() { command curl --fail-with-body "$@"; echo; }\n${script}`,
    ]);
    const answers = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const onCall = answers.filter((a) => a.schedule === 'payments-l2' && 'at' in a);
    expect(onCall).toHaveLength(3);
    expect(onCall[1]).toMatchObject({ member: 'alice', source: { type: 'layer', layer: 0 } });
    expect(onCall[2]).toMatchObject({ member: 'bob', source: { type: 'override' } });
    const listed = answers.find((a) => 'overrides' in a) as { overrides: { member: string; by: string }[] };
    expect(listed.overrides).toEqual([expect.objectContaining({ member: 'bob', by: 'dave' })]);
    // bob removed it; alice's time off stands.
    const store = new FolderScheduleStore(path.join(dataDir, 'schedules'));
    expect(await store.overrides('payments-l2')).toEqual([]);
    expect((await store.timeOff('alice')).map((t) => t.by)).toEqual(['alice']);
    const report = answers.find((a) => 'gapHours' in a) as {
      members: { member: string; hoursOnCall: number }[];
    };
    expect(report.members.map((m) => m.member)).toEqual(['alice', 'bob']);
    expect(report.members.every((m) => m.hoursOnCall > 0)).toBe(true);
  });
});

describe('overrides and time off written in the configuration', () => {
  let configured: FastifyInstance;
  const C = '/api/v1/schedules/payments-l2';

  beforeAll(async () => {
    const config = testConfig((c) => {
      withSchedules(c);
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments Level 2',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          overrides: [{ member: 'bob', from: '2026-11-04T00:00:00Z', to: '2026-11-05T00:00:00Z' }],
          timeOff: [{ member: 'alice', from: '2026-11-10T00:00:00Z', to: '2026-11-11T00:00:00Z' }],
        },
      ];
    });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-configured-schedules-'));
    configured = await buildTestApp(w, { ...config, dataDir }, EXTRA_TOKENS);
  });
  afterAll(async () => {
    await configured?.close();
  });

  it('lists them first, names them in answers, and refuses to remove them through the API', async () => {
    const headers = as('dave');
    const onCall = await configured.inject({
      method: 'GET',
      url: `${C}/oncall?at=${IN_ALICES_WEEK}`,
      headers,
    });
    expect(onCall.json()).toMatchObject({ member: 'bob', source: { type: 'override', id: 'configured-0' } });
    const listed = await configured.inject({ method: 'GET', url: `${C}/overrides`, headers });
    expect(listed.json()).toEqual({
      overrides: [expect.objectContaining({ id: 'configured-0', member: 'bob', configured: true })],
    });
    const removed = await configured.inject({
      method: 'DELETE',
      url: `${C}/overrides/configured-0`,
      headers,
    });
    expect(removed.statusCode).toBe(409);
    expect(removed.json<{ error: string }>().error).toMatch(/written in the configuration/);
    expect((await configured.inject({ method: 'GET', url: `${C}/overrides`, headers })).json()).toEqual(
      listed.json(),
    );

    const away = await configured.inject({
      method: 'GET',
      url: '/api/v1/responders/alice/time-off',
      headers,
    });
    const { timeOff } = away.json<{ timeOff: { id: string; schedule?: string; configured: boolean }[] }>();
    expect(timeOff).toEqual([expect.objectContaining({ schedule: 'payments-l2', configured: true })]);
    const id = timeOff[0]?.id ?? '';
    const refused = await configured.inject({
      method: 'DELETE',
      url: `/api/v1/responders/alice/time-off/${id}`,
      headers,
    });
    expect(refused.statusCode).toBe(409);
    expect(
      (await configured.inject({ method: 'GET', url: '/api/v1/responders/alice/time-off', headers })).json(),
    ).toEqual(away.json());
  });
});
