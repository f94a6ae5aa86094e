/**
 * `/incident oncall` and `/incident cover` in words: the grammar, the times people type in
 * Slack, who a cover replaces, and what the answers and direct messages say.
 */
import { describe, expect, it } from 'vitest';
import { parseCommand, usage } from '../../channels/slack/inbound/commands';
import {
  coverDone,
  coveredNotice,
  onCallText,
  replacedIn,
  resolveSpan,
  type ScheduleOnCall,
} from '../../channels/slack/inbound/oncall';
import type { OverrideView, SegmentView } from '../../api/schedules';

const NOW = Date.parse('2026-11-04T12:00:00Z');

describe('the oncall and cover grammar', () => {
  it('reads oncall with or without a team', () => {
    expect(parseCommand('oncall')).toEqual({ kind: 'oncall' });
    expect(parseCommand('  OnCall   payments ')).toEqual({ kind: 'oncall', team: 'payments' });
  });

  it('refuses oncall with more than a team, or something that is not an id', () => {
    expect(parseCommand('oncall payments checkout')).toEqual({
      kind: 'usage',
      problem: '`oncall` takes one team at most, like `oncall payments`.',
    });
    expect(parseCommand('oncall <!here>')).toEqual({ kind: 'usage', problem: '`<!here>` is not a team id.' });
  });

  it('reads cover as a schedule, a start and an end, as typed', () => {
    expect(parseCommand('cover payments-l2 now 4h')).toEqual({
      kind: 'cover',
      schedule: 'payments-l2',
      from: 'now',
      to: '4h',
    });
    expect(parseCommand('Cover payments-l2 2026-11-04T13:00:00+01:00 2026-11-04T18:00:00+01:00')).toEqual({
      kind: 'cover',
      schedule: 'payments-l2',
      from: '2026-11-04T13:00:00+01:00',
      to: '2026-11-04T18:00:00+01:00',
    });
  });

  it('refuses cover without all three parts, with more, or with no schedule id', () => {
    const needs = '`cover` needs a schedule, a start and an end, like `cover payments-l2 now 4h`.';
    expect(parseCommand('cover')).toEqual({ kind: 'usage', problem: needs });
    expect(parseCommand('cover payments-l2 now')).toEqual({ kind: 'usage', problem: needs });
    expect(parseCommand('cover payments-l2 now 4h please')).toEqual({
      kind: 'usage',
      problem: '`cover` takes a schedule, a start and an end, nothing more, like `cover payments-l2 now 4h`.',
    });
    expect(parseCommand('cover <#C1> now 4h')).toEqual({
      kind: 'usage',
      problem: '`<#C1>` is not a schedule id.',
    });
  });

  it('lists both in the usage, the placeholders escaped', () => {
    const text = usage('/incident');
    expect(text).toContain("`/incident oncall [team]`: who is on call now for your teams' schedules");
    expect(text).toContain(
      '`/incident cover &lt;schedule&gt; &lt;from&gt; &lt;to&gt;`: take that shift yourself',
    );
  });
});

describe('the times a cover takes', () => {
  it('reads now as the present and a duration as counted from the start', () => {
    expect(resolveSpan('now', '4h', NOW)).toEqual({
      ok: true,
      from: '2026-11-04T12:00:00.000Z',
      to: '2026-11-04T16:00:00.000Z',
    });
    expect(resolveSpan('NOW', '1d', NOW)).toMatchObject({ to: '2026-11-05T12:00:00.000Z' });
    expect(resolveSpan('2026-11-04T13:00:00+01:00', '1h30m', NOW)).toEqual({
      ok: true,
      from: '2026-11-04T13:00:00+01:00',
      to: '2026-11-04T13:30:00.000Z',
    });
  });

  it('passes anything else on as typed, for the override checks to judge', () => {
    expect(resolveSpan('tomorrow', '2026-11-05T12:00:00Z', NOW)).toEqual({
      ok: true,
      from: 'tomorrow',
      to: '2026-11-05T12:00:00Z',
    });
    expect(resolveSpan('now', 'later', NOW)).toEqual({
      ok: true,
      from: '2026-11-04T12:00:00.000Z',
      to: 'later',
    });
  });

  it('refuses a duration counted from a start that is not a time', () => {
    const span = resolveSpan('tomorrow', '4h', NOW);
    expect(span.ok).toBe(false);
    expect(!span.ok && span.problem).toBe(
      '`4h` counts from the start, and `tomorrow` is not a time: write `now` or an ISO time with its offset, like 2026-11-03T09:00:00+01:00.',
    );
  });
});

