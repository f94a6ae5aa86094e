/**
 * Log lines from Elasticsearch's `_search`. No Elasticsearch or OpenSearch can be installed
 * here (neither is a Debian package, and Maven Central carries their libraries, not a server
 * one can start), so this file runs a stand-in for the one endpoint Baton uses, as
 * Elasticsearch documents it: POST /<index>/_search with a bool filter of one range and term
 * clauses, `sort` on the time field, `size`; answered as hits.hits[]._source, and errors as
 * `{ error: { type, reason }, status }`. It records each body so the tests check what Baton sent.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDiagnostics } from '../activities/diagnostics/collect';
import { searchLogs } from '../activities/diagnostics/elasticsearch';
import { diagnosticsSchema } from '../config/diagnostics';
import type { Alert } from '../workflows/incident/model';
import { freePort } from './support/ports';
import { closeNow, listenOnLoopback } from './support/loopback-server';

interface Doc {
  '@timestamp': string;
  message: string;
  'service.name': string;
}

interface SearchRequest {
  index: string;
  body: {
    size: number;
    sort: Record<string, { order: string }>[];
    query: { bool: { filter: Record<string, Record<string, unknown>>[] } };
  };
}

function esError(response: http.ServerResponse, status: number, type: string, reason: string): void {
  response
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }));
}

async function startElasticsearchStandIn(indices: Record<string, Doc[]>) {
  const requests: SearchRequest[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const match = /^\/([^/]+)\/_search$/.exec(new URL(request.url ?? '/', 'http://es').pathname);
      if (request.method !== 'POST' || !match || request.headers['content-type'] !== 'application/json') {
        esError(response, 405, 'illegal_argument_exception', 'unsupported');
        return;
      }
      const index = decodeURIComponent(match[1] as string);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SearchRequest['body'];
      requests.push({ index, body });
      const docs = Object.hasOwn(indices, index) ? (indices[index] as Doc[]) : undefined;
      if (!docs) {
        esError(response, 404, 'index_not_found_exception', `no such index [${index}]`);
        return;
      }
      let hits = [...docs];
      for (const clause of body.query.bool.filter) {
        const [kind, spec] = Object.entries(clause)[0] as [string, Record<string, unknown>];
        const fields = Object.entries(spec);
        if (fields.length !== 1) {
          esError(
            response,
            400,
            'parsing_exception',
            `[${kind}] query malformed, no start_object after query name`,
          );
          return;
        }
        const [field, condition] = fields[0] as [keyof Doc, unknown];
        if (kind === 'term') hits = hits.filter((d) => d[field] === condition);
        if (kind === 'range') {
          const { gte, lt } = condition as { gte: string; lt: string };
          hits = hits.filter(
            (d) => Date.parse(d[field]) >= Date.parse(gte) && Date.parse(d[field]) < Date.parse(lt),
          );
        }
      }
      hits.sort((a, b) => Date.parse(b['@timestamp']) - Date.parse(a['@timestamp']));
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          took: 1,
          timed_out: false,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
          hits: {
            max_score: null,
            hits: hits.slice(0, body.size).map((d, i) => ({
              _index: index,
              _id: String(i),
              _score: null,
              _source: d,
              sort: [Date.parse(d['@timestamp'])],
            })),
          },
        }),
      );
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => closeNow(server),
  };
}

const NOW = new Date('2026-03-01T12:00:00Z');
const STARTED = '2026-03-01T11:50:00Z';
const at = (seconds: number) => new Date(Date.parse(STARTED) + seconds * 1000).toISOString();

let es: Awaited<ReturnType<typeof startElasticsearchStandIn>>;

function sources(index = 'logs-payments', url = es.url) {
  return diagnosticsSchema.parse({
    prometheus: { enabled: false },
    elasticsearch: { url, index, fields: { job: 'service.name' }, lines: 3, before: '5m', after: '2m' },
  });
}

const alert: Alert = {
  fingerprint: 'fp-1',
  status: 'firing',
  labels: { alertname: 'HighErrors', job: 'api' },
  annotations: {},
  startsAt: STARTED,
};

beforeAll(async () => {
  es = await startElasticsearchStandIn({
    'logs-payments': [
      { '@timestamp': at(-600), message: 'too early', 'service.name': 'api' },
      ...Array.from({ length: 6 }, (_, i) => ({
        '@timestamp': at(-200 + i * 30),
        message: `api line ${i}`,
        'service.name': 'api',
      })),
      { '@timestamp': at(10), message: 'another service', 'service.name': 'web' },
      { '@timestamp': at(200), message: 'too late', 'service.name': 'api' },
    ],
  });
});

afterAll(async () => {
  await es?.stop();
});

describe('logs around the alert from Elasticsearch (stand-in)', () => {
  it("searches the alert's service in the window and keeps the newest lines, oldest first", async () => {
    const result = await collectDiagnostics({ alerts: [alert], sources: sources(), now: NOW });
    expect(result.failures).toEqual([]);
    expect(es.requests.at(-1)).toEqual({
      index: 'logs-payments',
      body: {
        size: 3,
        sort: [{ '@timestamp': { order: 'desc' } }],
        track_total_hits: false,
        query: {
          bool: {
            filter: [
              {
                range: { '@timestamp': { gte: '2026-03-01T11:45:00.000Z', lt: '2026-03-01T11:52:00.000Z' } },
              },
              { term: { 'service.name': 'api' } },
            ],
          },
        },
      },
    });
    expect(result.logs).toHaveLength(1);
    expect(result.logs[0]).toMatchObject({
      source: 'elasticsearch',
      server: es.url,
      selector: '[{"term":{"service.name":"api"}}]',
      alerts: ['fp-1'],
    });
    // The three newest of the service's six lines in the window.
    expect(result.logs[0]!.lines.map((l) => [l.at, l.line])).toEqual([
      [at(-110), 'api line 3'],
      [at(-80), 'api line 4'],
      [at(-50), 'api line 5'],
    ]);
  });

  it('reports an index that does not exist, a malformed query and a cluster that is down as failures', async () => {
    const missing = await collectDiagnostics({ alerts: [alert], sources: sources('nope'), now: NOW });
    expect(missing.failures).toMatchObject([{ source: 'elasticsearch', kind: 'error-body' }]);
    // The error type names the problem; the cluster's reason text stays out of the record (issue #21).
    expect(missing.failures[0]!.error).toBe(
      `Elasticsearch at ${es.url} answered HTTP 404 (index_not_found_exception)`,
    );

    const settings = sources().elasticsearch!;
    await expect(
      searchLogs({ filters: [{ term: {} }], window: { start: at(-60), end: at(0) }, settings }),
    ).rejects.toMatchObject({ kind: 'bad-expression', status: 400 });

    const closed = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const down = await collectDiagnostics({
      alerts: [alert],
      sources: sources('logs-payments', closed),
      now: NOW,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(down.failures).toMatchObject([{ source: 'elasticsearch', kind: 'unreachable', server: closed }]);
  });
});
