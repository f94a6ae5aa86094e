import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { bearerToken } from '../auth';
import { HttpError } from '../errors';

/** Who may read GET /metrics, and whether it exists (config/metrics.ts: metricsSettings(config).api). */
export interface ApiMetricsOptions {
  enabled: boolean;
  /** SHA-256 of the bearer token a scrape must carry; /metrics is open without it. */
  tokenSha256?: string;
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** GET /metrics: the registry in Prometheus's text format, behind a bearer token when one is configured. */
export const metricsRoutes =
  (deps: { registry: Registry; tokenSha256?: string }): FastifyPluginAsync =>
  async (app) => {
    const { registry, tokenSha256 } = deps;
    app.get(
      '/metrics',
      {
        // Prometheus asks every few seconds: its requests are not worth a log line each.
        logLevel: 'warn',
        schema: {
          summary: 'Metrics in the Prometheus text format',
          description: tokenSha256
            ? 'Requires the bearer token configured for metrics (metrics.api.bearer).'
            : 'Open to anyone who reaches the API (metrics.api.bearer sets a token).',
          tags: ['operations'],
          security: tokenSha256 ? [{ bearer: [] }] : [],
        },
        onRequest: async (request, reply) => {
          if (!tokenSha256) return;
          const token = bearerToken(request.headers.authorization);
          const digest = createHash('sha256')
            .update(token ?? '', 'utf8')
            .digest('hex');
          if (token === undefined || !sameDigest(digest, tokenSha256)) {
            void reply.header('WWW-Authenticate', 'Bearer realm="baton-metrics"');
            throw new HttpError(401, 'wrong or missing bearer token for /metrics', 'Unauthorized');
          }
        },
      },
      async (_request, reply) => {
        const text = await registry.metrics();
        return reply.type(registry.contentType).send(text);
      },
    );
  };
