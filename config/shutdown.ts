import { z } from 'zod';
import { parseDuration } from './duration';

// A container orchestrator kills a process that does not stop in time (Docker after 10 s
// unless told otherwise, Kubernetes after 30 s): these must stay below what it allows.
const MAX_GRACE_MS = 10 * 60_000;

const graceTime = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || ms > MAX_GRACE_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a grace time; write a duration up to 10m, like 20s or 1m`,
    });
    return z.NEVER;
  }
  return ms;
});

/** The API waits this long for requests under way: a step may wait 15 s for its workflow. */
export const DEFAULT_API_GRACE_MS = 20_000;
/** The worker lets running activities finish this long: a notification's retries take up to 2 min, most far less. */
export const DEFAULT_WORKER_GRACE_MS = 30_000;

/**
 * `shutdown`: how long SIGTERM waits for work under way. The API stops accepting
 * connections at once and finishes the requests it has; the worker stops polling at once and
 * lets its running tasks finish (an activity still running afterwards is cancelled and
 * retried by another worker; the notify activity keeps the answers it already has).
 */
export const shutdownSchema = z
  .strictObject({
    api: z
      .strictObject({ graceTime: graceTime.default(DEFAULT_API_GRACE_MS) })
      .default({ graceTime: DEFAULT_API_GRACE_MS }),
    worker: z
      .strictObject({ graceTime: graceTime.default(DEFAULT_WORKER_GRACE_MS) })
      .default({ graceTime: DEFAULT_WORKER_GRACE_MS }),
  })
  .default({ api: { graceTime: DEFAULT_API_GRACE_MS }, worker: { graceTime: DEFAULT_WORKER_GRACE_MS } });

export type ShutdownConfig = z.output<typeof shutdownSchema>;
