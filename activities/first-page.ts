/**
 * The first thing a new incident does: one activity takes the team's policy from Baton's
 * configuration and pages the first escalation step with it. The page no longer waits for a
 * workflow task between the policy and the send; the workflow records the page afterwards,
 * from the notification this activity drafted and sent.
 */
import type { BatonConfig } from '../config/schema';
import type { DeliveryReport, Notification } from '../workflows/incident/model';
import { policyDifference } from '../workflows/incident/input';
import { draftFirstPage, routingOf, type OpeningRun, type RoutedPolicy } from '../workflows/incident/opening';
import type { IncidentInput } from '../workflows/incident/state';
import { namesSchedule, type ResolvedTargets } from '../workflows/incident/page-targets';
import type { createPageTargetActivities } from './page-targets';
import { configuredPolicy } from './policy';

export interface FirstPageRequest {
  /** The incident's input as the workflow checked it (without carried state). */
  input: IncidentInput;
  run: OpeningRun;
  /** The notification id the workflow reserved for the page. */
  pageId: string;
  slackLive: boolean;
}

export interface FirstPageOutcome extends RoutedPolicy {
  /** The page as sent and what each target answered; absent when nothing was sent. */
  sent?: { notification: Notification; report: DeliveryReport };
  /** Whom the first step's schedules put on the page; absent when the step names none. */
  resolved?: ResolvedTargets;
}

export function createFirstPageActivities(
  config: BatonConfig,
  notify: (notification: Notification) => Promise<DeliveryReport>,
  pageTargets: ReturnType<typeof createPageTargetActivities>,
) {
  return {
    /**
     * Pages the first escalation step of a new incident under the configured policy. A
     * starter's policy that departs from the configuration sends nothing: the workflow
     * refuses that start. Retried like notify; a retry sends only to the targets the
     * delivery ledger has no answer for.
     */
    async pageFirst(request: FirstPageRequest): Promise<FirstPageOutcome> {
      const routed = configuredPolicy(config, routingOf(request.input));
      const given = request.input.policy as unknown;
      if (given !== undefined && policyDifference(given, routed.policy) !== undefined) return routed;
      const targets = routed.policy.escalation.steps[0]?.notify ?? [];
      // Who is on call when the incident started: a retry of this activity pages the same people.
      const resolved = namesSchedule(targets)
        ? await pageTargets.resolvePageTargets({
            team: routed.policy.team.id,
            targets,
            at: Date.parse(request.run.startTime),
          })
        : undefined;
      const opened = { ...routed, ...(resolved ? { resolved } : {}) };
      const notification = draftFirstPage({ ...request, routed, ...(resolved ? { resolved } : {}) });
      if (!notification) return opened;
      return { ...opened, sent: { notification, report: await notify(notification) } };
    },
  };
}
