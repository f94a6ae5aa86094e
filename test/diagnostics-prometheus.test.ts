/**
 * Diagnostics against a real Prometheus (Debian's package): it scrapes a gauge this file
 * serves, fires an alert rule over it and sends the alert, with the generatorURL it builds
 * itself, to a receiver standing where Alertmanager would. collectDiagnostics then charts the
 * rule's compared side from that URL. Sources that are down, hang, refuse the expression or
 * answer a bad status become failures, quickly, and never a thrown error.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDiagnostics, describeFailure, describeSnapshot } from '../activities/diagnostics/collect';
import { diagnosticsSchema, type DiagnosticsConfigInput } from '../config/diagnostics';
import type { Alert } from '../workflows/incident/model';
import { freePort } from './support/ports';
import {
  startFiringPrometheus,
  type FiringPrometheus,
  type MetricsEndpoint,
  type Prometheus,
  type SentAlert,
} from './support/prometheus';

const METRIC = 'baton_test_queue_depth';
const RULE_EXPR = `${METRIC}{queue="payments"} > 5`;

let gauge: MetricsEndpoint;
let firing: FiringPrometheus;
let prometheus: Prometheus;
let sent: SentAlert;

function asAlert(fingerprint: string, from: SentAlert, generatorURL = from.generatorURL): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: from.labels,
    annotations: from.annotations ?? {},
    startsAt: from.startsAt,
    generatorURL,
  };
}

/**
 * The alerts' servers must be allowed by name, and this Prometheus listens on 127.0.0.1, a
 * loopback address: both allowances are written out (issue #21).
 */
function sources(input: DiagnosticsConfigInput = {}, ...alsoAllowed: string[]) {
  return diagnosticsSchema.parse({
    ...input,
    prometheus: {
      lookback: '1m',
      maxPoints: 120,
      allowedServers: [prometheus.url, ...alsoAllowed],
      allowedNetworks: ['127.0.0.1'],
      ...input.prometheus,
    },
  });
}

/** The points of every polyline in the SVG. */
function polylines(svg: string): [number, number][][] {
  return [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) =>
    (m[1] as string).split(' ').map((pair) => pair.split(',').map(Number) as [number, number]),
  );
}

beforeAll(async () => {
  firing = await startFiringPrometheus({
    group: 'baton-diagnostics-test',
    rule: {
      alert: 'QueueTooDeep',
      expr: RULE_EXPR,
      labels: { severity: 'critical', service: 'payments' },
      annotations: { summary: 'the payments queue is deep' },
    },
    values: [
      [METRIC, { queue: 'payments' }, 7],
      [METRIC, { queue: 'refunds' }, 1],
    ],
  });
  ({ prometheus, sent, gauge } = firing);
  // A second value, so that the chart has a line that moves: 7 for a few scrapes, then 9.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  gauge.set(METRIC, { queue: 'payments' }, 9);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const [now] = await prometheus.query(`${METRIC}{queue="payments"}`);
    if (now?.value[1] === '9') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Range queries end on a whole second: let 9 be the value there too.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
});

afterAll(async () => {
  await firing?.stop();
});

