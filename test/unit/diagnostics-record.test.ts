import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { sendEmail, type Mailer } from '../../channels/email/send';
import {
  boundOutcome,
  MAX_OUTCOME_BYTES,
  MAX_OUTCOME_FAILURES,
  MAX_OUTCOME_METRICS,
  type DiagnosticsOutcome,
} from '../../activities/diagnostics-activity';
import type { DiagnosticsSummary } from '../../activities/diagnostics/store';
import {
  CHARTS_PER_COLLECTION,
  FAILURES_PER_COLLECTION,
  KEPT_DIAGNOSTICS,
  diagnosticsRecord,
  recordDiagnostics,
} from '../../workflows/incident/diagnostics';
import { buildHandoverPackage } from '../../workflows/incident/handover';
import { jsonBytes } from '../../workflows/incident/limits';
import { events, firing, plainIncident, take } from './plain-incident';

function outcome(charts: number, failures: number, at = '2026-11-26T10:01:00.000Z'): DiagnosticsOutcome {
  return {
    collectedAt: at,
    folder: '/data/incidents/inc-unit-20261126T100000Z/diagnostics/20261126T100100Z-opened',
    metrics: Array.from({ length: charts }, (_, i) => ({
      chartPath: `/data/incidents/inc-unit-20261126T100000Z/diagnostics/20261126T100100Z-opened/metrics-${i + 1}-queuetoodeep.svg`,
      alertname: 'QueueTooDeep',
      server: 'http://127.0.0.1:9090',
      expression: 'queue_depth{queue="payments"}',
      text: `current value ${9 + i} at 10:01:00 UTC (fires when > 5)`,
    })),
    metricsOmitted: 0,
    logs: [],
    failures: Array.from({ length: failures }, (_, i) => ({
      source: 'prometheus',
      server: `http://127.0.0.1:${1000 + i}`,
      kind: 'unreachable',
      text: `Metrics unavailable: Prometheus at http://127.0.0.1:${1000 + i} is unreachable (query up)`,
    })),
    failuresOmitted: 0,
    skipped: 0,
    queriesNotMade: 0,
  };
}

function collecting() {
  const incident = plainIncident({ input: { alerts: [firing('QueueTooDeep', 'fp-1')] } });
  incident.state.diagnostics = [];
  return incident;
}

