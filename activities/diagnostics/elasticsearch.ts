/**
 * The log lines around an alert's start from Elasticsearch (or OpenSearch): one `_search`
 * with a term filter per mapped alert label and a range on the time field, newest first,
 * cut to the same line and byte caps as Loki's. The query is JSON built as data, so a label
 * value is only ever a value.
 */
import type { ElasticsearchSource, SourceCredential } from '../../config/diagnostics';
import { DiagnosticsError, requestJson } from './http';
import { cutLine, type LogAnswer, type LogLine } from './loki';

export interface SearchWindow {
  /** ISO-8601. */
  start: string;
  end: string;
}

/** The term filters for the mapped labels the alert has; undefined when it has none. */
export function searchFilters(
  labels: Record<string, string>,
  fields: Record<string, string>,
): { term: Record<string, string> }[] | undefined {
  const filters = Object.entries(fields)
    .filter(([label]) => Object.hasOwn(labels, label) && labels[label] !== '')
    .map(([label, field]) => ({ term: Object.fromEntries([[field, labels[label] as string]]) }));
  return filters.length > 0 ? filters : undefined;
}

/** The request body of the `_search`. */
export function searchBody(
  filters: { term: Record<string, string> }[],
  window: SearchWindow,
  settings: Pick<ElasticsearchSource, 'timeField' | 'messageField' | 'lines'>,
): unknown {
  return {
    size: settings.lines,
    sort: [Object.fromEntries([[settings.timeField, { order: 'desc' }]])],
    track_total_hits: false,
    query: {
      bool: {
        filter: [
          // Built with fromEntries: a field named __proto__ is a field like any other.
          { range: Object.fromEntries([[settings.timeField, { gte: window.start, lt: window.end }]]) },
          ...filters,
        ],
      },
    },
  };
}

/** A field of a document by its dotted name: flat (`"log.level": …`) or nested (`log: {level}`). */
function field(source: unknown, name: string): unknown {
  if (!source || typeof source !== 'object') return undefined;
  if (Object.hasOwn(source, name)) return (source as Record<string, unknown>)[name];
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const head = name.slice(0, dot);
  return Object.hasOwn(source, head)
    ? field((source as Record<string, unknown>)[head], name.slice(dot + 1))
    : undefined;
}

/** Parses the hits into lines, oldest first (the search asked for the newest). */
export function parseHits(
  body: unknown,
  settings: Pick<ElasticsearchSource, 'timeField' | 'messageField' | 'fields' | 'maxLineBytes' | 'lines'>,
  where: string,
): LogAnswer {
  const hits = (body as { hits?: { hits?: unknown } } | null)?.hits?.hits;
  if (!Array.isArray(hits)) throw new DiagnosticsError('bad-response', `${where} answered without hits`);
  const lines: LogLine[] = [];
  for (const hit of hits.slice(0, settings.lines) as { _source?: unknown }[]) {
    const source = hit?._source;
    const time = field(source, settings.timeField);
    const message = field(source, settings.messageField);
    const ms = typeof time === 'string' || typeof time === 'number' ? new Date(time).getTime() : NaN;
    if (!Number.isFinite(ms) || message === undefined || message === null) continue;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const { text: line, cut } = cutLine(text, settings.maxLineBytes);
    const labels = Object.fromEntries(
      Object.values(settings.fields)
        .map((name) => [name, field(source, name)] as const)
        .filter((pair): pair is readonly [string, string] => typeof pair[1] === 'string')
        .map(([name, value]) => [name, value.slice(0, 100)]),
    ) as Record<string, string>;
    lines.push({
      at: new Date(ms).toISOString(),
      ns: (BigInt(Math.floor(ms)) * 1_000_000n).toString(),
      line,
      labels,
      ...(cut ? { cut: true as const } : {}),
    });
  }
  lines.reverse();
  return { lines, linesOmitted: Math.max(0, hits.length - settings.lines) };
}

export interface SearchQuery {
  filters: { term: Record<string, string> }[];
  window: SearchWindow;
  settings: ElasticsearchSource;
  signal?: AbortSignal;
  credential?: SourceCredential;
}

/** Elasticsearch's error types are identifiers (`index_not_found_exception`); anything else is not kept. */
const ERROR_TYPE = /^[a-z][a-z0-9_]{0,80}_exception$/;

/** POST /<index>/_search. */
export async function searchLogs(query: SearchQuery): Promise<LogAnswer> {
  const { settings } = query;
  const base = settings.url.replace(/\/+$/, '');
  const url = new URL(`${base}/${encodeURIComponent(settings.index)}/_search`);
  const where = `Elasticsearch at ${new URL(base).origin}${new URL(base).pathname.replace(/\/+$/, '')}`;
  const { status, body } = await requestJson({
    url,
    method: 'POST',
    json: searchBody(query.filters, query.window, settings),
    headers: { accept: 'application/json' },
    source: where,
    timeoutMs: settings.timeout,
    maxBytes: settings.maxResponseBytes,
    ...(query.signal ? { signal: query.signal } : {}),
    ...(query.credential ? { credential: query.credential } : {}),
  });
  if (status < 200 || status > 299) {
    // { error: { type, reason }, status }: a query the cluster cannot parse or run is a 400.
    // The type names the problem; the reason is the server's text and is not kept (issue #21).
    const error = (body as { error?: { type?: unknown } | string } | null)?.error;
    const type =
      typeof error === 'object' && typeof error.type === 'string' && ERROR_TYPE.test(error.type)
        ? error.type
        : undefined;
    throw new DiagnosticsError(
      status === 400 && type !== 'index_not_found_exception' ? 'bad-expression' : 'error-body',
      `${where} answered HTTP ${status}${type ? ` (${type})` : ''}`,
      status,
    );
  }
  return parseHits(body, settings, where);
}
