/**
 * Where a query goes and how big its answer may get: servers and expressions from
 * generatorURLs, the window and step, and an answer cut to its series and points caps.
 */
import { describe, expect, it } from 'vitest';
import { DiagnosticsError } from '../../activities/diagnostics/http';
import {
  checkAllowed,
  chooseTarget,
  currentValue,
  parseRangeAnswer,
  queryWindow,
  seriesOfAlert,
  targetFromGeneratorURL,
} from '../../activities/diagnostics/prometheus';

/** What Prometheus sends: external URL + /graph?g0.expr=<url.QueryEscape(expr)>&g0.tab=1. */
function generatorURL(external: string, expr: string): string {
  return `${external}/graph?g0.expr=${encodeURIComponent(expr).replace(/%20/g, '+')}&g0.tab=1`;
}

describe('targetFromGeneratorURL', () => {
  it('reads the server and the expression Prometheus put in the URL', () => {
    const expr = 'sum(rate(http_requests_total{code=~"5..", path="/a&b"}[5m])) > 0.5';
    expect(targetFromGeneratorURL(generatorURL('http://prometheus:9090', expr))).toEqual({
      server: 'http://prometheus:9090',
      expression: expr,
    });
  });

  it('keeps the path prefix of an external URL behind a proxy', () => {
    expect(targetFromGeneratorURL(generatorURL('https://ops.example.com/prometheus', 'up == 0'))).toEqual({
      server: 'https://ops.example.com/prometheus',
      expression: 'up == 0',
    });
  });

  it('drops credentials an alert carries in its URL', () => {
    expect(targetFromGeneratorURL('http://user:secret@prom:9090/graph?g0.expr=up')?.server).toBe(
      'http://prom:9090',
    );
  });

  it.each([
    undefined,
    '',
    'not a url',
    'http://grafana:3000/alerting/grafana/abc/view',
    'http://prom:9090/graph?g0.tab=1',
    'http://prom:9090/graph?g0.expr=+++',
    'javascript:alert(1)//?g0.expr=up',
    'file:///etc/passwd?g0.expr=up',
  ])('finds no Prometheus expression in %s', (url) => {
    expect(targetFromGeneratorURL(url)).toBeUndefined();
  });
});

describe('chooseTarget and checkAllowed', () => {
  const url = generatorURL('http://prometheus-0.prometheus.monitoring.svc:9090', 'up == 0');

  it("queries the configured server with the alert's expression", () => {
    expect(chooseTarget(url, { url: 'http://127.0.0.1:9090/' })).toEqual({
      server: 'http://127.0.0.1:9090',
      expression: 'up == 0',
    });
    expect(chooseTarget(undefined, { url: 'http://127.0.0.1:9090' })).toBeUndefined();
  });

  it('refuses a server from an alert outside allowedServers, and allows one inside', () => {
    const allowed = { allowedServers: ['http://prometheus-0.prometheus.monitoring.svc:9090/'] };
    expect(() => checkAllowed('http://prometheus-0.prometheus.monitoring.svc:9090', allowed)).not.toThrow();
    let error: unknown;
    try {
      checkAllowed('http://169.254.169.254', allowed);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DiagnosticsError);
    expect((error as DiagnosticsError).kind).toBe('not-allowed');
  });

  it('refuses every server from an alert when neither url nor allowedServers is set', () => {
    for (const settings of [{}, { allowedServers: [] }]) {
      expect(() => checkAllowed('http://anything:1', settings)).toThrow(
        expect.objectContaining({ kind: 'not-allowed' }) as Error,
      );
    }
    expect(() => checkAllowed('http://anything:1', { url: 'http://127.0.0.1:9090' })).not.toThrow();
  });
});

describe('queryWindow', () => {
  const now = new Date('2026-03-01T12:00:00.750Z');
  const end = Date.parse('2026-03-01T12:00:00Z') / 1000;

  it.each([
    [3_600_000, 240],
    [3_600_000, 10],
    [60_000, 120],
    [86_400_000, 2000],
    [7_000_000, 97],
  ])('over %s ms keeps at most %s points and ends on now', (lookbackMs, maxPoints) => {
    const w = queryWindow({ now, lookbackMs, maxPoints });
    const points = (w.end - w.start) / w.stepSeconds + 1;
    expect(w.end).toBe(end);
    expect(Number.isInteger(points)).toBe(true);
    expect(points).toBeLessThanOrEqual(maxPoints);
    expect(w.end - w.start).toBeGreaterThanOrEqual(lookbackMs / 1000);
    // No coarser than needed: a step one second shorter would exceed the cap.
    if (w.stepSeconds > 1)
      expect(Math.ceil(lookbackMs / 1000 / (w.stepSeconds - 1)) + 1).toBeGreaterThan(maxPoints);
  });

  it('stretches back to before an earlier alert start, at most a day', () => {
    const w = queryWindow({ now, startsAt: '2026-03-01T08:00:00Z', lookbackMs: 3_600_000, maxPoints: 240 });
    expect(w.start).toBeLessThanOrEqual(Date.parse('2026-03-01T08:00:00Z') / 1000 - 360);
    expect((w.end - w.start) / w.stepSeconds + 1).toBeLessThanOrEqual(240);
    const old = queryWindow({ now, startsAt: '2025-01-01T00:00:00Z', lookbackMs: 3_600_000, maxPoints: 240 });
    expect(old.end - old.start).toBeLessThan(86_400 + old.stepSeconds);
    const recent = queryWindow({
      now,
      startsAt: '2026-03-01T11:55:00Z',
      lookbackMs: 3_600_000,
      maxPoints: 240,
    });
    expect(recent.end - recent.start).toBe(3_600);
    expect(queryWindow({ now, startsAt: 'garbage', lookbackMs: 3_600_000, maxPoints: 240 })).toEqual(
      queryWindow({ now, lookbackMs: 3_600_000, maxPoints: 240 }),
    );
  });
});

