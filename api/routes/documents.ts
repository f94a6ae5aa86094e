import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Secrets } from '../../config/secrets';
import { actorOf, requireResponder } from '../auth';
import { MARKDOWN_TYPE, SVG_TYPE, type DocumentStore, type IncidentFolder } from '../documents';
import { HttpError } from '../errors';
import type { IncidentService } from '../incidents';
import { recordHtml } from '../record-html';
import { errorResponse, incidentParams } from '../schemas';

const timelineQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).describe('Events with a greater seq'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const timelineEvent = z.looseObject({
  seq: z.number(),
  at: z.string(),
  actor: z.string(),
  kind: z.string(),
  summary: z.string(),
});

const documentInfo = z.object({
  name: z
    .string()
    .describe(
      'Relative to the incident folder: record.md, report.md, handover-1.md, lessons.md, communications.md, diagnostics/<time>-<occasion>/x.svg',
    ),
  kind: z.enum(['record', 'report', 'handover', 'lessons', 'communications', 'chart']),
  contentType: z.string(),
  bytes: z.number(),
  modifiedAt: z.string(),
});

const documentParams = z.strictObject({
  id: incidentParams.shape.id,
  '*': z.string().min(1).max(1000),
});

/** Charts are drawn escaped, but an SVG can carry script: it may load nothing and run nothing. */
const LOCKED_DOWN = "default-src 'none'; style-src 'unsafe-inline'";
/** A document as HTML may show the incident's charts, served by this same route, and nothing else. */
const HTML_PAGE = `${LOCKED_DOWN}; img-src 'self'`;

/** Quality the Accept header gives a media type: its most specific match, 0 when none. */
function quality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = { specificity: -1, q: 0 };
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(
      /^q=([\d.]+)$/.exec(params.map((p) => p.trim()).find((p) => p.startsWith('q=')) ?? '')?.[1] ?? 1,
    );
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity > best.specificity) best = { specificity, q: Number.isFinite(q) ? q : 0 };
  }
  return best.q;
}

function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  const html = quality(accept, 'text/html');
  return html > 0 && html > quality(accept, 'text/markdown');
}

/**
 * The incident's timeline and documents, read from the incident store alone: they answer
 * after Temporal has deleted the incident's history, and never wait for a worker.
 */
export const documentRoutes =
  (deps: { secrets: Secrets; incidents: IncidentService; store: DocumentStore }): FastifyPluginAsyncZod =>
  async (app) => {
    const { store } = deps;
    app.addHook('onRequest', requireResponder(deps.secrets));

    /** The folder of an incident the caller may see; 404 alike for unknown and hidden ones. */
    const folderFor = async (request: FastifyRequest, id: string): Promise<IncidentFolder> => {
      const folder = await store.find(id);
      if (!folder || !deps.incidents.canSee(folder.record.team, actorOf(request).id)) {
        throw new HttpError(404, `no incident "${id}"`, 'NotFound');
      }
      return folder;
    };

    app.get(
      '/api/v1/incidents/:id/timeline',
      {
        schema: {
          summary: "The incident's whole timeline, from the incident store",
          description:
            "Every event in seq order, in pages: pass the answer's `next` as `after` for the next page. Served from timeline.jsonl, also once Temporal has deleted the incident.",
          tags: ['documents'],
          params: incidentParams,
          querystring: timelineQuery,
          response: {
            200: z.object({ events: z.array(timelineEvent), next: z.number().optional() }),
            400: errorResponse,
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request) => {
        const folder = await folderFor(request, request.params.id);
        const page = await store.timeline(folder, request.query.after, request.query.limit);
        return { ...page, events: page.events.map((e) => ({ ...e })) };
      },
    );

    app.get(
      '/api/v1/incidents/:id/documents',
      {
        schema: {
          summary:
            "The incident's documents: its record, final report, handovers, lessons, communications log and diagnostics charts",
          tags: ['documents'],
          params: incidentParams,
          response: {
            200: z.object({ documents: z.array(documentInfo) }),
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request) => ({
        documents: await store.list(await folderFor(request, request.params.id)),
      }),
    );

    app.get(
      '/api/v1/incidents/:id/documents/*',
      {
        schema: {
          summary: 'One document, by the name the listing gives',
          description:
            'Markdown documents (record.md, report.md, handover-N.md, lessons.md, communications.md) as Markdown, or as HTML when Accept prefers text/html; record.json as JSON; charts as SVG.',
          tags: ['documents'],
          params: documentParams,
          response: {
            200: z.string().describe('The document: Markdown, HTML, JSON or SVG'),
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const { id, '*': name } = request.params;
        const folder = await folderFor(request, id);
        const found = await store.read(folder, name);
        if (!found) throw new HttpError(404, `no document "${name}" in incident "${id}"`, 'NotFound');
        const { document } = found;
        const content = found.content.toString('utf8');
        void reply.header('X-Content-Type-Options', 'nosniff');
        if (document.contentType === SVG_TYPE) {
          return reply.header('Content-Security-Policy', LOCKED_DOWN).type(SVG_TYPE).send(content);
        }
        if (document.contentType === MARKDOWN_TYPE) {
          void reply.header('Vary', 'Accept');
          if (prefersHtml(request)) {
            return reply
              .header('Content-Security-Policy', HTML_PAGE)
              .type('text/html; charset=utf-8')
              .send(recordHtml(content, folder.record.title));
          }
        }
        return reply.type(document.contentType).send(content);
      },
    );
  };
