import { describe, expect, it } from 'vitest';
import {
  MAX_ALERT_BYTES,
  MAX_CHUNK_ALERTS,
  MAX_CHUNK_BYTES,
  chunkAlerts,
  fitAlert,
} from '../../api/alert-chunks';
import type { Alert } from '../../workflows/model';

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
