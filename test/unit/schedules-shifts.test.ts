/**
 * Who is on call, computed from a schedule's layers, overrides and time off: rotations keep
 * their local handoff time across DST, later layers win where they apply, overrides beat
 * layers, time off beats both, and what nobody covers is a gap. Instants are asserted in UTC.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_WINDOW_MS,
  ScheduleRangeError,
  finalShifts,
  layerShifts,
  nextOnCall,
  onCallAt,
} from '../../schedules/shifts';
import type { Adjustments, Layer, OnCallSegment, Restriction, Schedule } from '../../schedules/types';
import { formatLocal } from '../../schedules/zone';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const t = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};
/** 2027-03-22T08:00:00.000Z -> 2027-03-22T08:00Z */
const short = (ms: number): string => new Date(ms).toISOString().replace(':00.000Z', 'Z');

function lines(segments: readonly OnCallSegment[]): string[] {
  return segments.map((s) => {
    const who =
      s.kind === 'gap'
        ? `gap(${s.reason}${s.layer === undefined ? '' : ` layer ${s.layer}`})`
        : `${s.member} (${s.source.type} ${s.source.type === 'layer' ? s.source.layer : s.source.override}` +
          `${s.source.replacing ? ` for ${s.source.replacing}` : ''})`;
    return `${short(s.start)} ${short(s.end)} ${who}`;
  });
}

function schedule(timezone: string, ...layers: Layer[]): Schedule {
  return { id: 'primary', team: 'payments', name: 'Payments primary', timezone, layers };
}

