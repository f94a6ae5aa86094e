/**
 * The incident's metrics, through the SDK's workflow meter: it reaches the worker's Prometheus
 * exporter (worker/metrics.ts gives the durations buckets of minutes to weeks) and emits
 * nothing while a workflow replays, so an incident evicted from the cache, replayed on
 * another worker or continued as new is never counted twice. Labelled by team and severity,
 * as they stand when the event happens.
 */
import { metricMeter } from '@temporalio/workflow';
import type { Incident, IncidentMeter } from './incident-context';

export const INCIDENT_METRICS = {
  opened: 'baton_incidents_opened_total',
  timeToAcknowledge: 'baton_time_to_acknowledge_seconds',
  timeToEscalate: 'baton_time_to_escalate_seconds',
  timeToResolve: 'baton_time_to_resolve_seconds',
  followUpsOpened: 'baton_follow_ups_opened_total',
  followUpsClosed: 'baton_follow_ups_closed_total',
  followUpsOverdue: 'baton_follow_ups_overdue_total',
} as const;

export function incidentMeter(incident: Incident): IncidentMeter {
  const labels = (): Record<string, string> => ({
    team: incident.state.team,
    severity: incident.state.severity,
  });
  const counter = (name: string, description: string) =>
    metricMeter.createCounter(name, undefined, description);
  const seconds = (name: string, description: string) =>
    metricMeter.createHistogram(name, 'float', 's', description);
  return {
    opened: () => counter(INCIDENT_METRICS.opened, 'Incidents opened').add(1, labels()),
    acknowledged: (s) =>
      seconds(INCIDENT_METRICS.timeToAcknowledge, 'From the alert to the acknowledgement').record(
        s,
        labels(),
      ),
    escalated: (s) =>
      seconds(INCIDENT_METRICS.timeToEscalate, 'From the alert to the escalation to Level 3').record(
        s,
        labels(),
      ),
    resolved: (s, automatic) =>
      seconds(INCIDENT_METRICS.timeToResolve, 'From the alert to the resolution').record(s, {
        ...labels(),
        automatic: String(automatic),
      }),
    followUpsOpened: (count) =>
      counter(
        INCIDENT_METRICS.followUpsOpened,
        'Follow-ups scheduled (report, lessons, training, action items)',
      ).add(count, labels()),
    followUpClosed: (outcome) =>
      counter(INCIDENT_METRICS.followUpsClosed, 'Follow-ups done or waived').add(1, { ...labels(), outcome }),
    followUpOverdue: () =>
      counter(INCIDENT_METRICS.followUpsOverdue, 'Follow-ups that went past their due date').add(1, labels()),
  };
}
