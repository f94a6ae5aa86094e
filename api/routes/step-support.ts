/**
 * What every route that takes a step shares: the Idempotency-Key header, the request id it
 * becomes, the record as the answer, and the registration of a step's route itself.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { UpdateDefinition } from '@temporalio/common';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z, type ZodType } from 'zod';
import type { IncidentState, StepResult } from '../../workflows/incident/state';
import { actorOf } from '../auth';
import type { IncidentService } from '../incidents';
import { incidentParams, stepResponses, type incidentState } from '../schemas';

export const idempotencyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Retries with the same key change nothing'),
});

/** The record serialized as-is; the response schema documents it and lets every field through. */
export function toView(state: IncidentState): z.output<typeof incidentState> {
  return state as unknown as z.output<typeof incidentState>;
}

/** The request id a step carries: the client's Idempotency-Key (per person), or a fresh one. */
export function requestIdOf(request: FastifyRequest, actor: string): string {
  const key = request.headers['idempotency-key'];
  // Hashed so any key the header allows fits the workflow's request id, and per person so
  // two people's keys never collide.
  return typeof key === 'string' && key.trim().length > 0
    ? `api:${actor}:${createHash('sha256').update(key.trim()).digest('hex').slice(0, 32)}`
    : `api:${randomUUID()}`;
}

/** One step's route: `POST /api/v1/incidents/:id/<path>`, answered with the whole record. */
export interface Step {
  /** After `:id/`; may name more parameters (`action-items/:itemId/complete`). */
  path: string;
  summary: string;
  body: ZodType<object>;
  /** The path's parameters, `id` and any the path names; those beyond `id` join the step's input. */
  params: ZodType<{ id: string } & Record<string, string>>;
  update: UpdateDefinition<StepResult, [{ actor: string; requestId: string }]>;
}

/**
 * Pairs a route's body and path parameters with its update, checked here so that a table of
 * steps cannot mismatch them.
 */
export function stepOf<TArg extends { actor: string; requestId: string }, TPath extends object = object>(
  path: string,
  summary: string,
  body: ZodType<Omit<TArg, 'actor' | 'requestId' | keyof TPath>>,
  update: UpdateDefinition<StepResult, [TArg]>,
  params?: ZodType<{ id: string } & TPath>,
): Step {
  return {
    path,
    summary,
    body,
    params: (params ?? incidentParams) as Step['params'],
    update,
  };
}

type App = Parameters<FastifyPluginAsyncZod>[0];

/** Registers a step's route: the caller acts as the token's owner, with the request's key. */
export function registerStep(app: App, incidents: IncidentService, definition: Step): void {
  app.post(
    `/api/v1/incidents/:id/${definition.path}`,
    {
      schema: {
        summary: definition.summary,
        tags: ['steps'],
        headers: idempotencyHeaders,
        params: definition.params,
        body: definition.body,
        response: stepResponses,
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const { id, ...fromPath } = request.params;
      const arg = {
        ...request.body,
        ...fromPath,
        actor: actor.id,
        requestId: requestIdOf(request, actor.id),
      };
      return toView(await incidents.step(id, definition.update, arg));
    },
  );
}
