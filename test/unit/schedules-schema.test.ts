/**
 * The `schedules:` configuration and the API's schedule inputs: what parses, and the error,
 * naming its field, for each thing the issue says must refuse to load.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues } from '../../config/load';
import {
  overrideInputSchema,
  scheduleInputSchema,
  schedulesSchema,
  timeOffInputSchema,
  type ScheduleContext,
} from '../../schedules/schema';
import { finalShifts } from '../../schedules/shifts';

const context: ScheduleContext = {
  responderIds: ['alice', 'bob', 'carol', 'dave'],
  teamIds: ['payments'],
  now: Date.parse('2026-11-01T00:00:00Z'),
};

/** A `schedules:` list as the configuration file would hold it. */
function entry(
  change: (s: Record<string, unknown> & { layers: Record<string, unknown>[] }) => void = () => {},
) {
  const schedule = {
    id: 'payments-primary',
    team: 'payments',
    name: 'Payments primary',
    timezone: 'Europe/Berlin',
    layers: [
      { members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' } as Record<string, unknown>,
      {
        members: ['carol', 'dave', 'alice'],
        shift: '1d',
        handoff: '2026-11-02T09:00',
        restrict: [{ weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
      } as Record<string, unknown>,
    ],
    overrides: [{ member: 'carol', from: '2026-11-03T09:00:00+01:00', to: '2026-11-03T12:00:00+01:00' }],
    timeOff: [{ member: 'bob', from: '2026-11-20T00:00:00Z', to: '2026-11-27T00:00:00Z' }],
  };
  change(schedule);
  return schedule;
}

/** The lines the configuration loader prints, for a configuration with these schedules. */
function errors(schedules: unknown[]): string[] {
  const result = z.strictObject({ schedules: schedulesSchema(context) }).safeParse({ schedules });
  return result.success ? [] : formatIssues(result.error.issues);
}

describe('a valid schedules: list', () => {
  it('parses shifts to wall-clock milliseconds and times to instants, ready to compute', () => {
    const parsed = schedulesSchema(context).parse([entry()]);
    const [schedule] = parsed;
    expect(schedule?.layers.map((l) => l.shift)).toEqual([7 * 86_400_000, 86_400_000]);
    expect(schedule?.overrides).toEqual([
      { member: 'carol', from: Date.parse('2026-11-03T08:00:00Z'), to: Date.parse('2026-11-03T11:00:00Z') },
    ]);
    const segments = finalShifts(
      schedule!,
      schedule!,
      Date.parse('2026-11-03T07:00:00Z'),
      Date.parse('2026-11-03T12:00:00Z'),
    );
    // Tuesday 08:00 local: alice's week; from 09:00 carol's override, then dave's business hours.
    expect(segments.map((s) => (s.kind === 'shift' ? s.member : 'gap'))).toEqual(['alice', 'carol', 'dave']);
  });

  it('accepts a business-hours layer over a 24/7 layer, and a later 24/7 layer that starts later', () => {
    expect(errors([entry()])).toEqual([]);
    const later = entry((s) => {
      s.layers = [
        { members: ['alice'], shift: '1w', handoff: '2026-11-02T09:00' },
        { members: ['bob'], shift: '1w', handoff: '2026-11-09T09:00' },
      ];
    });
    expect(errors([later])).toEqual([]);
  });
});

describe('a schedules: list that refuses to load', () => {
  it('names an unknown member with its full path', () => {
    const bad = entry((s) => {
      (s.layers[1] as { members: string[] }).members[2] = 'zed';
    });
    expect(errors([bad])).toEqual(['schedules[0].layers[1].members[2]: unknown responder "zed"']);
  });

  it('names unknown people in overrides and time off, and an unknown team', () => {
    const bad = entry((s) => {
      s.team = 'checkout';
      s.overrides = [
        { member: 'zed', from: '2026-11-03T09:00:00Z', to: '2026-11-03T10:00:00Z', replacing: 'yan' },
      ];
      s.timeOff = [{ member: 'xi', from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z' }];
    });
    expect(errors([bad])).toEqual([
      'schedules[0].team: unknown team "checkout"',
      'schedules[0].overrides[0].member: unknown responder "zed"',
      'schedules[0].overrides[0].replacing: unknown responder "yan"',
      'schedules[0].timeOff[0].member: unknown responder "xi"',
    ]);
  });

  it('refuses a schedule id used twice', () => {
    expect(errors([entry(), entry()])).toEqual([
      'schedules[1].id: schedule "payments-primary" is defined twice',
    ]);
  });

  it('refuses a time zone that is not an IANA name', () => {
    expect(errors([entry((s) => (s.timezone = 'Europe/Berln'))])).toEqual([
      'schedules[0].timezone: "Europe/Berln" is not an IANA time zone; write one like Europe/Berlin',
    ]);
    expect(errors([entry((s) => (s.timezone = '+01:00'))])).toEqual([
      'schedules[0].timezone: "+01:00" is not an IANA time zone; write one like Europe/Berlin',
    ]);
  });

  it('refuses a handoff notice that is not a duration of up to a week, and reads the ones that are', () => {
    for (const text of ['soon', '-1h', '8d']) {
      expect(errors([entry((s) => (s.handoffNotice = text))])).toEqual([
        `schedules[0].handoffNotice: "${text}" is not a duration of up to a week; write it like 1h, 30m or 0`,
      ]);
    }
    const parse = (text: string) =>
      schedulesSchema(context).parse([entry((s) => (s.handoffNotice = text))])[0]?.handoffNotice;
    expect(parse('30m')).toBe(1_800_000);
    expect(parse('0')).toBe(0);
  });

  it('refuses a handoff that is not a local time', () => {
    const message = (text: string) =>
      `schedules[0].layers[0].handoff: "${text}" is not a local time; write YYYY-MM-DDTHH:MM without an offset, like 2026-11-02T09:00`;
    for (const text of ['2026-11-02T09:00+01:00', '2026-11-02T09:00Z', '2026-02-30T09:00', 'Monday 09:00']) {
      expect(errors([entry((s) => ((s.layers[0] as { handoff: string }).handoff = text))])).toEqual([
        message(text),
      ]);
    }
  });

  it('refuses a shift that is not a positive duration between 1h and 8 weeks', () => {
    const withShift = (shift: string) =>
      errors([entry((s) => ((s.layers[0] as { shift: string }).shift = shift))]);
    expect(withShift('0h')).toEqual([
      'schedules[0].layers[0].shift: "0h" is not a duration; write it like 12h, 1d or 1w',
    ]);
    expect(withShift('weekly')).toEqual([
      'schedules[0].layers[0].shift: "weekly" is not a duration; write it like 12h, 1d or 1w',
    ]);
    expect(withShift('30m')).toEqual([
      'schedules[0].layers[0].shift: "30m" is shorter than 1h; a shift lasts at least an hour',
    ]);
    expect(withShift('9w')).toEqual([
      'schedules[0].layers[0].shift: "9w" is longer than 56d (8 weeks); no shift lasts that long',
    ]);
    expect(withShift('8w')).toEqual([]);
  });

  it('refuses a restrict window that starts where it ends', () => {
    const bad = entry((s) => {
      s.layers[1]!.restrict = [{ weekdays: ['mon'], from: '09:00', to: '09:00' }];
    });
    expect(errors([bad])).toEqual([
      'schedules[0].layers[1].restrict[0].to: the window 09:00–09:00 is empty; a whole day is 00:00–24:00',
    ]);
  });

  it('refuses an override that ends before it starts', () => {
    const bad = entry((s) => {
      s.overrides = [{ member: 'carol', from: '2026-11-03T09:00:00Z', to: '2026-11-03T08:00:00Z' }];
    });
    expect(errors([bad])).toEqual([
      'schedules[0].overrides[0].to: ends at 2026-11-03T08:00:00.000Z, not after it starts (2026-11-03T09:00:00.000Z)',
    ]);
  });

  it('refuses a time that carries no offset', () => {
    const bad = entry((s) => {
      s.timeOff = [{ member: 'bob', from: '2026-11-20T00:00', to: '2026-11-21T00:00:00Z' }];
    });
    expect(errors([bad])).toEqual([
      'schedules[0].timeOff[0].from: "2026-11-20T00:00" is not an ISO time with an offset; write it like 2026-11-03T09:00:00+01:00 or 2026-11-03T08:00:00Z',
    ]);
  });

  it('refuses overrides and time off more than a year out', () => {
    const bad = entry((s) => {
      s.overrides = [{ member: 'carol', from: '2028-01-01T00:00:00Z', to: '2028-01-02T00:00:00Z' }];
      s.timeOff = [{ member: 'bob', from: '2027-10-01T00:00:00Z', to: '2027-11-03T00:00:00Z' }];
    });
    expect(errors([bad])).toEqual([
      'schedules[0].overrides[0].from: 2028-01-01T00:00:00.000Z is more than a year from now; plan at most a year ahead',
      'schedules[0].timeOff[0].to: 2027-11-03T00:00:00.000Z is more than a year from now; plan at most a year ahead',
    ]);
  });

  it('refuses a layer that a later unrestricted layer starting no later hides everywhere, naming both', () => {
    const bad = entry((s) => {
      s.layers = [
        { members: ['alice'], shift: '1w', handoff: '2026-11-02T09:00' },
        { members: ['bob'], shift: '1d', handoff: '2026-11-02T09:00' },
      ];
    });
    expect(errors([bad])).toEqual([
      "schedules[0].layers[0]: layers[0] would never apply: layers[1] comes later, so it wins, and it covers every hour layers[0] covers from a first handoff at or before layers[0]'s; restrict layers[1] or remove layers[0]",
    ]);
  });

  it('refuses a layer that later restricted layers together hide, naming them all', () => {
    const bad = entry((s) => {
      s.layers = [
        {
          members: ['alice'],
          shift: '1w',
          handoff: '2026-11-02T09:00',
          restrict: [{ weekdays: ['sat', 'sun'], from: '00:00', to: '24:00' }],
        },
        {
          members: ['bob'],
          shift: '1w',
          handoff: '2026-10-26T09:00',
          restrict: [{ weekdays: ['fri', 'sat'], from: '12:00', to: '06:00' }],
        },
        {
          members: ['carol'],
          shift: '1w',
          handoff: '2026-11-01T09:00',
          restrict: [{ weekdays: ['sat', 'sun'], from: '06:00', to: '24:00' }],
        },
      ];
    });
    // Saturday and Sunday 00:00–06:00 come from layers[1]'s overnight windows, the rest from layers[2].
    expect(errors([bad])).toEqual([
      "schedules[0].layers[0]: layers[0] would never apply: layers[1] and layers[2] come later, so they win, and they cover every hour layers[0] covers from first handoffs at or before layers[0]'s; restrict layers[1] and layers[2] or remove layers[0]",
    ]);
  });
});

describe('the API’s schedule inputs', () => {
  it('refuses an override for an unknown member, naming the field', () => {
    const result = overrideInputSchema(context).safeParse({
      member: 'zed',
      from: '2026-11-03T09:00:00Z',
      to: '2026-11-03T10:00:00Z',
    });
    expect(result.success ? [] : formatIssues(result.error.issues)).toEqual([
      'member: unknown responder "zed"',
    ]);
  });

  it('refuses time off whose end is not after its start, or that reaches more than a year out', () => {
    const schema = timeOffInputSchema(context);
    const same = schema.safeParse({
      member: 'bob',
      from: '2026-11-03T09:00:00Z',
      to: '2026-11-03T09:00:00Z',
    });
    expect(same.success ? [] : formatIssues(same.error.issues)).toEqual([
      'to: ends at 2026-11-03T09:00:00.000Z, not after it starts (2026-11-03T09:00:00.000Z)',
    ]);
    const far = schema.safeParse({ member: 'bob', from: '2027-10-30T00:00:00Z', to: '2027-11-05T00:00:00Z' });
    expect(far.success ? [] : formatIssues(far.error.issues)).toEqual([
      'to: 2027-11-05T00:00:00.000Z is more than a year from now; plan at most a year ahead',
    ]);
    expect(
      schema.parse({ member: 'bob', from: '2026-11-03T09:00:00+01:00', to: '2026-11-04T09:00:00+01:00' }),
    ).toEqual({
      member: 'bob',
      from: Date.parse('2026-11-03T08:00:00Z'),
      to: Date.parse('2026-11-04T08:00:00Z'),
    });
  });

  it('refuses fields it does not know', () => {
    const result = overrideInputSchema(context).safeParse({
      member: 'carol',
      from: '2026-11-03T09:00:00Z',
      to: '2026-11-03T10:00:00Z',
      replaces: 'alice',
    });
    expect(result.success ? [] : formatIssues(result.error.issues)).toEqual([
      '(top level): Unrecognized key: "replaces"',
    ]);
  });

  it('checks one schedule sent on its own like an entry of the list', () => {
    const result = scheduleInputSchema(context).safeParse(
      entry((s) => {
        (s.layers[0] as { members: string[] }).members = ['alice', 'zed'];
      }),
    );
    expect(result.success ? [] : formatIssues(result.error.issues)).toEqual([
      'layers[0].members[1]: unknown responder "zed"',
    ]);
  });
});
