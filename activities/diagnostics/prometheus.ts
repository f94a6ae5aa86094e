/**
 * The metric behind an alert, from the Prometheus that evaluated it: where to ask (the
 * alert's generatorURL, or the configured server), what to ask (the rule's expression, its
 * compared side when it has a threshold), over which window and at which step, and the
 * answer cut to a size an incident record can carry.
 */
import type { PrometheusSource, SourceCredential } from '../../config/diagnostics';
import type { AddressGuard, Resolve } from './address-guard';
import { boundLabels, DiagnosticsError, oneLine, requestJson } from './http';
import { chartableExpression, type Threshold } from './promql';

export interface PrometheusTarget {
  /** The server's base URL (its --web.external-url), without credentials or a trailing slash. */
  server: string;
  /** The alert rule's whole expression. */
  expression: string;
}

/**
 * Prometheus sends `<external URL>/graph?g0.expr=<expr>&g0.tab=1` as an alert's generatorURL
 * (Thanos Ruler and VictoriaMetrics' vmalert send the same shape). Anything else (Grafana's
 * alert pages, an empty string) names no expression: undefined.
 */
export function targetFromGeneratorURL(generatorURL: string | undefined): PrometheusTarget | undefined {
  if (!generatorURL) return undefined;
  let url: URL;
  try {
    url = new URL(generatorURL);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const expression = url.searchParams.get('g0.expr')?.trim();
  if (!expression) return undefined;
  // The graph page sits right under the external URL, whose path may have a prefix
  // (/prometheus/graph): dropping the page's own segment leaves the server's base.
  const base = url.pathname.replace(/\/+$/, '').replace(/\/[^/]*$/, '');
  return { server: `${url.protocol}//${url.host}${base}`, expression };
}

/** The configured server wins over the alert's: the expression is the alert's either way. */
export function chooseTarget(
  generatorURL: string | undefined,
  settings: Pick<PrometheusSource, 'url' | 'allowedServers'>,
): PrometheusTarget | undefined {
  const fromAlert = targetFromGeneratorURL(generatorURL);
  if (!fromAlert) return undefined;
  if (settings.url) return { server: settings.url.replace(/\/+$/, ''), expression: fromAlert.expression };
  return fromAlert;
}

/**
 * Refuses a server from an alert that the configuration does not list. Nothing is allowed
 * by default: alerts come from whoever can post them, and a server of their choosing would
 * have Baton fetch any URL from inside the network (issue #21).
 */
export function checkAllowed(
  server: string,
  settings: Pick<PrometheusSource, 'url' | 'allowedServers'>,
): void {
  if (settings.url) return;
  const origin = new URL(server).origin;
  const listed = settings.allowedServers ?? [];
  if (!listed.some((allowed) => new URL(allowed).origin === origin)) {
    throw new DiagnosticsError(
      'not-allowed',
      listed.length === 0
        ? `the alert names the Prometheus at ${origin}; Baton queries only diagnostics.prometheus.url or a server diagnostics.prometheus.allowedServers lists, and neither is set`
        : `the alert names the Prometheus at ${origin}, which diagnostics.prometheus.allowedServers does not list`,
    );
  }
}

/**
 * How queries reach their server: the configured `url` (the only server queried when set)
 * as the operator wrote it; a server from an alert only at addresses that are public or in
 * `allowedNetworks`.
 */
export function guardFor(
  settings: Pick<PrometheusSource, 'url' | 'allowedNetworks'>,
  resolve?: Resolve,
): AddressGuard | undefined {
  if (settings.url) return undefined;
  return {
    allowedNetworks: settings.allowedNetworks ?? [],
    setting: 'diagnostics.prometheus.allowedNetworks',
    ...(resolve ? { resolve } : {}),
  };
}

export interface QueryWindow {
  /** Unix seconds. */
  start: number;
  end: number;
  stepSeconds: number;
}

// An alert that began long ago is charted from a little before its start, but not further back than this.
const MAX_STRETCH_MS = 24 * 3_600_000;

/**
 * The last `lookback`, stretched back to a tenth of it before the alert's start when the
 * alert began earlier. The step is a whole number of seconds that keeps the points at or
 * under `maxPoints`, and the window ends on a point at `now`: the last point is the current value.
 */
export function queryWindow(input: {
  now: Date;
  startsAt?: string;
  lookbackMs: number;
  maxPoints: number;
}): QueryWindow {
  const endMs = input.now.getTime();
  let startMs = endMs - input.lookbackMs;
  const began = input.startsAt ? Date.parse(input.startsAt) : NaN;
  if (Number.isFinite(began) && began < startMs) {
    startMs = Math.max(began - input.lookbackMs / 10, endMs - MAX_STRETCH_MS);
  }
  const end = Math.floor(endMs / 1000);
  const span = Math.max(1, end - Math.floor(startMs / 1000));
  const stepSeconds = Math.max(1, Math.ceil(span / Math.max(1, input.maxPoints - 1)));
  // Points fall on end - k·step; there are at most maxPoints of them.
  const start = end - Math.ceil(span / stepSeconds) * stepSeconds;
  return { start, end, stepSeconds };
}

/** A point: Unix seconds, and the value (null where it is NaN or infinite, which JSON cannot carry). */
export type Point = [number, number | null];

export interface Series {
  labels: Record<string, string>;
  points: Point[];
}

export interface RangeAnswer {
  series: Series[];
  /** Series the answer had beyond `maxSeries`, not kept. */
  seriesOmitted: number;
  /** Points dropped from series longer than `maxPoints` (a server that ignored the step). */
  pointsOmitted: number;
  warnings: string[];
}

function parseValue(text: unknown): number | null {
  const value = typeof text === 'string' ? Number(text) : NaN;
  return Number.isFinite(value) ? value : null;
}

/** Every k-th point, and always the last: it is the current value. */
function thin(points: Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return points;
  const stride = Math.ceil(points.length / maxPoints);
  const kept = points.filter((_, index) => (points.length - 1 - index) % stride === 0);
  return kept.slice(-maxPoints);
}

/** `__name__` is not among an alert's labels even when its series has one. */
function matchesAlert(series: Record<string, string>, alertLabels: Record<string, string>): boolean {
  return Object.entries(series).every(
    ([name, value]) =>
      name === '__name__' || (Object.hasOwn(alertLabels, name) && alertLabels[name] === value),
  );
}

/**
 * Parses a query_range answer. The series that belong to the given alerts come first (the
 * chart is about them), then the others in the server's order, up to `maxSeries`.
 */
export function parseRangeAnswer(
  body: unknown,
  limits: { maxSeries: number; maxPoints: number; alertLabels?: Record<string, string>[] },
  where: string,
): RangeAnswer {
  const answer = body as {
    status?: unknown;
    data?: { resultType?: unknown; result?: unknown };
    warnings?: unknown;
  } | null;
  if (!answer || answer.status !== 'success' || !answer.data || !Array.isArray(answer.data.result)) {
    throw new DiagnosticsError('bad-response', `${where} answered without a result`);
  }
  if (answer.data.resultType !== 'matrix') {
    throw new DiagnosticsError(
      'bad-response',
      `${where} answered a ${String(answer.data.resultType)}, not a matrix`,
    );
  }
  const all = (answer.data.result as { metric?: unknown; values?: unknown }[]).map((entry) => ({
    labels: boundLabels(entry?.metric),
    raw: Array.isArray(entry?.values) ? (entry.values as unknown[]) : [],
  }));
  const alertLabels = limits.alertLabels ?? [];
  const belongs = (labels: Record<string, string>) => alertLabels.some((a) => matchesAlert(labels, a));
  const ordered = [...all.filter((s) => belongs(s.labels)), ...all.filter((s) => !belongs(s.labels))];

  let pointsOmitted = 0;
  const series = ordered.slice(0, limits.maxSeries).map(({ labels, raw }) => {
    const points: Point[] = [];
    for (const pair of raw) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'number') continue;
      points.push([pair[0], parseValue(pair[1])]);
    }
    const kept = thin(points, limits.maxPoints);
    pointsOmitted += points.length - kept.length;
    return { labels, points: kept };
  });
  const warnings = Array.isArray(answer.warnings)
    ? answer.warnings
        .filter((w): w is string => typeof w === 'string')
        .slice(0, 5)
        .map((w) => oneLine(w, 200))
    : [];
  return { series, seriesOmitted: Math.max(0, ordered.length - series.length), pointsOmitted, warnings };
}

