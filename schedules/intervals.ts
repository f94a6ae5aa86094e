/** Half-open spans of instants [start, end), the currency of the schedule arithmetic. */
export interface Interval {
  start: number;
  end: number;
}

/** Sorts and joins overlapping or touching spans; drops empty ones. */
export function normalize(spans: readonly Interval[]): Interval[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Interval[] = [];
  for (const span of sorted) {
    const last = out[out.length - 1];
    if (last && span.start <= last.end) last.end = Math.max(last.end, span.end);
    else out.push({ start: span.start, end: span.end });
  }
  return out;
}

/** The parts of normalized `a` that normalized `b` also covers. */
export function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Interval;
    const y = b[j] as Interval;
    const start = Math.max(x.start, y.start);
    const end = Math.min(x.end, y.end);
    if (end > start) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

/** Total length of normalized spans. */
export function totalLength(spans: readonly Interval[]): number {
  return spans.reduce((sum, s) => sum + (s.end - s.start), 0);
}

/** Whether any of `spans` covers the instant `at`. */
export function covers(spans: readonly Interval[], at: number): boolean {
  return spans.some((s) => s.start <= at && at < s.end);
}
