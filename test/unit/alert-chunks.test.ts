import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import {
  LABELS_CUT_ANNOTATION,
  MAX_ALERT_BYTES,
  MAX_ALERT_LABEL_BYTES,
  MAX_CHUNK_ALERTS,
  MAX_CHUNK_BYTES,
  MAX_GROUP_LABEL_BYTES,
  MAX_LABEL_VALUE_BYTES,
  chunkAlerts,
  fitAlert,
  fitGroupLabels,
  fitLabels,
} from '../../api/alert-chunks';
import { fromTemporal, HttpError } from '../../api/errors';
import { PAYLOAD_BYTES } from '../../workflows/incident/limits';
import type { Alert } from '../../workflows/incident/model';

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

function alert(i: number, annotations: Record<string, string> = {}): Alert {
  return {
    fingerprint: `fp${i}`,
    status: 'firing',
    labels: { alertname: 'NodeDown', instance: `node-${i}` },
    annotations,
    startsAt: '2026-11-26T10:00:00Z',
  };
}

describe('chunkAlerts', () => {
  it('cuts 1,500 small alerts into three chunks of 500, in order', () => {
    const alerts = Array.from({ length: 1_500 }, (_, i) => alert(i));
    const chunks = chunkAlerts(alerts);
    expect(chunks.map((c) => c.length)).toEqual([500, 500, 500]);
    expect(chunks.flat()).toEqual(alerts);
  });

  it('keeps every chunk under its byte budget when alerts are large', () => {
    const alerts = Array.from({ length: 1_000 }, (_, i) => alert(i, { description: 'd'.repeat(5_000) }));
    const chunks = chunkAlerts(alerts);
    expect(chunks.length).toBeGreaterThan(Math.ceil((1_000 * 5_000) / MAX_CHUNK_BYTES) - 1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(MAX_CHUNK_ALERTS);
      expect(bytes(chunk)).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    }
    expect(chunks.flat()).toEqual(alerts);
  });

  it('puts an alert larger than a chunk alone, and sends nothing for no alerts', () => {
    const big = alert(1, { description: 'd'.repeat(MAX_CHUNK_BYTES) });
    expect(chunkAlerts([alert(0), big, alert(2)])).toEqual([[alert(0)], [big], [alert(2)]]);
    expect(chunkAlerts([])).toEqual([]);
  });
});

describe('fitAlert', () => {
  it('leaves an alert that fits untouched', () => {
    const small = alert(1, { summary: 'disk full' });
    expect(fitAlert(small)).toEqual({ alert: small, trimmed: [] });
  });

  it('cuts the longest annotation first, never the labels, and marks the cut', () => {
    const input = alert(1, {
      summary: 'short',
      description: 'x'.repeat(2 * MAX_ALERT_BYTES),
      runbook: 'y'.repeat(1_000),
    });
    const { alert: fitted, trimmed } = fitAlert(input);
    expect(trimmed).toEqual(['description']);
    expect(bytes(fitted)).toBeLessThanOrEqual(MAX_ALERT_BYTES);
    expect(fitted.labels).toEqual(input.labels);
    expect(fitted.annotations.summary).toBe('short');
    expect(fitted.annotations.runbook).toBe('y'.repeat(1_000));
    expect(fitted.annotations.description).toMatch(/^x+ … \[cut by Baton: 524288 bytes in all\]$/);
  });

  it('keeps names such as __proto__ and constructor as data, and never splits a character', () => {
    const annotations = Object.fromEntries([
      ['__proto__', '€'.repeat(MAX_ALERT_BYTES)],
      ['constructor', 'kept'],
    ]) as Record<string, string>;
    const { alert: fitted, trimmed } = fitAlert(alert(1, annotations));
    expect(trimmed).toEqual(['__proto__']);
    expect(Object.keys(fitted.annotations)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(fitted.annotations)).toBe(Object.prototype);
    expect(fitted.annotations.constructor).toBe('kept');
    const cut = Object.getOwnPropertyDescriptor(fitted.annotations, '__proto__')?.value as string;
    expect(cut).toMatch(/^€+ … \[cut by Baton: \d+ bytes in all\]$/);
    expect(cut).not.toContain('\uFFFD');
  });
});

describe('fitLabels', () => {
  it('leaves labels that fit untouched', () => {
    const labels = { alertname: 'NodeDown', instance: 'node-1', note: 'n'.repeat(MAX_LABEL_VALUE_BYTES) };
    const fitted = fitLabels(labels, MAX_ALERT_LABEL_BYTES);
    expect(fitted).toEqual({ labels, cuts: [] });
    expect(fitted.labels).toBe(labels);
  });

  it('cuts each value past the value bound, saying "…" and how many bytes were cut', () => {
    const { labels, cuts } = fitLabels(
      { alertname: 'PodCrashLooping', pod_spec: 's'.repeat(1_000_000), pod: 'api-7f9' },
      MAX_ALERT_LABEL_BYTES,
    );
    const cut = cuts[0]?.cut ?? 0;
    expect(cuts).toEqual([{ name: 'pod_spec', bytes: 1_000_000, cut, dropped: false }]);
    expect(labels.pod_spec).toBe(`${'s'.repeat(1_000_000 - cut)}… [${cut} bytes cut by Baton]`);
    expect(Buffer.byteLength(labels.pod_spec ?? '', 'utf8')).toBeLessThanOrEqual(MAX_LABEL_VALUE_BYTES);
    expect(labels).toMatchObject({ alertname: 'PodCrashLooping', pod: 'api-7f9' });
  });

  it('leaves out the largest labels when there are too many, never alertname, and never splits a character', () => {
    const many = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`label_${String(i).padStart(3, '0')}`, '€'.repeat(1_000 + i)]),
    );
    const { labels, cuts } = fitLabels({ alertname: '€'.repeat(10_000), ...many }, MAX_ALERT_LABEL_BYTES);
    expect(bytes(labels)).toBeLessThanOrEqual(MAX_ALERT_LABEL_BYTES);
    expect(labels.alertname).toMatch(/^€+… \[\d+ bytes cut by Baton\]$/);
    expect(cuts[0]).toMatchObject({ name: 'alertname', bytes: 30_000, dropped: false });
    const left = cuts.filter((c) => c.dropped);
    expect(left.length).toBeGreaterThan(0);
    // The largest go first (here the last, whose values are longest); the rest stay whole.
    const shortestLeft = Math.min(...left.map((c) => c.bytes));
    for (const [name, value] of Object.entries(labels)) {
      if (name !== 'alertname') expect(Buffer.byteLength(value, 'utf8')).toBeLessThan(shortestLeft);
    }
    expect(left.map((c) => c.name)).toContain('label_099');
    for (const { name } of left) expect(labels).not.toHaveProperty(name);
    expect(labels.label_000).toBe('€'.repeat(1_000));
    expect(Object.keys(labels)).toHaveLength(101 - left.length);
  });

  it('keeps names such as __proto__ as data', () => {
    const input = Object.fromEntries([['__proto__', 'x'.repeat(2 * MAX_LABEL_VALUE_BYTES)]]) as Record<
      string,
      string
    >;
    const { labels } = fitLabels(input, MAX_ALERT_LABEL_BYTES);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toMatch(/^x+… \[/);
  });
});

