/**
 * One call gathers what the alerts' data sources say: each distinct (server, expression)
 * queried once, each distinct log stream once, all at the same time, and all over by the
 * deadline. A source that is down, slow or refuses the query becomes a failure in the answer
 * for the timeline; it never makes the call throw, and never makes it wait past the deadline.
 */
import type { DiagnosticsConfig, DiagnosticsCredentials, DiagnosticsSource } from '../../config/diagnostics';
import type { Alert } from '../../workflows/incident/model';
import type { Resolve } from './address-guard';
import { renderChart, formatValue } from './chart';
import { searchFilters, searchLogs } from './elasticsearch';
import { DiagnosticsError, oneLine, type DiagnosticsErrorKind } from './http';
import { logWindow, lokiSelector, queryLogs, type LogLine } from './loki';
import {
  checkAllowed,
  chooseTarget,
  currentValue,
  guardFor,
  queryRange,
  queryWindow,
  seriesOfAlert,
  type QueryWindow,
  type Series,
} from './prometheus';
import { chartableExpression, type Threshold } from './promql';

export interface MetricSnapshot {
  /** The chart drawn from it (`charts[].name`). */
  chart: string;
  server: string;
  /** The alert rule's expression, and what was charted (its compared side). */
  alertExpression: string;
  expression: string;
  threshold?: Threshold;
  window: QueryWindow;
  series: Series[];
  seriesOmitted: number;
  pointsOmitted: number;
  warnings: string[];
  /** The alerts this query covers, each with the last value of its own series. */
  alerts: { fingerprint: string; alertname?: string; current?: { at: string; value: number } }[];
}

export interface LogExcerpt {
  source: 'loki' | 'elasticsearch';
  server: string;
  /** The LogQL selector, or the Elasticsearch filters as JSON. */
  selector: string;
  window: { start: string; end: string };
  alerts: string[];
  lines: LogLine[];
  linesOmitted: number;
}

export type { DiagnosticsSource };

export interface DiagnosticsFailure {
  source: DiagnosticsSource;
  server: string;
  query: string;
  kind: DiagnosticsErrorKind | 'internal';
  /** One line for the timeline: which source, and what it did. */
  error: string;
  /** Fingerprints of the alerts whose data it was. */
  alerts: string[];
}

export interface Diagnostics {
  collectedAt: string;
  series: MetricSnapshot[];
  charts: { name: string; title: string; svg: string }[];
  logs: LogExcerpt[];
  failures: DiagnosticsFailure[];
  /** Alerts with nothing to query (no Prometheus expression in their generatorURL, no log labels). */
  skipped: { fingerprint: string; alertname?: string; source: DiagnosticsSource; reason: string }[];
  /** Queries not made because `maxAlerts` distinct ones were already under way. */
  queriesNotMade: number;
}

export interface CollectInput {
  alerts: Alert[];
  sources: DiagnosticsConfig;
  now: Date;
  /** The activity's cancellation; the deadline applies either way. */
  signal?: AbortSignal;
  /** Each source's credentials, read from the environment by the worker (config/secrets.ts). */
  credentials?: DiagnosticsCredentials;
  /** How the names of servers from alerts are resolved; the system's resolver by default. */
  resolve?: Resolve;
}

/** Current values are read for this many alerts per query; the rest share its chart. */
const MAX_ALERTS_PER_QUERY = 20;
const MAX_SKIPPED = 20;
/** A request that ignores its abort signal still gives up this long after the deadline. */
const GRACE_MS = 250;

interface Group<K> {
  key: K;
  alerts: Alert[];
}

/**
 * Distinct keys in the alerts' order (firing first), at most `max` of them; alerts with the
 * same key share one query.
 */
