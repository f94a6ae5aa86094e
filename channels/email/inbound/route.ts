/**
 * POST /email/inbound: a mail provider's way in for replies (the reply domain's MX is the
 * provider's, which posts each message as raw MIME, `Content-Type: message/rfc822`), with its
 * own bearer token (notifications.email.inboundRoute).
 *
 * The same handling as Baton's SMTP listener, with one difference: the route never sees the
 * connection the message came in on, so SPF (which checks the sending IP against the
 * envelope domain) cannot be checked here. In `strict` mode a reply must carry a passing DKIM
 * signature aligned with its From that covers From, the To or Cc with the reply address, and
 * the Message-ID (authenticate.ts). The provider's own verdicts (Authentication-Results, ARC)
 * are not trusted. The reply address is read from To and Cc.
 *
 * A message that was handled answers 200 whatever became of it (a provider retries anything
 * else); one that could not be handled now answers 503, to be retried.
 */
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerToken } from '../../../api/auth';
import { HttpError } from '../../../api/errors';
import { errorResponse } from '../../../api/schemas';
import { handleInbound, inboundContext, type InboundDeps } from './act';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

const inboundAnswer = z
  .object({
    outcome: z.enum(['acted', 'note', 'refused', 'ignored', 'rejected']),
    incident: z.string().optional(),
    reason: z.string().optional(),
  })
  .describe('What became of the message');

export type EmailRouteDeps = InboundDeps;

export const emailRoutes =
  (deps: EmailRouteDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const ctx = inboundContext(deps);
    // The schemas are zod's whatever app registers the plugin (app.ts sets the same).
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const bodyLimit = deps.config.notifications.email?.inbound?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;

    app.addContentTypeParser('message/rfc822', { parseAs: 'buffer', bodyLimit }, (_request, body, done) =>
      done(null, body),
    );
    // Before the body is read: nobody without the token makes Baton buffer a message.
    app.addHook('onRequest', async (request, reply) => {
      if (!deps.secrets.checkEmailInbound(bearerToken(request.headers.authorization))) {
        void reply.header('WWW-Authenticate', 'Bearer realm="baton-email"');
        throw new HttpError(401, 'a valid bearer token is required', 'Unauthorized');
      }
    });

    app.post(
      '/email/inbound',
      {
        bodyLimit,
        schema: {
          summary: 'Receive a reply to a Baton email from a mail provider (raw MIME, message/rfc822)',
          description:
            'Acts on the reply as the responder its reply address names, once authenticated (DKIM in ' +
            'strict mode; SPF cannot be checked here). Answers 200 for every message handled, ' +
            'whatever its outcome; 503 when it should be retried.',
          tags: ['email'],
          response: {
            200: inboundAnswer,
            401: errorResponse,
            413: errorResponse,
            415: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request, reply) => {
        if (!Buffer.isBuffer(request.body)) {
          throw new HttpError(
            415,
            'send the message as Content-Type: message/rfc822',
            'UnsupportedMediaType',
          );
        }
        const outcome = await handleInbound(ctx, { raw: request.body, postedFrom: request.ip });
        request.log.info(outcome, 'inbound email handled');
        if (outcome.outcome === 'deferred') {
          void reply.header('Retry-After', '60');
          return reply.code(503).send({ error: outcome.reason, code: 'Deferred' });
        }
        const { outcome: kind, incident } = outcome;
        const reason = 'reason' in outcome ? outcome.reason : outcome.summary;
        return reply.code(200).send({ outcome: kind, ...(incident ? { incident } : {}), reason });
      },
    );
  };
