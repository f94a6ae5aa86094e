import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Secrets } from '../../config/secrets';
import { basicCredentials, bearerToken } from '../auth';
import { HttpError } from '../errors';
import type { IncidentService } from '../incidents';
import { errorResponse } from '../schemas';

const labels = z.record(z.string(), z.string());

const alertmanagerAlert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: z.string().min(1),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(200),
});

/** Alertmanager's webhook payload (version 4); Grafana adds fields, which are accepted and ignored. */
export const alertmanagerPayload = z
  .looseObject({
    version: z.string().optional(),
    groupKey: z.string().min(1).max(10_000),
    truncatedAlerts: z.number().int().min(0).optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().min(1).max(500),
    groupLabels: labels.default({}),
    commonLabels: labels.default({}),
    commonAnnotations: labels.default({}),
    externalURL: z.string().optional(),
    alerts: z.array(alertmanagerAlert).min(1).max(1000),
  })
  .describe('Alertmanager webhook payload, version 4');

export const alertmanagerRoutes =
  (deps: { secrets: Secrets; incidents: IncidentService }): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/webhooks/alertmanager',
      {
        schema: {
          summary: 'Receive an Alertmanager (or Grafana) notification',
          description:
            'Starts the incident of the alert group or adds the alerts to it. Re-sends and HA duplicates change nothing.',
          tags: ['webhooks'],
          body: alertmanagerPayload,
          response: {
            202: z.object({ incidents: z.array(z.string()) }),
            400: errorResponse,
            401: errorResponse,
            503: errorResponse,
          },
        },
        // Credentials are checked before the body is parsed, so an anonymous caller learns nothing.
        onRequest: async (request, reply) => {
          const { authorization } = request.headers;
          const bearer = bearerToken(authorization);
          const basic = basicCredentials(authorization);
          if (!deps.secrets.checkWebhook({ ...(bearer ? { bearer } : {}), ...(basic ? { basic } : {}) })) {
            void reply.header('WWW-Authenticate', 'Bearer realm="baton-webhook"');
            throw new HttpError(401, 'wrong or missing webhook credentials', 'Unauthorized');
          }
        },
      },
      async (request, reply) => {
        const payload = request.body;
        const result = await deps.incidents.ingestAlertGroup({
          receiver: payload.receiver,
          groupKey: payload.groupKey,
          status: payload.status,
          groupLabels: payload.groupLabels,
          commonLabels: payload.commonLabels,
          commonAnnotations: payload.commonAnnotations,
          ...(payload.externalURL ? { externalURL: payload.externalURL } : {}),
          alerts: payload.alerts.map((a) => ({
            fingerprint: a.fingerprint,
            status: a.status,
            labels: a.labels,
            annotations: a.annotations,
            startsAt: a.startsAt,
            ...(a.endsAt ? { endsAt: a.endsAt } : {}),
            ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
          })),
        });
        request.log.info(
          { incident: result?.incidentId, alerts: payload.alerts.length },
          'alert group received',
        );
        return reply.code(202).send({ incidents: result ? [result.incidentId] : [] });
      },
    );
  };
