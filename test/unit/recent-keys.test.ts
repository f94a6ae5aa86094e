import { describe, expect, it } from 'vitest';
import { RecentKeys } from '../../workflows/incident/recent-keys';

/** What incidents did before: a Set, and a fresh iterator for its oldest key. */
class SetOfKeys {
  readonly keys: Set<string>;
  constructor(initial: string[]) {
    this.keys = new Set(initial);
  }
  touch(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
  }
  forgetOldestPast(limit: number): void {
    if (this.keys.size <= limit) return;
    const oldest = this.keys.values().next().value;
    if (oldest !== undefined) this.keys.delete(oldest);
  }
}

/** A deterministic sequence of numbers in [0, 1). */
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('remembered alert keys', () => {
  it('keeps and forgets exactly the keys a Set did, in the same order', () => {
    for (const seed of [1, 7, 42]) {
      const next = numbers(seed);
      const initial = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const recent = new RecentKeys(initial);
      const reference = new SetOfKeys(initial);
      for (let step = 0; step < 20_000; step += 1) {
        const key = `k${Math.floor(next() * 400)}`;
        const limit = next() < 0.01 ? 5 : 100;
        if (next() < 0.3) {
          recent.add(key);
          reference.keys.add(key);
        } else {
          recent.touch(key);
          reference.touch(key);
        }
        recent.forgetOldestPast(limit);
        reference.forgetOldestPast(limit);
        expect(recent.has(key)).toBe(reference.keys.has(key));
        expect(recent.size).toBe(reference.keys.size);
      }
      expect(recent.values()).toEqual([...reference.keys]);
    }
  });

  it('forgets one key per call, the oldest, also past initial keys over the limit', () => {
    const recent = new RecentKeys(['a', 'b', 'c', 'd']);
    recent.forgetOldestPast(2);
    expect(recent.values()).toEqual(['b', 'c', 'd']);
    recent.touch('b');
    recent.forgetOldestPast(2);
    expect(recent.values()).toEqual(['d', 'b']);
  });

  it('finds the oldest after forgetting every key it held', () => {
    const recent = new RecentKeys(['a']);
    recent.forgetOldestPast(0);
    expect(recent.size).toBe(0);
    recent.add('x');
    recent.add('y');
    recent.forgetOldestPast(1);
    expect(recent.values()).toEqual(['y']);
  });
});
