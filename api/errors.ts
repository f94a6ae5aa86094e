import {
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { RefusalType } from '../workflows/messages';

/** An answer the API gives on purpose, with the status it deserves. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const REFUSAL_STATUS: Record<RefusalType, number> = {
  [RefusalType.invalidMove]: 409,
  [RefusalType.notPermitted]: 403,
  [RefusalType.unknownActor]: 403,
  [RefusalType.invalidInput]: 400,
};

// gRPC status codes that mean "Temporal is not there right now", not "you asked wrongly".
const UNAVAILABLE_CODES = new Set([8 /* RESOURCE_EXHAUSTED */, 14 /* UNAVAILABLE */]);
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const NO_ANSWER =
  'the incident did not answer in time (is a Baton worker running?); a step may still be applied: retry with the same Idempotency-Key';

function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  if (err instanceof ServiceError && isGrpcServiceError(err.cause)) return err.cause.code;
  return undefined;
}

/** Whether no connection to Temporal could be made at all (a lazy connection fails this way). */
function noConnection(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /failed to connect|connect(ion)? (refused|timed out|timeout)|transport|ECONNREFUSED|Connection dropped/i.test(
    message,
  );
}

/** Translates what Temporal answered into the API's vocabulary. */
export function fromTemporal(err: unknown, incidentId?: string): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const type = err.cause.type as RefusalType | undefined;
    const status = type ? REFUSAL_STATUS[type] : undefined;
    if (status) return new HttpError(status, err.cause.message, type);
  }
  if (err instanceof WorkflowNotFoundError || grpcCode(err) === NOT_FOUND) {
    return new HttpError(404, `no incident "${incidentId ?? '?'}"`, 'NotFound');
  }
  const code = grpcCode(err);
  if (noConnection(err) || (code !== undefined && UNAVAILABLE_CODES.has(code))) {
    return new HttpError(503, 'Temporal is unavailable; try again shortly', 'TemporalUnavailable');
  }
  // Temporal is up but the call outlived the API's deadline: nobody ran the incident's code.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || code === DEADLINE_EXCEEDED) {
    return new HttpError(504, NO_ANSWER, 'Timeout');
  }
  return err;
}