describe('diagnostics from a real Prometheus', () => {
  it('takes the server and the expression from the generatorURL Prometheus itself sends', () => {
    expect(sent.generatorURL.startsWith(`${prometheus.url}/graph?g0.expr=`)).toBe(true);
    expect(new URL(sent.generatorURL).searchParams.get('g0.expr')).toBe(RULE_EXPR);
  });

  it("charts the rule's compared side over the window, with its real points, the threshold and the current value", async () => {
    const now = new Date();
    const result = await collectDiagnostics({ alerts: [asAlert('fp-1', sent)], sources: sources(), now });

    expect(result.failures).toEqual([]);
    expect(result.series).toHaveLength(1);
    const snapshot = result.series[0]!;
    expect(snapshot.server).toBe(prometheus.url);
    expect(snapshot.alertExpression).toBe(RULE_EXPR);
    expect(snapshot.expression).toBe(`${METRIC}{queue="payments"}`);
    expect(snapshot.threshold).toEqual({ op: '>', value: 5 });
    expect(snapshot.window.end).toBe(Math.floor(now.getTime() / 1000));
    expect(snapshot.window.stepSeconds).toBe(1);

    // Only the payments series matches the selector; its values are what the gauge served.
    expect(snapshot.series).toHaveLength(1);
    const series = snapshot.series[0]!;
    expect(series.labels).toMatchObject({ __name__: METRIC, queue: 'payments', job: 'queues' });
    const values = series.points.map(([, v]) => v).filter((v): v is number => v !== null);
    expect(values.length).toBeGreaterThanOrEqual(4);
    expect(new Set(values)).toEqual(new Set([7, 9]));
    expect(values[values.length - 1]).toBe(9);
    expect(snapshot.alerts).toEqual([
      {
        fingerprint: 'fp-1',
        alertname: 'QueueTooDeep',
        current: { at: new Date(series.points[series.points.length - 1]![0] * 1000).toISOString(), value: 9 },
      },
    ]);
    expect(describeSnapshot(snapshot)).toMatch(/^current value 9 at \d\d:\d\d:\d\d UTC \(fires when > 5\)$/);

    const chart = result.charts[0]!;
    expect(chart.name).toBe('metrics-1-queuetoodeep.svg');
    expect(snapshot.chart).toBe(chart.name);
    const lines = polylines(chart.svg);
    // One point per value (a gap, were there one, would split the line, not drop points).
    expect(lines.flat()).toHaveLength(values.length);
    const threshold = /<line class="threshold" x1="[\d.]+" y1="([\d.]+)"/.exec(chart.svg);
    expect(threshold).not.toBeNull();
    const thresholdY = Number(threshold![1]);
    // SVG's y grows downwards: 7 and 9 are both above the threshold line at 5, 9 higher than 7.
    const ys = lines.flat().map(([, y]) => y);
    expect(Math.max(...ys)).toBeLessThan(thresholdY);
    expect(ys[ys.length - 1]).toBeLessThan(ys[0]!);
    expect(chart.svg).toContain('queue=&quot;payments&quot;');
    expect(chart.svg).toContain('fires when value &gt; 5');
  });

  it('queries one (server, expression) pair once for the alerts that share it', async () => {
    const alerts = [
      asAlert('fp-1', sent),
      asAlert('fp-2', { ...sent, labels: { ...sent.labels, queue: 'refunds' } }),
    ];
    const result = await collectDiagnostics({ alerts, sources: sources(), now: new Date() });
    expect(result.series).toHaveLength(1);
    expect(result.series[0]!.alerts.map((a) => a.fingerprint)).toEqual(['fp-1', 'fp-2']);
    // The second alert's labels match no series of the compared side: it shows the first one's value.
    expect(result.series[0]!.alerts[1]!.current?.value).toBe(9);
  });

  it('uses the configured Prometheus URL with the expression from the alert', async () => {
    const closed = await freePort();
    const unreachable = sent.generatorURL.replace(`127.0.0.1:${prometheus.port}`, `127.0.0.1:${closed}`);
    const result = await collectDiagnostics({
      alerts: [asAlert('fp-1', sent, unreachable)],
      sources: sources({ prometheus: { url: prometheus.url, lookback: '1m', maxPoints: 120 } }),
      now: new Date(),
    });
    expect(result.failures).toEqual([]);
    expect(result.series[0]!.server).toBe(prometheus.url);
    expect(result.series[0]!.alerts[0]!.current?.value).toBe(9);
  });

  it('reports a Prometheus that is down as a failure within a second, without throwing', async () => {
    const closed = await freePort();
    const down = sent.generatorURL.replace(`127.0.0.1:${prometheus.port}`, `127.0.0.1:${closed}`);
    const started = Date.now();
    const result = await collectDiagnostics({
      alerts: [asAlert('fp-down', sent, down), asAlert('fp-up', sent)],
      sources: sources({}, `http://127.0.0.1:${closed}`),
      now: new Date(),
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    // The Prometheus that answers still gives its chart beside the failure.
    expect(result.series.map((s) => s.alerts[0]!.fingerprint)).toEqual(['fp-up']);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({
      source: 'prometheus',
      server: `http://127.0.0.1:${closed}`,
      kind: 'unreachable',
      alerts: ['fp-down'],
    });
    expect(result.failures[0]!.error).toContain('ECONNREFUSED');
    expect(describeFailure(result.failures[0]!)).toMatch(
      /^Metrics unavailable: Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable/,
    );
  });

  it('gives up on a Prometheus that never answers at the deadline', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const result = await collectDiagnostics({
        alerts: [asAlert('fp-1', sent, `http://127.0.0.1:${port}/graph?g0.expr=up`)],
        sources: sources({ deadline: '800ms', prometheus: { timeout: '5s' } }, `http://127.0.0.1:${port}`),
        now: new Date(),
      });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(700);
      expect(elapsed).toBeLessThan(2_000);
      expect(result.failures).toMatchObject([{ kind: 'timeout', alerts: ['fp-1'] }]);
      expect(result.failures[0]!.error).toContain('deadline');
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it("names Prometheus' own refusal of a bad expression", async () => {
    const bad = `${prometheus.url}/graph?g0.expr=${encodeURIComponent('rate(http_requests_total[5m] > 1')}&g0.tab=1`;
    const result = await collectDiagnostics({
      alerts: [asAlert('fp-1', sent, bad)],
      sources: sources(),
      now: new Date(),
    });
    expect(result.series).toEqual([]);
    expect(result.failures).toMatchObject([
      { kind: 'bad-expression', query: 'rate(http_requests_total[5m] > 1' },
    ]);
    // Prometheus' own words are its answer's: the record keeps the error type only (issue #21).
    expect(result.failures[0]!.error).toBe(
      `Prometheus at ${prometheus.url} refused the query (bad_data): the expression does not parse or does not type-check`,
    );
  });

  it('names an HTTP status without a Prometheus error body', async () => {
    const result = await collectDiagnostics({
      alerts: [asAlert('fp-1', sent)],
      sources: sources({ prometheus: { url: `${prometheus.url}/not-prometheus` } }),
      now: new Date(),
    });
    expect(result.failures).toMatchObject([{ kind: 'http-status' }]);
    expect(result.failures[0]!.error).toContain('HTTP 404');
  });

  it('refuses a server from an alert that allowedServers does not list', async () => {
    const result = await collectDiagnostics({
      alerts: [asAlert('fp-1', sent)],
      sources: sources({ prometheus: { allowedServers: ['http://prometheus.internal:9090'] } }),
      now: new Date(),
    });
    expect(result.series).toEqual([]);
    expect(result.failures).toMatchObject([{ kind: 'not-allowed' }]);

    const allowed = await collectDiagnostics({
      alerts: [asAlert('fp-1', sent)],
      sources: sources({ prometheus: { allowedServers: [prometheus.url] } }),
      now: new Date(),
    });
    expect(allowed.failures).toEqual([]);
    expect(allowed.series).toHaveLength(1);
  });
});
