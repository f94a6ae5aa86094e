/**
 * The log lines around an alert's start, from the team's Loki: a stream selector built from
 * the alert's own labels, a window around the moment it began, and the answer cut to a
 * number of lines and bytes an incident record can carry.
 */
import type { LokiSource, SourceCredential } from '../../config/diagnostics';
import { boundLabels, DiagnosticsError, requestJson } from './http';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A LogQL string literal (Go's quoting rules): the value can hold quotes, backslashes and
 * line breaks and still be one matcher, never a piece of the query.
 */
export function logqlString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    // A lone surrogate is not text Go can read; it cannot be in a label Loki has.
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\ufffd';
    else out += char;
  }
  return `${out}"`;
}

/**
 * `{job="api", namespace="prod"}` from the configured labels the alert has (renamed where
 * Loki calls them otherwise); undefined when it has none of them, as Loki refuses a selector
 * without a non-empty matcher and all logs are no answer.
 */
export function lokiSelector(
  labels: Record<string, string>,
  settings: Pick<LokiSource, 'selectorLabels' | 'labelMap'>,
): string | undefined {
  const matchers: string[] = [];
  const seen = new Set<string>();
  for (const name of settings.selectorLabels) {
    if (!Object.hasOwn(labels, name)) continue;
    const value = labels[name];
    if (!value) continue;
    const lokiName = Object.hasOwn(settings.labelMap, name) ? (settings.labelMap[name] as string) : name;
    if (!LABEL_NAME.test(lokiName) || seen.has(lokiName)) continue;
    seen.add(lokiName);
    matchers.push(`${lokiName}=${logqlString(value)}`);
  }
  return matchers.length > 0 ? `{${matchers.join(', ')}}` : undefined;
}

export interface LogWindow {
  /** Unix nanoseconds, as Loki takes them. */
  startNs: string;
  endNs: string;
}

/** From `before` the alert's start to `after` it, never past now. */
export function logWindow(input: {
  now: Date;
  startsAt?: string;
  beforeMs: number;
  afterMs: number;
}): LogWindow {
  const nowMs = input.now.getTime();
  const began = input.startsAt ? Date.parse(input.startsAt) : NaN;
  const anchor = Number.isFinite(began) && began <= nowMs ? began : nowMs;
  const start = anchor - input.beforeMs;
  const end = Math.max(start + 1, Math.min(nowMs, anchor + input.afterMs));
  const ns = (ms: number): string => (BigInt(Math.floor(ms)) * 1_000_000n).toString();
  return { startNs: ns(start), endNs: ns(end) };
}

export interface LogLine {
  /** ISO-8601, to the millisecond. */
  at: string;
  /** Loki's own timestamp, Unix nanoseconds. */
  ns: string;
  line: string;
  labels: Record<string, string>;
  /** The line was longer than maxLineBytes and was cut. */
  cut?: true;
}

export interface LogAnswer {
  lines: LogLine[];
  /** Lines the answer had beyond `lines`, not kept. */
  linesOmitted: number;
}

/** Cut to at most `maxBytes` of UTF-8, at a character boundary. */
export function cutLine(line: string, maxBytes: number): { text: string; cut: boolean } {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= maxBytes) return { text: line, cut: false };
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return { text: bytes.subarray(0, end).toString('utf8'), cut: true };
}

const NANOS = /^\d{1,20}$/;

/**
 * Parses a query_range answer of streams into lines, oldest first. `backward` keeps the
 * newest `maxLines` (those nearest the alert), `forward` the oldest, as Loki itself would.
 */
