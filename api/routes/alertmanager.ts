import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Secrets } from '../../config/secrets';
import { stringMapSchema } from '../../workflows/incident/messages';
import { basicCredentials, bearerToken } from '../auth';
import { fitGroupLabels } from '../alert-chunks';
import { HttpError } from '../errors';
import type { IncidentService } from '../incidents';
import { errorResponse } from '../schemas';

/**
 * Alertmanager sends a group whole, however large: thousands of alerts make megabytes. The
 * API splits it into Temporal-sized signals, so only a body past this is refused (413,
 * which Alertmanager does not retry); its `max_alerts` keeps a group below it.
 */
export const WEBHOOK_BODY_LIMIT = 16 * 1024 * 1024;

/** Label and annotation names are data; `__proto__` and `constructor` are kept like any other. */
const labels = stringMapSchema();

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
    /** How many alerts of the group Alertmanager left out (its `max_alerts`). */
    truncatedAlerts: z.number().int().min(0).optional(),
    status: z.enum(['firing', 'resolved']),
    receiver: z.string().min(1).max(500),
    groupLabels: labels.default({}),
    commonLabels: labels.default({}),
    commonAnnotations: labels.default({}),
    externalURL: z.string().optional(),
    alerts: z.array(alertmanagerAlert).min(1),
  })
  .describe('Alertmanager webhook payload, version 4');

export const alertmanagerRoutes =
  (deps: {
    secrets: Secrets;
    incidents: IncidentService;
    /** api.allowUnauthenticated: the configuration said so in so many words. */
    allowUnauthenticated: boolean;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    // Labels and annotations are data, and Prometheus allows any name, `__proto__` included:
    // this plugin's JSON parser keeps such a key as an own property instead of refusing the
    // body (Fastify's default everywhere else). Nothing here merges by assignment; the
    // schemas rebuild every map with Object.fromEntries.
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      app.getDefaultJsonParser('ignore', 'ignore'),
    );

    app.post(
      '/webhooks/alertmanager',
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
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
            413: errorResponse,
            503: errorResponse,
          },
        },
        // Credentials are checked before the body is parsed, so an anonymous caller learns nothing.
        onRequest: async (request, reply) => {
          if (deps.allowUnauthenticated) return;
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
        // Labels of any length are the group's, not a reason to refuse it: they are cut to what
        // Temporal carries, and the incident opens with the cut said on each alert it touched.
        const { group, cuts } = fitGroupLabels({
          groupLabels: payload.groupLabels,
          commonLabels: payload.commonLabels,
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
        const result = await deps.incidents.ingestAlertGroup({
          receiver: payload.receiver,
          groupKey: payload.groupKey,
          ...(payload.truncatedAlerts ? { truncatedAlerts: payload.truncatedAlerts } : {}),
          status: payload.status,
          groupLabels: group.groupLabels,
          commonLabels: group.commonLabels,
          commonAnnotations: payload.commonAnnotations,
          ...(payload.externalURL ? { externalURL: payload.externalURL } : {}),
          alerts: group.alerts,
        });
        const incident = result?.incidentId;
        if (cuts.length > 0) {
          request.log.warn(
            { incident, groupKey: payload.groupKey, labelsCut: cuts.length, cut: cuts.slice(0, 50) },
            `labels too large for Temporal were cut: ${cuts.length} label(s) of the group`,
          );
        }
        request.log.info(
          { incident, alerts: payload.alerts.length, signals: result?.signals ?? 0 },
          'alert group received',
        );
        if (payload.truncatedAlerts) {
          // Kept on the incident (alertsTruncated) and said in the log.
          request.log.warn(
            { incident, truncatedAlerts: payload.truncatedAlerts, groupKey: payload.groupKey },
            `Alertmanager left out ${payload.truncatedAlerts} alert(s) of the group (its max_alerts)`,
          );
        }
        if (result && result.trimmed.length > 0) {
          request.log.warn(
            { incident, fingerprints: result.trimmed.slice(0, 50) },
            `${result.trimmed.length} alert(s) too large for Temporal: their longest annotations were cut`,
          );
        }
        return reply.code(202).send({ incidents: result ? [result.incidentId] : [] });
      },
    );
  };
