/**
 * Who may act on an open incident is decided by the configuration in force when they act:
 * carol, removed from team payments while its incident is open, is refused through the API
 * before anything reaches the workflow, and once Baton starts with the new configuration the
 * workflow itself refuses her too (nothing can act for her through the Temporal CLI).
 * Someone added to the team can act once Baton has started with them.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  syncTeamMembership,
  syncTeamMembershipOnListen,
  type MembershipSyncLog,
} from '../api/membership-sync';
import type { BatonConfig } from '../config/schema';
import { acknowledgeUpdate, membershipQuery, RefusalType } from '../workflows/incident/messages';
import type { IncidentState } from '../workflows/incident/state';
import { buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { EXTRA_TOKENS, withTwoTeams } from './support/permissions';
import { by } from './support/incidents';
import { terminateAll } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

const ZOE_TOKEN = 'zoe-test-token';

let w: TestWorker;
/** The API as Baton ran it when the incidents opened. */
let before: FastifyInstance;
/** The API restarted with carol removed from payments and zoe added. */
let after: FastifyInstance;
let changed: BatonConfig;
const ids: string[] = [];
const warnings: string[] = [];
const log: MembershipSyncLog = { info: () => undefined, warn: (_f, message) => warnings.push(message) };

beforeAll(async () => {
  w = await startTestWorker(testConfig(withTwoTeams), 'team-membership');
  before = await buildTestApp(w, w.config, EXTRA_TOKENS);
  changed = testConfig((c) => {
    withTwoTeams(c);
    c.responders.push({
      id: 'zoe',
      name: 'Zoe Quinn',
      level: 'L2',
      email: 'zoe@example.com',
      tokenEnv: 'TOKEN_ZOE',
    });
    const payments = c.teams.find((t) => t.id === 'payments');
    if (!payments) throw new Error('no team payments');
    payments.level3 = [{ notify: ['erin'], acceptTimeout: '1h' }];
    payments.members = ['zoe'];
  });
  after = await buildTestApp(w, changed, { ...EXTRA_TOKENS, TOKEN_ZOE: ZOE_TOKEN });
});

afterAll(async () => {
  await terminateAll(ids.map((id) => w.client.workflow.getHandle(id)));
  await before?.close();
  await after?.close();
  await w?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function declare(): Promise<string> {
  const res = await before.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: bearer(TOKENS.alice),
    payload: { title: 'Card payments failing', service: 'payments' },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  ids.push(id);
  return id;
}

async function record(id: string): Promise<IncidentState> {
  const res = await before.inject({
    method: 'GET',
    url: `/api/v1/incidents/${id}`,
    headers: bearer(TOKENS.alice),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<IncidentState>();
}

/** The configuration the sync runs with: the changed one, on the test worker's task queue. */
function inForce(): BatonConfig {
  return { ...changed, temporal: { ...changed.temporal, taskQueue: w.taskQueue } };
}

describe('a responder removed from the team', () => {
  it('is refused through the API with 404, and the step never reaches the incident', async () => {
    const id = await declare();
    for (const [step, payload] of [
      ['acknowledge', {}],
      ['resolve', { summary: 'restarted it' }],
      ['notes', { text: 'looking' }],
    ] as const) {
      const res = await after.inject({
        method: 'POST',
        url: `/api/v1/incidents/${id}/${step}`,
        headers: bearer(TOKENS.carol),
        payload,
      });
      expect(res.statusCode, `${step}: ${res.body}`).toBe(404);
      expect(res.json<{ code: string }>().code).toBe('NotFound');
    }
    const state = await record(id);
    expect(state.acknowledgedBy).toBeUndefined();
    expect(state.resolution).toBeUndefined();
    expect(state.notes).toEqual([]);
    expect(state.phase).toBe('triggered');
    // Through the API as it was configured before, she still could (the incident counts her).
    const old = await before.inject({
      method: 'GET',
      url: `/api/v1/incidents/${id}`,
      headers: bearer(TOKENS.carol),
    });
    expect(old.statusCode).toBe(200);
  });

  it('is refused by the workflow itself once Baton starts with the new team, and the record says who left', async () => {
    const id = await declare();
    const handle = w.client.workflow.getHandle(id);
    await expect.poll(() => handle.query(membershipQuery)).toBeDefined();
    expect((await handle.query(membershipQuery))?.members).toContain('carol');

    const outcome = await syncTeamMembership(w.client, inForce(), log);
    expect(outcome.changed).toContain(id);
    expect(outcome.failed).toEqual([]);

    const membership = await handle.query(membershipQuery);
    expect(membership?.members).not.toContain('carol');
    expect(membership?.members).toContain('zoe');
    // Straight to the workflow, as the Temporal CLI would: refused as a stranger to the team.
    await expect(handle.executeUpdate(acknowledgeUpdate, { args: [by('carol')] })).rejects.toMatchObject({
      cause: { type: RefusalType.notMember },
    });
    const state = await record(id);
    expect(state.acknowledgedBy).toBeUndefined();
    const event = state.timeline.find((e) => e.kind === 'membership-changed');
    expect(event?.summary).toBe('team payments changed in the configuration: carol left; zoe joined');

    // Another pass finds nothing to change and sends nothing.
    const again = await syncTeamMembership(w.client, inForce(), log);
    expect(again.changed).not.toContain(id);
    expect(again.checked).toBeGreaterThanOrEqual(1);
    expect((await record(id)).timeline.filter((e) => e.kind === 'membership-changed')).toHaveLength(1);
  });
});

describe('a responder added to the team', () => {
  it('acts on an incident that opened before they joined, once Baton started with them', async () => {
    const id = await declare();
    const refused = await after.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/acknowledge`,
      headers: bearer(ZOE_TOKEN),
      payload: {},
    });
    // The incident does not know her yet: the workflow refuses, and nothing changes.
    expect(refused.statusCode, refused.body).toBe(403);
    expect((await record(id)).acknowledgedBy).toBeUndefined();

    await syncTeamMembership(w.client, inForce(), log);
    const res = await after.inject({
      method: 'POST',
      url: `/api/v1/incidents/${id}/acknowledge`,
      headers: bearer(ZOE_TOKEN),
      payload: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<IncidentState>().acknowledgedBy).toBe('zoe');
    expect(warnings).toEqual([]);
  });
});

describe('an API that starts with the changed team', () => {
  it('tells the open incidents as soon as it listens', async () => {
    const id = await declare();
    const handle = w.client.workflow.getHandle(id);
    await expect.poll(() => handle.query(membershipQuery)).toBeDefined();
    const restarted = await buildTestApp(w, changed, { ...EXTRA_TOKENS, TOKEN_ZOE: ZOE_TOKEN });
    try {
      syncTeamMembershipOnListen(restarted, w.client, inForce());
      await restarted.listen({ host: '127.0.0.1', port: 0 });
      await expect
        .poll(async () => (await handle.query(membershipQuery))?.members, { timeout: 10_000 })
        .not.toContain('carol');
    } finally {
      await restarted.close();
    }
  });
});
