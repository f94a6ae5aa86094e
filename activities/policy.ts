import { ApplicationFailure } from '@temporalio/activity';
import { policyFor, routeFor } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import type { IncidentPolicy, Severity } from '../workflows/model';

/**
 * For incidents started without a policy (from the Temporal CLI): the configuration's
 * rules, taken once when the incident starts and kept in its history from then on.
 */
export function createPolicyActivities(config: BatonConfig) {
  return {
    async resolveIncidentPolicy(input: {
      labels: Record<string, string>;
      team?: string;
    }): Promise<{ policy: IncidentPolicy; severity: Severity }> {
      const route = routeFor(config, input.labels);
      if (input.team) {
        const team = config.teams.find((t) => t.id === input.team);
        if (!team) {
          throw ApplicationFailure.create({
            type: 'UnknownTeam',
            message: `unknown team "${input.team}"; configured teams: ${config.teams.map((t) => t.id).join(', ')}`,
            nonRetryable: true,
          });
        }
        return { policy: policyFor(config, team), severity: route.severity };
      }
      return { policy: policyFor(config, route.team), severity: route.severity };
    },
  };
}
