/**
 * The diagnostics activity (issue #13): queries the sources behind an incident's alerts,
 * keeps the charts, series and log lines in the incident's folder, and answers the workflow
 * a summary small enough for its history. A source that is down is a failure in the answer,
 * never a thrown error; only the incident store itself failing makes the activity fail.
 */
import path from 'node:path';
import type { DiagnosticsConfig, DiagnosticsCredentials } from '../config/diagnostics';
import type { Alert } from '../workflows/incident/model';
import type { DiagnosticsOccasion } from '../workflows/incident/state';
import { collectDiagnostics } from './diagnostics/collect';
import { oneLine } from './diagnostics/http';
import { writeDiagnostics, type DiagnosticsSummary } from './diagnostics/store';
import { recordFolderName } from './documentation';
import { LocalFolderStore, type IncidentStore } from './store/incident-store';

export interface DiagnosticsRequest {
  incidentId: string;
  /** With the id, names the incident's folder (see recordFolderName). */
  openedAt: string;
  alerts: Alert[];
  occasion: DiagnosticsOccasion;
}

/** What the workflow gets back: bounded to MAX_OUTCOME_BYTES whatever the sources answer. */
export interface DiagnosticsOutcome {
  collectedAt: string;
  /** Where the files are: `<data dir>/incidents/<incident folder>/diagnostics/<time>-<occasion>`. */
  folder: string;
  metrics: {
    /** The chart's SVG file, absolute (the API has no route that serves it). */
    chartPath: string;
    alertname?: string;
    server: string;
    expression: string;
    /** "current value 9 at 12:00:00 UTC (fires when > 5)". */
    text: string;
  }[];
  metricsOmitted: number;
  logs: { source: string; lines: number }[];
  failures: { source: string; server: string; kind: string; text: string }[];
  failuresOmitted: number;
  skipped: number;
  queriesNotMade: number;
}

export interface DiagnosticsDeps {
  config: DiagnosticsConfig;
  /**
   * The sources' credentials (Secrets.diagnostics). They stay in the worker: no activity's
   * input or answer carries them, so they never reach a history.
   */
  credentials?: DiagnosticsCredentials;
  /** Folder that holds one sub-folder per incident (the documentation's). */
  dir: string;
  /** The incident store, when not the local folder `dir` (the documentation's). */
  store?: IncidentStore;
}

export const MAX_OUTCOME_METRICS = 10;
export const MAX_OUTCOME_FAILURES = 10;
export const MAX_OUTCOME_LOGS = 10;
/** The whole outcome, in bytes of JSON: a small fraction of what a history may hold. */
export const MAX_OUTCOME_BYTES = 24_000;

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The store's summary cut to the outcome's bounds, newest lists shortened until it fits. */
export function boundOutcome(summary: DiagnosticsSummary, incidentFolder: string): DiagnosticsOutcome {
  const metrics = summary.metrics.slice(0, MAX_OUTCOME_METRICS).map((m) => ({
    chartPath: oneLine(path.join(incidentFolder, m.chart), 400),
    ...(m.alertname !== undefined ? { alertname: oneLine(m.alertname, 100) } : {}),
    server: oneLine(m.server, 200),
    expression: oneLine(m.expression, 200),
    text: oneLine(m.text, 200),
  }));
  const failures = summary.failures.slice(0, MAX_OUTCOME_FAILURES).map((f) => ({
    source: f.source,
    server: oneLine(f.server, 200),
    kind: f.kind,
    text: oneLine(f.text, 300),
  }));
  const outcome: DiagnosticsOutcome = {
    collectedAt: summary.collectedAt,
    folder: oneLine(path.join(incidentFolder, summary.folder), 400),
    metrics,
    metricsOmitted: summary.metrics.length - metrics.length,
    logs: summary.logs.slice(0, MAX_OUTCOME_LOGS).map((l) => ({ source: l.source, lines: l.lines })),
    failures,
    failuresOmitted: summary.failures.length - failures.length,
    skipped: summary.skipped,
    queriesNotMade: summary.queriesNotMade,
  };
  while (bytes(outcome) > MAX_OUTCOME_BYTES && (outcome.metrics.length > 0 || outcome.failures.length > 0)) {
    if (outcome.failures.length >= outcome.metrics.length) {
      outcome.failures.pop();
      outcome.failuresOmitted += 1;
    } else {
      outcome.metrics.pop();
      outcome.metricsOmitted += 1;
    }
  }
  return outcome;
}

export function createDiagnosticsActivities(deps: DiagnosticsDeps) {
  return {
    /**
     * Collects the diagnostics of one occasion into the incident's folder, within the
     * configured deadline. Sources that do not answer come back in `failures`.
     */
    async collectIncidentDiagnostics(request: DiagnosticsRequest): Promise<DiagnosticsOutcome> {
      const store = deps.store ?? new LocalFolderStore(deps.dir);
      const incident = recordFolderName({ id: request.incidentId, openedAt: request.openedAt });
      const folder = store.where(incident);
      const result = await collectDiagnostics({
        alerts: request.alerts,
        sources: deps.config,
        now: new Date(),
        ...(deps.credentials ? { credentials: deps.credentials } : {}),
      });
      const summary = await writeDiagnostics({ store, incident }, result, request.occasion);
      return boundOutcome(summary, folder);
    },
  };
}
