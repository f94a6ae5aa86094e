import path from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { InboundListenerDeps } from '../channels/email/inbound/listener';
import type { Mailer } from '../channels/email/mailer';
import { mountInboundChannels } from '../channels/registry';
import { metricsSettings } from '../config/metrics-settings';
import type { BatonConfig } from '../config/schema';
import { requireNoDemoCredentials, requireWebhookAuth, type Secrets } from '../config/secrets';
import { AuthFailures, failedCredential, type CredentialName } from './auth';
import { fromTemporal, HttpError } from './errors';
import { IncidentService } from './incidents';
import { maskingLogger } from './log-masking';
import { countAnswers } from './metrics';
import { alertmanagerRoutes } from './routes/alertmanager';
import { codecRoutes } from './routes/codec';
import type { IncidentStore } from '../activities/store/incident-store';
import { DocumentStore } from './documents';
import { customerMessageRoutes } from './routes/customer-messages';
import { documentRoutes } from './routes/documents';
import { healthRoutes } from './routes/health';
import { incidentRoutes } from './routes/incidents';
import { loadCustomerNotice } from './customer-notice';
import { metricsRoutes, type ApiMetricsOptions } from './routes/metrics';
import { scheduleRoutes, scheduleServiceFor } from './routes/schedules';
import { wakeScheduleWorkflows } from './schedule-workflows';
import { calendarFeedRoutes } from './routes/calendar-feeds';
import type { ScheduleStore } from '../activities/store/schedule-store';

export interface AppDeps {
  config: BatonConfig;
  secrets: Secrets;
  temporal: Client;
  logger?: FastifyServerOptions['logger'];
  /**
   * Where incidents' documents are read from: the worker's store. The local folder under
   * dataDir when not given; a team that keeps incidents elsewhere passes its own.
   */
  store?: IncidentStore;
  /** How long a step or read may wait for the incident's workflow (tests shorten it). */
  answerWithinMs?: number;
  /**
   * The Slack Web API client the Slack routes answer with (users.info, chat.postEphemeral,
   * views.open, conversations.replies); built from notifications.slack when not given.
   */
  slack?: WebClient;
  /** Answers email replies (a refusal, a confirmation); built from notifications.email when not given. */
  mailer?: Mailer;
  /** mailauth's DNS resolver for replies' DKIM, SPF and DMARC; the system's when not given (tests sign with their own key). */
  emailResolver?: InboundListenerDeps['resolver'];
  /** Counts failed authentications per address and credential (AUTH_LIMITS by default; tests give their own clock). */
  authFailures?: AuthFailures;
  /** Whether GET /metrics exists and the token it needs; from the configuration alone when not given. */
  metrics?: ApiMetricsOptions;
  /** Overrides and time off added through the API; the folder store under dataDir/schedules when not given. */
  schedules?: ScheduleStore;
}

export { emailListenerOf } from '../channels/email/inbound/mount';

/** What the API says when it starts with an open webhook. */
export const UNAUTHENTICATED_WEBHOOK =
  'the Alertmanager webhook accepts unauthenticated requests (api.allowUnauthenticated: true): anyone who reaches it can open incidents';

/** What the API says when it starts with the published demo tokens (on a loopback address only). */
export const DEMO_CREDENTIALS =
  'demo credentials in use: the published demo tokens (README, "Demo tokens") act as responders; they work on a loopback address only. Make real ones with npm run token';

/**
 * Counts a credential that failed its check (AuthFailures), logging once the limit it fills;
 * past a limit, the refusal to send instead of its 401. Alertmanager drops an alert answered
 * 4xx and retries a 5xx: the webhook gets 503, so that alerts sent from behind a guesser's
 * address are delayed at worst, never lost.
 */
