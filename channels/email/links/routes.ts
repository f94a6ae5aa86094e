/**
 * Email action links: `GET /email/actions/:token` shows what the link would do and asks to
 * confirm; `POST` to the same address takes the step as the responder the link was sent to,
 * through the same workflow update (and so the same rules) as the API, Slack and replies.
 *
 * A link is signed (channels/email/tokens.ts), bound to one incident, responder, step and
 * the phase it was offered in, expires, and works once: the first POST claims its nonce.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { checkLink, linkUrl, newNonce, signLink, type EmailStep, type LinkClaims } from '../tokens';
import type { BatonConfig } from '../../../config/schema';
import type { IncidentState, StepResult } from '../../../workflows/incident/state';
import { fromTemporal, HttpError } from '../../../api/errors';
import { STEP_UPDATES, type StepArg } from '../../../api/step-updates';
import type { IncidentService } from '../../../api/incidents';
import { confirmationPage, donePage, refusalPage, STEP_FIELDS, type IncidentLine } from './pages';
import { UsedLinks } from './used-links';

/** The moves that usually follow, offered on the page that confirms a step. */
const NEXT: Record<EmailStep, EmailStep[]> = {
  acknowledge: ['escalate', 'resolve'],
  escalate: [],
  acceptHandover: ['resolve'],
  resolve: [],
};

const MAX_FIELD = 4_000;

const ALREADY_USED = {
  status: 410,
  page: refusalPage('This link was already used', 'Each action link works once.'),
} as const;

export interface EmailActionDeps {
  config: BatonConfig;
  incidents: IncidentService;
  secret: string;
  publicUrl: string;
  linkTtlMs: number;
  used?: UsedLinks;
  now?: () => number;
}

function line(id: string, state?: IncidentState): IncidentLine {
  return state ? { id, title: state.title, severity: state.severity, phase: state.phase } : { id };
}

function send(reply: FastifyReply, status: number, html: string): FastifyReply {
  return (
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      // The token is in the address: no page may pass it on, frame it or keep it.
      .header('Cache-Control', 'no-store')
      .header('Referrer-Policy', 'no-referrer')
      .header(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      )
      .header('X-Content-Type-Options', 'nosniff')
      .send(html)
  );
}

const LINK_REFUSALS = {
  malformed: {
    status: 400,
    title: 'This link is not valid',
    reason: 'The link is incomplete or was changed. Open it again from the email, whole.',
  },
  tampered: {
    status: 400,
    title: 'This link is not valid',
    reason: 'The link was changed after Baton signed it, so it cannot act.',
  },
  expired: {
    status: 410,
    title: 'This link has expired',
    reason: 'Action links work for a limited time. Act from Slack, the API, or a newer email.',
  },
} as const;