/** The error types of Prometheus' HTTP API (web/api/v1): the only words of a refusal that are kept. */
const ERROR_TYPES = new Set([
  'bad_data',
  'timeout',
  'canceled',
  'execution',
  'internal',
  'unavailable',
  'not_found',
  'not_acceptable',
]);

/**
 * Prometheus explains a refusal as `{status: "error", errorType, error}`. The type says
 * enough; its `error` text is the server's and stays out of the record (issue #21).
 */
function refusal(body: unknown, status: number, where: string): DiagnosticsError | undefined {
  const answer = body as { status?: unknown; errorType?: unknown } | null;
  if (answer?.status !== 'error') return undefined;
  const type =
    typeof answer.errorType === 'string' && ERROR_TYPES.has(answer.errorType) ? answer.errorType : 'error';
  // bad_data is what Prometheus answers for a parse or type error in the query.
  const kind = type === 'bad_data' ? 'bad-expression' : type === 'timeout' ? 'timeout' : 'error-body';
  const reason =
    kind === 'bad-expression' ? 'the expression does not parse or does not type-check' : `HTTP ${status}`;
  return new DiagnosticsError(kind, `${where} refused the query (${type}): ${reason}`, status);
}

export interface RangeQuery {
  server: string;
  expression: string;
  window: QueryWindow;
  settings: Pick<PrometheusSource, 'timeout' | 'maxSeries' | 'maxPoints' | 'maxResponseBytes'>;
  alertLabels?: Record<string, string>[];
  signal?: AbortSignal;
  credential?: SourceCredential;
  /** Present for a server an alert named (see guardFor). */
  guard?: AddressGuard;
}

