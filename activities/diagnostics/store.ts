/**
 * Diagnostics go to the incident store, not into the workflow: charts, series and log lines
 * can weigh hundreds of kilobytes, while everything the workflow keeps or returns must stay
 * small. The files sit in the incident's folder; the workflow gets a summary that names them
 * and says, in one line each, how the value stands and which source did not answer.
 */
import path from 'node:path';
import { safeName } from '../files';
import { LocalFolderStore, type IncidentStore } from '../store/incident-store';
import {
  describeFailure,
  describeSnapshot,
  type Diagnostics,
  type DiagnosticsFailure,
  type LogExcerpt,
} from './collect';
import { oneLine } from './http';
import type { Threshold } from './promql';

export interface DiagnosticsSummary {
  collectedAt: string;
  /** The folder, relative to the incident's, that holds the files. */
  folder: string;
  metrics: {
    /** The chart's file, relative to the incident's folder. */
    chart: string;
    alertname?: string;
    server: string;
    expression: string;
    threshold?: Threshold;
    /** "current value 0.93 at 12:00:00 UTC (fires when > 0.5)". */
    text: string;
    alerts: { fingerprint: string; current?: { at: string; value: number } }[];
  }[];
  logs: { source: LogExcerpt['source']; selector: string; lines: number; linesOmitted: number }[];
  /** Each with a line for the timeline (`text`). */
  failures: (DiagnosticsFailure & { text: string })[];
  skipped: number;
  queriesNotMade: number;
}

/** Expressions can be kilobytes long; the files keep them whole, the summary a readable start. */
const MAX_EXPRESSION = 500;

/** `2026-03-01T12:00:00.000Z` and `escalated` → `20260301T120000Z-escalated`. */
export function diagnosticsFolderName(collectedAt: string, occasion: string): string {
  const stamp = collectedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return safeName(`${stamp}-${occasion}`);
}

/** An incident in a store; a plain folder path means that folder in the local store. */
export type DiagnosticsTarget = string | { store: IncidentStore; incident: string };

/**
 * Writes each chart (SVG), the series (`metrics.json`) and the log lines (`logs.json`) under
 * `<incidentFolder>/diagnostics/<time>-<occasion>/`. A retried write rewrites the same files
 * (the time is the collection's), each atomically.
 */
export async function writeDiagnostics(
  target: DiagnosticsTarget,
  result: Diagnostics,
  occasion: string,
): Promise<DiagnosticsSummary> {
  const { store, incident } =
    typeof target === 'string'
      ? { store: new LocalFolderStore(path.dirname(target)), incident: path.basename(target) }
      : target;
  const collection = diagnosticsFolderName(result.collectedAt, occasion);
  const folder = path.join('diagnostics', collection);
  const write = (name: string, content: string) =>
    store.write(incident, `diagnostics/${collection}/${name}`, content);
  for (const chart of result.charts) await write(safeName(chart.name), chart.svg);
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await write('metrics.json', json(result.series));
  if (result.logs.length > 0) await write('logs.json', json(result.logs));
  if (result.failures.length > 0) await write('failures.json', json(result.failures));
  return summarize(result, folder);
}

export function summarize(result: Diagnostics, folder: string): DiagnosticsSummary {
  return {
    collectedAt: result.collectedAt,
    folder,
    metrics: result.series.map((s) => {
      const alertname = s.alerts.find((a) => a.alertname !== undefined)?.alertname;
      return {
        chart: path.join(folder, safeName(s.chart)),
        ...(alertname !== undefined ? { alertname } : {}),
        server: s.server,
        expression: oneLine(s.expression, MAX_EXPRESSION),
        ...(s.threshold ? { threshold: s.threshold } : {}),
        text: describeSnapshot(s),
        alerts: s.alerts.map((a) => ({
          fingerprint: a.fingerprint,
          ...(a.current ? { current: a.current } : {}),
        })),
      };
    }),
    logs: result.logs.map((l) => ({
      source: l.source,
      selector: oneLine(l.selector, MAX_EXPRESSION),
      lines: l.lines.length,
      linesOmitted: l.linesOmitted,
    })),
    failures: result.failures.map((f) => ({
      ...f,
      query: oneLine(f.query, MAX_EXPRESSION),
      text: describeFailure(f),
    })),
    skipped: result.skipped.length,
    queriesNotMade: result.queriesNotMade,
  };
}
