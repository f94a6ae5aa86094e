/**
 * The permission table (test/support/permissions.ts, the README's) through the workflow's
 * own rules: every step, as every kind of actor, on a plain incident of team payments.
 */
import { describe, expect, it } from 'vitest';
import { RefusalType } from '../../workflows/incident/messages';
import type { Refusal } from '../../workflows/incident/rules';
import { ACTORS, cellName, PERMISSIONS, SETUPS, withTwoTeams, type ActorKind } from '../support/permissions';
import { plainIncident, take } from './plain-incident';

function answerOf(refusal: Refusal | undefined): number {
  if (!refusal) return 200;
  if (refusal.type === RefusalType.notMember) return 404;
  if (refusal.type === RefusalType.notPermitted || refusal.type === RefusalType.unknownActor) return 403;
  if (refusal.type === RefusalType.invalidMove) return 409;
  return Number.NaN;
}

describe('the permission table, through the workflow', () => {
  const cells = PERMISSIONS.flatMap((c) => (Object.keys(ACTORS) as ActorKind[]).map((kind) => ({ c, kind })));
  it.each(cells.map((cell) => [cellName(cell.c, cell.kind), cell] as const))('%s', (_name, { c, kind }) => {
    const incident = plainIncident({ config: withTwoTeams });
    for (const setup of SETUPS[c.setup]) {
      expect(take(incident, setup.step, { actor: setup.actor, ...setup.input }), setup.step).toBeUndefined();
    }
    const itemId = incident.state.followUps.find((f) => f.kind === 'action-item')?.id;
    // The API takes these from the path.
    const input =
      c.step === 'completeActionItem'
        ? { ...c.input, itemId }
        : /^(approve|reject)CustomerMessage$/.test(c.step)
          ? { ...c.input, draftId: 'customer-1' }
          : c.input;
    const refusal = take(incident, c.step, { actor: ACTORS[kind], ...input });
    expect(answerOf(refusal), refusal?.message).toBe(c.expected[kind]);
  });

  it('tells a stranger to the team nothing about the incident, and ignores their notes', () => {
    const incident = plainIncident({ config: withTwoTeams });
    const refusal = take(incident, 'acknowledge', { actor: 'frank' });
    expect(refusal).toEqual({ type: RefusalType.notMember, message: 'frank is not on team payments' });
    expect(incident.state.phase).toBe('triggered');
  });

  it('keeps the old rules for an incident whose policy predates teams', () => {
    const incident = plainIncident({ config: withTwoTeams });
    delete incident.policy.members;
    take(incident, 'acknowledge', { actor: 'frank' });
    expect(incident.state.acknowledgedBy).toBe('frank');
    take(incident, 'resolve', { actor: 'frank', summary: 'restarted' });
    expect(
      take(incident, 'submitReport', {
        actor: 'alice',
        ...PERMISSIONS.find((c) => c.step === 'submitReport')?.input,
      }),
    ).toBeUndefined();
  });
});
