/**
 * The one way diagnostics talk to a data source: a bounded request that ends in JSON or in a
 * DiagnosticsError saying what went wrong in words a responder can act on. Nothing here
 * waits longer than its timeout, reads more than its byte limit or follows a redirect.
 */

export type DiagnosticsErrorKind =
  /** Nothing listens there, or the name does not resolve: the source is down or misnamed. */
  | 'unreachable'
  /** No whole answer within the timeout or the collection's deadline. */
  | 'timeout'
  /** An HTTP status other than 2xx without an error body the source explains itself in. */
  | 'http-status'
  /** The source answered with its own error (Prometheus' or Loki's `status: "error"`). */
  | 'error-body'
  /** The source refused the query itself: a PromQL or LogQL syntax or type error. */
  | 'bad-expression'
  /** An answer that is not the documented JSON. */
  | 'bad-response'
  /** An answer larger than the configured limit; not read. */
  | 'too-large'
  /** The alert named a server that the configuration does not allow. */
  | 'not-allowed';

export class DiagnosticsError extends Error {
  override name = 'DiagnosticsError';
  constructor(
    readonly kind: DiagnosticsErrorKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface BoundedRequest {
  url: URL;
  method?: 'GET' | 'POST';
  /** Form fields: the query string of a GET, the urlencoded body of a POST. */
  params?: Record<string, string>;
  /** A JSON body to POST instead of form fields. */
  json?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  /** The caller's signal (the collection's deadline, the activity's cancellation). */
  signal?: AbortSignal;
  /** How messages name the source ("Prometheus at http://host:9090"); the method and URL otherwise. */
  source?: string;
}

export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** Server text that reaches the timeline is one short line. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Where a request went, for messages: no credentials, no query (the expression is said elsewhere). */
export function describeEndpoint(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.message === 'string') return cause.message;
  if (cause && typeof cause.code === 'string') return cause.code;
  return (err as Error).message;
}

async function readBounded(response: Response, maxBytes: number, where: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new DiagnosticsError(
      'too-large',
      `${where} answered ${declared} bytes, over the limit of ${maxBytes}`,
    );
  }
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new DiagnosticsError('too-large', `${where} answered more than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends the request and parses the answer as JSON, whatever its status (Prometheus and Loki
 * explain a 4xx or 5xx in a JSON body): the caller decides what the body means.
 */
export async function requestJson(request: BoundedRequest): Promise<JsonAnswer> {
  const where = request.source ?? `${request.method ?? 'GET'} ${describeEndpoint(request.url)}`;
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const url = new URL(request.url);
  const headers: Record<string, string> = { ...request.headers };
  // fetch refuses a URL with credentials in it; a configured http://user:pass@host means Basic auth.
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const form = new URLSearchParams(request.params ?? {});
  let init: RequestInit;
  if (request.method === 'POST' && request.json !== undefined) {
    init = {
      method: 'POST',
      body: JSON.stringify(request.json),
      headers: { 'content-type': 'application/json', ...headers },
    };
  } else if (request.method === 'POST') {
    init = {
      method: 'POST',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    };
  } else {
    for (const [name, value] of form) url.searchParams.append(name, value);
    init = { method: 'GET', headers };
  }

  const timedOut = (err: unknown): DiagnosticsError =>
    new DiagnosticsError(
      'timeout',
      timeout.aborted
        ? `${where} did not answer within ${request.timeoutMs} ms`
        : `${where} did not answer before the diagnostics deadline`,
      undefined,
      { cause: err },
    );

  let response: Response;
  try {
    // A redirect is not followed: it could lead anywhere, and a login page is no answer.
    response = await fetch(url, { ...init, signal, redirect: 'manual' });
  } catch (err) {
    if (signal.aborted) throw timedOut(err);
    throw new DiagnosticsError('unreachable', `${where} is unreachable: ${causeOf(err)}`, undefined, {
      cause: err,
    });
  }

  let text: string;
  try {
    text = await readBounded(response, request.maxBytes, where);
  } catch (err) {
    if (err instanceof DiagnosticsError) throw err;
    if (signal.aborted) throw timedOut(err);
    throw new DiagnosticsError('unreachable', `${where} broke off its answer: ${causeOf(err)}`, undefined, {
      cause: err,
    });
  }

  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    if (response.status < 200 || response.status > 299) {
      throw new DiagnosticsError(
        'http-status',
        `${where} answered HTTP ${response.status}${text.trim() ? `: ${oneLine(text, 200)}` : ''}`,
        response.status,
      );
    }
    throw new DiagnosticsError(
      'bad-response',
      `${where} answered something other than JSON: ${oneLine(text, 200)}`,
    );
  }
}

/** Label sets come from outside: bounded in count and length, built without assignment. */
export function boundLabels(labels: unknown, maxPairs = 30, maxChars = 200): Record<string, string> {
  if (!labels || typeof labels !== 'object') return {};
  const pairs = Object.entries(labels as Record<string, unknown>)
    .filter((pair): pair is [string, string] => typeof pair[1] === 'string')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxPairs)
    .map(([name, value]) => [name.slice(0, maxChars), value.slice(0, maxChars)]);
  // fromEntries defines own properties: a label named __proto__ stays a label.
  return Object.fromEntries(pairs) as Record<string, string>;
}