describe('fitGroupLabels', () => {
  const group = (labels: Record<string, string>) => ({
    groupLabels: { alertname: 'PodCrashLooping' },
    commonLabels: { alertname: 'PodCrashLooping', ...labels },
    alerts: [
      { ...alert(0), labels: { ...alert(0).labels, ...labels } },
      { ...alert(1), annotations: { summary: 'fine' } },
    ],
  });

  it('takes a group with 1.5 MB of labels within what one Temporal payload carries, the cut on the alert', () => {
    const huge = { pod_spec: 's'.repeat(1_000_000), pod_annotations: 'a'.repeat(500_000) };
    const { group: fitted, cuts } = fitGroupLabels(group(huge));
    const [first, second] = fitted.alerts;
    expect(first?.annotations[LABELS_CUT_ANNOTATION]).toMatch(
      /^pod_spec \(\d+ of 1000000 bytes cut\); pod_annotations \(\d+ of 500000 bytes cut\)$/,
    );
    expect(second).toEqual({ ...alert(1), annotations: { summary: 'fine' } });
    expect(cuts).toEqual([
      expect.stringMatching(/^commonLabels\.pod_spec \(\d+ of 1000000 bytes cut\)$/),
      expect.stringMatching(/^commonLabels\.pod_annotations \(\d+ of 500000 bytes cut\)$/),
      expect.stringMatching(/^alerts\[0\]\.labels\.pod_spec /),
      expect.stringMatching(/^alerts\[0\]\.labels\.pod_annotations /),
    ]);
    // What the start of the incident carries: a chunk, the routing labels, the group labels.
    const input = {
      alerts: fitted.alerts.map((a) => fitAlert(a).alert),
      labels: { ...fitted.alerts[0]?.labels, ...fitted.commonLabels },
      groupLabels: fitted.groupLabels,
    };
    expect(bytes(input)).toBeLessThan(PAYLOAD_BYTES);
  });

  it('bounds the group and common labels, and the note on an alert with thousands of cut labels', () => {
    const wide = Object.fromEntries(
      Array.from({ length: 2_000 }, (_, i) => [`l${i}`, String(i).padEnd(MAX_LABEL_VALUE_BYTES + 1, 'v')]),
    );
    const { group: fitted, cuts } = fitGroupLabels({ ...group(wide), groupLabels: wide });
    expect(bytes(fitted.groupLabels)).toBeLessThanOrEqual(MAX_GROUP_LABEL_BYTES);
    expect(bytes(fitted.commonLabels)).toBeLessThanOrEqual(MAX_GROUP_LABEL_BYTES);
    expect(bytes(fitted.alerts[0]?.labels)).toBeLessThanOrEqual(MAX_ALERT_LABEL_BYTES);
    expect(cuts).toHaveLength(6_000);
    const note = fitted.alerts[0]?.annotations[LABELS_CUT_ANNOTATION] ?? '';
    expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(1_000);
    expect(note).toMatch(/; and \d+ more$/);
  });

  it('returns a group that fits as it is', () => {
    const input = group({ pod: 'api-7f9' });
    expect(fitGroupLabels(input)).toEqual({ group: input, cuts: [] });
  });
});

describe('fromTemporal, for a request too large for Temporal', () => {
  /** A gRPC error as the client raises it, wrapped as the SDK wraps it. */
  const grpc = (code: number, details: string) =>
    new ServiceError('Failed to signalWithStart Workflow', {
      cause: Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} }),
    });

  it('answers 413, never 503 "Temporal is unavailable", for the message and the blob limits', () => {
    for (const err of [
      grpc(8, 'grpc: received message larger than max (5000212 vs. 4194304)'),
      grpc(3, 'Blob data size exceeds limit.'),
    ]) {
      const mapped = fromTemporal(err);
      expect(mapped).toBeInstanceOf(HttpError);
      expect(mapped).toMatchObject({ statusCode: 413, code: 'PayloadTooLarge' });
    }
  });

  it('still answers 503 to a Temporal that is out of resources or away', () => {
    expect(fromTemporal(grpc(8, 'namespace rate limit exceeded'))).toMatchObject({ statusCode: 503 });
    expect(fromTemporal(grpc(14, 'No connection established'))).toMatchObject({ statusCode: 503 });
  });
});