function matrix(series: { metric: Record<string, string>; values: [number, string][] }[]): unknown {
  return { status: 'success', data: { resultType: 'matrix', result: series } };
}

describe('parseRangeAnswer', () => {
  const limits = { maxSeries: 3, maxPoints: 10 };

  it('keeps at most maxSeries series and counts the rest', () => {
    const body = matrix(
      Array.from({ length: 50 }, (_, i) => ({ metric: { instance: `host-${i}` }, values: [[1, String(i)]] })),
    );
    const answer = parseRangeAnswer(body, limits, 'test');
    expect(answer.series.map((s) => s.labels.instance)).toEqual(['host-0', 'host-1', 'host-2']);
    expect(answer.seriesOmitted).toBe(47);
  });

  it("puts the alerts' own series first", () => {
    const body = matrix(
      ['a', 'b', 'c', 'd', 'e'].map((i) => ({ metric: { __name__: 'up', instance: i }, values: [[1, '1']] })),
    );
    const answer = parseRangeAnswer(
      body,
      {
        ...limits,
        alertLabels: [
          { alertname: 'Down', instance: 'e' },
          { instance: 'd', job: 'x' },
        ],
      },
      'test',
    );
    expect(answer.series.map((s) => s.labels.instance)).toEqual(['d', 'e', 'a']);
    expect(seriesOfAlert(answer.series, { alertname: 'Down', instance: 'e' })?.labels.instance).toBe('e');
    expect(seriesOfAlert(answer.series, { instance: 'zzz' })?.labels.instance).toBe('d');
  });

  it('thins a series longer than maxPoints, keeping the last point', () => {
    const values = Array.from({ length: 1000 }, (_, i) => [i, String(i)] as [number, string]);
    const answer = parseRangeAnswer(matrix([{ metric: {}, values }]), limits, 'test');
    const points = answer.series[0]!.points;
    expect(points.length).toBeLessThanOrEqual(10);
    expect(points[points.length - 1]).toEqual([999, 999]);
    expect(answer.pointsOmitted).toBe(1000 - points.length);
  });

  it('keeps NaN and infinities as gaps (JSON cannot carry them), and the current value skips them', () => {
    const answer = parseRangeAnswer(
      matrix([
        {
          metric: {},
          values: [
            [1, '3'],
            [2, 'NaN'],
            [3, '+Inf'],
            [4, '-Inf'],
          ],
        },
      ]),
      limits,
      'test',
    );
    expect(answer.series[0]!.points).toEqual([
      [1, 3],
      [2, null],
      [3, null],
      [4, null],
    ]);
    expect(currentValue(answer.series[0])).toEqual({ at: 1, value: 3 });
    expect(JSON.parse(JSON.stringify(answer))).toEqual(answer);
  });

  it('bounds label sets and keeps a label named __proto__ as a label', () => {
    const metric = JSON.parse(
      `{${Array.from({ length: 100 }, (_, i) => `"l${String(i).padStart(3, '0')}":"${'v'.repeat(1000)}"`).join(',')},"__proto__":"p"}`,
    ) as Record<string, string>;
    const answer = parseRangeAnswer(matrix([{ metric, values: [[1, '1']] }]), limits, 'test');
    const labels = answer.series[0]!.labels;
    expect(Object.keys(labels)).toHaveLength(30);
    expect(Object.hasOwn(labels, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Math.max(...Object.values(labels).map((v) => v.length))).toBe(200);
  });

  it.each([
    [null],
    [{ status: 'success' }],
    [{ status: 'success', data: { resultType: 'vector', result: [] } }],
    [{ status: 'error', error: 'x' }],
    ['a string'],
  ])('refuses %j as a bad response', (body) => {
    expect(() => parseRangeAnswer(body, limits, 'Prometheus at x')).toThrow(
      expect.objectContaining({ kind: 'bad-response' }) as Error,
    );
  });

  it('passes over malformed points and keeps warnings short', () => {
    const body = {
      status: 'success',
      warnings: ['w'.repeat(5000), 7],
      data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1'], 'junk', ['2', '2'], [3]] }] },
    };
    const answer = parseRangeAnswer(body, limits, 'test');
    expect(answer.series[0]!.points).toEqual([
      [1, 1],
      [3, null],
    ]);
    expect(answer.warnings).toHaveLength(1);
    expect(answer.warnings[0]!.length).toBeLessThanOrEqual(200);
  });
});
