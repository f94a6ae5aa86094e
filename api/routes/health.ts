import type { FastifyPluginAsync } from 'fastify';
import type { Client } from '@temporalio/client';
import { temporalReachable } from '../temporal';

/** Liveness says the process is up; readiness says it can do its work, which needs Temporal. */
export const healthRoutes =
  (temporal: Client): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const ready = await temporalReachable(temporal);
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', temporal: ready ? 'reachable' : 'unreachable' });
    });
  };
