/**
 * Diagnostics in the record (issue #13): what each collection found, in a few lines per
 * chart, and which source did not answer. The charts and series themselves stay in the
 * incident store (activities/diagnostics-activity.ts); the record keeps a bounded summary
 * that the handover package and Level 3's update are written from.
 *
 * Pure: no workflow API, so the steps and the package can use it and unit tests run it.
 */
import type { DiagnosticsOutcome } from '../../activities/diagnostics-activity';
import { SYSTEM, type ReadyIncident } from './incident-context';
import { truncateBytes } from './limits';
import type { IncidentPolicy, Notification } from './model';
import { notice, people } from './notices';
import { namedResponders } from './page-targets';
import type { DiagnosticsOccasion, DiagnosticsRecord, IncidentState } from './state';

/** The one patch id every diagnostics command is guarded with. */
export const DIAGNOSTICS_PATCH = 'diagnostics-collected';

/** Collections the record keeps (the newest); the store keeps every one. */
export const KEPT_DIAGNOSTICS = 4;
/** Charts and failures each collection keeps in the record; the rest are counted. */
export const CHARTS_PER_COLLECTION = 5;
export const FAILURES_PER_COLLECTION = 5;
/** One chart's or failure's line, and a chart's path, in bytes. */
export const DIAGNOSTICS_TEXT_BYTES = 300;
export const CHART_PATH_BYTES = 400;
/** Charts an email attaches at most. */
export const ATTACHED_CHARTS = 10;
/** Alerts handed to a collection (firing first): it queries at most 50 distinct ones anyway. */
export const ALERTS_PER_COLLECTION = 50;

const OCCASION_WORDS: Record<DiagnosticsOccasion, string> = {
  opened: 'when the incident opened',
  escalated: 'at escalation',
};

/** The alerts a collection looks into: firing first, a bounded number. */
export function alertsToDiagnose(state: IncidentState): IncidentState['alerts'] {
  return [
    ...state.alerts.filter((a) => a.status !== 'resolved'),
    ...state.alerts.filter((a) => a.status === 'resolved'),
  ].slice(0, ALERTS_PER_COLLECTION);
}

/** The activity's summary as the record keeps it: a few short lines. */
export function diagnosticsRecord(
  occasion: DiagnosticsOccasion,
  outcome: DiagnosticsOutcome,
): DiagnosticsRecord {
  const charts = outcome.metrics.slice(0, CHARTS_PER_COLLECTION).map((m) => ({
    chart: truncateBytes(m.chartPath, CHART_PATH_BYTES),
    ...(m.alertname !== undefined ? { alertname: truncateBytes(m.alertname, 100) } : {}),
    text: truncateBytes(m.text, DIAGNOSTICS_TEXT_BYTES),
  }));
  const failures = outcome.failures.slice(0, FAILURES_PER_COLLECTION).map((f) => ({
    source: f.source,
    server: truncateBytes(f.server, 200),
    text: truncateBytes(f.text, DIAGNOSTICS_TEXT_BYTES),
  }));
  const chartsOmitted = outcome.metrics.length + outcome.metricsOmitted - charts.length;
  const failuresOmitted = outcome.failures.length + outcome.failuresOmitted - failures.length;
  return {
    occasion,
    collectedAt: outcome.collectedAt,
    charts,
    failures,
    ...(chartsOmitted > 0 ? { chartsOmitted } : {}),
    ...(failuresOmitted > 0 ? { failuresOmitted } : {}),
  };
}

/** One line per chart and per failure, for the package, the Level 3 update and the record. */
export function diagnosticsLines(record: DiagnosticsRecord): string[] {
  const when = `${OCCASION_WORDS[record.occasion]}, ${record.collectedAt}`;
  return [
    ...record.charts.map((c) => `- ${c.alertname ?? 'Alert'} (${when}): ${c.text}; chart: ${c.chart}`),
    ...(record.chartsOmitted ? [`- ${record.chartsOmitted} more chart(s) in the incident folder`] : []),
    ...record.failures.map((f) => `- ${f.text} (${when})`),
    ...(record.failuresOmitted ? [`- ${record.failuresOmitted} more source(s) did not answer`] : []),
  ];
}

