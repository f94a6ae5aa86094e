/**
 * The on-call gauges on /metrics: pages received and nights woken per schedule and member
 * over the schedule's current week, the same figures the fairness report gives for that
 * week, from the pages a real worker sent for the team's incidents.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentWeek } from '../api/schedules';
import { countPages } from '../schedules/fairness';
import { auth, buildTestApp } from './support/app';
import { testConfig } from './support/config';
import { pinnedOverride } from './support/on-call';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const iso = (ms: number): string => new Date(ms).toISOString();
const ZONE = 'Europe/Berlin';

let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  const pinned = pinnedOverride('alice');
  w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('no team');
      // alice through the schedule, then bob named directly, two seconds later.
      team.escalation = {
        steps: [
          { notify: ['schedule:payments-l2'], ackTimeout: '2s' },
          { notify: ['bob'], ackTimeout: '1h' },
        ],
        repeat: 1,
      };
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments L2',
          timezone: ZONE,
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          overrides: [{ member: 'alice', from: iso(pinned.from), to: iso(pinned.to) }],
        },
      ];
    }),
    'oncall-metrics',
  );
  // The app reads the incidents the worker writes: one data folder.
  app = await buildTestApp(w);
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
});

/** `name{labels} value` lines of one metric, by their labels. */
async function scrape(name: string): Promise<Record<string, number>> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return Object.fromEntries(
    response.body
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .map((l) => [l.slice(name.length, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  );
}

interface ReportMember {
  member: string;
  pages: number;
  nightsWoken: number;
}

describe('the on-call gauges', () => {
  it('serve this week’s pages and nights woken per member, as the fairness report counts them', async () => {
    const declared = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: auth('alice'),
      payload: { title: 'Card payments failing', service: 'payments', severity: 'SEV2' },
    });
    expect(declared.statusCode).toBe(201);
    const { id } = declared.json<{ id: string }>();

    // Both pages are in the incident store once the report counts them.
    const week = currentWeek(ZONE, Date.now());
    const report = await eventually(async () => {
      const answer = await app.inject({
        method: 'GET',
        url: `/api/v1/schedules/payments-l2/report?from=${iso(week.from)}&to=${iso(week.to)}`,
        headers: auth('dave'),
      });
      const members = answer.json<{ members: ReportMember[] }>().members;
      const pages = (m: string) => members.find((x) => x.member === m)?.pages;
      return pages('alice') === 1 && pages('bob') === 1 ? members : undefined;
    }, 30_000);

    const pages = await scrape('baton_oncall_pages');
    const nights = await scrape('baton_oncall_nights');
    for (const { member, pages: count, nightsWoken } of report) {
      expect(pages[`{schedule="payments-l2",member="${member}"}`], member).toBe(count);
      expect(nights[`{schedule="payments-l2",member="${member}"}`], member).toBe(nightsWoken);
    }
    expect(pages['{schedule="payments-l2",member="alice"}']).toBe(1);
    expect(pages['{schedule="payments-l2",member="bob"}']).toBe(1);

    // Whether the page woke alice depends on the hour the test runs: counted as the report counts.
    const record = await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: auth('dave') });
    const paged = record
      .json<{ timeline: { kind: string; at: string; details?: { to?: string[] } }[] }>()
      .timeline.filter((e) => e.kind === 'paged')
      .map((e) => ({ member: e.details?.to?.[0] ?? '', at: Date.parse(e.at) }));
    const counted = countPages(ZONE, paged, week.from, week.to);
    expect(nights['{schedule="payments-l2",member="alice"}']).toBe(counted.get('alice')?.nightsWoken);

    // The hours stay as they were: the week shared by its two members.
    const hours = await scrape('baton_oncall_hours');
    const total =
      (hours['{schedule="payments-l2",member="alice"}'] ?? 0) +
      (hours['{schedule="payments-l2",member="bob"}'] ?? 0);
    expect([167, 168, 169]).toContain(total);
  });
});
