/**
 * Schedules in the configuration: steps page them as schedule:<id>, only their own team's,
 * and their members are on the team.
 */
import { describe, expect, it } from 'vitest';
import { teamById, teamMembers } from '../../config/policy';
import type { BatonConfigInput } from '../../config/schema';
import { testConfig } from '../support/config';

function withSchedule(c: BatonConfigInput, members = ['alice', 'zoe']): void {
  c.responders.push({ id: 'zoe', name: 'Zoe Quinn', level: 'L2', email: 'zoe@example.com' });
  c.schedules = [
    {
      id: 'payments-l2',
      team: 'payments',
      name: 'Payments L2',
      timezone: 'Europe/Berlin',
      layers: [{ members, shift: '1w', handoff: '2026-11-02T09:00' }],
    },
  ];
}

describe('schedules in the configuration', () => {
  it('lets a step page a schedule of its team, and makes its members members of the team', () => {
    const config = testConfig((c) => {
      withSchedule(c);
      c.teams[0]!.escalation.steps[0] = { notify: ['schedule:payments-l2', 'bob'], ackTimeout: '5m' };
      c.teams[0]!.escalation.steps[1] = { notify: ['schedule:payments-l2:next'], ackTimeout: '5m' };
    });
    expect(config.schedules[0]?.layers[0]?.shift).toBe(7 * 86_400_000);
    expect(teamMembers(config, teamById(config, 'payments'))).toContain('zoe');
  });

  it('refuses a step that names an unknown schedule, with the field', () => {
    expect(() =>
      testConfig((c) => {
        withSchedule(c);
        c.teams[0]!.escalation.steps[0]!.notify = ['schedule:payments-l3'];
      }),
    ).toThrow('teams[0].escalation.steps[0].notify[0]: unknown schedule "payments-l3"');
  });

  it("refuses a step that pages another team's schedule", () => {
    expect(() =>
      testConfig((c) => {
        withSchedule(c);
        c.teams.push({
          ...structuredClone(c.teams[0]!),
          id: 'checkout',
          name: 'Checkout',
        });
        c.teams[1]!.escalation.steps[0]!.notify = ['schedule:payments-l2'];
      }),
    ).toThrow(
      'teams[1].escalation.steps[0].notify[0]: schedule "payments-l2" belongs to team payments, not checkout',
    );
  });

  it('refuses a Level 3 step whose schedule has a Level 2 member', () => {
    expect(() =>
      testConfig((c) => {
        withSchedule(c);
        c.teams[0]!.level3[1]!.notify = ['schedule:payments-l2'];
      }),
    ).toThrow(
      'teams[0].level3[1].notify[0]: schedule "payments-l2" has alice, who is L2; this needs L3 or manager',
    );
  });

  it('lets the first Level 3 step page a schedule of Level 3 members, asked as the incident escalates', () => {
    const config = testConfig((c) => {
      withSchedule(c, ['carol', 'erin']);
      c.teams[0]!.level3[0]!.notify = ['schedule:payments-l2'];
    });
    expect(config.teams[0]?.level3[0]?.notify).toEqual(['schedule:payments-l2']);
  });

  it('refuses a first Level 3 step whose schedule has a Level 2 member', () => {
    expect(() =>
      testConfig((c) => {
        withSchedule(c);
        c.teams[0]!.level3[0]!.notify = ['schedule:payments-l2'];
      }),
    ).toThrow(
      'teams[0].level3[0].notify[0]: schedule "payments-l2" has alice, who is L2; this needs L3 or manager',
    );
  });

  it('refuses a target that is neither a responder id nor a schedule', () => {
    expect(() =>
      testConfig((c) => {
        c.teams[0]!.escalation.steps[0]!.notify = ['schedule:'];
      }),
    ).toThrow(
      'teams[0].escalation.steps[0].notify[0]: name a responder id, schedule:<id> or schedule:<id>:next',
    );
  });

  it('refuses a schedule with an unknown member, naming the field', () => {
    expect(() =>
      testConfig((c) => {
        withSchedule(c, ['alice', 'zed']);
      }),
    ).toThrow('schedules[0].layers[0].members[1]: unknown responder "zed"');
  });
});
