import type {
  IncidentPolicy,
  ResponderSnapshot,
  Severity,
  TeamMembership,
} from '../workflows/incident/model';
import type { BatonConfig, TeamConfig } from './schema';

export interface Route {
  team: TeamConfig;
  severity: Severity;
}

/** The first route whose labels all match wins; the configuration guarantees a default. */
export function routeFor(config: BatonConfig, labels: Record<string, string>): Route {
  for (const route of config.routes) {
    const matches =
      'default' in route || Object.entries(route.match).every(([name, value]) => labels[name] === value);
    if (matches) return { team: teamById(config, route.team), severity: route.severity };
  }
  // Unreachable with a validated configuration, which must end with a default route.
  throw new Error('no route matched and the configuration has no default route');
}

export function teamById(config: BatonConfig, teamId: string): TeamConfig {
  const team = config.teams.find((t) => t.id === teamId);
  if (!team) throw new Error(`unknown team "${teamId}"`);
  return team;
}

/**
 * The managers an incident reaches when nobody answers: those the team's own policy names
 * (in its paging steps, Level 3 steps, approvers or members), else every manager. Being told
 * of overdue follow-ups (followUps.overdueNotify, for every team) makes nobody a team's
 * manager: `allTeams` is the one way to oversee every team.
 */
export function teamManagers(config: BatonConfig, team: TeamConfig): string[] {
  const all = config.responders.filter((r) => r.level === 'manager').map((r) => r.id);
  const named = new Set([
    ...team.escalation.steps.flatMap((s) => s.notify),
    ...team.level3.flatMap((s) => s.notify),
    ...team.stakeholders.external.approvers,
    ...team.members,
  ]);
  const own = all.filter((id) => named.has(id));
  return own.length > 0 ? own : all;
}

/** Everyone in a rotation of the team's schedules: they are on call for it, so they are on it. */
function scheduleMembers(config: BatonConfig, team: TeamConfig): string[] {
  return config.schedules
    .filter((s) => s.team === team.id)
    .flatMap((s) => s.layers.flatMap((l) => l.members));
}

/**
 * Who belongs to a team: everyone its paging, Level 3 and approver lists and its schedules name, its managers,
 * its explicit `members`, and the managers who oversee every team (`allTeams`).
 */
export function teamMembers(config: BatonConfig, team: TeamConfig): string[] {
  const named = new Set([
    ...scheduleMembers(config, team),
    ...team.escalation.steps.flatMap((s) => s.notify),
    ...team.level3.flatMap((s) => s.notify),
    ...team.stakeholders.external.approvers,
    ...teamManagers(config, team),
    ...team.members,
    ...config.responders.filter((r) => r.allTeams).map((r) => r.id),
  ]);
  // In the configuration's order, so that a policy is the same however it was built.
  return config.responders.map((r) => r.id).filter((id) => named.has(id));
}

/**
 * Who is trained after the team's incidents: its members and its own managers, without the
 * managers who oversee every team and are named nowhere in it.
 */
function traineesOf(config: BatonConfig, team: TeamConfig): string[] {
  const overseers = new Set(config.responders.filter((r) => r.allTeams).map((r) => r.id));
  const own = new Set([
    ...scheduleMembers(config, team),
    ...team.escalation.steps.flatMap((s) => s.notify),
    ...team.level3.flatMap((s) => s.notify),
    ...team.stakeholders.external.approvers,
    ...team.members,
  ]);
  return teamMembers(config, team).filter((id) => !overseers.has(id) || own.has(id));
}

/** Who is on the team now and who they are: what an open incident learns when it changes. */
export function teamMembershipFor(config: BatonConfig, team: TeamConfig): TeamMembership {
  const members = teamMembers(config, team);
  const managers = teamManagers(config, team);
  const responders: TeamMembership['responders'] = {};
  for (const r of config.responders) {
    if (members.includes(r.id) || managers.includes(r.id)) responders[r.id] = snapshotOf(r);
  }
  return { team: team.id, members, managers, responders };
}

export function snapshotOf(r: BatonConfig['responders'][number]): ResponderSnapshot {
  return {
    id: r.id,
    name: r.name,
    level: r.level,
    ...(r.email ? { email: r.email } : {}),
    ...(r.slackUserId ? { slackUserId: r.slackUserId } : {}),
  };
}

/** The teams whose incidents a responder sees and acts on. */
export function teamsOf(config: BatonConfig, responder: string): string[] {
  return config.teams.filter((t) => teamMembers(config, t).includes(responder)).map((t) => t.id);
}

/** The snapshot of rules an incident carries for its whole life. */
export function policyFor(config: BatonConfig, team: TeamConfig): IncidentPolicy {
  const responders: Record<string, ResponderSnapshot> = {};
  for (const r of config.responders) responders[r.id] = snapshotOf(r);
  const severity = (s: BatonConfig['severities']['SEV1']) => ({
    assessWithinMs: s.assessWithin,
    stakeholderUpdateEveryMs: s.stakeholderUpdateEvery,
    nudgeEscalationAfterMs: s.nudgeEscalationAfter,
  });
  return {
    team: {
      id: team.id,
      name: team.name ?? team.id,
      channel: team.slack.channel,
      level3Channel: team.slack.level3Channel,
    },
    escalation: {
      steps: team.escalation.steps.map((s) => ({ notify: s.notify, ackTimeoutMs: s.ackTimeout })),
      repeat: team.escalation.repeat,
    },
    level3: team.level3.map((s) => ({ notify: s.notify, acceptTimeoutMs: s.acceptTimeout })),
    managers: teamManagers(config, team),
    members: teamMembers(config, team),
    responders,
    severities: {
      SEV1: severity(config.severities.SEV1),
      SEV2: severity(config.severities.SEV2),
      SEV3: severity(config.severities.SEV3),
      SEV4: severity(config.severities.SEV4),
    },
    followUps: {
      reportDueMs: config.followUps.reportDue,
      lessonsDueMs: config.followUps.lessonsDue,
      trainingDueMs: config.followUps.trainingDue,
      remindBeforeMs: config.followUps.remindBefore,
      overdueNotify: config.followUps.overdueNotify,
      bySeverity: config.followUps.bySeverity,
      improvementDueMs: config.followUps.improvementDue,
      trainees: traineesOf(config, team),
    },
    autoResolve: config.autoResolveWhenAlertsClear,
    stakeholders: {
      internal: team.stakeholders.internal,
      external: team.stakeholders.external,
    },
    runbooks: config.runbooks,
  };
}
