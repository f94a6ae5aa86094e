import {
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { RefusalType } from '../workflows/incident/messages';

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
  [RefusalType.notMember]: 404,
};

const CANCELLED = 1;
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
// gRPC status codes that mean "Temporal is not there right now", not "you asked wrongly"
// (save RESOURCE_EXHAUSTED for a request too large, which tooLarge tells apart first).
const UNAVAILABLE_CODES = new Set([RESOURCE_EXHAUSTED, 14 /* UNAVAILABLE */]);
const DEADLINE_EXCEEDED = 4;
const NOT_FOUND = 5;
const NO_ANSWER =
  'the incident did not answer in time (is a Baton worker running?); a step may still be applied: retry with the same Idempotency-Key';

function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  if (err instanceof ServiceError && isGrpcServiceError(err.cause)) return err.cause.code;
  return undefined;
}

/**
 * Whether Temporal answered that the API's namespace does not exist. The SDK names it
 * (NamespaceNotFoundError); a raw gRPC NOT_FOUND names the namespace in its message
 * ("Namespace baton is not found."), where a missing workflow says "workflow not found".
 * It is a deployment problem that an operator fixes, not a wrong request: Alertmanager must
 * keep the notification and retry, so it answers 503, never the 404 of an unknown incident.
 */
function namespaceMissing(err: unknown): boolean {
  if (err instanceof NamespaceNotFoundError) return true;
  if (err instanceof ServiceError && err.cause instanceof NamespaceNotFoundError) return true;
  if (grpcCode(err) !== NOT_FOUND) return false;
  const cause = err instanceof ServiceError ? err.cause : err;
  const message = cause instanceof Error ? cause.message : String(cause);
  return /\bnamespace\b.*\bnot found\b/i.test(message);
}

/**
 * Whether Temporal refused the call for its size: a payload over its blob limit (2 MB:
 * INVALID_ARGUMENT "Blob data size exceeds limit.") or a request over its gRPC message limit
 * (4 MB: RESOURCE_EXHAUSTED "grpc: received message larger than max"). Asking again sends
 * the same bytes, so this is the caller's request, never "Temporal is unavailable".
 */
function tooLarge(err: unknown): boolean {
  const code = grpcCode(err);
  if (code !== INVALID_ARGUMENT && code !== RESOURCE_EXHAUSTED) return false;
  const cause = err instanceof ServiceError ? err.cause : err;
  const message = cause instanceof Error ? cause.message : String(cause);
  return /message larger than max|blob data size exceeds limit|exceeds size limit/i.test(message);
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
    // Another team's incident is answered as if it did not exist: its existence is not told.
    if (type === RefusalType.notMember)
      return new HttpError(404, `no incident "${incidentId ?? '?'}"`, 'NotFound');
    if (status) return new HttpError(status, err.cause.message, type);
  }
  if (namespaceMissing(err)) {
    return new HttpError(
      503,
      "Temporal does not know Baton's namespace (check temporal.namespace); try again once it exists",
      'TemporalUnavailable',
    );
  }
  if (err instanceof WorkflowNotFoundError || grpcCode(err) === NOT_FOUND) {
    return new HttpError(404, `no incident "${incidentId ?? '?'}"`, 'NotFound');
  }
  if (tooLarge(err)) {
    return new HttpError(
      413,
      'the request is too large for Temporal to carry; sending it again will not help',
      'PayloadTooLarge',
    );
  }
  const code = grpcCode(err);
  if (noConnection(err) || (code !== undefined && UNAVAILABLE_CODES.has(code))) {
    return new HttpError(503, 'Temporal is unavailable; try again shortly', 'TemporalUnavailable');
  }
  // Temporal is up but the call outlived the API's deadline: nobody ran the incident's code.
  // (grpc-js sometimes reports a call that hit its deadline as CANCELLED, "Call cancelled".)
  if (
    err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    code === DEADLINE_EXCEEDED ||
    code === CANCELLED
  ) {
    return new HttpError(504, NO_ANSWER, 'Timeout');
  }
  return err;
}
