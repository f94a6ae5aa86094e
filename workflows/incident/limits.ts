/**
 * How big an incident may grow inside Temporal. Temporal refuses a payload over 2 MB and
 * terminates the workflow that sends one, so every payload the workflow sends or returns
 * (update results, activity inputs, the continue-as-new input, its result) is kept under
 * PAYLOAD_BYTES whatever people and alerts send. (The policy travels too: its size is the
 * configuration's, a few kilobytes for a team.) Sizes are counted in UTF-8 bytes, as
 * Temporal counts them, not in characters.
 */

/** The bound every payload of the workflow stays under. */
export const PAYLOAD_BYTES = 512_000;
/** The record (the state) past which free text is refused. */
export const RECORD_BYTES = 220_000;
/**
 * The record's hard limit: past it the longest texts are shortened (see shrink.ts). It
 * leaves room under PAYLOAD_BYTES for what continue-as-new carries beside the record.
 */
export const RECORD_HARD_BYTES = 280_000;
/**
 * What continue-as-new carries besides the record, each list its newest entries within its
 * share: the record, these and the input stay under PAYLOAD_BYTES together.
 */
export const CARRIED_BYTES = { requests: 40_000, alertKeys: 120_000, events: 40_000 } as const;
/** The newest timeline events kept in the workflow; the incident store keeps them all. */
export const TIMELINE_TAIL = 100;
/** One timeline event's summary and details, each at most this long. */
export const EVENT_SUMMARY_BYTES = 600;
export const EVENT_DETAILS_BYTES = 1_000;
/** A title and a description, as the record keeps them. */
export const TITLE_BYTES = 500;
export const DESCRIPTION_BYTES = 10_000;
/** Events not yet written to the store (the store was down); the oldest are dropped beyond. */
export const UNWRITTEN_EVENTS = 1_000;
/** Events written to the store per activity call, and their size at most. */
export const EVENTS_PER_WRITE = 200;
export const EVENT_BATCH_BYTES = 150_000;
/** A group of thousands of alerts is one problem; the record keeps the first ones. */
export const MAX_ALERTS = 500;
/** One alert's labels and annotations as kept in the record. */
export const ALERT_BYTES = 4_000;
/**
 * How many distinct alert firings and clearings a run remembers for de-duplication (memory,
 * not payload: continue-as-new carries the newest that fit in CARRIED_BYTES.alertKeys).
 */
export const REMEMBERED_ALERT_KEYS = 10_000;
/** How many request ids are remembered for de-duplication. */
export const REMEMBERED_REQUESTS = 500;

/**
 * Incidents started before these limits (their history has no 'record-limits-in-bytes'
 * marker) keep the limits they started with, so that their replay takes the same decisions:
 * 500,000 characters of record, no shortening, and the old de-duplication memory.
 */
export const LEGACY = {
  recordChars: 500_000,
  rememberedRequests: 1_000,
  rememberedAlertKeys: 10_000,
} as const;
/** Decided customer message drafts kept in the record (pending ones always stay). */
export const KEPT_CUSTOMER_MESSAGES = 20;
/** Reopenings kept in the record; older ones are counted. */
export const KEPT_REOPENINGS = 20;
/** The longest text a notification carries (the handover package is the long one). */
export const NOTIFICATION_TEXT_BYTES = 64_000;

/** UTF-8 length of a string, without an encoder (the workflow sandbox has none to spare). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one four-byte character.
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** The newest items of a list (oldest first) whose JSON fits in `max` bytes. */
export function newestWithin<T>(items: readonly T[], max: number): T[] {
  let total = 2;
  let start = items.length;
  while (start > 0) {
    const size = jsonBytes(items[start - 1]) + 1;
    if (total + size > max) break;
    total += size;
    start -= 1;
  }
  return items.slice(start);
}

/** The JSON of a value, in bytes. */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value) ?? '');
}

/** Cuts text to at most `max` UTF-8 bytes, marking the cut. */
export function truncateBytes(text: string, max: number): string {
  if (utf8Bytes(text) <= max) return text;
  let end = Math.min(text.length, max);
  while (end > 0 && utf8Bytes(text.slice(0, end)) > max - 3) end = Math.floor(end * 0.9);
  // Never split a surrogate pair.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