export function parseStreams(
  body: unknown,
  limits: { maxLines: number; maxLineBytes: number; direction: 'backward' | 'forward' },
  where: string,
): LogAnswer {
  const answer = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } } | null;
  if (!answer || answer.status !== 'success' || !answer.data || !Array.isArray(answer.data.result)) {
    throw new DiagnosticsError('bad-response', `${where} answered without a result`);
  }
  if (answer.data.resultType !== 'streams') {
    throw new DiagnosticsError(
      'bad-response',
      `${where} answered ${String(answer.data.resultType)}, not streams`,
    );
  }
  const entries: {
    ns: bigint;
    nsText: string;
    line: string;
    labels: Record<string, string>;
    order: number;
  }[] = [];
  let order = 0;
  for (const stream of answer.data.result as { stream?: unknown; values?: unknown }[]) {
    if (!Array.isArray(stream?.values)) continue;
    const labels = boundLabels(stream.stream, 15, 100);
    for (const value of stream.values as unknown[]) {
      // [ "<ns>", "<line>" ], or with a third element of structured metadata (Loki 3).
      if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string') continue;
      if (!NANOS.test(value[0])) continue;
      entries.push({ ns: BigInt(value[0]), nsText: value[0], line: value[1], labels, order: (order += 1) });
    }
  }
  entries.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.order - b.order));
  const kept =
    limits.direction === 'backward' ? entries.slice(-limits.maxLines) : entries.slice(0, limits.maxLines);
  const lines = kept.map((e): LogLine => {
    const { text, cut } = cutLine(e.line, limits.maxLineBytes);
    const ms = Number(e.ns / 1_000_000n);
    const at = Number.isFinite(ms) && ms < 8.64e15 ? new Date(ms).toISOString() : '';
    return { at, ns: e.nsText, line: text, labels: e.labels, ...(cut ? { cut: true as const } : {}) };
  });
  return { lines, linesOmitted: entries.length - kept.length };
}

export interface LogQuery {
  selector: string;
  window: LogWindow;
  settings: Pick<
    LokiSource,
    'url' | 'tenant' | 'lines' | 'maxLineBytes' | 'direction' | 'timeout' | 'maxResponseBytes'
  >;
  signal?: AbortSignal;
  credential?: SourceCredential;
}

/** Loki explains a refused query in plain text ("parse error at line 1, col 7: ..."). */
function explainPlainText(status: number, text: string) {
  return status === 400 && /parse error|syntax error/i.test(text)
    ? { kind: 'bad-expression' as const, reason: 'the selector is not valid LogQL' }
    : undefined;
}

/** GET /loki/api/v1/query_range for a log query (a selector), `lines` entries at most. */
export async function queryLogs(query: LogQuery): Promise<LogAnswer> {
  const base = query.settings.url.replace(/\/+$/, '');
  const url = new URL(`${base}/loki/api/v1/query_range`);
  const where = `Loki at ${url.origin}${url.pathname.replace(/\/loki\/api\/v1\/query_range$/, '')}`;
  const { status, body } = await requestJson({
    url,
    params: {
      query: query.selector,
      start: query.window.startNs,
      end: query.window.endNs,
      limit: String(query.settings.lines),
      direction: query.settings.direction,
    },
    headers: {
      accept: 'application/json',
      ...(query.settings.tenant ? { 'x-scope-orgid': query.settings.tenant } : {}),
    },
    source: where,
    timeoutMs: query.settings.timeout,
    maxBytes: query.settings.maxResponseBytes,
    explainText: explainPlainText,
    ...(query.signal ? { signal: query.signal } : {}),
    ...(query.credential ? { credential: query.credential } : {}),
  });
  const refused = body as { status?: unknown } | null;
  if (status < 200 || status > 299 || refused?.status === 'error') {
    // Loki's own `error` or `message` text is the server's: the status says enough.
    throw new DiagnosticsError(
      status === 400 ? 'bad-expression' : 'error-body',
      `${where} answered HTTP ${status}${status === 400 ? ': it refused the selector' : ''}`,
      status,
    );
  }
  return parseStreams(
    body,
    {
      maxLines: query.settings.lines,
      maxLineBytes: query.settings.maxLineBytes,
      direction: query.settings.direction,
    },
    where,
  );
}