const times = (start: string, end: string) => ({
  start,
  end,
  startLocal: `${start}L`,
  endLocal: `${end}L`,
});
const shift = (member: string, name: string, start: string, end: string): SegmentView => ({
  member,
  name,
  source: { type: 'layer', layer: 0 },
  ...times(start, end),
});

describe('who a cover replaces', () => {
  it('names each member on call in the window once, joining their touching spans, without gaps or the coverer', () => {
    const shifts: SegmentView[] = [
      shift('alice', 'Alice Ng', 'a', 'b'),
      shift('alice', 'Alice Ng', 'b', 'c'),
      { gap: true, reason: 'no-layer', ...times('c', 'd') },
      shift('bob', 'Bob Okafor', 'd', 'e'),
      shift('alice', 'Alice Ng', 'e', 'f'),
      shift('dave', 'Dave Ross', 'f', 'g'),
    ];
    expect(replacedIn(shifts, 'dave')).toEqual([
      {
        member: 'alice',
        name: 'Alice Ng',
        spans: [
          { startLocal: 'aL', endLocal: 'cL' },
          { startLocal: 'eL', endLocal: 'fL' },
        ],
      },
      { member: 'bob', name: 'Bob Okafor', spans: [{ startLocal: 'dL', endLocal: 'eL' }] },
    ]);
  });
});

describe('the answers', () => {
  const schedule = { id: 'payments-l2', name: 'Payments L2' };

  it('says who is on call, since and until when, and who is next; a gap says why', () => {
    const entries: ScheduleOnCall[] = [
      {
        schedule,
        now: {
          ...shift('alice', 'Alice Ng', '', ''),
          startLocal: '2026-11-02T09:00+01:00',
          endLocal: '2026-11-09T09:00+01:00',
        },
        next: { ...shift('bob', 'Bob Okafor', '', ''), startLocal: '2026-11-09T09:00+01:00' },
      },
      {
        schedule: { id: 'night', name: 'Nights' },
        now: { gap: true, reason: 'time-off', ...times('s', 'e') },
      },
      { schedule: { id: 'day', name: 'Days' }, now: { gap: true, reason: 'no-layer', ...times('s', 'e') } },
    ];
    expect(onCallText(entries, ['payments']).split('\n')).toEqual([
      'On call now for team payments:',
      '• *Payments L2* (`payments-l2`): Alice Ng, since 2026-11-02T09:00+01:00 until 2026-11-09T09:00+01:00; next: Bob Okafor from 2026-11-09T09:00+01:00',
      '• *Nights* (`night`): nobody: everyone on time off, since sL until eL; next: nobody in the next 400 days',
      '• *Days* (`day`): nobody: no layer, since sL until eL; next: nobody in the next 400 days',
    ]);
    expect(onCallText([], ['payments', 'checkout'])).toBe(
      'No on-call schedules for teams payments, checkout.',
    );
  });

  it('escapes what people wrote, so a name cannot mention anyone', () => {
    const text = onCallText(
      [{ schedule: { id: 'x', name: '<!channel> rota' }, now: shift('a', '<@U1>', '', '') }],
      ['x'],
    );
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U1>');
    expect(text).toContain('&lt;!channel&gt; rota');
  });

  it('tells the coverer what they cover and whom they replace, and the replaced who covers them', () => {
    const created = {
      id: 'override-abc',
      fromLocal: '2026-11-04T13:00+01:00',
      toLocal: '2026-11-04T17:00+01:00',
    } as OverrideView;
    const alice = { member: 'alice', name: 'Alice Ng', spans: [{ startLocal: 'A', endLocal: 'B' }] };
    const erin = { member: 'erin', name: 'Erin Park', spans: [{ startLocal: 'C', endLocal: 'D' }] };
    expect(coverDone('Payments L2', created, [])).toBe(
      'You cover *Payments L2* from 2026-11-04T13:00+01:00 to 2026-11-04T17:00+01:00 (override `override-abc`); nobody else was on call then.',
    );
    expect(
      coverDone('Payments L2', created, [
        { ...alice, told: 'told' },
        { ...erin, told: 'no-slack' },
      ]),
    ).toBe(
      'You cover *Payments L2* from 2026-11-04T13:00+01:00 to 2026-11-04T17:00+01:00 (override `override-abc`), ' +
        "in place of Alice Ng (told by direct message), Erin Park (not told: no Slack account in Baton's configuration).",
    );
    expect(
      coveredNotice('Bob Okafor', 'Payments L2', {
        ...alice,
        spans: [...alice.spans, { startLocal: 'E', endLocal: 'F' }],
      }),
    ).toBe('Bob Okafor covers you on *Payments L2* from A to B and from E to F: you are not on call then.');
  });
});
