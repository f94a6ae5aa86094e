/**
 * The last line of defence for the record's size: after a step that may not be refused,
 * the longest texts in the record are shortened until it is under its hard limit. Whatever
 * people send, the record (and so every payload built from it) stays within Temporal's.
 */
import { RECORD_HARD_BYTES, jsonBytes, truncateBytes, utf8Bytes } from './limits';
import type { IncidentState } from './state';

/** No text is shortened below this: ids, names and times are far shorter. */
const FLOOR_BYTES = 400;

interface Leaf {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  bytes: number;
}

/** Shortens the record's longest texts until it fits; returns true when it changed anything. */
export function shrinkToFit(state: IncidentState, limit = RECORD_HARD_BYTES): boolean {
  let size = jsonBytes(state);
  if (size <= limit) return false;
  for (;;) {
    const leaves = longTexts(state).sort((a, b) => b.bytes - a.bytes);
    if (leaves.length === 0) break;
    for (const leaf of leaves) {
      const text = (leaf.holder as Record<string | number, unknown>)[leaf.key];
      if (typeof text !== 'string') continue;
      const shorter = truncateBytes(text, Math.max(FLOOR_BYTES, Math.floor(leaf.bytes / 2)));
      (leaf.holder as Record<string | number, unknown>)[leaf.key] = shorter;
      size -= leaf.bytes - utf8Bytes(shorter);
      if (size <= limit) break;
    }
    size = jsonBytes(state);
    if (size <= limit) return true;
  }
  // Only short texts are left and it still does not fit: drop the oldest free-text entries.
  while (jsonBytes(state) > limit) {
    if (state.communications.length > 1) {
      state.communications.shift();
      state.communicationsOmitted = (state.communicationsOmitted ?? 0) + 1;
    } else if (state.notes.length > 0) state.notes.shift();
    else if (state.alerts.length > 20) {
      state.alerts.pop();
      state.alertsOmitted = (state.alertsOmitted ?? 0) + 1;
    } else if ((state.reopenings?.length ?? 0) > 1) state.reopenings?.shift();
    else if (state.timeline.length > 20) state.timeline.shift();
    else break;
  }
  return true;
}

/** Every string in the record longer than the floor, with where it sits. */
function longTexts(value: unknown, found: Leaf[] = []): Leaf[] {
  if (Array.isArray(value)) {
    value.forEach((item, index) => visit(value, index, item, found));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value))
      visit(value as Record<string, unknown>, key, item, found);
  }
  return found;
}

function visit(holder: Leaf['holder'], key: string | number, item: unknown, found: Leaf[]): void {
  if (typeof item === 'string') {
    // A shortened text ends in "…" at the floor; it is not shortened again.
    const bytes = utf8Bytes(item);
    if (bytes > FLOOR_BYTES + 3) found.push({ holder, key, bytes });
  } else if (item && typeof item === 'object') {
    longTexts(item, found);
  }
}