describe('diagnostics in the record', () => {
  it('keeps each chart as its path and one line against the threshold, and logs one event per failure', () => {
    const incident = collecting();
    recordDiagnostics(incident, 'opened', outcome(1, 1));
    expect(incident.state.diagnostics).toEqual([
      {
        occasion: 'opened',
        collectedAt: '2026-11-26T10:01:00.000Z',
        charts: [
          {
            chart: expect.stringMatching(/metrics-1-queuetoodeep\.svg$/) as unknown,
            alertname: 'QueueTooDeep',
            text: 'current value 9 at 10:01:00 UTC (fires when > 5)',
          },
        ],
        failures: [
          {
            source: 'prometheus',
            server: 'http://127.0.0.1:1000',
            text: 'Metrics unavailable: Prometheus at http://127.0.0.1:1000 is unreachable (query up)',
          },
        ],
      },
    ]);
    expect(events(incident, 'diagnostics-collected')[0]?.summary).toContain(
      'QueueTooDeep current value 9 at 10:01:00 UTC (fires when > 5)',
    );
    expect(events(incident, 'diagnostics-failed').map((e) => e.summary)).toEqual([
      'Metrics unavailable: Prometheus at http://127.0.0.1:1000 is unreachable (query up)',
    ]);
    // Opening figures go on the record only: nobody is messaged for them.
    expect(incident.outbox).toEqual([]);
    expect(incident.documentationDue).toBe(true);
  });

  it('bounds what the record keeps: newest collections, a few charts and failures each, the rest counted', () => {
    const incident = collecting();
    for (let i = 0; i < KEPT_DIAGNOSTICS + 3; i += 1) {
      recordDiagnostics(incident, 'opened', outcome(40, 40, `2026-11-26T10:${10 + i}:00.000Z`));
    }
    const kept = incident.state.diagnostics ?? [];
    expect(kept).toHaveLength(KEPT_DIAGNOSTICS);
    expect(kept.at(-1)?.collectedAt).toBe(`2026-11-26T10:${10 + KEPT_DIAGNOSTICS + 2}:00.000Z`);
    expect(kept[0]?.charts).toHaveLength(CHARTS_PER_COLLECTION);
    expect(kept[0]?.failures).toHaveLength(FAILURES_PER_COLLECTION);
    expect(kept[0]).toMatchObject({ chartsOmitted: 35, failuresOmitted: 35 });
    expect(jsonBytes(kept)).toBeLessThan(20_000);
    const long = diagnosticsRecord('opened', {
      ...outcome(1, 0),
      metrics: [{ ...outcome(1, 0).metrics[0]!, text: 'x'.repeat(10_000) }],
    });
    expect(jsonBytes(long)).toBeLessThan(1_000);
  });

  it('the handover package has a Diagnostics section, and fresh figures at escalation go to Level 3', () => {
    const incident = collecting();
    recordDiagnostics(incident, 'opened', outcome(1, 1));
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'queue keeps growing' });
    const pkg = incident.outbox.find((n) => n.kind === 'handover');
    expect(pkg?.text).toContain('## Diagnostics');
    expect(pkg?.text).toMatch(
      /- QueueTooDeep \(when the incident opened, 2026-11-26T10:01:00.000Z\): current value 9 at 10:01:00 UTC \(fires when > 5\); chart: \/data\/incidents\/.*metrics-1-queuetoodeep\.svg/,
    );
    expect(pkg?.text).toContain('Metrics unavailable: Prometheus at http://127.0.0.1:1000 is unreachable');
    // The escalation asked for a fresh collection without waiting for it.
    expect(incident.diagnosticsWanted).toEqual(['escalated']);

    const before = incident.outbox.length;
    recordDiagnostics(incident, 'escalated', outcome(1, 0, '2026-11-26T10:30:00.000Z'));
    const update = incident.outbox.slice(before);
    expect(update).toHaveLength(1);
    expect(update[0]).toMatchObject({ kind: 'update', slackChannels: ['#payments-l3'] });
    expect(update[0]?.responders.map((r) => r.id)).toEqual(['carol']);
    expect(update[0]?.text).toContain('at escalation, 2026-11-26T10:30:00.000Z): current value 9');
    expect(events(incident, 'diagnostics-collected').at(-1)?.details).toMatchObject({ to: ['carol'] });
    // The package the record rebuilds shows the newest figures first.
    const rebuilt = buildHandoverPackage(incident.state);
    expect(rebuilt.indexOf('at escalation')).toBeLessThan(rebuilt.indexOf('when the incident opened'));
  });

  it('an incident that does not collect diagnostics keeps its package as it was, and escalation asks for none', () => {
    const incident = plainIncident({ input: { alerts: [firing('QueueTooDeep', 'fp-1')] } });
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'stuck' });
    expect(incident.outbox.find((n) => n.kind === 'handover')?.text).not.toContain('Diagnostics');
    expect(incident.diagnosticsWanted).toEqual([]);
  });
});