function countFailure(
  failures: AuthFailures,
  request: FastifyRequest,
  reply: FastifyReply,
  credential: CredentialName,
): FastifyReply | undefined {
  const verdict = failures.countFailure(request.ip, credential);
  if (verdict.refused) {
    const whose = verdict.by === 'address' ? 'from this address' : 'of this credential';
    return reply
      .code(credential === 'webhook' ? 503 : 429)
      .removeHeader('WWW-Authenticate')
      .header('Retry-After', String(verdict.retryAfter))
      .send({
        error: `too many failed authentications ${whose}; retry in ${verdict.retryAfter} s`,
        code: 'TooManyRequests',
      });
  }
  for (const reached of verdict.reached) {
    const whose = reached.by === 'address' ? `from ${reached.key}` : `of the ${reached.key}`;
    const count = reached.by === 'address' ? failures.max : failures.perCredential;
    request.log.warn(
      { ip: request.ip, limit: reached.by, key: reached.key, failures: count, windowMs: failures.windowMs },
      `${count} failed authentications ${whose}: more invalid credentials are refused (429, 503 on the webhook) until the window ends; valid ones are served`,
    );
  }
  return undefined;
}

/**
 * Node's HTTP timeouts (Fastify leaves the first two off). A request must arrive whole
 * within 30 s: the webhook's 16 MiB at about 0.5 MiB/s. A connection silent for 60 s is
 * closed, which outlasts the longest answer (a step waits up to 15 s for its workflow). Idle
 * keep-alive connections stay 72 s, Fastify's default, longer than a load balancer's usual
 * 60 s so that it never reuses a connection Baton is closing.
 */
export const SERVER_TIMEOUTS = {
  requestTimeout: 30_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 72_000,
} as const;

