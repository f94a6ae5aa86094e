import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { metricsSchema, parseListenAddress } from '../../config/metrics';
import { metricsSettings } from '../../config/metrics-settings';
import { shutdownSchema } from '../../config/shutdown';
import { workerRuntimeOptions } from '../../worker/metrics';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('metrics configuration', () => {
  it('serves /metrics openly and keeps the worker exporter off by default', () => {
    expect(metricsSchema.parse(undefined)).toEqual({ api: { enabled: true }, worker: {} });
    expect(metricsSettings({}, {})).toEqual({ api: { enabled: true } });
  });

  it('takes the worker exporter address as IP and port only, since the SDK binds no host names', () => {
    expect(parseListenAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    for (const bad of [
      'localhost:9464',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:70000',
      '::1:9464',
      '[127.0.0.1]:9',
    ]) {
      expect(parseListenAddress(bad), bad).toBeUndefined();
    }
    const refused = metricsSchema.safeParse({ worker: { listen: 'localhost:9464' } });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toContain('like 127.0.0.1:9464');
  });

  it('lets BATON_WORKER_METRICS turn the exporter on, move it or turn it off', () => {
    const config = { metrics: metricsSchema.parse({ worker: { listen: '127.0.0.1:9464' } }) };
    expect(metricsSettings(config, {}).workerListen).toBe('127.0.0.1:9464');
    expect(metricsSettings(config, { BATON_WORKER_METRICS: '0.0.0.0:9500' }).workerListen).toBe(
      '0.0.0.0:9500',
    );
    expect(metricsSettings(config, { BATON_WORKER_METRICS: 'off' }).workerListen).toBeUndefined();
    expect(metricsSettings({}, { BATON_WORKER_METRICS: '127.0.0.1:9464' }).workerListen).toBe(
      '127.0.0.1:9464',
    );
    expect(() => metricsSettings({}, { BATON_WORKER_METRICS: 'localhost:9464' })).toThrow(
      /BATON_WORKER_METRICS/,
    );
  });

  it('requires a bearer token for /metrics from the file, the variable it names, or BATON_METRICS_TOKEN', () => {
    const bySha = { metrics: metricsSchema.parse({ api: { bearer: { tokenSha256: sha('t1') } } }) };
    expect(metricsSettings(bySha, { BATON_METRICS_TOKEN: 'other' }).api).toEqual({
      enabled: true,
      tokenSha256: sha('t1'),
      tokenFrom: 'metrics.api.bearer.tokenSha256',
    });
    const byEnv = { metrics: metricsSchema.parse({ api: { bearer: { tokenEnv: 'SCRAPE_TOKEN' } } }) };
    expect(metricsSettings(byEnv, { SCRAPE_TOKEN: 't2' }).api.tokenSha256).toBe(sha('t2'));
    expect(() => metricsSettings(byEnv, {})).toThrow(/SCRAPE_TOKEN.*is not set/);
    expect(metricsSettings({}, { BATON_METRICS_TOKEN: 't3' }).api).toEqual({
      enabled: true,
      tokenSha256: sha('t3'),
      tokenFrom: 'BATON_METRICS_TOKEN',
    });
    expect(metricsSchema.safeParse({ api: { bearer: {} } }).success).toBe(false);
    expect(
      metricsSchema.safeParse({ api: { bearer: { tokenEnv: 'A', tokenSha256: sha('x') } } }).success,
    ).toBe(false);
  });

  it('gives the worker runtime seconds, and incident-sized buckets to the duration histograms', () => {
    expect(workerRuntimeOptions({})).toEqual({});
    const prometheus = workerRuntimeOptions({ metricsListen: '127.0.0.1:9464', shutdownSignals: [] });
    expect(prometheus.shutdownSignals).toEqual([]);
    const exporter = prometheus.telemetryOptions?.metrics;
    expect(exporter && 'prometheus' in exporter ? exporter.prometheus : undefined).toMatchObject({
      bindAddress: '127.0.0.1:9464',
      useSecondsForDurations: true,
      histogramBucketOverrides: {
        baton_time_to_acknowledge_seconds: expect.arrayContaining([60, 3600, 86400]) as unknown,
        baton_time_to_escalate_seconds: expect.arrayContaining([60, 3600, 86400]) as unknown,
        baton_time_to_resolve_seconds: expect.arrayContaining([60, 3600, 86400]) as unknown,
      },
    });
  });
});

describe('shutdown configuration', () => {
  it('waits 20 s for the API and 30 s for the worker by default', () => {
    expect(shutdownSchema.parse(undefined)).toEqual({
      api: { graceTime: 20_000 },
      worker: { graceTime: 30_000 },
    });
  });

  it('reads grace times as durations, up to 10 minutes', () => {
    expect(shutdownSchema.parse({ api: { graceTime: '5s' } })).toEqual({
      api: { graceTime: 5_000 },
      worker: { graceTime: 30_000 },
    });
    const tooLong = shutdownSchema.safeParse({ worker: { graceTime: '1h' } });
    expect(tooLong.success).toBe(false);
    expect(tooLong.error?.issues[0]?.path).toEqual(['worker', 'graceTime']);
  });
});
