/**
 * Durations in the configuration file are written the way people say them
 * ("90s", "5m", "1h30m", "2d"); the workflow only ever sees milliseconds.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Parses "1h30m" into milliseconds; returns undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  // Units must come largest first, each once ("1h30m", not "30m1h" or "1d1d").
  let previousUnit = Infinity;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    const unit = UNIT_MS[match[2] as string] as number;
    if (unit >= previousUnit) return undefined;
    previousUnit = unit;
    total += Number(match[1]) * unit;
    consumed = PART.lastIndex;
  }
  if (consumed !== trimmed.length) return undefined;
  return Math.round(total);
}

/** Renders milliseconds back into the configuration's notation, for messages people read. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', UNIT_MS.d],
    ['h', UNIT_MS.h],
    ['m', UNIT_MS.m],
    ['s', UNIT_MS.s],
  ] as const) {
    const count = Math.floor(rest / (size as number));
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * (size as number);
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}
