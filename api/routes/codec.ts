/**
 * The codec endpoint of Temporal's Codec Server protocol, for the Temporal UI and CLI:
 * POST /codec/decode opens the payloads of Baton's encrypted history for a person allowed to
 * read them, POST /codec/encode seals input typed into the UI or CLI. Both take and give
 * `{ payloads: [{ metadata: { name: base64 }, data: base64 }] }` (Payloads in protobuf's JSON).
 *
 * Who may use it: a responder who may read every incident (a manager with `allTeams`, or
 * someone on every team). A payload carries no incident id, so the endpoint cannot tell
 * whose incident it opens; anyone less would read other teams' records through it.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PayloadDecryptionError } from '../../config/payload-codec';
import { teamMembers } from '../../config/policy';
import type { BatonConfig, ResponderConfig } from '../../config/schema';
import type { Secrets } from '../../config/secrets';
import { temporalDataConverter } from '../../config/temporal';
import { actorOf, requireResponder } from '../auth';
import { HttpError } from '../errors';
import { errorResponse } from '../schemas';

/** A history's payloads in one request: Temporal's own limit is 2 MiB a payload. */
export const CODEC_BODY_LIMIT = 16 * 1024 * 1024;
const MAX_PAYLOADS = 10_000;

// proto3 JSON writes bytes as base64, standard or URL-safe.
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'write bytes as base64');

const jsonPayload = z.object({
  metadata: z.record(z.string(), base64).nullish(),
  data: base64.nullish(),
});

const payloadsBody = z
  .object({ payloads: z.array(jsonPayload).max(MAX_PAYLOADS) })
  .describe('Payloads in protobuf JSON: metadata values and data in base64');

const payloadsAnswer = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()), data: z.string() })),
});

type JsonPayload = z.infer<typeof jsonPayload>;

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([name, value]) => [name, Buffer.from(value, 'base64')]),
    ),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): z.infer<typeof payloadsAnswer>['payloads'][number] {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([name, value]) => [
        name,
        Buffer.from(value ?? new Uint8Array(0)).toString('base64'),
      ]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array(0)).toString('base64'),
  };
}

/** Whether the API would let this responder read any incident at all. */
export function mayReadEveryIncident(config: BatonConfig, responder: ResponderConfig): boolean {
  return responder.allTeams || config.teams.every((t) => teamMembers(config, t).includes(responder.id));
}

/** What the browser needs to call the endpoint from the Temporal UI's origin. */
const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  // The UI sends X-Namespace always, Authorization when it passes an access token.
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
  'Access-Control-Max-Age': '600',
};

export const codecRoutes =
  (deps: { config: BatonConfig; secrets: Secrets }): FastifyPluginAsyncZod =>
  async (app) => {
    const { config, secrets } = deps;
    const encryption = config.temporal.encryption;
    // The SDK's order: encode through the codecs in turn, decode through them backwards.
    const codecs: PayloadCodec[] = temporalDataConverter(config, secrets).payloadCodecs ?? [];
    const origins = new Set(encryption?.codecOrigins ?? [new URL(config.temporal.uiUrl).origin]);

    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined) return;
      void reply.header('Vary', 'Origin');
      if (!origins.has(origin)) return;
      void reply.header('Access-Control-Allow-Origin', origin);
      // For a UI that sends cookies to a proxy in front of Baton ("include cross-origin credentials").
      void reply.header('Access-Control-Allow-Credentials', 'true');
    });

    /** The bearer token's responder, refused (401, 403) unless they may read every incident. */
    const authenticate = requireResponder(secrets);
    const requireReader = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      await authenticate(request, reply);
      const responder = actorOf(request);
      if (!mayReadEveryIncident(config, responder)) {
        throw new HttpError(
          403,
          `${responder.id} may not read every team's incidents, and a payload does not say whose incident it belongs to: ` +
            "only a manager with allTeams (or someone on every team) may use Baton's codec endpoint",
          'Forbidden',
        );
      }
    };

    const route = (kind: 'encode' | 'decode'): void => {
      const url = `/codec/${kind}`;
      app.options(url, { schema: { hide: true } }, async (request, reply) => {
        const origin = request.headers.origin;
        if (origin === undefined || !origins.has(origin)) {
          throw new HttpError(
            403,
            `origin ${origin ?? '(none)'} may not call the codec endpoint: list it in temporal.encryption.codecOrigins`,
            'Forbidden',
          );
        }
        if (request.headers['access-control-request-private-network'] === 'true') {
          void reply.header('Access-Control-Allow-Private-Network', 'true');
        }
        return reply.headers(PREFLIGHT_HEADERS).code(204).send();
      });
      app.post(
        url,
        {
          bodyLimit: CODEC_BODY_LIMIT,
          schema: {
            summary: kind === 'decode' ? 'Decrypt payloads for the Temporal UI or CLI' : 'Encrypt payloads',
            description:
              "Temporal's Codec Server protocol. Requires the bearer token of a responder who may read every " +
              'incident (a manager with allTeams, or someone on every team). Payloads Baton did not encrypt ' +
              'pass through decode unchanged.',
            tags: ['operations'],
            body: payloadsBody,
            response: {
              200: payloadsAnswer,
              400: errorResponse,
              401: errorResponse,
              403: errorResponse,
            },
          },
          // Credentials are checked before the body is read.
          onRequest: requireReader,
        },
        async (request) => {
          let payloads = request.body.payloads.map(fromJson);
          try {
            if (kind === 'encode') for (const codec of codecs) payloads = await codec.encode(payloads);
            else for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
          } catch (err) {
            if (err instanceof PayloadDecryptionError) throw new HttpError(400, err.message, 'CannotDecrypt');
            throw err;
          }
          // Who opened how much of the history, for the record.
          request.log.info(
            {
              responder: request.responder?.id,
              payloads: payloads.length,
              namespace: request.headers['x-namespace'],
            },
            kind === 'decode' ? 'payloads decrypted' : 'payloads encrypted',
          );
          return { payloads: payloads.map(toJson) };
        },
      );
    };
    route('decode');
    route('encode');
  };