/** The package's Diagnostics section: the newest collections first. */
export function diagnosticsSection(state: IncidentState): string[] {
  const records = state.diagnostics ?? [];
  if (records.length === 0) {
    return ['(none yet: Level 3 is sent the figures as soon as they are collected)'];
  }
  return [...records].reverse().flatMap(diagnosticsLines);
}

/** Who hears of fresh figures after an escalation: Level 3 as paged so far, or the managers. */
export function level3PagedSoFar(state: IncidentState, policy: IncidentPolicy): string[] {
  const step = state.handover?.level3Step ?? 0;
  // Schedules are named as `schedule:<id>`: whom they reached is on the record.
  const paged = [
    ...namedResponders(policy.level3.slice(0, step + 1).flatMap((s) => s.notify)),
    ...(state.handover?.paged ?? []),
  ];
  const managers = paged.length === 0 || state.handover?.exhausted ? policy.managers : [];
  return [...new Set([...paged, ...managers])];
}

/** The charts of these collections as email attachments, named by occasion and file. */
export function chartAttachments(records: readonly DiagnosticsRecord[]): Notification['attachments'] {
  return records
    .flatMap((r) =>
      r.charts.map((c) => ({
        filename: `${r.occasion}-${c.chart.split('/').pop() ?? 'chart.svg'}`,
        path: c.chart,
      })),
    )
    .slice(0, ATTACHED_CHARTS);
}

/** A notice with the charts of the newest collections attached, when there are any. */
export function withCharts(notification: Notification, records: readonly DiagnosticsRecord[]): Notification {
  const attachments = chartAttachments([...records].reverse());
  return attachments && attachments.length > 0 ? { ...notification, attachments } : notification;
}

/** Diagnostics collected at escalation came in after the package: Level 3 gets the figures. */
export function diagnosticsUpdate(
  state: IncidentState,
  policy: IncidentPolicy,
  record: DiagnosticsRecord,
  targets: string[],
): Notification {
  const lines = diagnosticsLines(record);
  const update = notice(
    state,
    'update',
    'Diagnostics for the handover',
    ['Diagnostics collected at escalation, after the handover package went out:', ...lines].join('\n'),
    { responders: people(policy, targets), slackChannels: [policy.team.level3Channel], emails: [] },
  );
  return withCharts(update, [record]);
}

/**
 * Keeps a collection's result in the record: one event for what was collected and one per
 * source that did not answer. Fresh figures after an escalation go to Level 3 as well,
 * since the package they were sent went out before them.
 */
export function recordDiagnostics(
  incident: ReadyIncident,
  occasion: DiagnosticsOccasion,
  outcome: DiagnosticsOutcome,
): void {
  const { state, policy } = incident;
  const record = diagnosticsRecord(occasion, outcome);
  state.diagnostics = [...(state.diagnostics ?? []), record].slice(-KEPT_DIAGNOSTICS);
  const found = record.charts.length + (record.chartsOmitted ?? 0);
  const logs = outcome.logs.length;
  if (found > 0 || logs > 0) {
    const summary = `diagnostics ${OCCASION_WORDS[occasion]}: ${[
      ...record.charts.map((c) => `${c.alertname ?? 'alert'} ${c.text}`),
      ...(logs > 0 ? [`${logs} log excerpt(s)`] : []),
    ].join('; ')}`;
    const details = { occasion, charts: found, logs, failures: outcome.failures.length };
    if (occasion === 'escalated' && state.handover && record.charts.length > 0) {
      incident.tell(
        diagnosticsUpdate(state, policy, record, level3PagedSoFar(state, policy)),
        'diagnostics-collected',
        SYSTEM,
        summary,
        details,
      );
    } else {
      incident.log('diagnostics-collected', SYSTEM, summary, details);
    }
  }
  for (const failure of record.failures) {
    incident.log('diagnostics-failed', SYSTEM, failure.text, {
      occasion,
      source: failure.source,
      server: failure.server,
    });
  }
}
