/**
 * Counting what strangers make Baton do, per key (an incident, the address that delivered its
 * mail, a remote address), in fixed windows: forged mail costs the sender a little, and costs
 * Baton and the incident's record no more than a few entries a minute.
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

  /** How long until the key may take again, when it has had its limit this window. */
  blockedForMs(key: string): number | undefined {
    const current = this.windows.get(key);
    if (!current || current.count < this.limit) return undefined;
    const left = current.start + this.windowMs - this.now();
    return left > 0 ? left : undefined;
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

/** Where refused mail came from: the incident its reply address names, and who delivered it. */
export interface RefusedMailSource {
  incident: string;
  /** The SMTP client's address, or the provider's that posted it; IPv6 by /64. */
  address: string;
}

/** One refused email a minute per incident and delivering address. */
export const REFUSED_PER_SOURCE: Omit<WindowLimit, 'now'> = { limit: 1, windowMs: 60_000 };

/**
 * Ten an hour per incident: enough to show on the timeline that someone is trying, few enough
 * that forged mail from many addresses cannot keep the workflow busy or grow its history.
 */
export const REFUSED_PER_INCIDENT: Omit<WindowLimit, 'now'> = { limit: 10, windowMs: 3_600_000 };

function sourceKey(source: RefusedMailSource): string {
  return `${source.incident}\u0000${source.address}`;
}

/**
 * Which refused emails reach an incident's record (each one is a signal to its workflow): one a
 * window per incident and delivering address, and at most `perIncident` a window for an
 * incident, whatever their addresses. Not per sender: the From of refused mail is whatever its
 * author wrote, so a key of it would give each forged address an allowance of its own.
 */
export class RefusedMailLimits {
  private readonly perSource: WindowLimiter;
  private readonly perIncident: WindowLimiter;

  constructor(
    options: {
      perSource?: Omit<WindowLimit, 'now'>;
      perIncident?: Omit<WindowLimit, 'now'>;
      now?: () => number;
    } = {},
  ) {
    const now = options.now ?? Date.now;
    this.perSource = new WindowLimiter({ ...REFUSED_PER_SOURCE, ...options.perSource, now });
    this.perIncident = new WindowLimiter({ ...REFUSED_PER_INCIDENT, ...options.perIncident, now });
  }

  /** Whether this refusal may go on the record; when it may, it is counted. */
  take(source: RefusedMailSource): boolean {
    const key = sourceKey(source);
    if (this.perSource.blockedForMs(key) !== undefined) return false;
    if (!this.perIncident.take(source.incident)) return false;
    return this.perSource.take(key);
  }

  /** Gives back a refusal that could not be recorded after all (the sender will retry). */
  giveBack(source: RefusedMailSource): void {
    this.perSource.giveBack(sourceKey(source));
    this.perIncident.giveBack(source.incident);
  }
}
