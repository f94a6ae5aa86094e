/**
 * Keys remembered in the order they were last seen, the oldest forgotten past a limit: the
 * alert firings an incident has taken in, so that Alertmanager's re-sends change nothing.
 *
 * A Set keeps that order, but asking a fresh iterator for its first entry walks past every
 * entry deleted before it, so forgetting the oldest of ten thousand keys, once per alert of a
 * storm, costs more than the rest of the signal. One iterator kept across calls passes each
 * deleted entry once. It always stands before every key still held: keys seen again are
 * deleted and added at the end, and the iterator has only passed keys it handed out to be
 * forgotten.
 */
export class RecentKeys {
  private readonly keys: Set<string>;
  private readonly oldest: Iterator<string>;

  constructor(initial: Iterable<string> = []) {
    this.keys = new Set(initial);
    this.oldest = this.keys.values();
  }

  get size(): number {
    return this.keys.size;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Remembers the key where it stands; one held already keeps its place. */
  add(key: string): void {
    this.keys.add(key);
  }

  /** Remembers the key as the newest. */
  touch(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
  }

  /**
   * Forgets the oldest key when more than `limit` are held: one, as each new key adds one
   * (initial keys taken in at once are forgotten as later ones arrive).
   */
  forgetOldestPast(limit: number): void {
    if (this.keys.size <= limit) return;
    // Never done while keys are held: every key held stands after the iterator.
    const next = this.oldest.next();
    if (!next.done) this.keys.delete(next.value);
  }

  /** Every key, oldest first. */
  values(): string[] {
    return [...this.keys];
  }
}
