/**
 * An alert group as Temporal can carry it. Temporal refuses a payload over 2 MB and the
 * workflow takes at most 1,000 alerts per signal, while Alertmanager sends a group whole:
 * thousands of alerts, megabytes of annotations. The API cuts it into chunks, each sent as
 * its own signal to the same incident.
 */
import type { Alert } from '../workflows/model';

/** Alerts per signal: half of what the workflow's alertsSchema accepts. */
export const MAX_CHUNK_ALERTS = 500;
/**
 * Serialized alerts per signal. The signal-with-start carries its chunk twice (the start
 * input and the signal); a quarter of a megabyte keeps each payload under the SDK's 512 KiB
 * warning and the whole call far under Temporal's 2 MB.
 */
export const MAX_CHUNK_BYTES = 256 * 1024;
/**
 * One alert past this would make a chunk of its own too large; its longest annotations are
 * cut (the labels, which identify it, never are).
 */
export const MAX_ALERT_BYTES = 256 * 1024;

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** The first `bytes` bytes of the text, never splitting a character. */
function prefixOf(text: string, bytes: number): string {
  const decoded = new TextDecoder().decode(Buffer.from(text, 'utf8').subarray(0, Math.max(0, bytes)));
  return decoded.endsWith('\uFFFD') ? decoded.slice(0, -1) : decoded;
}

/**
 * The alert, or a copy whose longest annotation values are cut so that it fits one signal.
 * Annotation maps are rebuilt with Object.fromEntries: a name such as `__proto__` stays data.
 */
export function fitAlert(alert: Alert): { alert: Alert; trimmed: string[] } {
  let size = byteSize(alert);
  if (size <= MAX_ALERT_BYTES) return { alert, trimmed: [] };
  const entries = Object.entries(alert.annotations);
  const trimmed: string[] = [];
  const longestFirst = entries
    .map(([name, value], index) => ({ name, index, bytes: Buffer.byteLength(value, 'utf8') }))
    .sort((a, b) => b.bytes - a.bytes);
  for (const { name, index, bytes } of longestFirst) {
    if (size <= MAX_ALERT_BYTES) break;
    const entry = entries[index];
    if (!entry) continue;
    const marker = ` … [cut by Baton: ${bytes} bytes in all]`;
    // JSON escaping can make a character cost more than its UTF-8 bytes; leave room for it.
    const keep = Math.max(0, bytes - (size - MAX_ALERT_BYTES) - marker.length - 1024);
    entries[index] = [entry[0], `${prefixOf(entry[1], keep)}${marker}`];
    trimmed.push(name);
    size = byteSize({ ...alert, annotations: Object.fromEntries(entries) });
  }
  return { alert: { ...alert, annotations: Object.fromEntries(entries) }, trimmed };
}

/** Consecutive chunks of at most MAX_CHUNK_ALERTS alerts and MAX_CHUNK_BYTES serialized each. */
export function chunkAlerts(alerts: Alert[]): Alert[][] {
  const chunks: Alert[][] = [];
  let current: Alert[] = [];
  let bytes = 0;
  for (const alert of alerts) {
    const size = byteSize(alert) + 1;
    if (current.length > 0 && (current.length >= MAX_CHUNK_ALERTS || bytes + size > MAX_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(alert);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
