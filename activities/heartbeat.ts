import { CancelledFailure, Context } from '@temporalio/activity';

/** The Temporal activity this code runs in, or undefined when it is called directly (tests, scripts). */
export function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export interface Heartbeats {
  /** Heartbeats now (the SDK throttles what reaches the server). */
  beat(): void;
  stop(): void;
}

/**
 * Heartbeats every `intervalMs` with `details()` while work goes on, so the server notices a
 * dead worker within the activity's heartbeat timeout; also how cancellation reaches the
 * activity. Outside an activity it does nothing. A heartbeat that throws is reported, never
 * rethrown: it must not turn a delivery into a failed activity.
 */
export function startHeartbeats(
  context: Context | undefined,
  intervalMs: number,
  details: () => unknown,
  onError: (err: unknown) => void,
): Heartbeats {
  if (!context) return { beat: () => undefined, stop: () => undefined };
  let failed = false;
  const beat = (): void => {
    try {
      context.heartbeat(details());
    } catch (err) {
      if (!failed) onError(err);
      failed = true;
    }
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  return { beat, stop: () => clearInterval(timer) };
}

/** The error that tells the worker the activity stopped because it was cancelled, with the SDK's reason. */
export function cancellationOf(context: Context | undefined): Error {
  const reason: unknown = context?.cancellationSignal.reason;
  return reason instanceof Error
    ? reason
    : new CancelledFailure(typeof reason === 'string' ? reason : 'CANCELLED');
}
