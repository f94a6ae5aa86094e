/**
 * The API's GET /metrics: Prometheus's text format, every answer counted by route template
 * and status, the Alertmanager webhook's answers by status after real webhook calls, and
 * the endpoint open, behind a bearer token, or absent, as the configuration says.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app';
import { metricsSettings } from '../config/metrics-settings';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { auth, buildTestApp, TOKEN_ENV, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { firingGroup, receiverFor, terminateQueue } from './support/harness';
import { parseMetrics, valueOf, type Sample } from './support/prometheus-text';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'api-metrics');
});

afterAll(async () => {
  await terminateQueue(w.client, w.taskQueue);
  await w.stop();
});

/** The test worker's configuration as the API needs it (its task queue, the webhook's token). */
function appConfig(): BatonConfig {
  return {
    ...w.config,
    temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
    api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers });
  expect(response.statusCode, response.body).toBe(200);
  return parseMetrics(response.body);
}

describe('GET /metrics on the API', () => {
  it('counts the webhook answers by status after real webhook calls, and every answer by route template', async () => {
    const app = await buildTestApp(w);
    try {
      const receiver = receiverFor('metrics');
      const webhook = (payload: unknown, headers: Record<string, string>) =>
        app.inject({ method: 'POST', url: '/webhooks/alertmanager', headers, payload: payload as object });
      const bearer = { authorization: `Bearer ${TOKENS.webhook}` };

      const opened = await webhook(firingGroup(receiver, 'MetricsOne', randomUUID().slice(0, 16)), bearer);
      expect(opened.statusCode, opened.body).toBe(202);
      const again = await webhook(firingGroup(receiver, 'MetricsTwo', randomUUID().slice(0, 16)), bearer);
      expect(again.statusCode, again.body).toBe(202);
      const wrongToken = await webhook(firingGroup(receiver, 'MetricsThree', randomUUID().slice(0, 16)), {
        authorization: 'Bearer not-the-token',
      });
      expect(wrongToken.statusCode).toBe(401);
      const malformed = await webhook({ receiver, status: 'firing' }, bearer);
      expect(malformed.statusCode).toBe(400);
      const incident = (JSON.parse(opened.body) as { incidents: string[] }).incidents[0] as string;
      const read = await app.inject({
        method: 'GET',
        url: `/api/v1/incidents/${incident}`,
        headers: auth('alice'),
      });
      expect(read.statusCode, read.body).toBe(200);
      const unknown = await app.inject({ method: 'GET', url: `/no/such/path/${randomUUID()}` });
      expect(unknown.statusCode).toBe(404);

      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseMetrics(response.body);

      expect(valueOf(samples, 'baton_webhook_answers_total', { status: '202' })).toBe(2);
      expect(valueOf(samples, 'baton_webhook_answers_total', { status: '401' })).toBe(1);
      expect(valueOf(samples, 'baton_webhook_answers_total', { status: '400' })).toBe(1);
      // Statuses an alert rule watches are there before the first one happens.
      expect(valueOf(samples, 'baton_webhook_answers_total', { status: '503' })).toBe(0);

      const requests = (labels: Record<string, string>) =>
        valueOf(samples, 'baton_http_requests_total', labels);
      expect(requests({ method: 'POST', route: '/webhooks/alertmanager', status: '202' })).toBe(2);
      // The route's template, not the incident's id.
      expect(requests({ method: 'GET', route: '/api/v1/incidents/:id', status: '200' })).toBe(1);
      expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
      expect(response.body).not.toContain(incident);
      expect(response.body).not.toContain('/no/such/path');
      expect(
        valueOf(samples, 'baton_http_request_duration_seconds_count', {
          method: 'POST',
          route: '/webhooks/alertmanager',
          status: '202',
        }),
      ).toBe(2);
      // The Node.js process's own metrics come with them.
      expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('keeps each app its own counts', async () => {
    const first = await buildTestApp(w);
    const second = await buildTestApp(w);
    try {
      await first.inject({ method: 'POST', url: '/webhooks/alertmanager', payload: {} });
      expect(valueOf(await scrape(first), 'baton_webhook_answers_total', { status: '401' })).toBe(1);
      expect(valueOf(await scrape(second), 'baton_webhook_answers_total', { status: '401' })).toBe(0);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('with a bearer token configured, answers 401 without it and the metrics with it', async () => {
    const token = 'metrics-test-token';
    const config: BatonConfig & { metrics: unknown } = {
      ...appConfig(),
      metrics: { api: { enabled: true, bearer: { tokenEnv: 'METRICS_TOKEN' } }, worker: {} },
    };
    const settings = metricsSettings(config, { METRICS_TOKEN: token });
    expect(settings.api.tokenSha256).toBe(createHash('sha256').update(token).digest('hex'));
    const app = await buildApp({
      config,
      secrets: loadSecrets(config, TOKEN_ENV),
      temporal: w.client,
      metrics: settings.api,
    });
    try {
      const without = await app.inject({ method: 'GET', url: '/metrics' });
      expect(without.statusCode).toBe(401);
      expect(without.headers['www-authenticate']).toBe('Bearer realm="baton-metrics"');
      expect(without.body).not.toContain('baton_');
      const wrong = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${TOKENS.alice}` },
      });
      expect(wrong.statusCode).toBe(401);
      const samples = await scrape(app, { authorization: `Bearer ${token}` });
      expect(valueOf(samples, 'baton_http_requests_total', { route: '/metrics', status: '401' })).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('a configuration naming an unset token variable stops start-up rather than open /metrics', () => {
    const config = { metrics: { api: { enabled: true, bearer: { tokenEnv: 'METRICS_TOKEN' } }, worker: {} } };
    expect(() => metricsSettings(config, {})).toThrow(/METRICS_TOKEN.*is not set/);
  });

  it('is absent when turned off', async () => {
    const app = await buildTestApp(w);
    const config = appConfig();
    const off = await buildApp({
      config,
      secrets: loadSecrets(config, TOKEN_ENV),
      temporal: w.client,
      metrics: { enabled: false },
    });
    try {
      expect((await off.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await off.close();
      await app.close();
    }
  });
});
