import type { FastifyPluginAsync } from 'fastify';
import type { Client } from '@temporalio/client';
import { temporalReachable } from '../temporal';

/** How long a readiness answer is reused: /readyz is unauthenticated, Temporal is not for anyone to poll. */
export const READY_CHECK_TTL_MS = 5_000;

export interface HealthOptions {
  /** Whether Temporal answers; temporalReachable over the API's client when not given. */
  reachable?: () => Promise<boolean>;
  ttlMs?: number;
  now?: () => number;
}

/**
 * Temporal's reachability, asked at most once per `ttlMs`: callers within that time get the
 * last answer, and callers while a check is under way share it.
 */
export function cachedCheck(
  check: () => Promise<boolean>,
  ttlMs: number,
  now: () => number = Date.now,
): () => Promise<boolean> {
  let last: { ready: boolean; at: number } | undefined;
  let pending: Promise<boolean> | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.ready);
    pending ??= check()
      .catch(() => false)
      .then((ready) => {
        last = { ready, at: now() };
        pending = undefined;
        return ready;
      });
    return pending;
  };
}

/** Liveness says the process is up; readiness says it can do its work, which needs Temporal. */
export const healthRoutes =
  (temporal: Client, options: HealthOptions = {}): FastifyPluginAsync =>
  async (app) => {
    const ready = cachedCheck(
      options.reachable ?? (() => temporalReachable(temporal)),
      options.ttlMs ?? READY_CHECK_TTL_MS,
      options.now,
    );
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const reachable = await ready();
      return reply.code(reachable ? 200 : 503).send({
        status: reachable ? 'ready' : 'unavailable',
        temporal: reachable ? 'reachable' : 'unreachable',
      });
    });
  };
