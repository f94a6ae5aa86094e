/**
 * The handover package: everything Level 2 collected, in one document Level 3 can read
 * without asking. Built from the record itself, so nothing documented can be left out.
 */
import { diagnosticsSection } from './diagnostics';
import type { IncidentState } from './state';

export function buildHandoverPackage(state: IncidentState): string {
  const section = (title: string, lines: string[]): string[] =>
    lines.length > 0 ? [``, `## ${title}`, ...lines] : [``, `## ${title}`, `(none)`];
  const latest = state.assessments[state.assessments.length - 1];
  return [
    `# Handover: ${state.title}`,
    `Incident ${state.id} · ${state.severity} · service ${state.service} · team ${state.team}`,
    `Opened ${state.openedAt}; acknowledged by ${state.acknowledgedBy ?? '?'} at ${state.acknowledgedAt ?? '?'}`,
    `Escalated by ${state.handover?.requestedBy ?? '?'}: ${state.handover?.reason ?? ''}`,
    ...section(
      'Assessment',
      latest
        ? [
            `Severity ${latest.severity}, urgency ${latest.urgency} (by ${latest.by} at ${latest.at})`,
            `Impact: ${latest.impact}`,
            `Observations: ${latest.observations}`,
          ]
        : [],
    ),
    ...section(
      'Alerts',
      state.alerts.map(
        (a) =>
          `- ${a.labels.alertname ?? a.fingerprint} [${a.status}] since ${a.startsAt} ${Object.entries(
            a.labels,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}${a.annotations.summary ? ` — ${a.annotations.summary}` : ''}`,
      ),
    ),
    ...section(
      'Actions taken and results',
      state.actions.map((a) => `- ${a.at} ${a.by} ${a.kind}: ${a.description} → ${a.result}`),
    ),
    ...section(
      'Notes',
      state.notes.map((n) => `- ${n.at} ${n.by} (${n.source}): ${n.text}`),
    ),
    ...section('Logs, metrics and links', [
      ...(state.links.temporalUi ? [`- Incident history: ${state.links.temporalUi}`] : []),
      ...state.runbooks.map((r) => `- Runbook ${r.alertname}: ${r.url}`),
      ...state.alerts.flatMap((a) =>
        a.generatorURL ? [`- Metrics for ${a.labels.alertname ?? a.fingerprint}: ${a.generatorURL}`] : [],
      ),
    ]),
    // Incidents that collect diagnostics (state.diagnostics is there) show what was found.
    ...(state.diagnostics ? [``, `## Diagnostics`, ...diagnosticsSection(state)] : []),
    ...section(
      'Timeline',
      state.timeline.map((e) => `- ${e.at} ${e.actor} ${e.kind}: ${e.summary}`),
    ),
  ].join('\n');
}
