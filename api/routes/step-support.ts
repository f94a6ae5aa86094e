/**
 * What every route that takes a step shares: the Idempotency-Key header, the request id it
 * becomes, and the record as the answer.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IncidentState } from '../../workflows/state';
import type { incidentState } from '../schemas';

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
