/**
 * From the API to the next page: a manager's override through `POST …/overrides`, over HTTP
 * on the real app, decides who the next page of an incident already open goes to, against
 * the real Temporal dev server. The worker and the app share one data folder, so the worker
 * reads the schedule store the API writes. A plain member who may not make the override is
 * refused and changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../workflows/incident/state';
import { buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { pinnedOverride } from './support/on-call';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
/** Long enough for the override to be made before the step repeats, short enough for a test. */
const ACK_TIMEOUT = '8s';

let w: TestWorker;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  // alice is pinned on call by a configured override: the test does not depend on the week.
  const pinned = pinnedOverride('alice');
  w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('no team');
      team.escalation = { steps: [{ notify: ['schedule:payments-l2'], ackTimeout: ACK_TIMEOUT }], repeat: 3 };
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments L2',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          overrides: [{ member: 'alice', from: iso(pinned.from), to: iso(pinned.to) }],
        },
      ];
    }),
    'schedule-override-api',
  );
  // w.config carries the worker's data folder: the app's schedule store is the worker's.
  app = await buildTestApp(w);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('not listening');
  base = `http://127.0.0.1:${address.port}/api/v1`;
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
});

async function call<T>(
  who: keyof typeof TOKENS,
  method: 'GET' | 'POST',
  url: string,
  body?: object,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKENS[who]}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as T };
}

interface OnCall {
  member?: string;
  source?: { type: string; id?: string };
}
interface Overrides {
  overrides: { id: string; member: string; by?: string }[];
}

const onCall = async (): Promise<OnCall> => {
  const answer = await call<OnCall>('alice', 'GET', '/schedules/payments-l2/oncall');
  expect(answer.status).toBe(200);
  return answer.body;
};

async function pagedEvents(id: string, count: number): Promise<TimelineEvent[]> {
  return eventually(async () => {
    const answer = await call<{ timeline: TimelineEvent[] }>('dave', 'GET', `/incidents/${id}`);
    if (answer.status !== 200) return undefined;
    const paged = answer.body.timeline.filter((e) => e.kind === 'paged');
    return paged.length >= count ? paged : undefined;
  }, 30_000);
}

const pagesTo = (id: string): string[][] =>
  w
    .outbox(id)
    .filter((e) => e.notification.kind === 'page')
    .map((e) => e.notification.responders.map((r) => r.id));

describe('an override made through the API while an incident is open', () => {
  it('sends the next page to the member a manager put on call, leaving the first page as it was', async () => {
    const declared = await call<{ id: string }>('alice', 'POST', '/incidents', {
      title: 'Card payments failing',
      service: 'payments',
      severity: 'SEV2',
    });
    expect(declared.status).toBe(201);
    const { id } = declared.body;

    // The first page goes to whoever the API names as on call.
    const before = await onCall();
    expect(before).toMatchObject({ member: 'alice', source: { type: 'override', id: 'configured-0' } });
    const [first] = await pagedEvents(id, 1);
    expect(first?.details).toMatchObject({ to: [before.member], schedules: { alice: 'payments-l2' } });
    expect(first?.summary).toBe('paged Alice Ng (on call for Payments L2) (round 1 of 3, step 1 of 1)');
    const firstAsRecorded = structuredClone(first);
    const other = before.member === 'alice' ? 'bob' : 'alice';

    // alice is a plain member and not the one who would cover: she may not put bob on call.
    const listed = await call<Overrides>('dave', 'GET', '/schedules/payments-l2/overrides');
    const cover = { member: other, from: iso(Date.now()), to: iso(Date.now() + 3 * HOUR) };
    const refused = await call<{ error: string; code: string }>(
      'alice',
      'POST',
      '/schedules/payments-l2/overrides',
      cover,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('NotPermitted');
    expect(refused.body.error).toMatch(/only a manager of team payments may put someone else on call/);
    expect(await call<Overrides>('dave', 'GET', '/schedules/payments-l2/overrides')).toEqual(listed);
    expect((await onCall()).member).toBe('alice');

    // dave, a manager of the team, may.
    const made = await call<{ id: string; member: string; by: string }>(
      'dave',
      'POST',
      '/schedules/payments-l2/overrides',
      cover,
    );
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ member: other, by: 'dave' });
    expect(await onCall()).toMatchObject({ member: other, source: { type: 'override', id: made.body.id } });

    // The step repeats after its ack timeout: that page goes to bob; the first stays alice's.
    const [firstAfter, second] = await pagedEvents(id, 2);
    expect(second?.details).toMatchObject({ to: [other], round: 2, schedules: { [other]: 'payments-l2' } });
    expect(second?.summary).toBe('paged Bob Okafor (on call for Payments L2) (round 2 of 3, step 1 of 1)');
    expect(Date.parse(second?.at ?? '')).toBeGreaterThan(Date.parse(first?.at ?? ''));
    expect(firstAfter).toEqual(firstAsRecorded);
    await eventually(() => (pagesTo(id).length >= 2 ? true : undefined));
    expect(pagesTo(id).slice(0, 2)).toEqual([['alice'], [other]]);
  }, 60_000);
});
