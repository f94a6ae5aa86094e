/**
 * The permission table (test/support/permissions.ts, the README's) through the API: every
 * step as every kind of actor, each on a fresh incident of team payments brought to where
 * the step applies. Another team's people get 404 for everything, as if the incident did
 * not exist; the incident lists show each caller only their teams' incidents.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentState } from '../workflows/incident/state';
import { buildTestApp, TOKENS } from './support/app';
import { EVERY_FOLLOW_UP, testConfig } from './support/config';
import {
  ACTORS,
  EXTRA_TOKENS,
  PERMISSIONS,
  SETUPS,
  withTwoTeams,
  type ActorKind,
} from './support/permissions';
import { terminateAll } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
let app: FastifyInstance;
const ids: string[] = [];

const TOKEN_OF: Record<string, string> = {
  ...TOKENS,
  frank: EXTRA_TOKENS.TOKEN_FRANK,
  grace: EXTRA_TOKENS.TOKEN_GRACE,
  oscar: EXTRA_TOKENS.TOKEN_OSCAR,
};

/** The API path of each step, after /api/v1/incidents/:id/. */
const PATH_OF: Record<string, string> = {
  acknowledge: 'acknowledge',
  escalate: 'escalate',
  resolve: 'resolve',
  recordLessons: 'lessons',
  draftCustomerMessage: 'customer-messages',
};

beforeAll(async () => {
  // Every follow-up on every incident, so each post-incident step applies to the SEV3 declared here.
  const config = testConfig((c) => {
    withTwoTeams(c);
    c.followUps.bySeverity = EVERY_FOLLOW_UP;
  });
  w = await startTestWorker(config, 'permissions');
  app = await buildTestApp(w, w.config, EXTRA_TOKENS);
});

afterAll(async () => {
  await terminateAll(ids.map((id) => w.client.workflow.getHandle(id)));
  await app?.close();
  await w?.stop();
});

function as(actor: string) {
  return { authorization: `Bearer ${TOKEN_OF[actor] ?? 'none'}` };
}

async function declare(actor: string, service = 'payments'): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: as(actor),
    payload: { title: 'Payments API error rate above 5%', service },
  });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  ids.push(id);
  return id;
}

function post(id: string, path: string, actor: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: `/api/v1/incidents/${id}/${path}`, headers: as(actor), payload });
}

describe('the permission table, through the API', () => {
  it.each(
    PERMISSIONS.map(
      (c) => [`${c.step}${typeof c.input.audience === 'string' ? ` (${c.input.audience})` : ''}`, c] as const,
    ),
  )('%s', async (_name, c) => {
    const kinds = Object.keys(ACTORS) as ActorKind[];
    const answers = await Promise.all(
      kinds.map(async (kind) => {
        const id = await declare('bob');
        for (const setup of SETUPS[c.setup]) {
          const res = await post(id, PATH_OF[setup.step] ?? setup.step, setup.actor, setup.input);
          expect(res.statusCode, `${setup.step}: ${res.body}`).toBe(200);
        }
        let path = c.api;
        if (c.step === 'completeActionItem') {
          const s = (
            await app.inject({ url: `/api/v1/incidents/${id}`, headers: as('dave') })
          ).json<IncidentState>();
          const item = s.followUps.find((f) => f.kind === 'action-item');
          path = `action-items/${item?.id ?? '?'}/complete`;
        }
        const res = await post(id, path, ACTORS[kind], c.input);
        if (res.statusCode === 404) expect(res.json<{ error: string }>().error).toBe(`no incident "${id}"`);
        return [kind, res.statusCode] as const;
      }),
    );
    expect(Object.fromEntries(answers)).toEqual(c.expected);
  });

  it('another team’s people cannot see, note or find the incident; its own people and the overseer can', async () => {
    const id = await declare('bob');
    for (const actor of ['frank', 'grace']) {
      const read = await app.inject({ url: `/api/v1/incidents/${id}`, headers: as(actor) });
      expect(read.statusCode).toBe(404);
      expect(read.json()).toEqual({ error: `no incident "${id}"`, code: 'NotFound' });
      expect((await post(id, 'notes', actor, { text: 'hello' })).statusCode).toBe(404);
    }
    for (const actor of ['alice', 'carol', 'dave', 'oscar']) {
      expect((await app.inject({ url: `/api/v1/incidents/${id}`, headers: as(actor) })).statusCode).toBe(200);
    }
    const checkout = await declare('frank', 'checkout');
    const listed = async (actor: string) =>
      (await app.inject({ url: '/api/v1/incidents?limit=200', headers: as(actor) }))
        .json<{ incidents: { id: string }[] }>()
        .incidents.map((i) => i.id);
    await expect
      .poll(() => listed('oscar'), { timeout: 10_000 })
      .toEqual(expect.arrayContaining([id, checkout]));
    expect(await listed('alice')).toContain(id);
    expect(await listed('alice')).not.toContain(checkout);
    expect(await listed('frank')).toContain(checkout);
    expect(await listed('frank')).not.toContain(id);
    // Nobody declares an incident for a team they are not on.
    const refused = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: as('frank'),
      payload: { title: 'x', service: 'payments' },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json<{ error: string }>().error).toMatch(/frank is not on team payments/);
  });
});