function groupAlerts<K>(
  alerts: Alert[],
  max: number,
  keyOf: (alert: Alert) => { key: K; id: string } | { reason: string },
  onSkip: (alert: Alert, reason: string) => void,
): { groups: Group<K>[]; notMade: number } {
  const firingFirst = [
    ...alerts.filter((a) => a.status !== 'resolved'),
    ...alerts.filter((a) => a.status === 'resolved'),
  ];
  const groups = new Map<string, Group<K>>();
  const dropped = new Set<string>();
  for (const alert of firingFirst) {
    const keyed = keyOf(alert);
    if ('reason' in keyed) {
      onSkip(alert, keyed.reason);
      continue;
    }
    const group = groups.get(keyed.id);
    if (group) {
      if (group.alerts.length < MAX_ALERTS_PER_QUERY) group.alerts.push(alert);
    } else if (groups.size < max) {
      groups.set(keyed.id, { key: keyed.key, alerts: [alert] });
    } else {
      dropped.add(keyed.id);
    }
  }
  return { groups: [...groups.values()], notMade: dropped.size };
}

function alertnameOf(alert: Alert): string | undefined {
  return Object.hasOwn(alert.labels, 'alertname') ? alert.labels.alertname : undefined;
}

/** A file name from an alert name: nothing in it can leave the folder or surprise a shell. */
function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 40) || 'expression';
}

function earliestStart(alerts: Alert[]): string | undefined {
  const times = alerts.map((a) => Date.parse(a.startsAt)).filter((t) => Number.isFinite(t));
  return times.length > 0 ? new Date(Math.min(...times)).toISOString() : undefined;
}

function failureOf(err: unknown, base: Omit<DiagnosticsFailure, 'kind' | 'error'>): DiagnosticsFailure {
  // The query came from an alert: kept readable, not kept whole.
  const bounded = { ...base, query: oneLine(base.query, 2_000) };
  if (err instanceof DiagnosticsError) return { ...bounded, kind: err.kind, error: oneLine(err.message) };
  const message = err instanceof Error ? err.message : String(err);
  return { ...bounded, kind: 'internal', error: oneLine(`diagnostics failed: ${message}`) };
}

/** How the value stands against the threshold, in one line for messages and charts. */
export function describeSnapshot(snapshot: MetricSnapshot, alertIndex = 0): string {
  const current = snapshot.alerts[alertIndex]?.current;
  const threshold = snapshot.threshold
    ? `fires when ${snapshot.threshold.op} ${formatValue(snapshot.threshold.value)}`
    : 'threshold not readable from the expression';
  if (!current) return `no current value (${threshold})`;
  return `current value ${formatValue(current.value)} at ${current.at.slice(11, 19)} UTC (${threshold})`;
}

/** One line for the timeline about a source that did not answer. */
export function describeFailure(failure: DiagnosticsFailure): string {
  return `${failure.source === 'prometheus' ? 'Metrics' : 'Logs'} unavailable: ${failure.error} (query ${oneLine(failure.query, 120)})`;
}

async function metricsFor(
  group: Group<{ server: string; alertExpression: string }>,
  index: number,
  input: CollectInput,
  signal: AbortSignal,
): Promise<{ snapshot: MetricSnapshot; chart: Diagnostics['charts'][number] }> {
  const settings = input.sources.prometheus;
  const { server, alertExpression } = group.key;
  checkAllowed(server, settings);
  const { expression, threshold } = chartableExpression(alertExpression);
  const window = queryWindow({
    now: input.now,
    ...(earliestStart(group.alerts) ? { startsAt: earliestStart(group.alerts) } : {}),
    lookbackMs: settings.lookback,
    maxPoints: settings.maxPoints,
  });
  const guard = guardFor(settings, input.resolve);
  const credential = input.credentials?.prometheus;
  const answer = await queryRange({
    server,
    expression,
    window,
    settings,
    alertLabels: group.alerts.map((a) => a.labels),
    signal,
    ...(guard ? { guard } : {}),
    ...(credential ? { credential } : {}),
  });
  const alertname = alertnameOf(group.alerts[0] as Alert);
  const name = `metrics-${index + 1}-${slug(alertname ?? 'expression')}.svg`;
  const snapshot: MetricSnapshot = {
    chart: name,
    server,
    alertExpression,
    expression,
    ...(threshold ? { threshold } : {}),
    window,
    ...answer,
    alerts: group.alerts.map((alert) => {
      const current = currentValue(seriesOfAlert(answer.series, alert.labels));
      const named = alertnameOf(alert);
      return {
        fingerprint: alert.fingerprint,
        ...(named !== undefined ? { alertname: named } : {}),
        ...(current
          ? { current: { at: new Date(current.at * 1000).toISOString(), value: current.value } }
          : {}),
      };
    }),
  };
  const title = `${alertname ?? 'Alert'}: ${expression}`;
  const svg = renderChart({
    title,
    subtitle: `${describeSnapshot(snapshot)}, from ${new URL(server).host}`,
    series: answer.series,
    ...(threshold ? { threshold } : {}),
    window: { start: window.start, end: window.end },
    maxSeries: settings.maxSeries,
  });
  return { snapshot, chart: { name, title, svg } };
}

