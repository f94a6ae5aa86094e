/**
 * The one way diagnostics talk to a data source: a bounded request that ends in JSON or in a
 * DiagnosticsError saying what went wrong in words a responder can act on. Nothing here
 * waits longer than its timeout, reads more than its byte limit or follows a redirect, and
 * no error carries what the source answered: the words are Baton's, with the HTTP status.
 * (An answer that is not the source's JSON may be anything, a metadata service's keys
 * included, and errors end on every responder's timeline.)
 */
import http from 'node:http';
import https from 'node:https';
import type { SourceCredential } from '../../config/diagnostics';
import {
  pinnedLookup,
  refusedAddress,
  resolveWithSystem,
  type AddressGuard,
  type ResolvedAddress,
} from './address-guard';

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
  /** The alert named a server, or its name an address, that the configuration does not allow. */
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
  /** The source's credentials, from the environment (a URL never carries them). */
  credential?: SourceCredential;
  timeoutMs: number;
  maxBytes: number;
  /** The caller's signal (the collection's deadline, the activity's cancellation). */
  signal?: AbortSignal;
  /** How messages name the source ("Prometheus at http://host:9090"); the method and URL otherwise. */
  source?: string;
  /**
   * For a server an alert named: its name is resolved once, refused when an address is one
   * the guard does not allow, and the connection goes to the addresses checked.
   */
  guard?: AddressGuard;
  /**
   * Says what an answer that is not JSON means, in Baton's words (Loki answers a malformed
   * query in plain text): the text itself never leaves this module.
   */
  explainText?: (status: number, text: string) => { kind: DiagnosticsErrorKind; reason: string } | undefined;
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

/** The Authorization header a credential makes. */
export function authorizationOf(credential: SourceCredential): string {
  if (credential.kind === 'bearer') return `Bearer ${credential.token}`;
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
}

/** A system error's code (ECONNREFUSED, ENOTFOUND): says what happened, holds nothing the source sent. */
function causeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' ? oneLine(message, 120) : 'the connection failed';
}

/** Rejects when the signal aborts first: a name lookup takes no signal of its own. */
async function beforeAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let stop = (): void => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    const abort = () => reject(new Error('aborted before the name resolved'));
    if (signal.aborted) abort();
    else {
      signal.addEventListener('abort', abort, { once: true });
      stop = () => signal.removeEventListener('abort', abort);
    }
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    stop();
  }
}

/** Where a transport failure happened: before an answer began, or while it was read. */
class TransportError extends Error {
  constructor(
    readonly phase: 'connect' | 'read',
    readonly original: unknown,
  ) {
    super('transport failed');
  }
}

interface RawAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP exchange with node:http, whose `lookup` option lets the connection go to the
 * addresses already checked. A redirect is refused unread: it could lead anywhere, and a
 * login page is no answer.
 */
function exchange(
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  limits: { signal: AbortSignal; maxBytes: number; where: string; addresses?: ResolvedAddress[] },
): Promise<RawAnswer> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<RawAnswer>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: init.method,
        headers: init.headers,
        signal: limits.signal,
        agent: false,
        ...(limits.addresses ? { lookup: pinnedLookup(limits.addresses) } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 300 && status <= 399) {
          response.destroy();
          reject(
            new DiagnosticsError(
              'http-status',
              `${limits.where} answered HTTP ${status}, a redirect, which diagnostics do not follow`,
              status,
            ),
          );
          return;
        }
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > limits.maxBytes) {
          response.destroy();
          reject(
            new DiagnosticsError(
              'too-large',
              `${limits.where} answered ${declared} bytes, over the limit of ${limits.maxBytes}`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        let ended = false;
        response.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > limits.maxBytes) {
            response.destroy();
            reject(
              new DiagnosticsError(
                'too-large',
                `${limits.where} answered more than ${limits.maxBytes} bytes`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          ended = true;
          resolve({ status, text: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', (err) => reject(new TransportError('read', err)));
        response.on('close', () => {
          if (!ended) reject(new TransportError('read', new Error('the answer broke off')));
        });
      },
    );
    request.on('error', (err) => reject(new TransportError('connect', err)));
    request.end(init.body);
  });
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
  // Credentials come from the environment only; a URL's are never sent (nor kept).
  url.username = '';
  url.password = '';
  const headers: Record<string, string> = { ...request.headers };
  if (request.credential) headers.authorization = authorizationOf(request.credential);
  const form = new URLSearchParams(request.params ?? {});
  let body: string | undefined;
  if (request.method === 'POST' && request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] = 'application/json';
  } else if (request.method === 'POST') {
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    for (const [name, value] of form) url.searchParams.append(name, value);
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body, 'utf8'));

  const timedOut = (err: unknown): DiagnosticsError =>
    new DiagnosticsError(
      'timeout',
      timeout.aborted
        ? `${where} did not answer within ${request.timeoutMs} ms`
        : `${where} did not answer before the diagnostics deadline`,
      undefined,
      { cause: err },
    );

  let addresses: ResolvedAddress[] | undefined;
  if (request.guard) {
    const resolve = request.guard.resolve ?? resolveWithSystem;
    try {
      addresses = await beforeAbort(resolve(url.hostname.replace(/^\[|\]$/g, '')), signal);
    } catch (err) {
      if (signal.aborted) throw timedOut(err);
      throw new DiagnosticsError('unreachable', `${where} is unreachable: ${causeOf(err)}`, undefined, {
        cause: err,
      });
    }
    if (addresses.length === 0) {
      throw new DiagnosticsError('unreachable', `${where} is unreachable: its name resolves to no address`);
    }
    const refused = refusedAddress(addresses, request.guard.allowedNetworks);
    if (refused) {
      throw new DiagnosticsError(
        'not-allowed',
        `${where} resolves to ${refused.address}, ${refused.what}, which ${request.guard.setting} does not list`,
      );
    }
  }

  let answer: RawAnswer;
  try {
    answer = await exchange(
      url,
      { method: request.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}) },
      { signal, maxBytes: request.maxBytes, where, ...(addresses ? { addresses } : {}) },
    );
  } catch (err) {
    if (err instanceof DiagnosticsError) throw err;
    const original = err instanceof TransportError ? err.original : err;
    if (signal.aborted) throw timedOut(original);
    const what =
      err instanceof TransportError && err.phase === 'read' ? 'broke off its answer' : 'is unreachable';
    throw new DiagnosticsError('unreachable', `${where} ${what}: ${causeOf(original)}`, undefined, {
      cause: original,
    });
  }

  const { status, text } = answer;
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    const explained = request.explainText?.(status, text);
    if (explained) {
      throw new DiagnosticsError(
        explained.kind,
        `${where} answered HTTP ${status}: ${explained.reason}`,
        status,
      );
    }
    if (status < 200 || status > 299) {
      throw new DiagnosticsError('http-status', `${where} answered HTTP ${status}`, status);
    }
    throw new DiagnosticsError(
      'bad-response',
      `${where} answered HTTP ${status} with something other than JSON`,
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