const weekdays: Restriction = { weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' };
/** Monday 2027-01-04 09:00 local. */
const weekly = (members: string[], handoff = '2027-01-04T09:00'): Layer => ({
  members,
  shift: WEEK,
  handoff,
});
const daily = (members: string[], handoff = '2027-01-04T09:00', restrict?: Restriction[]): Layer => ({
  members,
  shift: DAY,
  handoff,
  ...(restrict ? { restrict } : {}),
});

const none: Adjustments = {};

describe('a weekly rotation with handoff Monday 09:00', () => {
  const team = ['alice', 'bob', 'carol'];

  it('keeps 09:00 Berlin time across the March change: 08:00Z before, 07:00Z after, one 167-hour week', () => {
    const berlin = schedule('Europe/Berlin', weekly(team));
    const segments = finalShifts(berlin, none, t('2027-03-15T08:00Z'), t('2027-04-05T07:00Z'));
    expect(lines(segments)).toEqual([
      '2027-03-15T08:00Z 2027-03-22T08:00Z bob (layer 0)',
      '2027-03-22T08:00Z 2027-03-29T07:00Z carol (layer 0)',
      '2027-03-29T07:00Z 2027-04-05T07:00Z alice (layer 0)',
    ]);
    expect((segments[1] as OnCallSegment).end - (segments[1] as OnCallSegment).start).toBe(167 * HOUR);
    expect(segments.map((s) => formatLocal('Europe/Berlin', s.start))).toEqual([
      '2027-03-15T09:00',
      '2027-03-22T09:00',
      '2027-03-29T09:00',
    ]);
  });

  it('keeps 09:00 Berlin time across the October change: 07:00Z before, 08:00Z after, one 169-hour week', () => {
    const berlin = schedule('Europe/Berlin', weekly(team));
    const segments = finalShifts(berlin, none, t('2027-10-18T07:00Z'), t('2027-11-08T08:00Z'));
    expect(lines(segments)).toEqual([
      '2027-10-18T07:00Z 2027-10-25T07:00Z carol (layer 0)',
      '2027-10-25T07:00Z 2027-11-01T08:00Z alice (layer 0)',
      '2027-11-01T08:00Z 2027-11-08T08:00Z bob (layer 0)',
    ]);
    expect((segments[1] as OnCallSegment).end - (segments[1] as OnCallSegment).start).toBe(169 * HOUR);
  });

  it('follows New York’s own change dates (2027-03-14 and 2027-11-07), not Europe’s', () => {
    const newYork = schedule('America/New_York', weekly(team));
    expect(lines(finalShifts(newYork, none, t('2027-03-08T14:00Z'), t('2027-03-22T13:00Z')))).toEqual([
      '2027-03-08T14:00Z 2027-03-15T13:00Z alice (layer 0)',
      '2027-03-15T13:00Z 2027-03-22T13:00Z bob (layer 0)',
    ]);
    expect(lines(finalShifts(newYork, none, t('2027-11-01T13:00Z'), t('2027-11-15T14:00Z')))).toEqual([
      '2027-11-01T13:00Z 2027-11-08T14:00Z bob (layer 0)',
      '2027-11-08T14:00Z 2027-11-15T14:00Z carol (layer 0)',
    ]);
    // On 2027-03-22 New York is already on summer time and Berlin not yet: 13:00Z against 08:00Z.
    const berlin = schedule('Europe/Berlin', weekly(team));
    expect(short(onCallAt(berlin, none, t('2027-03-22T12:00Z')).start)).toBe('2027-03-22T08:00Z');
    expect(short(onCallAt(newYork, none, t('2027-03-22T14:00Z')).start)).toBe('2027-03-22T13:00Z');
  });
});

describe('a daily rotation', () => {
  it('gives the shift over the spring-forward night 23 hours and keeps 09:00 local', () => {
    const berlin = schedule('Europe/Berlin', daily(['alice', 'bob'], '2027-03-01T09:00'));
    const segments = finalShifts(berlin, none, t('2027-03-27T08:00Z'), t('2027-03-29T07:00Z'));
    expect(lines(segments)).toEqual([
      '2027-03-27T08:00Z 2027-03-28T07:00Z alice (layer 0)',
      '2027-03-28T07:00Z 2027-03-29T07:00Z bob (layer 0)',
    ]);
    expect(segments.map((s) => (s.end - s.start) / HOUR)).toEqual([23, 24]);
  });

  it('gives the shift over the fall-back night 25 hours', () => {
    const berlin = schedule('Europe/Berlin', daily(['alice', 'bob'], '2027-10-01T09:00'));
    const segments = finalShifts(berlin, none, t('2027-10-30T07:00Z'), t('2027-10-31T08:00Z'));
    expect(lines(segments)).toEqual(['2027-10-30T07:00Z 2027-10-31T08:00Z bob (layer 0)']);
    expect((segments[0] as OnCallSegment).end - (segments[0] as OnCallSegment).start).toBe(25 * HOUR);
  });

  it('keeps a 12h rotation at 09:00 and 21:00 local, so the night shift absorbs the lost hour', () => {
    const berlin = schedule('Europe/Berlin', {
      members: ['alice', 'bob'],
      shift: 12 * HOUR,
      handoff: '2027-03-27T09:00',
    });
    expect(lines(finalShifts(berlin, none, t('2027-03-27T08:00Z'), t('2027-03-28T19:00Z')))).toEqual([
      '2027-03-27T08:00Z 2027-03-27T20:00Z alice (layer 0)',
      '2027-03-27T20:00Z 2027-03-28T07:00Z bob (layer 0)',
      '2027-03-28T07:00Z 2027-03-28T19:00Z alice (layer 0)',
    ]);
  });

  it('hands over at 03:00 on the day a 02:30 handoff does not exist, and at 02:30 again the next day', () => {
    const berlin = schedule('Europe/Berlin', daily(['alice', 'bob'], '2027-03-26T02:30'));
    expect(lines(finalShifts(berlin, none, t('2027-03-27T01:30Z'), t('2027-03-29T00:30Z')))).toEqual([
      '2027-03-27T01:30Z 2027-03-28T01:00Z bob (layer 0)',
      '2027-03-28T01:00Z 2027-03-29T00:30Z alice (layer 0)',
    ]);
  });
});

describe('a business-hours layer over a 24/7 layer', () => {
  // Layer 0: weekly alice, bob around the clock. Layer 1: daily carol, dave Mon–Fri 09:00–17:00.
  const berlin = schedule(
    'Europe/Berlin',
    weekly(['alice', 'bob']),
    daily(['carol', 'dave'], '2027-01-04T09:00', [weekdays]),
  );

  it('puts the business-hours layer on call inside its windows and the 24/7 layer around them', () => {
    // Friday 2027-01-08 to Monday 2027-01-11 (winter: 09:00 local is 08:00Z).
    expect(lines(finalShifts(berlin, none, t('2027-01-08T00:00Z'), t('2027-01-11T18:00Z')))).toEqual([
      '2027-01-08T00:00Z 2027-01-08T08:00Z alice (layer 0)',
      '2027-01-08T08:00Z 2027-01-08T16:00Z carol (layer 1)',
      '2027-01-08T16:00Z 2027-01-11T08:00Z alice (layer 0)',
      '2027-01-11T08:00Z 2027-01-11T16:00Z dave (layer 1)',
      '2027-01-11T16:00Z 2027-01-11T18:00Z bob (layer 0)',
    ]);
  });

  it('moves the business-hours window with DST: 09:00–17:00 local is 07:00Z–15:00Z in summer', () => {
    expect(lines(finalShifts(berlin, none, t('2027-03-29T06:00Z'), t('2027-03-29T16:00Z')))).toEqual([
      '2027-03-29T06:00Z 2027-03-29T07:00Z bob (layer 0)',
      '2027-03-29T07:00Z 2027-03-29T15:00Z carol (layer 1)',
      '2027-03-29T15:00Z 2027-03-29T16:00Z alice (layer 0)',
    ]);
  });

  it('leaves a gap where no layer applies at all', () => {
    const businessOnly = schedule('Europe/Berlin', daily(['carol', 'dave'], '2027-01-04T09:00', [weekdays]));
    expect(lines(finalShifts(businessOnly, none, t('2027-01-08T07:00Z'), t('2027-01-11T09:00Z')))).toEqual([
      '2027-01-08T07:00Z 2027-01-08T08:00Z gap(no-layer)',
      '2027-01-08T08:00Z 2027-01-08T16:00Z carol (layer 0)',
      '2027-01-08T16:00Z 2027-01-11T08:00Z gap(no-layer)',
      '2027-01-11T08:00Z 2027-01-11T09:00Z dave (layer 0)',
    ]);
  });

  it('runs a window across midnight into the next day (Mon 22:00–06:00 ends Tuesday 06:00)', () => {
    const nights = schedule(
      'Europe/Berlin',
      weekly(['alice']),
      daily(['night-owl'], '2027-01-04T09:00', [{ weekdays: ['mon'], from: '22:00', to: '06:00' }]),
    );
    expect(lines(finalShifts(nights, none, t('2027-01-11T20:00Z'), t('2027-01-12T06:00Z')))).toEqual([
      '2027-01-11T20:00Z 2027-01-11T21:00Z alice (layer 0)',
      '2027-01-11T21:00Z 2027-01-12T05:00Z night-owl (layer 1)',
      '2027-01-12T05:00Z 2027-01-12T06:00Z alice (layer 0)',
    ]);
  });

  it('lets an earlier layer show through before a later layer’s first handoff', () => {
    const later = schedule('Europe/Berlin', weekly(['alice']), weekly(['bob'], '2027-01-06T12:00'));
    expect(lines(finalShifts(later, none, t('2027-01-06T00:00Z'), t('2027-01-07T00:00Z')))).toEqual([
      '2027-01-06T00:00Z 2027-01-06T11:00Z alice (layer 0)',
      '2027-01-06T11:00Z 2027-01-07T00:00Z bob (layer 1)',
    ]);
  });

  it('lists one layer on its own, only where it applies', () => {
    expect(lines(layerShifts(berlin, 1, none, t('2027-01-08T00:00Z'), t('2027-01-11T12:00Z')))).toEqual([
      '2027-01-08T08:00Z 2027-01-08T16:00Z carol (layer 1)',
      '2027-01-11T08:00Z 2027-01-11T12:00Z dave (layer 1)',
    ]);
  });
});

describe('overrides', () => {
  // alice until Monday 2027-01-11 09:00 local (08:00Z), then bob.
  const berlin = schedule('Europe/Berlin', weekly(['alice', 'bob']));
  const window = [t('2027-01-11T00:00Z'), t('2027-01-11T12:00Z')] as const;

  it('covers across a handoff as one shift, whoever the layer hands over to', () => {
    const adjustments: Adjustments = {
      overrides: [{ member: 'carol', from: t('2027-01-11T07:00Z'), to: t('2027-01-11T09:00Z') }],
    };
    expect(lines(finalShifts(berlin, adjustments, ...window))).toEqual([
      '2027-01-11T00:00Z 2027-01-11T07:00Z alice (layer 0)',
      '2027-01-11T07:00Z 2027-01-11T09:00Z carol (override 0)',
      '2027-01-11T09:00Z 2027-01-11T12:00Z bob (layer 0)',
    ]);
    const now = onCallAt(berlin, adjustments, t('2027-01-11T08:30Z'));
    expect(now).toEqual({
      kind: 'shift',
      member: 'carol',
      start: t('2027-01-11T07:00Z'),
      end: t('2027-01-11T09:00Z'),
      source: { type: 'override', override: 0 },
    });
  });

  it('with replacing, covers only the part where the replaced member is on call', () => {
    const adjustments: Adjustments = {
      overrides: [
        { member: 'carol', from: t('2027-01-11T07:00Z'), to: t('2027-01-11T09:00Z'), replacing: 'alice' },
      ],
    };
    expect(lines(finalShifts(berlin, adjustments, ...window))).toEqual([
      '2027-01-11T00:00Z 2027-01-11T07:00Z alice (layer 0)',
      '2027-01-11T07:00Z 2027-01-11T08:00Z carol (override 0 for alice)',
      '2027-01-11T08:00Z 2027-01-11T12:00Z bob (layer 0)',
    ]);
  });

  it('lets the later of two overlapping overrides win', () => {
    const adjustments: Adjustments = {
      overrides: [
        { member: 'carol', from: t('2027-01-11T02:00Z'), to: t('2027-01-11T06:00Z') },
        { member: 'dave', from: t('2027-01-11T03:00Z'), to: t('2027-01-11T04:00Z') },
      ],
    };
    expect(lines(finalShifts(berlin, adjustments, ...window)).slice(1, 4)).toEqual([
      '2027-01-11T02:00Z 2027-01-11T03:00Z carol (override 0)',
      '2027-01-11T03:00Z 2027-01-11T04:00Z dave (override 1)',
      '2027-01-11T04:00Z 2027-01-11T06:00Z carol (override 0)',
    ]);
  });

  it('does not apply while its member is on time off: the layer beneath decides', () => {
    const adjustments: Adjustments = {
      overrides: [{ member: 'carol', from: t('2027-01-11T07:00Z'), to: t('2027-01-11T09:00Z') }],
      timeOff: [{ member: 'carol', from: t('2027-01-11T07:30Z'), to: t('2027-01-11T12:00Z') }],
    };
    expect(lines(finalShifts(berlin, adjustments, ...window))).toEqual([
      '2027-01-11T00:00Z 2027-01-11T07:00Z alice (layer 0)',
      '2027-01-11T07:00Z 2027-01-11T07:30Z carol (override 0)',
      '2027-01-11T07:30Z 2027-01-11T08:00Z alice (layer 0)',
      '2027-01-11T08:00Z 2027-01-11T12:00Z bob (layer 0)',
    ]);
  });

  it('fills a gap where no layer applies, unless it names someone to replace', () => {
    const businessOnly = schedule('Europe/Berlin', daily(['carol'], '2027-01-04T09:00', [weekdays]));
    const from = t('2027-01-09T10:00Z');
    const to = t('2027-01-09T12:00Z');
    const covering = { member: 'bob', from, to };
    expect(lines(finalShifts(businessOnly, { overrides: [covering] }, from, to))).toEqual([
      '2027-01-09T10:00Z 2027-01-09T12:00Z bob (override 0)',
    ]);
    expect(
      lines(finalShifts(businessOnly, { overrides: [{ ...covering, replacing: 'carol' }] }, from, to)),
    ).toEqual(['2027-01-09T10:00Z 2027-01-09T12:00Z gap(no-layer)']);
  });
});

describe('time off', () => {
  // Daily alice, bob, carol: bob has Tuesday 2027-01-05 09:00 local (08:00Z) to Wednesday 08:00Z.
  const berlin = schedule('Europe/Berlin', daily(['alice', 'bob', 'carol']));
  const from = t('2027-01-05T08:00Z');
  const to = t('2027-01-06T08:00Z');

  it('moves the part of a shift on time off to the next member of the layer', () => {
    const away = { timeOff: [{ member: 'bob', from: t('2027-01-05T12:00Z'), to: t('2027-01-05T18:00Z') }] };
    expect(lines(finalShifts(berlin, away, from, to))).toEqual([
      '2027-01-05T08:00Z 2027-01-05T12:00Z bob (layer 0)',
      '2027-01-05T12:00Z 2027-01-05T18:00Z carol (layer 0 for bob)',
      '2027-01-05T18:00Z 2027-01-06T08:00Z bob (layer 0)',
    ]);
  });

  it('rotates onward past members who are away too, wrapping round the list', () => {
    const away = {
      timeOff: [
        { member: 'bob', from: t('2027-01-05T12:00Z'), to: t('2027-01-05T18:00Z') },
        { member: 'carol', from: t('2027-01-05T14:00Z'), to: t('2027-01-07T00:00Z') },
      ],
    };
    expect(lines(finalShifts(berlin, away, from, to))).toEqual([
      '2027-01-05T08:00Z 2027-01-05T12:00Z bob (layer 0)',
      '2027-01-05T12:00Z 2027-01-05T14:00Z carol (layer 0 for bob)',
      '2027-01-05T14:00Z 2027-01-05T18:00Z alice (layer 0 for bob)',
      '2027-01-05T18:00Z 2027-01-06T08:00Z bob (layer 0)',
    ]);
  });

  it('leaves a gap when everyone in the layer is away, and the layer beneath does not stand in', () => {
    const layered = schedule('Europe/Berlin', weekly(['zoe']), daily(['alice', 'bob']));
    const away = {
      timeOff: ['alice', 'bob'].map((member) => ({
        member,
        from: t('2027-01-05T10:00Z'),
        to: t('2027-01-05T11:00Z'),
      })),
    };
    expect(lines(finalShifts(layered, away, t('2027-01-05T09:00Z'), t('2027-01-05T12:00Z')))).toEqual([
      '2027-01-05T09:00Z 2027-01-05T10:00Z bob (layer 1)',
      '2027-01-05T10:00Z 2027-01-05T11:00Z gap(time-off layer 1)',
      '2027-01-05T11:00Z 2027-01-05T12:00Z bob (layer 1)',
    ]);
  });

  it('leaves a gap before the first handoff of every layer', () => {
    expect(lines(finalShifts(berlin, none, t('2027-01-04T00:00Z'), t('2027-01-04T10:00Z')))).toEqual([
      '2027-01-04T00:00Z 2027-01-04T08:00Z gap(no-layer)',
      '2027-01-04T08:00Z 2027-01-04T10:00Z alice (layer 0)',
    ]);
  });
});

describe('who is on call now and next', () => {
  const berlin = schedule(
    'Europe/Berlin',
    weekly(['alice', 'bob']),
    daily(['carol', 'dave'], '2027-01-04T09:00', [weekdays]),
  );

  it('gives the whole shift in force, not only the part near the instant asked about', () => {
    expect(onCallAt(berlin, none, t('2027-01-09T12:00Z'))).toEqual({
      kind: 'shift',
      member: 'alice',
      start: t('2027-01-08T16:00Z'),
      end: t('2027-01-11T08:00Z'),
      source: { type: 'layer', layer: 0 },
    });
  });

  it('names the next one in line with that shift’s start and end', () => {
    // Saturday: alice now; dave takes over Monday 09:00 local.
    expect(nextOnCall(berlin, none, t('2027-01-09T12:00Z'))).toEqual({
      kind: 'shift',
      member: 'dave',
      start: t('2027-01-11T08:00Z'),
      end: t('2027-01-11T16:00Z'),
      source: { type: 'layer', layer: 1 },
    });
  });

  it('skips the current member’s own next shifts and any gap', () => {
    const alone = schedule(
      'Europe/Berlin',
      daily(['carol'], '2027-01-04T09:00', [weekdays]),
      weekly(['x'], '2027-02-01T09:00'),
    );
    const next = nextOnCall(alone, none, t('2027-01-05T10:00Z'));
    expect(next && `${short(next.start)} ${next.member}`).toBe('2027-02-01T08:00Z x');
  });

  it('answers undefined when nobody else comes within 400 days', () => {
    const alone = schedule('Europe/Berlin', weekly(['alice']));
    expect(nextOnCall(alone, none, t('2027-01-05T10:00Z'))).toBeUndefined();
  });
});

describe('bounds', () => {
  const berlin = schedule('Europe/Berlin', weekly(['alice', 'bob']));

  it('refuses a window longer than 400 days', () => {
    const from = t('2027-01-01T00:00Z');
    expect(() => finalShifts(berlin, none, from, from + MAX_WINDOW_MS + 1)).toThrow(ScheduleRangeError);
    expect(() => finalShifts(berlin, none, from, from + MAX_WINDOW_MS + 1)).toThrow(
      'a schedule is computed over at most 400 days at a time',
    );
    expect(finalShifts(berlin, none, from, from + MAX_WINDOW_MS).length).toBeGreaterThan(50);
  });

  it('refuses a window that ends before it starts', () => {
    expect(() => finalShifts(berlin, none, t('2027-01-02T00:00Z'), t('2027-01-01T00:00Z'))).toThrow(
      'to must be after from',
    );
  });

  it('covers a whole window with contiguous segments, however busy the adjustments', () => {
    const busy = schedule('Europe/Berlin', daily(['alice', 'bob', 'carol']), {
      members: ['dave', 'erin'],
      shift: 12 * HOUR,
      handoff: '2027-02-01T09:00',
      restrict: [weekdays],
    });
    const from = t('2027-03-01T00:00Z');
    const to = t('2027-11-30T00:00Z');
    const adjustments: Adjustments = {
      overrides: [
        { member: 'zoe', from: t('2027-03-28T00:00Z'), to: t('2027-03-29T00:00Z') },
        { member: 'bob', from: t('2027-06-01T00:00Z'), to: t('2027-06-20T00:00Z'), replacing: 'alice' },
      ],
      timeOff: [
        { member: 'carol', from: t('2027-05-01T00:00Z'), to: t('2027-05-15T00:00Z') },
        { member: 'dave', from: t('2027-10-25T00:00Z'), to: t('2027-11-05T00:00Z') },
        { member: 'bob', from: t('2027-06-10T00:00Z'), to: t('2027-06-12T00:00Z') },
      ],
    };
    const segments = finalShifts(busy, adjustments, from, to);
    expect(segments[0]?.start).toBe(from);
    expect(segments.at(-1)?.end).toBe(to);
    segments.slice(1).forEach((s, i) => expect(s.start).toBe((segments[i] as OnCallSegment).end));
    expect(segments.every((s) => s.end > s.start)).toBe(true);
    // alice's daily shift from 2027-06-09 09:00 local: bob covers it outside business hours
    // (inside them layer 1 puts dave there, not alice), until his time off from
    // 2027-06-10T00:00Z beats his override and gives it back to her.
    expect(onCallAt(busy, adjustments, t('2027-06-09T18:00Z'))).toMatchObject({
      member: 'bob',
      source: { type: 'override', override: 1, replacing: 'alice' },
    });
    expect(onCallAt(busy, adjustments, t('2027-06-10T03:00Z'))).toMatchObject({
      member: 'alice',
      source: { type: 'layer', layer: 0 },
    });
  });
});
