/**
 * Diagnostics in a running incident, against a real Prometheus (Debian's package) whose rule
 * fires over a gauge this file serves: the incident's alert carries the generatorURL
 * Prometheus itself sent. The first page goes out before any diagnostics; the chart and the
 * value against the threshold land in the record and the incident folder, in the handover
 * package, and in a short update to Level 3 after escalation. A Prometheus that is down
 * holds nothing up and is named on the timeline.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFolderName } from '../activities/documentation';
import { acknowledgeUpdate, escalateUpdate } from '../workflows/incident/messages';
import type { Alert } from '../workflows/incident/model';
import type { IncidentState } from '../workflows/incident/state';
import { testConfig } from './support/config';
import { by, startIncident, state, type IncidentHandle } from './support/incidents';
import { freePort } from './support/ports';
import {
  startFiringPrometheus,
  type FiringPrometheus,
  type Prometheus,
  type SentAlert,
} from './support/prometheus';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const METRIC = 'baton_incident_queue_depth';
const RULE_EXPR = `${METRIC}{queue="payments"} > 5`;
const CURRENT = /^current value 9 at \d\d:\d\d:\d\d UTC \(fires when > 5\)$/;

let firing: FiringPrometheus;
let prometheus: Prometheus;
let sent: SentAlert;
let w: TestWorker;
/** A port nothing listens on: the Prometheus "that is down", allowed like the real one. */
let closed: number;

function asAlert(fingerprint: string, generatorURL = sent.generatorURL): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: sent.labels,
    annotations: sent.annotations ?? {},
    startsAt: sent.startsAt,
    generatorURL,
  };
}

beforeAll(async () => {
  firing = await startFiringPrometheus({
    group: 'baton-incident-diagnostics',
    rule: {
      alert: 'QueueTooDeep',
      expr: RULE_EXPR,
      labels: { severity: 'critical', service: 'payments' },
      annotations: { summary: 'the payments queue is deep' },
    },
    values: [[METRIC, { queue: 'payments' }, 9]],
  });
  ({ prometheus, sent } = firing);
  closed = await freePort();
  w = await startTestWorker(
    testConfig((c) => {
      // Servers from alerts are queried only when allowed by name, and at 127.0.0.1 only
      // when loopback is allowed too (issue #21).
      c.diagnostics = {
        deadline: '5s',
        prometheus: {
          lookback: '1m',
          maxPoints: 120,
          allowedServers: [prometheus.url, `http://127.0.0.1:${closed}`],
          allowedNetworks: ['127.0.0.1'],
        },
      };
    }),
    'diagnostics-incident',
  );
});

afterAll(async () => {
  await w?.stop();
  await firing?.stop();
});

const kinds = (s: IncidentState) => s.timeline.map((e) => e.kind);

async function collected(handle: IncidentHandle, occasion: 'opened' | 'escalated'): Promise<IncidentState> {
  return eventually(async () => {
    const s = await state(handle);
    return s.diagnostics?.some((d) => d.occasion === occasion) ? s : undefined;
  });
}

