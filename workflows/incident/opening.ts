/**
 * How a new incident opens: its policy taken from Baton's configuration, its first alerts
 * taken in, and its first page. Pure code, no workflow API: the workflow runs it, and so
 * does the activity that sends the first page (activities/first-page.ts), which drafts the
 * page exactly as the workflow then records it.
 */
import { takeInitialAlerts } from './alerts';
import { Incident, type ReadyIncident } from './incident-context';
import type { IncidentPolicy, Notification, Severity } from './model';
import type { ResolvedTargets } from './page-targets';
import { pageStep } from './paging';
import type { IncidentInput } from './state';

/** What routes an incident to its team: its labels and service, or the team it names. */
export interface Routing {
  labels: Record<string, string>;
  team?: string;
}

/** A team's policy as the configuration has it, and the severity its route gives. */
export interface RoutedPolicy {
  policy: IncidentPolicy;
  severity: Severity;
}

/** The run a new incident starts in (its id and start time make its record). */
export interface OpeningRun {
  workflowId: string;
  startTime: string;
}

export function routingOf(input: IncidentInput): Routing {
  // A starter that passed a policy named its team there.
  const team = input.team ?? (input.policy as { team?: { id?: unknown } } | undefined)?.team?.id;
  return {
    labels: { ...(input.labels ?? {}), service: input.service },
    ...(typeof team === 'string' ? { team } : {}),
  };
}

export function adoptPolicy(incident: Incident, input: IncidentInput, routed: RoutedPolicy): ReadyIncident {
  incident.policy = routed.policy;
  incident.state.team = routed.policy.team.id;
  if (!input.severity) incident.state.severity = routed.severity;
  return incident as ReadyIncident;
}

/**
 * The first page of a new incident, as the workflow will record it: the incident opened
 * from its input under the configured policy, its alerts and runbooks taken in, the first
 * escalation step paged under the id the workflow reserved. Undefined when the policy has
 * no step to page.
 */
export function draftFirstPage(args: {
  input: IncidentInput;
  run: OpeningRun;
  routed: RoutedPolicy;
  pageId: string;
  slackLive: boolean;
  /** Whom the step's schedules put on the page, when it names any. */
  resolved?: ResolvedTargets;
}): Notification | undefined {
  const { input, run, routed, pageId, slackLive, resolved } = args;
  const step = routed.policy.escalation.steps[0];
  if (!step) return undefined;
  const draft = Incident.fromInput(
    { ...input, policy: undefined },
    { workflowId: run.workflowId, startTime: new Date(run.startTime) },
    () => pageId,
  );
  draft.slackLive = slackLive;
  const ready = adoptPolicy(draft, input, routed);
  takeInitialAlerts(ready);
  pageStep(ready, step.notify, 0, 0, undefined, resolved);
  return ready.outbox[0];
}