describe("the activity's answer", () => {
  function summary(metrics: number, failures: number): DiagnosticsSummary {
    return {
      collectedAt: '2026-11-26T10:01:00.000Z',
      folder: 'diagnostics/20261126T100100Z-opened',
      metrics: Array.from({ length: metrics }, (_, i) => ({
        chart: `diagnostics/20261126T100100Z-opened/metrics-${i + 1}-x.svg`,
        alertname: 'A'.repeat(5_000),
        server: 'http://prometheus:9090',
        expression: 'e'.repeat(5_000),
        text: 'current value 1 at 10:00:00 UTC (fires when > 0)',
        alerts: Array.from({ length: 20 }, (_, j) => ({ fingerprint: `fp-${j}` })),
      })),
      logs: [],
      failures: Array.from({ length: failures }, (_, i) => ({
        source: 'prometheus' as const,
        server: `http://p${i}:9090`,
        query: 'q'.repeat(500),
        kind: 'unreachable' as const,
        error: 'x'.repeat(300),
        alerts: Array.from({ length: 20 }, (_, j) => `fp-${j}`),
        text: 't'.repeat(1_000),
      })),
      skipped: 3,
      queriesNotMade: 2,
    };
  }

  it('stays small whatever the sources answered, counting what it left out', () => {
    const bounded = boundOutcome(summary(50, 50), '/data/incidents/inc-1-20261126T100000Z');
    expect(Buffer.byteLength(JSON.stringify(bounded))).toBeLessThanOrEqual(MAX_OUTCOME_BYTES);
    expect(bounded.metrics.length).toBeLessThanOrEqual(MAX_OUTCOME_METRICS);
    expect(bounded.failures.length).toBeLessThanOrEqual(MAX_OUTCOME_FAILURES);
    expect(bounded.metrics.length + bounded.metricsOmitted).toBe(50);
    expect(bounded.failures.length + bounded.failuresOmitted).toBe(50);
    expect(bounded.metrics[0]?.chartPath).toBe(
      '/data/incidents/inc-1-20261126T100000Z/diagnostics/20261126T100100Z-opened/metrics-1-x.svg',
    );
    expect(bounded).toMatchObject({ skipped: 3, queriesNotMade: 2 });
  });
});

describe('charts on the handover email', () => {
  it('attaches the charts this worker has, and leaves out what is missing or not a chart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-charts-'));
    try {
      const chartDir = path.join(dir, 'inc-1', 'diagnostics', '20261126T100100Z-opened');
      mkdirSync(chartDir, { recursive: true });
      const chart = path.join(chartDir, 'metrics-1-queuetoodeep.svg');
      writeFileSync(chart, '<svg xmlns="http://www.w3.org/2000/svg"><polyline points="0,0 1,1"/></svg>');
      writeFileSync(path.join(chartDir, 'metrics.json'), '[]');

      const incident = collecting();
      recordDiagnostics(incident, 'opened', {
        ...outcome(1, 0),
        metrics: [{ ...outcome(1, 0).metrics[0]!, chartPath: chart }],
      });
      incident.state.diagnostics![0]!.charts.push(
        { chart: path.join(chartDir, 'gone.svg'), text: 'missing' },
        { chart: path.join(chartDir, 'metrics.json'), text: 'not a chart' },
        { chart: '/etc/hostname', text: 'outside' },
      );
      take(incident, 'acknowledge', { actor: 'alice' });
      take(incident, 'escalate', { actor: 'alice', reason: 'queue keeps growing' });
      const pkg = incident.outbox.find((n) => n.kind === 'handover');
      expect(pkg?.attachments?.map((a) => a.filename)).toEqual([
        'opened-metrics-1-queuetoodeep.svg',
        'opened-gone.svg',
        'opened-metrics.json',
        'opened-hostname',
      ]);

      const sent: Buffer[] = [];
      const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
      const mailer: Mailer = {
        from: 'baton@example.com',
        transport: {
          sendMail: async (options: Parameters<typeof transport.sendMail>[0]) => {
            const info = await transport.sendMail(options);
            sent.push(info.message as Buffer);
            return info;
          },
        } as unknown as Mailer['transport'],
      };
      await sendEmail(mailer, 'carol@example.com', pkg!);
      const mail = await simpleParser(sent[0]!);
      expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
        ['opened-metrics-1-queuetoodeep.svg', 'image/svg+xml'],
      ]);
      expect(mail.attachments[0]?.content.toString('utf8')).toContain('<polyline');
      expect(mail.text).toContain(`chart: ${chart}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
