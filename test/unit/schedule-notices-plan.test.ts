import { describe, expect, it } from 'vitest';
import { stretchesOf, timeOffGaps } from '../../activities/schedule-notices';
import {
  DAY_MS,
  HOUR_MS,
  LATE_NOTICE_MS,
  REFRESH_EVERY_MS,
  keysToKeep,
  planNotices,
  type ScheduleOutlook,
} from '../../workflows/schedule/plan';

const T = Date.UTC(2026, 11, 7, 8, 0);
const outlook = (over: Partial<ScheduleOutlook> = {}): ScheduleOutlook => ({
  found: true,
  noticeBeforeMs: HOUR_MS,
  // alice until T+2h, bob until T+14h, then nobody (a gap) until T+20h, then alice.
  stretches: [
    { start: T - DAY_MS, end: T + 2 * HOUR_MS, member: 'alice' },
    { start: T + 2 * HOUR_MS, end: T + 14 * HOUR_MS, member: 'bob' },
    { start: T + 14 * HOUR_MS, end: T + 20 * HOUR_MS },
    { start: T + 20 * HOUR_MS, end: T + 5 * DAY_MS, member: 'alice' },
  ],
  gaps: [],
  ...over,
});
const kinds = (plan: ReturnType<typeof planNotices>) =>
  plan.due.map((n) => `${n.kind}:${'member' in n ? n.member : ''}`);

describe('planNotices', () => {
  it('tells nothing ahead of the notice time and wakes at it', () => {
    const plan = planNotices(outlook(), T, new Set(), T - DAY_MS);
    expect(plan.due).toEqual([]);
    expect(plan.wakeAt).toBe(T + HOUR_MS);
  });

  it('tells the person going on call an hour before, once', () => {
    const at = T + HOUR_MS;
    const first = planNotices(outlook(), at, new Set(), T - DAY_MS);
    expect(kinds(first)).toEqual(['going-on-call:bob']);
    const notice = first.due[0];
    expect(notice).toMatchObject({
      from: 'alice',
      start: T + 2 * HOUR_MS,
      end: T + 14 * HOUR_MS,
      until: T + 2 * HOUR_MS,
    });
    const again = planNotices(outlook(), at + 60_000, new Set([notice?.key ?? '']), T - DAY_MS);
    expect(again.due).toEqual([]);
    expect(again.wakeAt).toBe(T + 2 * HOUR_MS);
  });

  it('at the handoff tells the one coming on and the one going off', () => {
    const plan = planNotices(outlook(), T + 2 * HOUR_MS, new Set(), T - DAY_MS);
    expect(kinds(plan)).toEqual(['on-call:bob', 'off-call:alice']);
    expect(plan.due[1]).toMatchObject({ to: 'bob', at: T + 2 * HOUR_MS });
  });

  it('a shift that ends in a gap hands over to nobody, and the next one after the gap starts from nobody', () => {
    const off = planNotices(outlook(), T + 14 * HOUR_MS, new Set(), T - DAY_MS);
    expect(kinds(off)).toEqual(['off-call:bob']);
    expect(off.due[0]).not.toHaveProperty('to');
    const on = planNotices(outlook(), T + 20 * HOUR_MS, new Set([off.due[0]?.key ?? '']), T - DAY_MS);
    expect(kinds(on)).toEqual(['on-call:alice']);
    expect(on.due[0]).not.toHaveProperty('from');
  });

  it('a handoff missed while no worker ran still goes late, but not once it is stale', () => {
    const late = planNotices(outlook(), T + 2 * HOUR_MS + LATE_NOTICE_MS - 1, new Set(), T - DAY_MS);
    expect(kinds(late)).toContain('off-call:alice');
    // The "going on call" notice is never sent after the shift began.
    expect(kinds(late)).not.toContain('going-on-call:bob');
    const stale = planNotices(outlook(), T + 2 * HOUR_MS + LATE_NOTICE_MS, new Set(), T - DAY_MS);
    expect(kinds(stale)).not.toContain('off-call:alice');
  });

  it('handoffs before the workflow first started are not announced', () => {
    const plan = planNotices(outlook(), T + 2 * HOUR_MS + 60_000, new Set(), T + 2 * HOUR_MS + 1);
    expect(plan.due).toEqual([]);
  });

  it('wakes at least every refresh period', () => {
    const quiet = outlook({ stretches: [{ start: T - DAY_MS, end: T + 5 * DAY_MS, member: 'alice' }] });
    expect(planNotices(quiet, T, new Set(), T).wakeAt).toBe(T + REFRESH_EVERY_MS);
  });

  it('a gap is told at once, and again a day before it starts', () => {
    const gap = { start: T + 3 * DAY_MS, end: T + 4 * DAY_MS };
    const outlook = (over: Partial<ScheduleOutlook>): ScheduleOutlook => ({
      found: true,
      noticeBeforeMs: HOUR_MS,
      stretches: [],
      gaps: [],
      ...over,
    });
    const first = planNotices(outlook({ gaps: [gap] }), T, new Set(), T);
    expect(first.due.map((n) => n.kind)).toEqual(['gap-found']);
    const sent = new Set(first.due.map((n) => n.key));
    const waiting = planNotices(outlook({ gaps: [gap] }), T + DAY_MS, sent, T);
    expect(waiting.due).toEqual([]);
    expect(waiting.wakeAt).toBeLessThanOrEqual(T + DAY_MS + REFRESH_EVERY_MS);
    const soon = planNotices(outlook({ gaps: [gap] }), T + 2 * DAY_MS, sent, T);
    expect(soon.due.map((n) => n.kind)).toEqual(['gap-soon']);
  });

  it('a gap found less than a day ahead is warned about once', () => {
    const gap = { start: T + 10 * HOUR_MS, end: T + 12 * HOUR_MS };
    const plan = planNotices(outlook({ stretches: [], gaps: [gap] }), T, new Set(), T);
    expect(plan.due.map((n) => n.kind)).toEqual(['gap-found']);
    expect(plan.covered.map((c) => c.key)).toEqual([`gap-soon:${gap.start}:${gap.end}`]);
  });

  it('forgets keys once their notices can no longer be due', () => {
    const kept = keysToKeep(
      new Map([
        ['a', T - 1],
        ['b', T + 1],
      ]),
      T,
    );
    expect([...kept.keys()]).toEqual(['b']);
  });
});

describe('the outlook', () => {
  it('merges the same member across adjacent segments and keeps gaps apart', () => {
    const stretches = stretchesOf([
      { kind: 'shift', member: 'alice', start: 0, end: 10, source: { type: 'layer', layer: 0 } },
      { kind: 'shift', member: 'alice', start: 10, end: 20, source: { type: 'override', override: 0 } },
      { kind: 'gap', start: 20, end: 30, reason: 'time-off' },
      { kind: 'shift', member: 'bob', start: 30, end: 40, source: { type: 'layer', layer: 0 } },
    ]);
    expect(stretches).toEqual([
      { start: 0, end: 20, member: 'alice' },
      { start: 20, end: 30 },
      { start: 30, end: 40, member: 'bob' },
    ]);
  });

  it('warns only about time off nobody covers, not hours no rotation is meant to cover', () => {
    const gaps = timeOffGaps(
      [
        { kind: 'gap', start: 0, end: 10, reason: 'no-layer' },
        { kind: 'gap', start: 10, end: 20, reason: 'time-off' },
        { kind: 'gap', start: 20, end: 25, reason: 'time-off' },
      ],
      5,
    );
    expect(gaps).toEqual([{ start: 10, end: 25 }]);
  });
});
