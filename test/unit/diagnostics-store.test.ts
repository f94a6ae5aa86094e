/**
 * What a collection leaves in the incident store and what the workflow gets back: the files
 * whole, and a summary that stays small however much the sources answered.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderChart } from '../../activities/diagnostics/chart';
import type { Diagnostics, MetricSnapshot } from '../../activities/diagnostics/collect';
import { diagnosticsFolderName, writeDiagnostics } from '../../activities/diagnostics/store';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A collection at every cap: 5 queries × 5 series × 240 points, 20 alerts each, 5 × 50 long log lines. */
function largest(): Diagnostics {
  const start = 1_772_362_800;
  const series = Array.from({ length: 5 }, (_, s) => ({
    labels: { instance: `host-${s}.example:9100`, job: 'node' },
    points: Array.from(
      { length: 240 },
      (_, i) => [start + i * 15, Math.PI * i * (s + 1)] as [number, number],
    ),
  }));
  const snapshots: MetricSnapshot[] = Array.from({ length: 5 }, (_, q) => ({
    chart: `metrics-${q + 1}-alert-${q}.svg`,
    server: 'http://prometheus:9090',
    alertExpression: `${'x'.repeat(5000)} > 1`,
    expression: 'x'.repeat(5000),
    threshold: { op: '>', value: 1 },
    window: { start, end: start + 3585, stepSeconds: 15 },
    series,
    seriesOmitted: 100,
    pointsOmitted: 0,
    warnings: [],
    alerts: Array.from({ length: 20 }, (_, a) => ({
      fingerprint: `fp-${q}-${a}`,
      alertname: `Alert${q}`,
      current: { at: '2026-03-01T12:00:00.000Z', value: 1.5 },
    })),
  }));
  return {
    collectedAt: '2026-03-01T12:00:00.000Z',
    series: snapshots,
    charts: snapshots.map((s) => ({
      name: s.chart,
      title: s.expression,
      svg: renderChart({ title: s.expression, series: s.series, threshold: { op: '>', value: 1 } }),
    })),
    logs: Array.from({ length: 5 }, (_, l) => ({
      source: 'loki' as const,
      server: 'http://loki:3100',
      selector: `{job="j${l}"}`,
      window: { start: '2026-03-01T11:45:00.000Z', end: '2026-03-01T11:52:00.000Z' },
      alerts: ['fp'],
      lines: Array.from({ length: 50 }, (_, i) => ({
        at: '2026-03-01T11:50:00.000Z',
        ns: String(1_772_365_800_000_000_000n + BigInt(i)),
        line: 'l'.repeat(2048),
        labels: { job: `j${l}` },
      })),
      linesOmitted: 0,
    })),
    failures: Array.from({ length: 5 }, (_, f) => ({
      source: 'prometheus' as const,
      server: `http://down-${f}:9090`,
      query: 'q'.repeat(5000),
      kind: 'unreachable' as const,
      error: `Prometheus at http://down-${f}:9090 is unreachable: connect ECONNREFUSED`,
      alerts: ['fp'],
    })),
    skipped: [],
    queriesNotMade: 3,
  };
}

describe('writeDiagnostics', () => {
  it('writes the charts, series, logs and failures under the incident folder, and a small summary', async () => {
    const incident = mkdtempSync(path.join(os.tmpdir(), 'baton-diagnostics-'));
    dirs.push(incident);
    const result = largest();
    const summary = await writeDiagnostics(incident, result, 'escalated');

    const folder = path.join(incident, 'diagnostics', '20260301T120000Z-escalated');
    expect(summary.folder).toBe(path.join('diagnostics', '20260301T120000Z-escalated'));
    expect(readdirSync(folder).sort()).toEqual([
      'failures.json',
      'logs.json',
      'metrics-1-alert-0.svg',
      'metrics-2-alert-1.svg',
      'metrics-3-alert-2.svg',
      'metrics-4-alert-3.svg',
      'metrics-5-alert-4.svg',
      'metrics.json',
    ]);
    expect(readFileSync(path.join(incident, summary.metrics[0]!.chart), 'utf8')).toBe(result.charts[0]!.svg);
    expect(JSON.parse(readFileSync(path.join(folder, 'metrics.json'), 'utf8'))).toEqual(result.series);

    expect(summary.metrics[0]).toMatchObject({
      alertname: 'Alert0',
      threshold: { op: '>', value: 1 },
      text: 'current value 1.5 at 12:00:00 UTC (fires when > 1)',
    });
    expect(summary.logs[0]).toEqual({ source: 'loki', selector: '{job="j0"}', lines: 50, linesOmitted: 0 });
    expect(summary.failures[0]!.text).toMatch(/^Metrics unavailable: Prometheus at http:\/\/down-0:9090/);
    expect(summary.queriesNotMade).toBe(3);

    // Everything at its cap: the files are large, what the workflow keeps is not.
    const whole = Buffer.byteLength(JSON.stringify(result));
    const kept = Buffer.byteLength(JSON.stringify(summary));
    expect(whole).toBeGreaterThan(500_000);
    expect(kept).toBeLessThan(32_000);
  });

  it('rewrites the same files when retried', async () => {
    const incident = mkdtempSync(path.join(os.tmpdir(), 'baton-diagnostics-'));
    dirs.push(incident);
    const result = largest();
    await writeDiagnostics(incident, result, 'opened');
    await writeDiagnostics(incident, result, 'opened');
    expect(readdirSync(path.join(incident, 'diagnostics'))).toEqual(['20260301T120000Z-opened']);
    expect(readdirSync(path.join(incident, 'diagnostics', '20260301T120000Z-opened'))).toHaveLength(8);
  });

  it('keeps folder names inside the store whatever the occasion says', () => {
    expect(diagnosticsFolderName('2026-03-01T12:00:00.123Z', '../../etc')).toBe('20260301T120000Z-.._.._etc');
  });
});
