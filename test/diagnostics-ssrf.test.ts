/**
 * Issue #21, finding 3: an alert's generatorURL must not make Baton fetch what its poster
 * chooses. A loopback listener answers like a cloud metadata service (plain text with a
 * recognisable secret in it) and counts the connections it gets; the tests show that the
 * default configuration never connects to it, that an allowed name resolving to loopback is
 * refused without an explicit allowance, that a redirect to it from an allowed server is not
 * followed, and that no part of an answer's body reaches a failure's text, whatever source.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolve } from '../activities/diagnostics/address-guard';
import { collectDiagnostics, describeFailure, type Diagnostics } from '../activities/diagnostics/collect';
import { requestJson } from '../activities/diagnostics/http';
import { diagnosticsSchema, type DiagnosticsConfigInput } from '../config/diagnostics';
import type { Alert } from '../workflows/incident/model';
import { closeNow, listenOnLoopback } from './support/loopback-server';

const CANARY = 'BATON-METADATA-CANARY-6c1f0e';
/** What a metadata service's credentials path answers: every line is recognisable. */
const METADATA_BODY = [
  'Code : Success',
  'Type : AWS-HMAC',
  'AccessKeyId : ASIABATONCANARYKEYID',
  `SecretAccessKey : ${CANARY}`,
  'Token : IQoJb3JpZ2luX2VjEBATONCANARYTOKEN',
].join('\n');

interface Listener {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  requests: { url: string; host?: string }[];
  stop(): Promise<void>;
}

async function listen(handler: http.RequestListener): Promise<Listener> {
  let connections = 0;
  const requests: Listener['requests'] = [];
  const server = http.createServer((request, response) => {
    requests.push({
      url: request.url ?? '',
      ...(request.headers.host ? { host: request.headers.host } : {}),
    });
    handler(request, response);
  });
  server.on('connection', () => (connections += 1));
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests,
    stop: () => closeNow(server),
  };
}

let metadata: Listener;
let redirector: Listener;
let failing: Listener;
let prometheusLike: Listener;

beforeAll(async () => {
  metadata = await listen((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end(METADATA_BODY);
  });
  // An allowed server that sends Baton on to the metadata service.
  redirector = await listen((_request, response) => {
    response
      .writeHead(302, { location: `${metadata.url}/latest/meta-data/iam/security-credentials/role` })
      .end(`Found. Redirecting to ${metadata.url}/latest/meta-data/iam/security-credentials/role`);
  });
  // A server that fails with the secret in its error page.
  failing = await listen((_request, response) => {
    response
      .writeHead(500, { 'content-type': 'text/html' })
      .end(`<h1>Internal error</h1><pre>${METADATA_BODY}</pre>`);
  });
  // Answers any query_range with an empty matrix: a Prometheus as far as Baton can tell.
  prometheusLike = await listen((_request, response) => {
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
  });
});

afterAll(async () => {
  await Promise.all([metadata, redirector, failing, prometheusLike].map((l) => l?.stop()));
});

function alertTo(server: string, fingerprint = 'fp-1', labels: Record<string, string> = {}): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: { alertname: 'QueueTooDeep', job: 'api', ...labels },
    annotations: {},
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    generatorURL: `${server}/graph?g0.expr=${encodeURIComponent('up == 0')}&g0.tab=1`,
  };
}

function collect(
  alerts: Alert[],
  input: DiagnosticsConfigInput = {},
  resolve?: Resolve,
): Promise<Diagnostics> {
  return collectDiagnostics({
    alerts,
    sources: diagnosticsSchema.parse({ deadline: '3s', ...input }),
    now: new Date(),
    ...(resolve ? { resolve } : {}),
  });
}

/** Every text a failure puts on the timeline and in the record. */
function failureTexts(result: Diagnostics): string[] {
  return result.failures.flatMap((f) => [f.error, describeFailure(f), JSON.stringify(f)]);
}

