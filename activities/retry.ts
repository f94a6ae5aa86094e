/**
 * Bounded retries for one target (one Slack channel or user, one email address): a few
 * attempts with exponential backoff on transient failures, none on permanent ones, a cap on
 * any single wait and an overall budget. `backoffDelay` and `nextStep` are pure; `deliver`
 * runs the attempts.
 */
import { describeError, SendTimeout, type Verdict } from './delivery-errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The wait after the first failed attempt; each later wait is `backoffFactor` times longer. */
  initialDelayMs: number;
  backoffFactor: number;
  /** No single wait is longer: a Retry-After above it ends the retries. */
  maxDelayMs: number;
  /** From the first attempt to the final answer for one target. */
  budgetMs: number;
  /** Each backoff wait is shortened by up to this fraction at random, so peers are not hit in step. */
  jitter: number;
}

/**
 * Five attempts, waits of about 1, 2, 4 and 8 s, two minutes at most per target. The notify
 * activity's start-to-close timeout must leave room for the budget plus one send deadline.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  backoffFactor: 2,
  maxDelayMs: 30_000,
  budgetMs: 120_000,
  jitter: 0.2,
};

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  const bad = (Object.keys(policy) as (keyof RetryPolicy)[]).filter(
    (key) => typeof policy[key] !== 'number' || !Number.isFinite(policy[key]) || policy[key] < 0,
  );
  if (bad.length > 0 || policy.maxAttempts < 1 || policy.jitter > 1) {
    throw new Error(`invalid retry policy: ${JSON.stringify(policy)}`);
  }
  return policy;
}

/** Seconds for people: 0.05s, 1.5s, 120s. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 1000 ? 2 : 1))}s`;
}

/** The wait after `attempts` failed attempts (1 → about initialDelayMs), before jitter capped. */
export function backoffDelay(
  attempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffFactor ** (attempts - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

export type NextStep = { retry: true; delayMs: number } | { retry: false; why: string };

/** After a failed attempt: wait and try again, or stop and say why. */
export function nextStep(input: {
  attempts: number;
  verdict: Verdict;
  elapsedMs: number;
  policy: RetryPolicy;
  random?: () => number;
}): NextStep {
  const { attempts, verdict, elapsedMs, policy } = input;
  if (!verdict.retry) return { retry: false, why: 'permanent, not retried' };
  const tried = `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${seconds(elapsedMs)}`;
  if (attempts >= policy.maxAttempts) return { retry: false, why: `${verdict.reason}; ${tried}` };
  if (verdict.retryAfterMs !== undefined) {
    const wait = seconds(verdict.retryAfterMs);
    if (verdict.retryAfterMs > policy.maxDelayMs) {
      return {
        retry: false,
        why: `asked to retry after ${wait}, longer than the ${seconds(policy.maxDelayMs)} Baton waits at once; ${tried}`,
      };
    }
    if (elapsedMs + verdict.retryAfterMs >= policy.budgetMs) {
      return {
        retry: false,
        why: `asked to retry after ${wait}, past the ${seconds(policy.budgetMs)} budget for one target; ${tried}`,
      };
    }
    return { retry: true, delayMs: verdict.retryAfterMs };
  }
  const delayMs = backoffDelay(attempts, policy, input.random);
  if (elapsedMs + delayMs >= policy.budgetMs) {
    return {
      retry: false,
      why: `${verdict.reason}; the next attempt would pass the ${seconds(policy.budgetMs)} budget for one target; ${tried}`,
    };
  }
  return { retry: true, delayMs };
}

export type Outcome =
  | { delivered: true; attempts: number }
  | { delivered: false; attempts: number; error: string }
  /** Cancelled before a final answer: nothing is known for good, so nothing is recorded. */
  | { delivered: false; attempts: number; interrupted: true; error: string };

export interface DeliverOptions {
  /** One attempt. The signal aborts it when its deadline passes (nodemailer honours it). */
  send: (signal: AbortSignal) => Promise<void>;
  classify: (err: unknown) => Verdict;
  policy: RetryPolicy;
  /** One attempt's deadline; an attempt past it is transient (SendTimeout). */
  sendTimeoutMs: number;
  /** The activity's cancellation: no new attempt and no further wait once it fires. */
  cancelled?: AbortSignal;
  onRetry?: (retry: { attempt: number; error: string; reason: string; delayMs: number }) => void;
  /** A send that settled after Baton stopped waiting for it: it may have arrived after all. */
  onLate?: (outcome: { delivered: true } | { delivered: false; error: string }) => void;
  random?: () => number;
}

type Settled = { ok: true } | { ok: false; error: unknown };

/** `promise` (which never rejects) if it settles within `ms`, else undefined. */
async function within(promise: Promise<Settled>, ms: number): Promise<Settled | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`, or early (false) when `signal` fires. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Callbacks report; they never change an outcome, so what they throw is dropped. */
function tell<T>(callback: ((value: T) => void) | undefined, value: T): void {
  try {
    callback?.(value);
  } catch {
    // Reporting only.
  }
}

const isAbort = (err: unknown): boolean =>
  err instanceof Error &&
  (err.name === 'AbortError' || (err as { code?: unknown }).code === 'EABORT' || err instanceof SendTimeout);

/**
 * One attempt with a deadline. A send past its deadline is aborted where the client allows
 * (nodemailer) and otherwise waited for up to `graceMs`: one target never has two sends in
 * flight, and an answer that comes late still counts as delivered rather than being sent again.
 */
async function attempt(
  send: DeliverOptions['send'],
  timeoutMs: number,
  graceMs: number,
  onLate: DeliverOptions['onLate'],
): Promise<Settled> {
  const deadline = new AbortController();
  const sending: Promise<Settled> = Promise.resolve()
    .then(() => send(deadline.signal))
    .then(
      () => ({ ok: true }),
      (error: unknown) => ({ ok: false, error }),
    );
  const answer = await within(sending, timeoutMs);
  if (answer) return answer;
  const timedOut = new SendTimeout(timeoutMs);
  deadline.abort(timedOut);
  const late = await within(sending, graceMs);
  if (!late) {
    void sending.then((s) =>
      tell(onLate, s.ok ? { delivered: true } : { delivered: false, error: describeError(s.error) }),
    );
    return { ok: false, error: timedOut };
  }
  if (late.ok) {
    tell(onLate, { delivered: true });
    return late;
  }
  // The abort Baton caused is the deadline's doing; any other error is the peer's answer.
  return { ok: false, error: isAbort(late.error) ? timedOut : late.error };
}

/** Tries one target until it is delivered, fails for good, runs out of attempts or time, or is cancelled. */
export async function deliver(options: DeliverOptions): Promise<Outcome> {
  const { policy, cancelled } = options;
  const started = Date.now();
  for (let attempts = 1; ; attempts += 1) {
    if (cancelled?.aborted) {
      return { delivered: false, attempts: attempts - 1, interrupted: true, error: 'cancelled' };
    }
    const remaining = Math.max(0, policy.budgetMs - (Date.now() - started));
    const timeoutMs = Math.max(1, Math.min(options.sendTimeoutMs, remaining));
    const settled = await attempt(options.send, timeoutMs, remaining - timeoutMs, options.onLate);
    if (settled.ok) return { delivered: true, attempts };

    const error = describeError(settled.error);
    const verdict: Verdict =
      settled.error instanceof SendTimeout
        ? { retry: true, reason: 'no answer within the send deadline' }
        : options.classify(settled.error);
    const step = nextStep({
      attempts,
      verdict,
      elapsedMs: Date.now() - started,
      policy,
      ...(options.random ? { random: options.random } : {}),
    });
    if (!step.retry) return { delivered: false, attempts, error: `${error} (${step.why})` };
    tell(options.onRetry, { attempt: attempts, error, reason: verdict.reason, delayMs: step.delayMs });
    if (!(await pause(step.delayMs, cancelled))) {
      return { delivered: false, attempts, interrupted: true, error: `${error} (cancelled before retrying)` };
    }
  }
}
