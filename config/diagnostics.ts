/**
 * Where Baton looks for the metrics and logs behind an alert (issue #13): the Prometheus that
 * evaluated it and, where a team has one, its log store. Every bound lives here so that what
 * an incident keeps stays small whatever the sources answer.
 */
import net from 'node:net';
import { z } from 'zod';
import { formatDuration, parseDuration } from './duration';

/** A duration in the configuration's notation ("5s", "1h"), in milliseconds, within bounds. */
function boundedDuration(minMs: number, maxMs: number) {
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a duration from ${formatDuration(minMs)} to ${formatDuration(maxMs)}; write it like 5s, 10m or 1h`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'write an http:// or https:// URL' });

/**
 * Where a source is: its base URL and nothing else. A URL is copied into every incident's
 * record, its history and the API's answers, so a password in it would be published there;
 * a query or fragment would be lost when Baton appends the API's path anyway. The message
 * never repeats the URL: it may hold the password.
 */
const serverUrl = httpUrl.superRefine((text, ctx) => {
  // The format check above has already said so when it is no URL at all.
  if (!URL.canParse(text)) return;
  const url = new URL(text);
  if (url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      message:
        'remove the user name and password from the URL (it is stored in every incident); ' +
        'set auth: { basic: { username, passwordEnv } } or auth: { bearer: { tokenEnv } } instead',
    });
  }
  if (url.search || url.hash || text.includes('?') || text.includes('#')) {
    ctx.addIssue({ code: 'custom', message: "write the server's base URL, without a query or fragment" });
  }
});

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'name an environment variable');

/**
 * How Baton logs in to a source: the secret stays in the environment and is read by the
 * worker at start-up (config/secrets.ts), the way the webhook's credentials are.
 */
const sourceAuth = z.union([
  z.strictObject({ basic: z.strictObject({ username: z.string().min(1), passwordEnv: envName }) }),
  z.strictObject({ bearer: z.strictObject({ tokenEnv: envName }) }),
]);

/** An address or a CIDR range: `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`. */
export function isNetworkRange(text: string): boolean {
  const [address = '', prefix, extra] = text.split('/');
  if (extra !== undefined) return false;
  const version = net.isIP(address);
  if (version === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

const networkRange = z
  .string()
  .refine(isNetworkRange, 'write an IP address or a CIDR range (10.0.0.0/8, fd00::/8)');
/** Prometheus and Loki label names. */
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'write a label name ([a-zA-Z_][a-zA-Z0-9_]*)');
/** An answer larger than this many bytes is refused rather than read (64 KiB to 64 MiB). */
const responseBytes = (fallback: number) =>
  z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(fallback);

export const PROMETHEUS_DEFAULTS = {
  timeout: '5s',
  lookback: '1h',
  maxSeries: 5,
  maxPoints: 240,
  maxResponseBytes: 4 * 1024 * 1024,
} as const;

export const prometheusSourceSchema = z.strictObject({
  /** `false` turns metrics off. */
  enabled: z.boolean().default(true),
  /**
   * Queried instead of the server an alert's generatorURL names (the expression still comes
   * from it). Set it when that URL is one Baton cannot reach, such as a name inside a cluster
   * or a proxy that needs a login.
   */
  url: serverUrl.optional(),
  /**
   * The only servers (origins such as http://prometheus:9090) a generatorURL may send Baton
   * to. Alerts come from outside: without `url` or this list, no alert's server is queried.
   */
  allowedServers: z.array(serverUrl).optional(),
  /**
   * Loopback, link-local, private and other special addresses that a server from
   * `allowedServers` may resolve to. Without them, such a server is refused: a name on the
   * list that resolves to 127.0.0.1 or 169.254.169.254 is no Prometheus Baton should ask.
   * `url` needs no entry here: the operator wrote it, no alert chose it.
   */
  allowedNetworks: z.array(networkRange).optional(),
  auth: sourceAuth.optional(),
  timeout: boundedDuration(100, 60_000).prefault(PROMETHEUS_DEFAULTS.timeout),
  /** How far back the chart reaches (stretched to the alert's start when it began earlier). */
  lookback: boundedDuration(60_000, 86_400_000).prefault(PROMETHEUS_DEFAULTS.lookback),
  maxSeries: z.number().int().min(1).max(20).default(PROMETHEUS_DEFAULTS.maxSeries),
  /** Points per series; the query's step is chosen to stay under it (Prometheus allows 11,000). */
  maxPoints: z.number().int().min(10).max(2000).default(PROMETHEUS_DEFAULTS.maxPoints),
  /** An answer larger than this is refused rather than read. */
  maxResponseBytes: responseBytes(PROMETHEUS_DEFAULTS.maxResponseBytes),
});

export const LOKI_DEFAULTS = {
  selectorLabels: ['job', 'service', 'app', 'namespace', 'instance'],
  lines: 50,
  maxLineBytes: 2048,
  before: '15m',
  after: '5m',
  direction: 'backward',
  timeout: '5s',
  maxResponseBytes: 4 * 1024 * 1024,
} as const;

export const lokiSourceSchema = z.strictObject({
  url: serverUrl,
  auth: sourceAuth.optional(),
  /** Alert labels that make the stream selector, those present on the alert, in this order. */
  selectorLabels: z
    .array(labelName)
    .min(1)
    .default([...LOKI_DEFAULTS.selectorLabels]),
  /** Alert label → Loki label, where the log pipeline names a label differently. */
  labelMap: z.record(labelName, labelName).default({}),
  /** The tenant (X-Scope-OrgID) of a multi-tenant Loki. */
  tenant: z.string().min(1).optional(),
  lines: z.number().int().min(1).max(1000).default(LOKI_DEFAULTS.lines),
  /** Longer lines are cut (at a character boundary) and marked as cut. */
  maxLineBytes: z.number().int().min(64).max(65_536).default(LOKI_DEFAULTS.maxLineBytes),
  /** The window around the alert's start that the lines come from. */
  before: boundedDuration(0, 86_400_000).prefault(LOKI_DEFAULTS.before),
  after: boundedDuration(0, 86_400_000).prefault(LOKI_DEFAULTS.after),
  /** backward: the lines nearest the alert's start-plus-`after`; forward: those nearest the window's start. */
  direction: z.enum(['backward', 'forward']).default(LOKI_DEFAULTS.direction),
  timeout: boundedDuration(100, 60_000).prefault(LOKI_DEFAULTS.timeout),
  maxResponseBytes: responseBytes(LOKI_DEFAULTS.maxResponseBytes),
});

export const ELASTICSEARCH_DEFAULTS = {
  timeField: '@timestamp',
  messageField: 'message',
} as const;

/** Elasticsearch (or OpenSearch) `_search`, for teams whose logs are there rather than in Loki. */
export const elasticsearchSourceSchema = z.strictObject({
  url: serverUrl,
  auth: sourceAuth.optional(),
  /** An index, an alias or a pattern (`logs-*`). */
  index: z.string().regex(/^[^/?#\s]+$/, 'write an index name or pattern, without / ? # or spaces'),
  /** Alert label → field that must hold the same value (a keyword field: `service.name`, `host.name.keyword`). */
  fields: z.record(labelName, z.string().min(1)).refine((f) => Object.keys(f).length > 0, {
    message: 'map at least one alert label to a field, or every log line of the index would match',
  }),
  timeField: z.string().min(1).default(ELASTICSEARCH_DEFAULTS.timeField),
  messageField: z.string().min(1).default(ELASTICSEARCH_DEFAULTS.messageField),
  lines: z.number().int().min(1).max(1000).default(LOKI_DEFAULTS.lines),
  maxLineBytes: z.number().int().min(64).max(65_536).default(LOKI_DEFAULTS.maxLineBytes),
  before: boundedDuration(0, 86_400_000).prefault(LOKI_DEFAULTS.before),
  after: boundedDuration(0, 86_400_000).prefault(LOKI_DEFAULTS.after),
  timeout: boundedDuration(100, 60_000).prefault(LOKI_DEFAULTS.timeout),
  maxResponseBytes: responseBytes(LOKI_DEFAULTS.maxResponseBytes),
});

export const DIAGNOSTICS_DEFAULTS = { deadline: '10s', maxAlerts: 5 } as const;

const diagnosticsObject = z.strictObject({
  /** Everything a collection does ends by then; what has not answered is a failure. */
  deadline: boundedDuration(500, 120_000).prefault(DIAGNOSTICS_DEFAULTS.deadline),
  /** Alerts looked at per collection (an alert group can hold hundreds). */
  maxAlerts: z.number().int().min(1).max(50).default(DIAGNOSTICS_DEFAULTS.maxAlerts),
  prometheus: prometheusSourceSchema.prefault({}),
  loki: lokiSourceSchema.optional(),
  elasticsearch: elasticsearchSourceSchema.optional(),
});

/**
 * `diagnostics:` in the configuration file. Metrics are on by default (each alert's
 * generatorURL says where); logs only where a log store is configured.
 */
export const diagnosticsSchema = diagnosticsObject.prefault({});

export type DiagnosticsConfigInput = z.input<typeof diagnosticsSchema>;
export type DiagnosticsConfig = z.output<typeof diagnosticsSchema>;
export type PrometheusSource = z.output<typeof prometheusSourceSchema>;
export type LokiSource = z.output<typeof lokiSourceSchema>;
export type ElasticsearchSource = z.output<typeof elasticsearchSourceSchema>;
export type SourceAuth = z.output<typeof sourceAuth>;

export type DiagnosticsSource = 'prometheus' | 'loki' | 'elasticsearch';

/** A source's credentials as read from the environment: only the worker holds them. */
export type SourceCredential =
  { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export type DiagnosticsCredentials = Partial<Record<DiagnosticsSource, SourceCredential>>;