function issuePath(instancePath: string | undefined, field: string): string {
  const path = (instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  return [field, path].filter(Boolean).join('.');
}

/** Builds the Fastify app from its dependencies; server.ts and scripts/start.ts only start it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Before anything listens: a webhook without credentials must have been asked for, and the
  // published demo tokens are accepted only where nobody else can reach the API.
  requireWebhookAuth(deps.config);
  requireNoDemoCredentials(deps.config, deps.secrets);
  const logger = deps.logger;
  const app = Fastify({
    // Fastify logs each request with its id and URL: secrets in URLs are masked (log-masking.ts).
    logger: logger === true || (logger && typeof logger === 'object') ? maskingLogger(logger) : false,
    ...SERVER_TIMEOUTS,
    // Step bodies are small; the Alertmanager webhook sets a larger limit of its own.
    bodyLimit: 1024 * 1024,
    // Email action links carry their signed token in the path (a few hundred characters);
    // every route checks its parameters' own length.
    routerOptions: { maxParamLength: 4096 },
    // Only the proxies the configuration names may say who the caller is.
    ...(deps.config.api.trustProxy.length > 0 ? { trustProxy: deps.config.api.trustProxy } : {}),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const metrics = countAnswers(app);

  // Why a request was refused (401, 403), for the warning logged when the answer goes out.
  const refusals = new WeakMap<object, string>();
  const failures = deps.authFailures ?? new AuthFailures();

  // Every refusal is logged at warn with the route and the caller's address (never a header:
  // the token stays out of the log). Those refused past the failure limit are not: the limit
  // bounds the lines a guesser makes.
  app.addHook('onSend', async (request, reply) => {
    const status = reply.statusCode;
    if (status !== 401 && status !== 403) return;
    const route = request.routeOptions.url;
    request.log.warn(
      {
        status,
        method: request.method,
        route,
        ip: request.ip,
        ...(request.responder ? { responder: request.responder.id } : {}),
        ...(refusals.has(request) ? { reason: refusals.get(request) } : {}),
      },
      status === 401 ? 'authentication failed' : 'refused: not permitted',
    );
  });

  app.setErrorHandler((raw: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(raw)) {
      const field = raw.validationContext ?? 'body';
      const issues = raw.validation.map((v) => ({
        path: issuePath(v.instancePath, field),
        message: v.message ?? 'invalid',
      }));
      return reply.code(400).send({
        error: `invalid ${field}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        code: 'InvalidInput',
        issues,
      });
    }
    const error = fromTemporal(raw);
    // A credential that failed its check (each route checks its own in onRequest, before the
    // body is read) is counted here, in the same tick as the check, so that concurrent
    // guesses are counted as they are answered. A valid credential never gets here.
    const credential =
      error instanceof HttpError ? failedCredential(request.routeOptions.url, error.statusCode) : undefined;
    if (credential) {
      const refused = countFailure(failures, request, reply, credential);
      if (refused) return refused;
    }
    if (error instanceof HttpError) {
      if (error.statusCode >= 500) request.log.warn({ err: raw }, error.message);
      if (error.statusCode === 401 || error.statusCode === 403) refusals.set(request, error.message);
      return reply
        .code(error.statusCode)
        .send({ error: error.message, ...(error.code ? { code: error.code } : {}) });
    }
    const status = raw.statusCode && raw.statusCode >= 400 && raw.statusCode < 500 ? raw.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: raw }, 'request failed');
      // Internals stay in the log; the caller gets the request id to quote.
      return reply.code(500).send({ error: 'internal error', requestId: request.id });
    }
    return reply.code(status).send({ error: raw.message, ...(raw.code ? { code: raw.code } : {}) });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Baton',
        description:
          'Incident process as code. Incident steps act as the responder whose bearer token is sent; ' +
          'refused moves answer 409 with the reason.',
        version: '1',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const documents = new DocumentStore(deps.config.dataDir, deps.store);
  const incidents = new IncidentService(deps.temporal, deps.config, deps.answerWithinMs, documents);
  await app.register(healthRoutes(deps.temporal));
  const metricsOptions = deps.metrics ?? metricsSettings(deps.config, {}).api;
  if (metricsOptions.enabled) {
    await app.register(
      metricsRoutes({ registry: metrics.registry, tokenSha256: metricsOptions.tokenSha256 }),
    );
  }
  const { allowUnauthenticated } = deps.config.api;
  if (allowUnauthenticated) {
    app.log.warn(UNAUTHENTICATED_WEBHOOK);
  }
  if (deps.secrets.demoCredentials.length > 0) {
    app.log.warn({ credentials: deps.secrets.demoCredentials }, DEMO_CREDENTIALS);
  }
  await app.register(alertmanagerRoutes({ secrets: deps.secrets, incidents, allowUnauthenticated }));
  await app.register(incidentRoutes({ secrets: deps.secrets, incidents }));
  await app.register(
    customerMessageRoutes({
      secrets: deps.secrets,
      incidents,
      notice: loadCustomerNotice(
        ...(deps.config.documents.customerNoticeTemplate
          ? [path.resolve(deps.config.documents.customerNoticeTemplate)]
          : []),
      ),
    }),
  );
  await app.register(documentRoutes({ secrets: deps.secrets, incidents, store: documents }));
  const schedules = scheduleServiceFor({
    config: deps.config,
    // An override or time off changes who is told what: the schedules' workflows look again now.
    onChanged: (ids) => void wakeScheduleWorkflows(deps.temporal, deps.config, app.log, ids),
    ...(deps.schedules ? { store: deps.schedules } : {}),
    ...(deps.store ? { incidents: deps.store } : {}),
  });
  await app.register(scheduleRoutes({ secrets: deps.secrets, schedules, registry: metrics.registry }));
  await app.register(calendarFeedRoutes({ secrets: deps.secrets, schedules }));
  // Temporal's codec endpoint exists only while Baton encrypts its payloads.
  if (deps.secrets.payloadKeys)
    await app.register(codecRoutes({ config: deps.config, secrets: deps.secrets }));
  // Each channel's requests back to Baton (email links and replies, Slack's buttons and commands).
  await mountInboundChannels(
    {
      app,
      config: deps.config,
      secrets: deps.secrets,
      temporal: deps.temporal,
      incidents,
      schedules,
      log: app.log,
    },
    { email: { mailer: deps.mailer, resolver: deps.emailResolver }, slack: { client: deps.slack } },
  );
  return app;
}
