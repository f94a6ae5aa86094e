/**
 * `diagnostics:` in the configuration: defaults that work with nothing written, bounds that
 * keep what an incident stores small, and errors that name the field.
 */
import { describe, expect, it } from 'vitest';
import { diagnosticsSchema } from '../../config/diagnostics';

function issues(input: unknown): string[] {
  const result = diagnosticsSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('diagnostics configuration', () => {
  it('charts the last hour from the alerts’ own Prometheus by default, and reads no logs', () => {
    expect(diagnosticsSchema.parse(undefined)).toEqual({
      deadline: 10_000,
      maxAlerts: 5,
      prometheus: {
        enabled: true,
        timeout: 5_000,
        lookback: 3_600_000,
        maxSeries: 5,
        maxPoints: 240,
        maxResponseBytes: 4 * 1024 * 1024,
      },
    });
  });

  it('fills in a log store from its URL alone', () => {
    expect(diagnosticsSchema.parse({ loki: { url: 'http://127.0.0.1:3100' } }).loki).toEqual({
      url: 'http://127.0.0.1:3100',
      selectorLabels: ['job', 'service', 'app', 'namespace', 'instance'],
      labelMap: {},
      lines: 50,
      maxLineBytes: 2048,
      before: 900_000,
      after: 300_000,
      direction: 'backward',
      timeout: 5_000,
      maxResponseBytes: 4 * 1024 * 1024,
    });
  });

  it('reads durations the way the rest of the file writes them', () => {
    const parsed = diagnosticsSchema.parse({
      deadline: '30s',
      prometheus: { lookback: '2h', timeout: '1500ms' },
    });
    expect(parsed.deadline).toBe(30_000);
    expect(parsed.prometheus.lookback).toBe(7_200_000);
    expect(parsed.prometheus.timeout).toBe(1_500);
  });

  it('names each bad field', () => {
    expect(
      issues({
        deadline: 'soon',
        maxAlerts: 500,
        prometheus: { url: 'file:///etc/passwd', maxSeries: 0, lookback: '1s', extra: true },
        loki: { selectorLabels: ['job', 'bad-name'], lines: 100_000 },
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^deadline: "soon" is not a duration/),
        expect.stringMatching(/^maxAlerts: /),
        'prometheus.url: write an http:// or https:// URL',
        expect.stringMatching(/^prometheus.maxSeries: /),
        expect.stringMatching(/^prometheus.lookback: "1s" is not a duration from 1m to 1d/),
        expect.stringMatching(/^prometheus: Unrecognized key: "extra"/),
        expect.stringMatching(/^loki.url: /),
        expect.stringMatching(/^loki.selectorLabels.1: write a label name/),
        expect.stringMatching(/^loki.lines: /),
      ]),
    );
  });

  it('turns metrics off with enabled: false', () => {
    expect(diagnosticsSchema.parse({ prometheus: { enabled: false } }).prometheus.enabled).toBe(false);
  });
});

describe('diagnostics configuration for Elasticsearch', () => {
  it('needs at least one label mapped to a field, and fills in the rest', () => {
    expect(issues({ elasticsearch: { url: 'http://127.0.0.1:9200', index: 'logs-*', fields: {} } })).toEqual([
      'elasticsearch.fields: map at least one alert label to a field, or every log line of the index would match',
    ]);
    expect(
      diagnosticsSchema.parse({
        elasticsearch: { url: 'http://127.0.0.1:9200', index: 'logs-*', fields: { job: 'service.name' } },
      }).elasticsearch,
    ).toMatchObject({
      timeField: '@timestamp',
      messageField: 'message',
      lines: 50,
      before: 900_000,
      after: 300_000,
    });
    expect(
      issues({ elasticsearch: { url: 'http://x', index: '../_cluster?x', fields: { job: 'a' } } }),
    ).toEqual(['elasticsearch.index: write an index name or pattern, without / ? # or spaces']);
  });
});
