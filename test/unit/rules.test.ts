import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { RefusalType } from '../../workflows/incident/messages';
import { checkActor, rules, throwIfRefused } from '../../workflows/incident/rules';
import { plainIncident, take } from './plain-incident';

describe('which moves the process allows', () => {
  it('refuses a second acknowledgement, naming who acknowledged and when', () => {
    const incident = plainIncident();
    expect(take(incident, 'acknowledge', { actor: 'alice' })).toBeUndefined();
    const refusal = rules.acknowledge(incident.state);
    expect(refusal?.type).toBe(RefusalType.invalidMove);
    expect(refusal?.message).toMatch(/already acknowledged by alice at 2\d{3}-/);
  });

  it('refuses assessment, actions and escalation before anyone acknowledged', () => {
    const { state, policy } = plainIncident();
    for (const refusal of [
      rules.assess(state),
      rules.recordAction(state),
      rules.escalate(state, policy, 'alice'),
    ]) {
      expect(refusal).toMatchObject({ type: RefusalType.invalidMove });
      expect(refusal?.message).toMatch(/nobody has acknowledged/);
    }
  });

  it('refuses a handover before an escalation, and by Level 2', () => {
    const incident = plainIncident();
    expect(rules.acceptHandover(incident.state, incident.policy, 'carol')?.message).toMatch(
      /has not been escalated/,
    );
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'stuck' });
    expect(rules.acceptHandover(incident.state, incident.policy, 'bob')).toEqual({
      type: RefusalType.notPermitted,
      message: 'only Level 3 or a manager can accept a handover; bob is Level 2',
    });
    expect(rules.acceptHandover(incident.state, incident.policy, 'carol')).toBeUndefined();
  });

  it('lets only a manager approve an external message, and only where there is an audience', () => {
    const incident = plainIncident();
    expect(rules.communicate(incident.state, incident.policy, 'alice', 'external')?.type).toBe(
      RefusalType.notPermitted,
    );
    expect(rules.communicate(incident.state, incident.policy, 'dave', 'external')).toBeUndefined();
    expect(rules.communicate(incident.state, incident.policy, 'alice', 'internal')).toBeUndefined();
    const silent = plainIncident({
      config: (c) => {
        const team = c.teams[0];
        if (team) team.stakeholders = { internal: [], external: { email: [], approvers: [] } };
      },
    });
    expect(rules.communicate(silent.state, silent.policy, 'dave', 'external')?.message).toMatch(
      /no external audience/,
    );
  });

  it('refuses follow-ups before resolution and a waiver by anyone but a manager', () => {
    const incident = plainIncident();
    expect(rules.submitReport(incident.state, incident.policy, 'dave')?.message).toMatch(/not resolved yet/);
    take(incident, 'resolve', { actor: 'alice', summary: 'restarted' });
    expect(rules.submitReport(incident.state, incident.policy, 'dave')).toBeUndefined();
    expect(rules.waiveFollowUp(incident.state, incident.policy, 'alice', 'report')?.type).toBe(
      RefusalType.notPermitted,
    );
    expect(rules.waiveFollowUp(incident.state, incident.policy, 'dave', 'nope')?.message).toMatch(
      /no follow-up "nope"; open ones: report, lessons, training/,
    );
  });

  it('knows no responder by a name from Object.prototype', () => {
    const { policy } = plainIncident();
    expect(checkActor(policy, 'constructor')?.type).toBe(RefusalType.unknownActor);
    expect(checkActor(policy, 'alice')).toBeUndefined();
  });

  it('turns a refusal into a non-retryable failure of its type, and nothing into nothing', () => {
    expect(() => throwIfRefused(undefined)).not.toThrow();
    try {
      throwIfRefused({ type: RefusalType.notPermitted, message: 'no' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: 'NotPermitted', message: 'no', nonRetryable: true });
    }
  });
});
