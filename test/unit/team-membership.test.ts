/**
 * Who is on a team: from the configuration in force, and only from what the team itself
 * names. An incident told of a new membership follows it; its record says who left and
 * joined.
 */
import { describe, expect, it } from 'vitest';
import { policyFor, teamById, teamMembershipFor, teamsOf } from '../../config/policy';
import { changeMembership, membershipOf, sameMembership } from '../../workflows/incident/membership';
import { RefusalType } from '../../workflows/incident/messages';
import { testConfig } from '../support/config';
import { withTwoTeams } from '../support/permissions';
import { events, plainIncident, take } from './plain-incident';

describe('team membership from the configuration', () => {
  it('makes nobody a manager of another team for being told of overdue follow-ups', () => {
    // grace manages checkout; overdue notices of every team go to her as well.
    const config = testConfig((c) => {
      withTwoTeams(c);
      c.followUps.overdueNotify = ['grace'];
    });
    expect(teamsOf(config, 'grace')).toEqual(['checkout']);
    const payments = policyFor(config, teamById(config, 'payments'));
    expect(payments.members).not.toContain('grace');
    expect(payments.managers).toEqual(['dave']);
    // She is still told: the overdue list travels with the policy.
    expect(payments.followUps.overdueNotify).toEqual(['grace']);
  });

  it('refuses a manager named only in overdueNotify on another team’s incident', () => {
    const incident = plainIncident({
      config: (c) => {
        withTwoTeams(c);
        c.followUps.overdueNotify = ['grace'];
      },
    });
    expect(take(incident, 'acknowledge', { actor: 'grace' })?.type).toBe(RefusalType.notMember);
    expect(incident.state.acknowledgedBy).toBeUndefined();
  });

  it('describes the team the way an incident counts it', () => {
    const config = testConfig(withTwoTeams);
    const team = teamById(config, 'payments');
    const fromConfig = teamMembershipFor(config, team);
    const fromPolicy = membershipOf(policyFor(config, team));
    expect(fromPolicy).toBeDefined();
    expect(sameMembership(fromConfig, fromPolicy!)).toBe(true);
    expect(fromConfig.members).toEqual(['alice', 'bob', 'carol', 'erin', 'dave', 'oscar']);
    expect(Object.keys(fromConfig.responders).sort()).toEqual([
      'alice',
      'bob',
      'carol',
      'dave',
      'erin',
      'oscar',
    ]);
  });
});

describe('an incident told of its team’s new membership', () => {
  /** payments without carol, and with zoe, a Level 2 who joined after the incident opened. */
  function changedTeam() {
    const config = testConfig((c) => {
      withTwoTeams(c);
      c.responders.push({ id: 'zoe', name: 'Zoe Quinn', level: 'L2', email: 'zoe@example.com' });
      const payments = c.teams[0]!;
      payments.level3 = [{ notify: ['erin'], acceptTimeout: '1h' }];
      payments.members = ['zoe'];
    });
    return teamMembershipFor(config, teamById(config, 'payments'));
  }

  it('refuses whoever left and lets whoever joined act, and says so on the timeline', () => {
    const incident = plainIncident({ config: withTwoTeams });
    expect(take(incident, 'acknowledge', { actor: 'zoe' })?.type).toBe(RefusalType.unknownActor);

    expect(changeMembership(incident, changedTeam())).toBeUndefined();

    expect(take(incident, 'acknowledge', { actor: 'carol' })?.type).toBe(RefusalType.notMember);
    expect(incident.state.acknowledgedBy).toBeUndefined();
    expect(take(incident, 'acknowledge', { actor: 'zoe' })).toBeUndefined();
    expect(incident.state.acknowledgedBy).toBe('zoe');
    const [changed] = events(incident, 'membership-changed');
    expect(changed?.summary).toBe('team payments changed in the configuration: carol left; zoe joined');
    expect(changed?.details).toMatchObject({ joined: ['zoe'], left: ['carol'] });
    // carol is still known by name for the record.
    expect(incident.policy.responders.carol?.name).toBe('Carol Diaz');
  });

  it('records a change of level, and the new level decides', () => {
    const incident = plainIncident({ config: withTwoTeams });
    const config = testConfig((c) => {
      withTwoTeams(c);
      c.responders.find((r) => r.id === 'alice')!.level = 'L3';
    });
    expect(
      changeMembership(incident, teamMembershipFor(config, teamById(config, 'payments'))),
    ).toBeUndefined();
    expect(events(incident, 'membership-changed')[0]?.summary).toBe(
      'team payments changed in the configuration: alice is now L3 (was L2)',
    );
    take(incident, 'acknowledge', { actor: 'bob' });
    take(incident, 'escalate', { actor: 'bob', reason: 'database' });
    expect(take(incident, 'acceptHandover', { actor: 'alice', notes: 'taking it' })).toBeUndefined();
  });

  it('changes nothing when the team is the same, or is another team', () => {
    const incident = plainIncident({ config: withTwoTeams });
    const config = testConfig(withTwoTeams);
    const before = JSON.stringify(incident.policy);
    expect(
      changeMembership(incident, teamMembershipFor(config, teamById(config, 'payments'))),
    ).toBeUndefined();
    expect(changeMembership(incident, teamMembershipFor(config, teamById(config, 'checkout')))).toMatch(
      /belongs to team payments/,
    );
    expect(JSON.stringify(incident.policy)).toBe(before);
    expect(events(incident, 'membership-changed')).toEqual([]);
  });

  it('leaves an incident that predates teams with its rules', () => {
    const incident = plainIncident({ config: withTwoTeams });
    delete incident.policy.members;
    expect(changeMembership(incident, changedTeam())).toMatch(/predates teams/);
    expect(incident.policy.members).toBeUndefined();
  });
});