/** No line of the metadata answer (nor its secret) is in any of the texts. */
function expectNoPartOfTheBody(texts: string[]): void {
  expect(texts.length).toBeGreaterThan(0);
  for (const text of texts) {
    expect(text).not.toContain(CANARY);
    for (const line of METADATA_BODY.split('\n')) {
      expect(text).not.toContain(line.split(' : ')[1]);
    }
    expect(text).not.toContain('Internal error');
    expect(text).not.toContain('Redirecting');
  }
}

describe('servers an alert names', () => {
  it('never connects to a server an alert names when the configuration lists none', async () => {
    const result = await collect([
      alertTo(metadata.url, 'fp-ip'),
      alertTo(`http://localhost:${metadata.port}`, 'fp-name'),
    ]);
    expect(metadata.connections()).toBe(0);
    expect(result.series).toEqual([]);
    expect(result.failures.map((f) => [f.alerts[0], f.kind])).toEqual([
      ['fp-ip', 'not-allowed'],
      ['fp-name', 'not-allowed'],
    ]);
    expect(result.failures[0]!.error).toContain('diagnostics.prometheus.allowedServers');
    expect(result.failures[0]!.error).toContain('diagnostics.prometheus.url');
  });

  it('refuses an allowed name that resolves to a loopback address unless allowedNetworks lists it', async () => {
    const server = `http://localhost:${metadata.port}`;
    const refused = await collect([alertTo(server)], { prometheus: { allowedServers: [server] } });
    expect(metadata.connections()).toBe(0);
    expect(refused.failures).toMatchObject([{ kind: 'not-allowed', server }]);
    expect(refused.failures[0]!.error).toMatch(
      /resolves to (127\.0\.0\.1|::1), a loopback address, which diagnostics\.prometheus\.allowedNetworks does not list/,
    );

    // The same literal address is refused the same way.
    const literal = await collect([alertTo(metadata.url)], {
      prometheus: { allowedServers: [metadata.url] },
    });
    expect(metadata.connections()).toBe(0);
    expect(literal.failures).toMatchObject([{ kind: 'not-allowed' }]);

    // Allowed in so many words, it is queried: and what it answers stays out of the failure.
    const allowed = await collect([alertTo(server)], {
      prometheus: { allowedServers: [server], allowedNetworks: ['127.0.0.0/8', '::1'] },
    });
    expect(metadata.connections()).toBeGreaterThan(0);
    expect(allowed.failures).toMatchObject([{ kind: 'bad-response' }]);
    expect(allowed.failures[0]!.error).toMatch(/answered HTTP 200 with something other than JSON$/);
    expectNoPartOfTheBody(failureTexts(allowed));
  });

  it('refuses a name when any one of its addresses is not allowed', async () => {
    // Loopback answers only, so that a regression could connect to nothing but this machine;
    // which other addresses are special is the unit test's (diagnostics-addresses).
    const server = `http://prometheus.internal.test:${metadata.port}`;
    const connectionsBefore = metadata.connections();
    const resolving =
      (...addresses: string[]): Resolve =>
      async () =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const cases: [string[], string[], string][] = [
      [['127.0.0.1'], [], 'resolves to 127.0.0.1, a loopback address'],
      [['::1'], [], 'resolves to ::1, a loopback address'],
      [['::ffff:127.0.0.1'], [], 'resolves to ::ffff:127.0.0.1, a loopback address'],
      // One allowed answer and one not: what a rebinding name answers.
      [['127.0.0.1', '::1'], ['127.0.0.1'], 'resolves to ::1, a loopback address'],
    ];
    for (const [addresses, allowedNetworks, refusal] of cases) {
      const result = await collect(
        [alertTo(server)],
        { prometheus: { allowedServers: [server], allowedNetworks } },
        resolving(...addresses),
      );
      expect(result.failures, addresses.join(',')).toMatchObject([{ kind: 'not-allowed' }]);
      expect(result.failures[0]!.error).toContain(refusal);
    }
    expect(metadata.connections()).toBe(connectionsBefore);
  });

  it('connects to the very addresses it checked, resolving the name once', async () => {
    // A name that answers 127.0.0.1 (allowed here) first and ::1 (not allowed) after: the
    // connection must go where the check looked, not to what a second lookup says.
    let lookups = 0;
    const rebinding: Resolve = async () => {
      lookups += 1;
      return lookups === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '::1', family: 6 }];
    };
    const server = `http://prometheus.rebinding.test:${prometheusLike.port}`;
    const before = prometheusLike.requests.length;
    const result = await collect(
      [alertTo(server)],
      { prometheus: { allowedServers: [server], allowedNetworks: ['127.0.0.1/32'] } },
      rebinding,
    );
    expect(result.failures).toEqual([]);
    expect(result.series).toHaveLength(1);
    expect(lookups).toBe(1);
    expect(prometheusLike.requests.slice(before)).toMatchObject([
      { url: '/api/v1/query_range', host: `prometheus.rebinding.test:${prometheusLike.port}` },
    ]);
  });

  it('does not follow a redirect from an allowed server to one that is not allowed', async () => {
    const result = await collect([alertTo(redirector.url)], {
      prometheus: { allowedServers: [redirector.url], allowedNetworks: ['127.0.0.1'] },
    });
    expect(redirector.connections()).toBeGreaterThan(0);
    expect(metadata.requests.filter((r) => r.url.startsWith('/latest/'))).toEqual([]);
    expect(result.failures).toMatchObject([{ kind: 'http-status' }]);
    expect(result.failures[0]!.error).toBe(
      `Prometheus at ${redirector.url} answered HTTP 302, a redirect, which diagnostics do not follow`,
    );
    expect(failureTexts(result).join('\n')).not.toContain(String(metadata.port));
  });

  it('keeps no part of an error page in the failure, from a configured server either', async () => {
    const result = await collect([alertTo(`http://prometheus.example:9090`)], {
      prometheus: { url: failing.url },
    });
    expect(result.failures).toMatchObject([{ kind: 'http-status' }]);
    expect(result.failures[0]!.error).toBe(`Prometheus at ${failing.url} answered HTTP 500`);
    expectNoPartOfTheBody(failureTexts(result));
  });
});

