import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The Alertmanager webhook's route, whose answers are counted by status. */
const WEBHOOK_ROUTE = '/webhooks/alertmanager';

/**
 * Up to 30 s: a step waits up to 15 s for its workflow and a webhook body may take as long
 * to arrive; below that, the usual spread of an API answering in milliseconds.
 */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/**
 * Alertmanager retries a 5xx and drops a 4xx: the statuses an alert rule watches start at zero,
 * so that rate() and increase() see the first one.
 */
const WEBHOOK_STATUSES = ['202', '400', '401', '413', '429', '500', '503'];

/**
 * The Node.js process's own metrics (CPU, memory, event loop, GC): one set per process,
 * however many apps it builds (tests build many; `npm start` runs the worker beside the API).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The API's metrics, in a registry of their own rather than prom-client's global one: each
 * app counts its own answers. `registry` serves them with the process's metrics.
 */
export class ApiMetrics {
  private readonly own = new Registry();
  readonly requests = new Counter({
    name: 'baton_http_requests_total',
    help: 'HTTP requests answered by the Baton API, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.own],
  });
  readonly duration = new Histogram({
    name: 'baton_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer going out, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.own],
  });
  readonly webhookAnswers = new Counter({
    name: 'baton_webhook_answers_total',
    help: 'Answers to the Alertmanager webhook by status (5xx are retried by Alertmanager, 4xx dropped).',
    labelNames: ['status'] as const,
    registers: [this.own],
  });
  readonly registry: Registry = Registry.merge([processMetrics(), this.own]);

  constructor() {
    for (const status of WEBHOOK_STATUSES) this.webhookAnswers.labels(status).inc(0);
  }
}

/**
 * Counts every answer the app gives, by route and status, and the webhook's by status. Call
 * it before any route is registered, so that its hook sees them all.
 */
export function countAnswers(app: FastifyInstance): ApiMetrics {
  const metrics = new ApiMetrics();
  app.addHook('onResponse', async (request, reply) => {
    // The route's template, never the path: ids and tokens in paths would make a series
    // per incident (or per guess of an unknown path).
    const route = request.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    const labels = { method: request.method, route, status };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    if (route === WEBHOOK_ROUTE) metrics.webhookAnswers.inc({ status });
  });
  return metrics;
}
