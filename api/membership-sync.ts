/**
 * When Baton starts with a configuration that changed a team's people, the team's open
 * incidents are told (membershipChanged), so that the workflow's own rules follow the
 * configuration in force: nobody removed from a team keeps acting on its incidents through
 * any channel, and someone added can act at once. The API checks the configuration in force
 * before every step anyway (incidents.ts); this keeps the workflow, its record and anyone
 * acting on it directly (the Temporal CLI) in step with it.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { teamMembershipFor } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { membershipChangedSignal, membershipQuery } from '../workflows/incident/messages';
import { sameMembership } from '../workflows/incident/membership';
import { incidentTeamKey } from '../workflows/incident/search-attributes';

export interface MembershipSyncLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface MembershipSyncOutcome {
  /** Open incidents asked who their team is. */
  checked: number;
  /** Those told of a change. */
  changed: string[];
  /** Those that could not be asked or told (they are retried at the next start). */
  failed: string[];
}

/** Incidents asked at once: enough to be quick, few enough not to crowd Temporal. */
const AT_ONCE = 8;

/** Tells every open incident on Baton's task queue whose team changed; one pass. */
export async function syncTeamMembership(
  client: Client,
  config: BatonConfig,
  log: MembershipSyncLog,
): Promise<MembershipSyncOutcome> {
  const outcome: MembershipSyncOutcome = { checked: 0, changed: [], failed: [] };
  const queue = config.temporal.taskQueue.replace(/'/g, "\\'");
  const open: { id: string; team: string }[] = [];
  for await (const info of client.workflow.list({
    query: `WorkflowType = 'incidentWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${queue}'`,
  })) {
    const team = info.searchAttributes[incidentTeamKey.name]?.[0];
    if (typeof team === 'string') open.push({ id: info.workflowId, team });
  }
  const unknownTeams = new Set<string>();
  const work = open.map(({ id, team }) => async () => {
    const configured = config.teams.find((t) => t.id === team);
    if (!configured) {
      unknownTeams.add(team);
      return;
    }
    const expected = teamMembershipFor(config, configured);
    try {
      const handle = client.workflow.getHandle(id);
      const current = await handle.query(membershipQuery);
      outcome.checked += 1;
      // An incident that predates teams (or has no policy yet) keeps its rules.
      if (!current || sameMembership(current, expected)) return;
      await handle.signal(membershipChangedSignal, expected);
      outcome.changed.push(id);
    } catch (err) {
      outcome.failed.push(id);
      log.warn({ incident: id, err }, 'could not bring the incident up to date with its team');
    }
  });
  for (let i = 0; i < work.length; i += AT_ONCE) {
    await Promise.all(work.slice(i, i + AT_ONCE).map((run) => run()));
  }
  for (const team of unknownTeams) {
    // The API refuses everyone but the managers of every team on these (the team is not
    // configured); the incidents keep the people they had for their notices.
    log.warn({ team }, `open incidents of team ${team}, which the configuration no longer has`);
  }
  if (outcome.changed.length > 0) {
    log.info(
      { incidents: outcome.changed },
      `${outcome.changed.length} open incident(s) told of their team's new membership`,
    );
  }
  return outcome;
}

/**
 * Runs the pass once the API listens, in the background; while Temporal cannot be reached it
 * tries again (5 s, doubling to 5 min) until one pass went through or the API stops.
 */
export function syncTeamMembershipOnListen(app: FastifyInstance, client: Client, config: BatonConfig): void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = (delayMs: number): void => {
    syncTeamMembership(client, config, app.log).then(
      (outcome) => {
        if (outcome.failed.length > 0 && !stopped) {
          timer = setTimeout(() => attempt(Math.min(delayMs * 2, 300_000)), delayMs).unref();
        }
      },
      (err: unknown) => {
        app.log.warn(
          { err, retryInMs: delayMs },
          'open incidents not yet compared with the teams: Temporal did not answer',
        );
        if (!stopped) timer = setTimeout(() => attempt(Math.min(delayMs * 2, 300_000)), delayMs).unref();
      },
    );
  };
  app.addHook('onListen', async () => attempt(5_000));
  app.addHook('onClose', async () => {
    stopped = true;
    clearTimeout(timer);
  });
}
