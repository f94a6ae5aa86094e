/**
 * What a failed send means: worth trying again (the peer is busy, down or slow) or final (the
 * peer understood and said no). Each channel classifies its own errors (errors.ts in each channel folder);
 * the retry loop asks. Pure: unit tests read the tables.
 */
export type Verdict =
  | {
      retry: true;
      reason: string;
      /** The wait the peer asked for (a Retry-After). */ retryAfterMs?: number;
    }
  | { retry: false; reason: string };

/** A send that had no answer within its deadline. Whether it arrived is unknown. */
export class SendTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs / 1000}s without an answer`);
    this.name = 'SendTimeout';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: { error?: string } }).data;
    return data?.error && !err.message.includes(data.error) ? `${err.message} (${data.error})` : err.message;
  }
  return String(err);
}

/** A field of an error of unknown shape, or undefined. */
export const field = (err: unknown, name: string): unknown =>
  typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
