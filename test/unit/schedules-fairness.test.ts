/**
 * The fairness report: real hours on call per member (a 23-hour day counts 23), of which
 * outside business hours (Mon–Fri 09:00–17:00 local unless the schedule says otherwise),
 * pages received, and nights woken (a night is 22:00–07:00 local).
 */
import { describe, expect, it } from 'vitest';
import { countPages, fairnessReport } from '../../schedules/fairness';
import type { Schedule } from '../../schedules/types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const t = (iso: string): number => Date.parse(iso);

// alice and bob, weekly from Monday 2027-01-04 09:00 Berlin: bob has the week of 2027-03-22
// (167 hours: the clocks go forward on the 28th), alice the week after.
const berlin: Schedule = {
  id: 'primary',
  team: 'payments',
  name: 'Payments primary',
  timezone: 'Europe/Berlin',
  layers: [{ members: ['alice', 'bob'], shift: 7 * DAY, handoff: '2027-01-04T09:00' }],
};
const from = t('2027-03-22T08:00:00Z');
const to = t('2027-04-05T07:00:00Z');

describe('the fairness report', () => {
  it('counts real hours on call, and those outside Mon–Fri 09:00–17:00 local', () => {
    const report = fairnessReport(berlin, {}, from, to);
    expect(report.members).toEqual([
      { member: 'alice', hoursOnCall: 168, hoursOutsideBusinessHours: 128, pages: 0, nightsWoken: 0 },
      { member: 'bob', hoursOnCall: 167, hoursOutsideBusinessHours: 127, pages: 0, nightsWoken: 0 },
    ]);
    expect(report.gapHours).toBe(0);
  });

  it('uses the schedule’s own business hours when it names them', () => {
    const longDays: Schedule = {
      ...berlin,
      businessHours: [
        { weekdays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '08:00', to: '20:00' },
      ],
    };
    const bob = fairnessReport(longDays, {}, from, to).members.find((m) => m.member === 'bob');
    // Seven 12-hour days, the 23-hour Sunday's included.
    expect(bob?.hoursOutsideBusinessHours).toBe(167 - 7 * 12);
  });

  it('credits an override to its member and counts the hours nobody covered', () => {
    const report = fairnessReport(
      berlin,
      {
        overrides: [{ member: 'carol', from: t('2027-03-23T08:00:00Z'), to: t('2027-03-23T12:00:00Z') }],
        timeOff: [
          { member: 'alice', from: t('2027-04-01T00:00:00Z'), to: t('2027-04-01T06:00:00Z') },
          { member: 'bob', from: t('2027-04-01T00:00:00Z'), to: t('2027-04-01T06:00:00Z') },
        ],
      },
      from,
      to,
    );
    expect(report.members.map((m) => [m.member, m.hoursOnCall, m.hoursOutsideBusinessHours])).toEqual([
      ['alice', 162, 122],
      ['bob', 163, 127],
      ['carol', 4, 0],
    ]);
    expect(report.gapHours).toBe(6);
  });

  it('counts pages and nights woken, one night however many pages it had', () => {
    const report = fairnessReport(berlin, {}, from, to, [
      // Tuesday 23:30 and Wednesday 02:00 local: one night.
      { member: 'bob', at: t('2027-03-23T22:30:00Z') },
      { member: 'bob', at: t('2027-03-24T01:00:00Z') },
      // Wednesday noon: a page, not a night.
      { member: 'bob', at: t('2027-03-24T11:00:00Z') },
      // Thursday 06:59 local: still the night of Wednesday.
      { member: 'bob', at: t('2027-03-25T05:59:00Z') },
      // Monday 22:00 local (summer time now): a night; Tuesday 07:00 local: morning.
      { member: 'alice', at: t('2027-03-29T20:00:00Z') },
      { member: 'alice', at: t('2027-03-30T05:00:00Z') },
      // Outside the window.
      { member: 'alice', at: t('2027-04-06T01:00:00Z') },
    ]);
    expect(report.members.map((m) => [m.member, m.pages, m.nightsWoken])).toEqual([
      ['alice', 2, 1],
      ['bob', 4, 2],
    ]);
  });
});

describe('pages and nights on their own', () => {
  it('reads the night in the zone given: 21:30 in New York is 02:30Z the next day, not a night', () => {
    const counts = countPages(
      'America/New_York',
      [
        { member: 'erin', at: t('2027-01-06T02:30:00Z') },
        { member: 'erin', at: t('2027-01-06T03:30:00Z') },
      ],
      t('2027-01-01T00:00:00Z'),
      t('2027-02-01T00:00:00Z'),
    );
    expect(counts.get('erin')).toEqual({ pages: 2, nightsWoken: 1 });
  });
});
