import { describe, expect, it } from 'vitest';
import { adjustmentsSource, resolveTargets } from '../../activities/page-targets';
import { policyFor, teamById } from '../../config/policy';
import { gapText, namesSchedule, unresolved } from '../../workflows/incident/page-targets';
import { notices } from '../../workflows/incident/notices';
import { advance, pageNextStep, pageStep } from '../../workflows/incident/paging';
import { testConfig } from '../support/config';
import { plainIncident } from './plain-incident';

const DAY = 86_400_000;
const AT = Date.parse('2026-12-09T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const week = { from: iso(AT - DAY), to: iso(AT + 7 * DAY) };

const config = testConfig((c) => {
  const rotation = { team: 'payments', timezone: 'Europe/Berlin' };
  const layers = [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }];
  c.schedules = [
    { id: 'l2', name: 'Payments L2', ...rotation, layers, overrides: [{ member: 'bob', ...week }] },
    {
      id: 'away',
      name: 'Away',
      ...rotation,
      layers,
      timeOff: [
        { member: 'alice', ...week },
        { member: 'bob', ...week },
      ],
    },
    {
      id: 'later',
      name: 'Later',
      ...rotation,
      layers: [{ members: ['alice'], shift: '1d', handoff: '2027-06-01T09:00' }],
    },
  ];
});
const resolve = (targets: string[], team = 'payments') =>
  resolveTargets(config, adjustmentsSource(), { team, targets, at: AT });

describe('resolving a paging step', () => {
  it('passes people through and pages the member a schedule has on call, named by the schedule', async () => {
    expect(await resolve(['alice', 'schedule:l2'])).toEqual({
      responders: ['alice', 'bob'],
      because: { bob: 'on call for Payments L2' },
      schedules: { bob: 'l2' },
      gaps: [],
    });
  });

  it('pages someone named directly and on call once, as named', async () => {
    const resolved = await resolve(['bob', 'schedule:l2', 'bob']);
    expect(resolved.responders).toEqual(['bob']);
    expect(resolved.because).toEqual({});
  });

  it('pages the next one in line for schedule:<id>:next', async () => {
    const resolved = await resolve(['schedule:l2:next']);
    expect(resolved.responders).toEqual(['alice']);
    expect(resolved.because).toEqual({ alice: 'next on call for Payments L2' });
  });

  it('answers a gap with its reason instead of failing', async () => {
    expect((await resolve(['schedule:away'])).gaps).toEqual([
      { schedule: 'away', name: 'Away', reason: 'time off' },
    ]);
    expect((await resolve(['schedule:later'])).gaps).toEqual([
      { schedule: 'later', name: 'Later', reason: 'no rotation applies' },
    ]);
    expect((await resolve(['dave', 'schedule:gone'])).gaps).toEqual([
      { schedule: 'gone', name: 'gone', reason: 'no such schedule any more' },
    ]);
    expect((await resolve(['schedule:l2'], 'search')).responders).toEqual([]);
  });

  it('reads the adjustments the store adds beside the configured ones', async () => {
    const resolved = await resolveTargets(
      config,
      (s) => Promise.resolve({ overrides: [...s.overrides, { member: 'alice', from: AT - 1, to: AT + 1 }] }),
      { team: 'payments', targets: ['schedule:l2'], at: AT },
    );
    expect(resolved.responders).toEqual(['alice']);
  });
});

describe('the pure parts of schedule paging', () => {
  it('tells a step that names a schedule from one that names people only', () => {
    expect(namesSchedule(['alice', 'bob'])).toBe(false);
    expect(namesSchedule(['alice', 'schedule:l2:next'])).toBe(true);
  });

  it('keeps the people named directly when the schedules cannot be read', () => {
    expect(unresolved(['alice', 'schedule:l2', 'schedule:l2:next'], 'unreadable')).toEqual({
      responders: ['alice'],
      because: {},
      schedules: {},
      gaps: [{ schedule: 'l2', name: 'l2', reason: 'unreadable' }],
    });
    expect(gapText([{ schedule: 'l2', name: 'Payments L2', reason: 'time off' }])).toBe(
      'nobody is on call for Payments L2 (gap: time off)',
    );
  });

  it('says in the page why each addressee is paged', () => {
    const { state } = plainIncident();
    const policy = policyFor(config, teamById(config, 'payments'));
    const attempt = 'round 1 of 1, step 1 of 1';
    expect(notices.page(state, policy, ['bob'], attempt, { bob: 'on call for Payments L2' }).text).toContain(
      'You are paged as on call for Payments L2 (round 1 of 1, step 1 of 1). Acknowledge',
    );
    expect(notices.page(state, policy, ['alice'], attempt).text).toContain(
      'You are paged (round 1 of 1, step 1 of 1).',
    );
  });
});

describe('a paging step that reached nobody', () => {
  const gap = {
    responders: [],
    because: {},
    schedules: {},
    gaps: [{ schedule: 'l2', name: 'Payments L2', reason: 'time off' }],
  };

  it('records the gap, sends nothing and leaves the next step due at once', () => {
    const incident = plainIncident();
    pageStep(incident, ['schedule:l2'], 0, 0, undefined, gap);
    expect(incident.outbox).toEqual([]);
    expect(incident.state.timeline.at(-1)).toMatchObject({
      kind: 'paging-gap',
      summary:
        'nobody is on call for Payments L2 (gap: time off); paging the next step (round 1 of 1, step 1 of 3)',
    });
    expect(incident.state.escalation.fellThrough).toBe(1);
    pageNextStep(incident);
    expect(incident.state.escalation.fellThrough).toBeUndefined();
    expect(incident.outbox.map((n) => n.responders.map((r) => r.id))).toEqual([['bob']]);
  });

  it('pages the managers once every step in a row was a gap', () => {
    const incident = plainIncident();
    incident.state.escalation.fellThrough = 3;
    expect(advance(incident)).toBeUndefined();
    expect(incident.state.escalation.exhausted).toBe(true);
    expect(incident.state.timeline.at(-1)?.kind).toBe('escalation-exhausted');
    expect(incident.outbox.map((n) => n.responders.map((r) => r.id))).toEqual([['dave']]);
  });
});
