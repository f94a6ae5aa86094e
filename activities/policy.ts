import { ApplicationFailure } from '@temporalio/activity';
import { policyFor, routeFor } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import type { RoutedPolicy, Routing } from '../workflows/incident/opening';

/**
 * The configuration's rules for an incident: its team's policy (the team it names, or where
 * its labels route) and its route's severity. A team the configuration does not have is a
 * non-retryable UnknownTeam failure.
 */
export function configuredPolicy(config: BatonConfig, routing: Routing): RoutedPolicy {
  const route = routeFor(config, routing.labels);
  if (routing.team) {
    const team = config.teams.find((t) => t.id === routing.team);
    if (!team) {
      throw ApplicationFailure.create({
        type: 'UnknownTeam',
        message: `unknown team "${routing.team}"; configured teams: ${config.teams.map((t) => t.id).join(', ')}`,
        nonRetryable: true,
      });
    }
    return { policy: policyFor(config, team), severity: route.severity };
  }
  return { policy: policyFor(config, route.team), severity: route.severity };
}

/**
 * For incidents that started before the first page went out with the policy (and as the
 * fallback when that activity gave up): the configuration's rules, taken once when the
 * incident starts and kept in its history from then on.
 */
export function createPolicyActivities(config: BatonConfig) {
  return {
    async resolveIncidentPolicy(input: Routing): Promise<RoutedPolicy> {
      return configuredPolicy(config, input);
    },
  };
}