function logWindowOf(group: Group<unknown>, now: Date, beforeMs: number, afterMs: number) {
  const started = earliestStart(group.alerts);
  return logWindow({ now, ...(started ? { startsAt: started } : {}), beforeMs, afterMs });
}

const isoOfNs = (ns: string): string => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();

async function lokiLogsFor(
  group: Group<string>,
  input: CollectInput,
  signal: AbortSignal,
): Promise<LogExcerpt> {
  const settings = input.sources.loki;
  if (!settings) throw new Error('no Loki configured');
  const window = logWindowOf(group, input.now, settings.before, settings.after);
  const credential = input.credentials?.loki;
  const answer = await queryLogs({
    selector: group.key,
    window,
    settings,
    signal,
    ...(credential ? { credential } : {}),
  });
  return {
    source: 'loki',
    server: settings.url,
    selector: group.key,
    window: { start: isoOfNs(window.startNs), end: isoOfNs(window.endNs) },
    alerts: group.alerts.map((a) => a.fingerprint),
    ...answer,
  };
}

async function elasticsearchLogsFor(
  group: Group<{ term: Record<string, string> }[]>,
  input: CollectInput,
  signal: AbortSignal,
): Promise<LogExcerpt> {
  const settings = input.sources.elasticsearch;
  if (!settings) throw new Error('no Elasticsearch configured');
  const ns = logWindowOf(group, input.now, settings.before, settings.after);
  const window = { start: isoOfNs(ns.startNs), end: isoOfNs(ns.endNs) };
  const credential = input.credentials?.elasticsearch;
  const answer = await searchLogs({
    filters: group.key,
    window,
    settings,
    signal,
    ...(credential ? { credential } : {}),
  });
  return {
    source: 'elasticsearch',
    server: settings.url,
    selector: JSON.stringify(group.key),
    window,
    alerts: group.alerts.map((a) => a.fingerprint),
    ...answer,
  };
}

/**
 * Queries the Prometheus behind each alert (and the team's Loki or Elasticsearch, when
 * configured), at most
 * `sources.maxAlerts` distinct queries per source, in parallel, within `sources.deadline`.
 * Never rejects for a source's sake: what did not answer is in `failures`.
 */
