import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Client } from '@temporalio/client';
import type { BatonConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import { healthRoutes } from './routes/health';

export interface AppDeps {
  config: BatonConfig;
  secrets: Secrets;
  temporal: Client;
  logger?: FastifyServerOptions['logger'];
}

/** Builds the Fastify app from its dependencies; server.ts only starts it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // Alertmanager groups can be large, but nothing Baton accepts needs more than this.
    bodyLimit: 1024 * 1024,
    disableRequestLogging: false,
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      // Internals stay in the log; the caller gets the request id to quote.
      return reply.code(status).send({ error: 'internal error', requestId: request.id });
    }
    return reply.code(status).send({ error: error.message, ...(error.code ? { code: error.code } : {}) });
  });

  await app.register(healthRoutes(deps.temporal));
  return app;
}
