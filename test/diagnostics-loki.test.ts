/**
 * Log lines around an alert's start, from Loki's HTTP API. Loki itself cannot be built here
 * (`go install github.com/grafana/loki/v3/cmd/loki@v3.7.8` refuses: its go.mod has replace
 * directives), so this file runs a stand-in that speaks the two endpoints as Loki documents
 * them: POST /loki/api/v1/push (JSON streams) and GET /loki/api/v1/query_range (equality
 * stream selectors; start inclusive, end exclusive, in Unix nanoseconds; `limit` entries in
 * `direction` order; answered as resultType "streams" with values [["<ns>", "<line>"]]).
 * It records each request so that the tests check what Baton sent, not only what it kept.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDiagnostics, describeFailure } from '../activities/diagnostics/collect';
import { queryLogs } from '../activities/diagnostics/loki';
import { diagnosticsSchema, type DiagnosticsConfigInput } from '../config/diagnostics';
import type { Alert } from '../workflows/incident/model';
import { freePort } from './support/ports';
import { closeNow, listenOnLoopback } from './support/loopback-server';

// ---------------------------------------------------------------------------------------------
// The stand-in.

interface Entry {
  labels: Record<string, string>;
  ns: bigint;
  line: string;
}

interface Recorded {
  params: Record<string, string>;
  tenant?: string;
}

/** Go's unquoting of a "..." literal, for the escapes Loki's parser accepts. */
function unquote(literal: string): string {
  const body = literal.slice(1, -1);
  return body.replace(
    /\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\\"'abfnrtv])/g,
    (_, esc: string) => {
      const simple: Record<string, string> = {
        '\\': '\\',
        '"': '"',
        "'": "'",
        a: '\x07',
        b: '\b',
        f: '\f',
        n: '\n',
        r: '\r',
        t: '\t',
        v: '\v',
      };
      if (esc.length === 1) return simple[esc] as string;
      return String.fromCodePoint(parseInt(esc.slice(1), 16));
    },
  );
}