describe('log stores', () => {
  // Their URLs are the operator's (none comes from an alert); what they answer is held to the same rules.
  it('keeps no part of a body that is not Loki JSON in the failure', async () => {
    for (const url of [metadata.url, failing.url]) {
      const result = await collect([alertTo('http://prometheus.example')], {
        prometheus: { enabled: false },
        loki: { url },
      });
      expect(result.failures).toMatchObject([{ source: 'loki' }]);
      expectNoPartOfTheBody(failureTexts(result));
    }
  });

  it('keeps no part of a body that is not Elasticsearch JSON in the failure', async () => {
    for (const url of [metadata.url, failing.url]) {
      const result = await collect([alertTo('http://prometheus.example')], {
        prometheus: { enabled: false },
        elasticsearch: { url, index: 'logs-*', fields: { job: 'service.name' } },
      });
      expect(result.failures).toMatchObject([{ source: 'elasticsearch' }]);
      expectNoPartOfTheBody(failureTexts(result));
    }
  });

  it('does not follow a log store that redirects', async () => {
    const before = metadata.requests.length;
    const result = await collect([alertTo('http://prometheus.example')], {
      prometheus: { enabled: false },
      loki: { url: redirector.url },
    });
    expect(metadata.requests.length).toBe(before);
    expect(result.failures).toMatchObject([{ source: 'loki', kind: 'http-status' }]);
    expect(result.failures[0]!.error).toContain('a redirect, which diagnostics do not follow');
  });
});

describe('requestJson', () => {
  it('sends no credentials a URL carries, and keeps none in its messages', async () => {
    const seen: (string | undefined)[] = [];
    const echo = await listen((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(503).end(`no ${CANARY}`);
    });
    try {
      const url = new URL(`http://baton:${CANARY}@127.0.0.1:${echo.port}/api/v1/query_range`);
      const error = await requestJson({ url, timeoutMs: 2_000, maxBytes: 65_536 }).catch(
        (err: unknown) => err,
      );
      expect(seen).toEqual([undefined]);
      expect((error as Error).message).toBe(
        `GET http://127.0.0.1:${echo.port}/api/v1/query_range answered HTTP 503`,
      );
    } finally {
      await echo.stop();
    }
  });
});
