/**
 * Counting what strangers make Baton do, per key (an incident and sender, a remote address),
 * in fixed windows: forged mail costs the sender a little, and costs Baton and the incident's
 * record no more than a few entries a minute.
 */

export interface WindowLimit {
  /** How many events a key may have in one window. */
  limit: number;
  windowMs: number;
  /** How many keys are remembered at most; past that, the oldest window is forgotten. */
  maxKeys?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** A fixed-window counter per key, in memory, bounded. */
export class WindowLimiter {
  readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** In the order the windows started: the first entry is the oldest. */
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(options: WindowLimit) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts one event for the key; false (and not counted) when the key has had its limit this window. */
  take(key: string): boolean {
    const now = this.now();
    const current = this.windows.get(key);
    if (current && now - current.start < this.windowMs) {
      if (current.count >= this.limit) return false;
      current.count += 1;
      return true;
    }
    this.windows.delete(key);
    this.forgetOld(now);
    this.windows.set(key, { start: now, count: 1 });
    return this.limit >= 1;
  }

  /** Gives back one event the key took (it did not happen after all: the attempt is to be retried). */
  giveBack(key: string): void {
    const current = this.windows.get(key);
    if (current && current.count > 0) current.count -= 1;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.windows.size;
  }

  private forgetOld(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.start < this.windowMs && this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