/** POST /api/v1/query_range (a form body: alert expressions can be longer than a URL may be). */
export async function queryRange(query: RangeQuery): Promise<RangeAnswer> {
  const url = new URL(`${query.server}/api/v1/query_range`);
  const where = `Prometheus at ${url.origin}${url.pathname.replace(/\/api\/v1\/query_range$/, '')}`;
  const { status, body } = await requestJson({
    url,
    method: 'POST',
    params: {
      query: query.expression,
      start: String(query.window.start),
      end: String(query.window.end),
      step: String(query.window.stepSeconds),
      // Prometheus gives up on its side too, rather than computing an answer nobody waits for.
      timeout: `${Math.max(1, Math.floor(query.settings.timeout / 1000))}s`,
    },
    headers: { accept: 'application/json' },
    source: where,
    timeoutMs: query.settings.timeout,
    maxBytes: query.settings.maxResponseBytes,
    ...(query.signal ? { signal: query.signal } : {}),
    ...(query.credential ? { credential: query.credential } : {}),
    ...(query.guard ? { guard: query.guard } : {}),
  });
  const refused = refusal(body, status, where);
  if (refused) throw refused;
  if (status < 200 || status > 299) {
    throw new DiagnosticsError('http-status', `${where} answered HTTP ${status}`, status);
  }
  return parseRangeAnswer(
    body,
    {
      maxSeries: query.settings.maxSeries,
      maxPoints: query.settings.maxPoints,
      alertLabels: query.alertLabels ?? [],
    },
    where,
  );
}

/** The last point that has a value. */
export function currentValue(series: Series | undefined): { at: number; value: number } | undefined {
  if (!series) return undefined;
  for (let i = series.points.length - 1; i >= 0; i -= 1) {
    const [at, value] = series.points[i] as Point;
    if (value !== null) return { at, value };
  }
  return undefined;
}

/** The series that belongs to this alert, or else the first one. */
export function seriesOfAlert(series: Series[], alertLabels: Record<string, string>): Series | undefined {
  return series.find((s) => matchesAlert(s.labels, alertLabels)) ?? series[0];
}

export { chartableExpression, type Threshold };