/** `{a="x", b="y"}` → matchers; undefined for anything else (Loki's 400 "parse error"). */
function parseSelector(query: string): [string, string][] | undefined {
  const whole = /^\{\s*((?:[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"(?:[^"\\]|\\.)*"\s*,?\s*)+)\}$/s.exec(query.trim());
  if (!whole) return undefined;
  return [...(whole[1] as string).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")/gs)].map(
    (m) => [m[1] as string, unquote(m[2] as string)],
  );
}

interface LokiStandIn {
  url: string;
  requests: Recorded[];
  push(streams: { stream: Record<string, string>; values: [string, string][] }[]): Promise<void>;
  stop(): Promise<void>;
}

async function startLokiStandIn(): Promise<LokiStandIn> {
  const entries: Entry[] = [];
  const requests: Recorded[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://loki');
      if (request.method === 'POST' && url.pathname === '/loki/api/v1/push') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          streams: { stream: Record<string, string>; values: [string, string][] }[];
        };
        for (const s of body.streams) {
          for (const [ns, line] of s.values) entries.push({ labels: s.stream, ns: BigInt(ns), line });
        }
        response.writeHead(204).end();
        return;
      }
      if (request.method !== 'GET' || url.pathname !== '/loki/api/v1/query_range') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      const params = Object.fromEntries(url.searchParams);
      const tenant = request.headers['x-scope-orgid'];
      requests.push({ params, ...(typeof tenant === 'string' ? { tenant } : {}) });
      const matchers = parseSelector(params.query ?? '');
      if (!matchers) {
        response
          .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
          .end('parse error at line 1, col 2: syntax error: unexpected IDENTIFIER, expecting STRING\n');
        return;
      }
      const start = BigInt(params.start ?? '0');
      const end = BigInt(params.end ?? '0');
      const limit = Number(params.limit ?? '100');
      const backward = (params.direction ?? 'backward') === 'backward';
      const picked = entries
        .filter((e) => e.ns >= start && e.ns < end)
        .filter((e) => matchers.every(([name, value]) => e.labels[name] === value))
        .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0) * (backward ? -1 : 1))
        .slice(0, limit);
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const e of picked) {
        const key = JSON.stringify(Object.entries(e.labels).sort());
        const stream = streams.get(key) ?? { stream: e.labels, values: [] };
        stream.values.push([e.ns.toString(), e.line]);
        streams.set(key, stream);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          data: { resultType: 'streams', result: [...streams.values()], stats: { summary: {} } },
        }),
      );
    });
  });
  const url = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  return {
    url,
    requests,
    async push(streams) {
      const response = await fetch(`${url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams }),
      });
      expect(response.status).toBe(204);
    },
    stop: () => closeNow(server),
  };
}

// ---------------------------------------------------------------------------------------------

const NOW = new Date('2026-03-01T12:00:00Z');
const STARTED = '2026-03-01T11:50:00Z';
const ns = (iso: string, plusSeconds = 0): string =>
  (BigInt(Date.parse(iso)) * 1_000_000n + BigInt(plusSeconds) * 1_000_000_000n).toString();

let loki: LokiStandIn;

function alert(labels: Record<string, string>, fingerprint = 'fp-1'): Alert {
  return { fingerprint, status: 'firing', labels, annotations: {}, startsAt: STARTED };
}

function sources(input: Partial<NonNullable<DiagnosticsConfigInput>['loki']> = {}, url = loki.url) {
  return diagnosticsSchema.parse({
    prometheus: { enabled: false },
    loki: { url, lines: 5, maxLineBytes: 64, before: '5m', after: '2m', tenant: 'team-payments', ...input },
  });
}

beforeAll(async () => {
  loki = await startLokiStandIn();
  const api = { job: 'api', namespace: 'prod', instance: 'a:9100' };
  await loki.push([
    {
      stream: api,
      values: [
        [ns(STARTED, -600), 'too early: before the window'],
        ...Array.from(
          { length: 8 },
          (_, i) => [ns(STARTED, -240 + i * 30), `api line ${i}`] as [string, string],
        ),
        [ns(STARTED, 60), `a long line ${'x'.repeat(200)}`],
        [ns(STARTED, 300), 'too late: after the window'],
      ],
    },
    { stream: { job: 'other', namespace: 'prod' }, values: [[ns(STARTED, 10), 'another service']] },
    {
      stream: { job: 'api"} or {job="other', namespace: 'prod' },
      values: [[ns(STARTED, 5), 'the hostile stream']],
    },
  ]);
});

afterAll(async () => {
  await loki?.stop();
});

describe('logs around the alert from Loki (stand-in)', () => {
  it("asks for the alert's streams around its start and keeps the newest lines, cut to size", async () => {
    const result = await collectDiagnostics({
      alerts: [
        alert({
          alertname: 'HighErrors',
          severity: 'critical',
          job: 'api',
          namespace: 'prod',
          instance: 'a:9100',
        }),
      ],
      sources: sources(),
      now: NOW,
    });
    expect(result.failures).toEqual([]);
    expect(result.series).toEqual([]);
    expect(result.logs).toHaveLength(1);
    const excerpt = result.logs[0]!;

    const sent = loki.requests[loki.requests.length - 1]!;
    expect(sent.params).toEqual({
      query: '{job="api", namespace="prod", instance="a:9100"}',
      start: ns(STARTED, -300),
      end: ns(STARTED, 120),
      limit: '5',
      direction: 'backward',
    });
    expect(sent.tenant).toBe('team-payments');
    expect(excerpt).toMatchObject({
      source: 'loki',
      server: loki.url,
      selector: '{job="api", namespace="prod", instance="a:9100"}',
      window: { start: '2026-03-01T11:45:00.000Z', end: '2026-03-01T11:52:00.000Z' },
      alerts: ['fp-1'],
      linesOmitted: 0,
    });
    // The five newest in the window, oldest first; the long one cut to 64 bytes.
    expect(excerpt.lines.map((l) => l.line)).toEqual([
      'api line 4',
      'api line 5',
      'api line 6',
      'api line 7',
      `a long line ${'x'.repeat(64 - 'a long line '.length)}`,
    ]);
    expect(excerpt.lines[4]!.cut).toBe(true);
    expect(excerpt.lines[0]).toEqual({
      at: '2026-03-01T11:48:00.000Z',
      ns: ns(STARTED, -120),
      line: 'api line 4',
      labels: { job: 'api', namespace: 'prod', instance: 'a:9100' },
    });
  });

  it('reads the oldest lines of the window going forward', async () => {
    const result = await collectDiagnostics({
      alerts: [alert({ job: 'api', namespace: 'prod' })],
      sources: sources({ direction: 'forward', lines: 2 }),
      now: NOW,
    });
    expect(result.logs[0]!.lines.map((l) => l.line)).toEqual(['api line 0', 'api line 1']);
  });

  it('keeps a hostile label value one matcher: it selects its own stream and nothing else', async () => {
    const result = await collectDiagnostics({
      alerts: [alert({ job: 'api"} or {job="other', namespace: 'prod' })],
      sources: sources(),
      now: NOW,
    });
    expect(result.failures).toEqual([]);
    expect(result.logs[0]!.lines.map((l) => l.line)).toEqual(['the hostile stream']);
  });

  it('queries each distinct stream once, and skips alerts with none of the labels', async () => {
    const before = loki.requests.length;
    const result = await collectDiagnostics({
      alerts: [
        alert({ job: 'api', namespace: 'prod' }, 'fp-1'),
        alert({ job: 'api', namespace: 'prod' }, 'fp-2'),
        alert({ job: 'other', namespace: 'prod' }, 'fp-3'),
        alert({ alertname: 'NoLabels' }, 'fp-4'),
      ],
      sources: sources(),
      now: NOW,
    });
    expect(loki.requests.length - before).toBe(2);
    expect(result.logs.map((l) => l.alerts)).toEqual([['fp-1', 'fp-2'], ['fp-3']]);
    expect(result.skipped).toEqual([
      {
        fingerprint: 'fp-4',
        alertname: 'NoLabels',
        source: 'loki',
        reason: 'it has none of the labels job, service, app, namespace, instance',
      },
    ]);
  });

  it('maps alert labels to the names the log pipeline uses', async () => {
    await collectDiagnostics({
      alerts: [alert({ job: 'api', instance: 'a:9100' })],
      sources: sources({ selectorLabels: ['job', 'instance'], labelMap: { instance: 'host' } }),
      now: NOW,
    });
    expect(loki.requests[loki.requests.length - 1]!.params.query).toBe('{job="api", host="a:9100"}');
  });

  it('reports a Loki that is down as a failure, quickly, without throwing', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await collectDiagnostics({
      alerts: [alert({ job: 'api' })],
      sources: sources({}, closed),
      now: NOW,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.logs).toEqual([]);
    expect(result.failures).toMatchObject([
      { source: 'loki', server: closed, kind: 'unreachable', query: '{job="api"}', alerts: ['fp-1'] },
    ]);
    expect(describeFailure(result.failures[0]!)).toMatch(
      /^Logs unavailable: Loki at http:\/\/127\.0\.0\.1:\d+ is unreachable/,
    );
  });

  it("names Loki's refusal of a query and an answer that is not Loki's", async () => {
    const settings = sources().loki!;
    const window = { startNs: ns(STARTED, -60), endNs: ns(STARTED) };
    // Loki says why in plain text; the failure says it in Baton's words (issue #21).
    await expect(queryLogs({ selector: '{job=api}', window, settings })).rejects.toMatchObject({
      kind: 'bad-expression',
      message: `Loki at ${loki.url} answered HTTP 400: the selector is not valid LogQL`,
    });
    await expect(
      queryLogs({ selector: '{job="api"}', window, settings: { ...settings, url: `${loki.url}/elsewhere` } }),
    ).rejects.toMatchObject({ kind: 'http-status', status: 404 });
  });
});
