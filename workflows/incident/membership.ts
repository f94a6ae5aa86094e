/**
 * Who may act on an incident follows the configuration in force, not the one it started
 * with: when Baton starts with a team whose people changed, it tells the team's open
 * incidents (membershipChanged), and from then on their rules (rules.ts) count the new team.
 * The rest of the policy (who is paged, in which order) stays as it started.
 */
import { SYSTEM, type ReadyIncident } from './incident-context';
import type { IncidentPolicy, TeamMembership } from './model';

/** The team the incident counts now; undefined for an incident that predates teams. */
export function membershipOf(policy: IncidentPolicy): TeamMembership | undefined {
  if (!policy.members) return undefined;
  const responders: TeamMembership['responders'] = {};
  for (const id of [...policy.members, ...policy.managers]) {
    const known = Object.hasOwn(policy.responders, id) ? policy.responders[id] : undefined;
    if (known) responders[id] = known;
  }
  return { team: policy.team.id, members: policy.members, managers: policy.managers, responders };
}

/** Whether two memberships grant the same: the same people, in the same roles and levels. */
export function sameMembership(a: TeamMembership, b: TeamMembership): boolean {
  return canonical(a) === canonical(b);
}

function canonical(m: TeamMembership): string {
  const ids = [...new Set([...m.members, ...m.managers])].sort();
  return JSON.stringify({
    team: m.team,
    members: [...m.members].sort(),
    managers: [...m.managers].sort(),
    responders: ids.map((id) => {
      const r = m.responders[id];
      return r ? [r.id, r.name, r.level, r.email ?? '', r.slackUserId ?? ''] : [id];
    }),
  });
}

/**
 * Takes the team as the configuration now says it is, and puts who joined, left or changed
 * level on the timeline. Returns why it was not taken, if it was not (nothing changes then).
 */
export function changeMembership(incident: ReadyIncident, next: TeamMembership): string | undefined {
  const { policy } = incident;
  const current = membershipOf(policy);
  if (!current) return 'membership change ignored: this incident predates teams and keeps its rules';
  if (next.team !== policy.team.id) {
    return `membership change for team ${next.team} ignored: the incident belongs to team ${policy.team.id}`;
  }
  if (sameMembership(current, next)) return undefined;

  const before = new Set([...current.members, ...current.managers]);
  const after = new Set([...next.members, ...next.managers]);
  const joined = [...after].filter((id) => !before.has(id));
  const left = [...before].filter((id) => !after.has(id));
  const levels = [...after]
    .filter((id) => before.has(id) && current.responders[id]?.level !== next.responders[id]?.level)
    .map((id) => ({ id, from: current.responders[id]?.level, to: next.responders[id]?.level }));

  policy.members = [...next.members];
  policy.managers = [...next.managers];
  // Who is who for everyone named; people who left stay known by name for the record.
  for (const [id, responder] of Object.entries(next.responders)) policy.responders[id] = { ...responder };

  const said = [
    left.length > 0 ? `${left.join(', ')} left` : '',
    joined.length > 0 ? `${joined.join(', ')} joined` : '',
    ...levels.map((l) => `${l.id} is now ${l.to ?? '?'} (was ${l.from ?? '?'})`),
  ].filter(Boolean);
  incident.log(
    'membership-changed',
    SYSTEM,
    `team ${policy.team.id} changed in the configuration: ${said.join('; ') || 'roles changed'}`,
    { joined, left, levels, members: policy.members, managers: policy.managers },
  );
  return undefined;
}