export const emailActionRoutes =
  (deps: EmailActionDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const used = deps.used ?? new UsedLinks(deps.config.dataDir);
    const now = deps.now ?? Date.now;
    const names = new Map(deps.config.responders.map((r) => [r.id, r.name]));

    // The confirmation form posts urlencoded fields; nothing else is accepted here.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );

    /** The link's claims if it may still act, or the page that says why not. */
    async function usable(
      token: string,
    ): Promise<{ claims: LinkClaims; state?: IncidentState } | { status: number; page: string }> {
      const check = checkLink(token, deps.secret, now());
      if (!check.ok) {
        const refusal = LINK_REFUSALS[check.reason];
        return { status: refusal.status, page: refusalPage(refusal.title, refusal.reason) };
      }
      const { claims } = check;
      if (!names.has(claims.responder)) {
        return {
          status: 403,
          page: refusalPage('This link is not valid', 'It was sent to someone who is no longer a responder.'),
        };
      }
      if (await used.used(claims.nonce)) return ALREADY_USED;
      let state: IncidentState | undefined;
      try {
        state = await deps.incidents.get(claims.incident);
      } catch (err) {
        const mapped = fromTemporal(err, claims.incident);
        if (mapped instanceof HttpError && mapped.statusCode === 404) {
          return {
            status: 404,
            page: refusalPage('The incident is gone', mapped.message, line(claims.incident)),
          };
        }
        // The incident cannot be read now; the step may still be tried (and refused by it).
      }
      if (state) {
        const response = state.reopenedCount ?? state.reopenings?.length ?? 0;
        if (state.phase !== claims.phase || response !== claims.response) {
          return {
            status: 409,
            page: refusalPage(
              'The incident has moved on',
              `The link was sent when the incident was ${claims.phase}${claims.response > 0 ? ` (after reopening ${claims.response})` : ''}; it is ${state.phase} now.`,
              line(claims.incident, state),
            ),
          };
        }
      }
      return { claims, ...(state ? { state } : {}) };
    }

    const tokenParams = z.object({ token: z.string().min(1).max(4096) });
    const formBody = z.record(z.string(), z.string()).optional();

    app.get(
      '/email/actions/:token',
      { schema: { hide: true, params: tokenParams } },
      async (request, reply) => {
        const found = await usable(request.params.token);
        if ('page' in found) return send(reply, found.status, found.page);
        const { claims, state } = found;
        return send(
          reply,
          200,
          confirmationPage({
            step: claims.step,
            incident: line(claims.incident, state),
            responderName: names.get(claims.responder) ?? claims.responder,
            expiresAt: claims.expiresAt,
          }),
        );
      },
    );

    app.post(
      '/email/actions/:token',
      { schema: { hide: true, params: tokenParams, body: formBody } },
      async (request, reply) => {
        const found = await usable(request.params.token);
        if ('page' in found) return send(reply, found.status, found.page);
        const { claims, state } = found;
        const field = STEP_FIELDS[claims.step];
        const arg: StepArg = { actor: claims.responder, requestId: `link-${claims.nonce}` };
        if (field) {
          const value = (request.body?.[field.name] ?? '').trim();
          if (value.length > MAX_FIELD) {
            return send(
              reply,
              400,
              refusalPage('Too long', `Keep it under ${MAX_FIELD} characters.`, line(claims.incident, state)),
            );
          }
          if (value) arg[field.name] = value;
          else if (field.required) {
            return send(
              reply,
              400,
              refusalPage(
                'Something is missing',
                `${field.label} is needed. Go back and fill it in.`,
                line(claims.incident, state),
              ),
            );
          } else if (claims.step === 'acceptHandover') arg[field.name] = 'Accepted from the email link';
        }
        if (!(await used.claim(claims.nonce))) {
          return send(reply, ALREADY_USED.status, ALREADY_USED.page);
        }
        let result: StepResult;
        try {
          result = await deps.incidents.update(claims.incident, STEP_UPDATES[claims.step], arg);
        } catch (err) {
          const mapped = fromTemporal(err, claims.incident);
          if (mapped instanceof HttpError && mapped.statusCode < 500) {
            // Refused by the incident's rules: the link has had its one use.
            return send(
              reply,
              mapped.statusCode,
              refusalPage('Not done', mapped.message, line(claims.incident, state)),
            );
          }
          request.log.warn({ err, incident: claims.incident }, 'an email action could not be taken');
          if (mapped instanceof HttpError && mapped.statusCode === 504) {
            // Temporal has the step and may still apply it: the link stays used, so that it
            // cannot act a second time once the first has.
            return send(
              reply,
              504,
              refusalPage(
                'Not confirmed',
                'The incident did not answer in time; the step may still be applied. Check the incident before you act again.',
                line(claims.incident, state),
              ),
            );
          }
          // The step never reached the incident: the link works again.
          await used.release(claims.nonce);
          const reason =
            mapped instanceof HttpError
              ? mapped.message
              : 'Baton could not reach the incident just now. Try the link again in a minute.';
          return send(reply, 503, refusalPage('Not done yet', reason, line(claims.incident, state)));
        }
        const after: IncidentLine = {
          id: claims.incident,
          title: result.title,
          severity: result.severity,
          phase: result.phase,
        };
        const next = NEXT[claims.step].map((step) => ({
          step,
          url: linkUrl(
            deps.publicUrl,
            signLink(
              {
                incident: claims.incident,
                responder: claims.responder,
                step,
                phase: result.phase,
                // A step from a link never reopens the incident.
                response: claims.response,
                expiresAt: now() + deps.linkTtlMs,
                nonce: newNonce(),
              },
              deps.secret,
            ),
          ),
        }));
        return send(
          reply,
          200,
          donePage({
            step: claims.step,
            incident: after,
            responderName: names.get(claims.responder) ?? claims.responder,
            next,
          }),
        );
      },
    );
  };