export async function collectDiagnostics(input: CollectInput): Promise<Diagnostics> {
  const { sources } = input;
  const deadline = AbortSignal.timeout(sources.deadline);
  const signal = input.signal ? AbortSignal.any([input.signal, deadline]) : deadline;
  const result: Diagnostics = {
    collectedAt: input.now.toISOString(),
    series: [],
    charts: [],
    logs: [],
    failures: [],
    skipped: [],
    queriesNotMade: 0,
  };
  const skip = (source: DiagnosticsSource) => (alert: Alert, reason: string) => {
    if (result.skipped.length >= MAX_SKIPPED) return;
    const alertname = alertnameOf(alert);
    result.skipped.push({
      fingerprint: alert.fingerprint,
      ...(alertname !== undefined ? { alertname } : {}),
      source,
      reason,
    });
  };

  const metricGroups = sources.prometheus.enabled
    ? groupAlerts<{ server: string; alertExpression: string }>(
        input.alerts,
        sources.maxAlerts,
        (alert) => {
          const target = chooseTarget(alert.generatorURL, sources.prometheus);
          if (!target) return { reason: 'its generatorURL names no Prometheus expression' };
          return {
            key: { server: target.server, alertExpression: target.expression },
            id: `${target.server}\n${target.expression}`,
          };
        },
        skip('prometheus'),
      )
    : { groups: [], notMade: 0 };
  const loki = sources.loki;
  const logGroups = loki
    ? groupAlerts<string>(
        input.alerts,
        sources.maxAlerts,
        (alert) => {
          const selector = lokiSelector(alert.labels, loki);
          if (!selector) return { reason: `it has none of the labels ${loki.selectorLabels.join(', ')}` };
          return { key: selector, id: selector };
        },
        skip('loki'),
      )
    : { groups: [], notMade: 0 };
  const elasticsearch = sources.elasticsearch;
  const searchGroups = elasticsearch
    ? groupAlerts<{ term: Record<string, string> }[]>(
        input.alerts,
        sources.maxAlerts,
        (alert) => {
          const filters = searchFilters(alert.labels, elasticsearch.fields);
          if (!filters) {
            return { reason: `it has none of the labels ${Object.keys(elasticsearch.fields).join(', ')}` };
          }
          const id = JSON.stringify(filters);
          return { key: filters, id };
        },
        skip('elasticsearch'),
      )
    : { groups: [], notMade: 0 };
  result.queriesNotMade = metricGroups.notMade + logGroups.notMade + searchGroups.notMade;

  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), sources.deadline + GRACE_MS);
  });
  const lateError = (): DiagnosticsError =>
    new DiagnosticsError('timeout', 'the source did not answer before the diagnostics deadline');
  const within = async <T>(work: () => Promise<T>): Promise<T> => {
    const outcome = await Promise.race([work(), late]);
    if (outcome === 'late') throw lateError();
    return outcome;
  };

  const metricTasks = metricGroups.groups.map(async (group, index) => {
    try {
      return await within(() => metricsFor(group, index, input, signal));
    } catch (err) {
      return failureOf(err, {
        source: 'prometheus',
        server: group.key.server,
        query: group.key.alertExpression,
        alerts: group.alerts.map((a) => a.fingerprint),
      });
    }
  });
  const logTasks = logGroups.groups.map(async (group) => {
    try {
      return await within(() => lokiLogsFor(group, input, signal));
    } catch (err) {
      return failureOf(err, {
        source: 'loki',
        server: loki?.url ?? '',
        query: group.key,
        alerts: group.alerts.map((a) => a.fingerprint),
      });
    }
  });

  const searchTasks = searchGroups.groups.map(async (group) => {
    try {
      return await within(() => elasticsearchLogsFor(group, input, signal));
    } catch (err) {
      return failureOf(err, {
        source: 'elasticsearch',
        server: elasticsearch?.url ?? '',
        query: JSON.stringify(group.key),
        alerts: group.alerts.map((a) => a.fingerprint),
      });
    }
  });

  try {
    for (const outcome of await Promise.all(metricTasks)) {
      if ('snapshot' in outcome) {
        result.series.push(outcome.snapshot);
        result.charts.push(outcome.chart);
      } else {
        result.failures.push(outcome);
      }
    }
    for (const outcome of [...(await Promise.all(logTasks)), ...(await Promise.all(searchTasks))]) {
      if ('lines' in outcome) result.logs.push(outcome);
      else result.failures.push(outcome);
    }
  } finally {
    clearTimeout(timer);
  }
  return result;
}