describe('diagnostics of a running incident', () => {
  it('pages first, then charts the alert from its own Prometheus into the record and the incident folder', async () => {
    expect(sent.generatorURL.startsWith(`${prometheus.url}/graph?g0.expr=`)).toBe(true);
    const handle = await startIncident(w, { severity: 'SEV1', alerts: [asAlert('fp-queue')] });
    const s = await collected(handle, 'opened');

    const [record] = s.diagnostics ?? [];
    expect(record?.failures).toEqual([]);
    expect(record?.charts).toHaveLength(1);
    const chart = record!.charts[0]!;
    expect(chart.alertname).toBe('QueueTooDeep');
    expect(chart.text).toMatch(CURRENT);

    // The page was sent and on the timeline before the collection began.
    const k = kinds(s);
    expect(k.indexOf('paged')).toBeGreaterThanOrEqual(0);
    expect(k.indexOf('paged')).toBeLessThan(k.indexOf('diagnostics-collected'));
    const page = w.outbox(s.id).find((e) => e.notification.kind === 'page');
    expect(page).toBeDefined();
    expect(Date.parse(page!.at)).toBeLessThanOrEqual(Date.parse(record!.collectedAt));
    const event = s.timeline.find((e) => e.kind === 'diagnostics-collected');
    expect(event?.summary).toContain('QueueTooDeep current value 9');
    expect(event?.details).toMatchObject({ occasion: 'opened', charts: 1, failures: 0 });

    // The chart is in the incident's own folder, with the line of the real series in it.
    const folder = path.join(w.dataDir, 'incidents', recordFolderName(s));
    expect(chart.chart.startsWith(`${folder}${path.sep}diagnostics${path.sep}`)).toBe(true);
    expect(existsSync(chart.chart)).toBe(true);
    const svg = readFileSync(chart.chart, 'utf8');
    expect(svg).toMatch(/<polyline[^>]* points="[^"]+"/);
    expect(svg).toContain('fires when value &gt; 5');
    expect(existsSync(path.join(path.dirname(chart.chart), 'metrics.json'))).toBe(true);
  });

  it('shows the figures in the handover package, then sends Level 3 the fresh ones from escalation', async () => {
    const handle = await startIncident(w, { severity: 'SEV1', alerts: [asAlert('fp-queue-2')] });
    await collected(handle, 'opened');
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const escalatedAt = Date.now();
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'queue keeps growing' }] });
    // The step answered without waiting for a collection (its deadline is 5 s).
    expect(Date.now() - escalatedAt).toBeLessThan(4_000);

    const s = await collected(handle, 'escalated');
    const outbox = await eventually(() => {
      const entries = w.outbox(s.id);
      return entries.some((e) => e.notification.subject.includes('Diagnostics for the handover'))
        ? entries
        : undefined;
    });
    const pkg = outbox.find((e) => e.notification.kind === 'handover')?.notification;
    expect(pkg?.text).toContain('## Diagnostics');
    expect(pkg?.text).toMatch(
      /- QueueTooDeep \(when the incident opened, [^)]+\): current value 9 at \d\d:\d\d:\d\d UTC \(fires when > 5\); chart: \/.*\.svg/,
    );
    expect(pkg?.slackChannels).toEqual(['#payments-l3']);
    // Emails of the package attach the opening chart, from the incident folder.
    const opened = s.diagnostics?.find((d) => d.occasion === 'opened');
    expect(pkg?.attachments).toEqual([
      { filename: `opened-${path.basename(opened!.charts[0]!.chart)}`, path: opened!.charts[0]!.chart },
    ]);

    const update = outbox.find((e) => e.notification.subject.includes('Diagnostics for the handover'))!;
    expect(update.notification.kind).toBe('update');
    expect(update.notification.slackChannels).toEqual(['#payments-l3']);
    expect(update.notification.responders.map((r) => r.id)).toEqual(['carol']);
    expect(update.notification.text).toMatch(/at escalation, [^)]+\): current value 9 at/);
    expect(update.notification.attachments?.map((a) => a.filename)).toEqual([
      expect.stringMatching(/^escalated-metrics-1-queuetoodeep\.svg$/),
    ]);
    const escalated = s.diagnostics?.find((d) => d.occasion === 'escalated');
    expect(escalated?.charts[0]?.text).toMatch(CURRENT);
    expect(existsSync(escalated!.charts[0]!.chart)).toBe(true);
  });

  it('pages at once when the Prometheus behind the alert is down, and names it on the timeline', async () => {
    const down = sent.generatorURL.replace(`127.0.0.1:${prometheus.port}`, `127.0.0.1:${closed}`);
    const started = Date.now();
    const handle = await startIncident(w, { severity: 'SEV1', alerts: [asAlert('fp-down', down)] });
    const opened = await state(handle);
    expect(kinds(opened)).toContain('paged');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(w.outbox(opened.id).some((e) => e.notification.kind === 'page')).toBe(true);

    const s = await collected(handle, 'opened');
    const failed = s.timeline.filter((e) => e.kind === 'diagnostics-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.summary).toContain(`Prometheus at http://127.0.0.1:${closed} is unreachable`);
    expect(failed[0]?.details).toMatchObject({
      occasion: 'opened',
      source: 'prometheus',
      server: `http://127.0.0.1:${closed}`,
    });
    expect(kinds(s).indexOf('paged')).toBeLessThan(kinds(s).indexOf('diagnostics-failed'));
    expect(s.diagnostics?.[0]?.charts).toEqual([]);
    expect(kinds(s)).not.toContain('diagnostics-collected');
  });
});
