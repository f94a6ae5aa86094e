/**
 * An alert group as Temporal can carry it. Temporal refuses a payload over 2 MB and the
 * workflow takes at most 1,000 alerts per signal, while Alertmanager sends a group whole:
 * thousands of alerts, megabytes of annotations, and labels of any length. The API bounds
 * the labels (fitGroupLabels), then cuts the group into chunks, each sent as its own signal
 * to the same incident.
 */
import type { Alert } from '../workflows/incident/model';

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
 * cut (its labels, bounded before by fitGroupLabels, are not cut here).
 */
export const MAX_ALERT_BYTES = 256 * 1024;

/**
 * A label value past this is cut. The record keeps 200 bytes of each label value of an alert
 * over ALERT_BYTES (workflows/incident/limits.ts), so a longer value never reaches it whole anyway.
 */
export const MAX_LABEL_VALUE_BYTES = 4 * 1024;
/**
 * One alert's labels, serialized; past this its largest labels are left out. A chunk's
 * alerts, the incident's routing labels (an alert's and the common labels, at most twice
 * this) and the group labels then stay under the workflow's PAYLOAD_BYTES (512,000) in the
 * start input: 256 KiB + 128 KiB + 64 KiB.
 */
export const MAX_ALERT_LABEL_BYTES = 64 * 1024;
/** The group's own label sets (groupLabels, commonLabels), each, serialized. */
export const MAX_GROUP_LABEL_BYTES = 64 * 1024;
/** The annotation that tells, on the alert itself, which of its labels Baton cut. */
export const LABELS_CUT_ANNOTATION = 'baton_labels_truncated';
/** The longest that annotation gets: the record keeps 1,000 bytes of an annotation at most. */
const CUT_NOTE_BYTES = 900;
/** Label names are reported up to this many characters. */
const NAME_SHOWN = 100;

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

/** A label Baton shortened or left out, and how large it was. */
export interface LabelCut {
  name: string;
  /** Its value's UTF-8 bytes, as sent. */
  bytes: number;
  /** The bytes of the value that were cut; the whole label when it was left out. */
  cut: number;
  dropped: boolean;
}

/** "pod_spec (995903 of 1000000 bytes cut)", or "(left out: 1000000 bytes)". */
export function describeCut(cut: LabelCut): string {
  const name = cut.name.length > NAME_SHOWN ? `${cut.name.slice(0, NAME_SHOWN)}…` : cut.name;
  return cut.dropped
    ? `${name} (left out: ${cut.bytes} bytes)`
    : `${name} (${cut.cut} of ${cut.bytes} bytes cut)`;
}

/**
 * The labels within `maxBytes` serialized: every value past MAX_LABEL_VALUE_BYTES cut, marked
 * "… [N bytes cut by Baton]", then, while the whole is still too large (thousands of labels,
 * names of megabytes), the largest labels left out, `alertname` never. The map is rebuilt with
 * Object.fromEntries: a name such as `__proto__` stays data.
 */
export function fitLabels(
  labels: Record<string, string>,
  maxBytes: number,
): { labels: Record<string, string>; cuts: LabelCut[] } {
  const cutByName = new Map<string, LabelCut>();
  const entries = Object.entries(labels).map(([name, value]): [string, string] => {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes <= MAX_LABEL_VALUE_BYTES) return [name, value];
    // Room for the marker, whose digits depend on the cut.
    const kept = prefixOf(value, MAX_LABEL_VALUE_BYTES - 64);
    const cut = bytes - Buffer.byteLength(kept, 'utf8');
    cutByName.set(name, { name, bytes, cut, dropped: false });
    return [name, `${kept}… [${cut} bytes cut by Baton]`];
  });
  const left = new Set<string>();
  let size = byteSize(Object.fromEntries(entries));
  if (size > maxBytes) {
    const largestFirst = entries
      .filter(([name]) => name !== 'alertname')
      // "name":"value", : its colon and its comma go with it.
      .map(([name, value]) => ({ name, value, bytes: byteSize(name) + byteSize(value) + 2 }))
      .sort((a, b) => b.bytes - a.bytes);
    for (const { name, value, bytes } of largestFirst) {
      if (size <= maxBytes) break;
      left.add(name);
      size -= bytes;
      const original = cutByName.get(name)?.bytes ?? Buffer.byteLength(value, 'utf8');
      cutByName.set(name, { name, bytes: original, cut: original, dropped: true });
    }
  }
  if (cutByName.size === 0) return { labels, cuts: [] };
  return {
    labels: Object.fromEntries(entries.filter(([name]) => !left.has(name))),
    // In the labels' own order, as the sender wrote them.
    cuts: entries.flatMap(([name]) => cutByName.get(name) ?? []),
  };
}

/** What an alert says of its own cut labels: as many as fit CUT_NOTE_BYTES, then how many more. */
function cutNote(cuts: LabelCut[]): string {
  let note = '';
  for (const [index, cut] of cuts.entries()) {
    const next = `${note ? `${note}; ` : ''}${describeCut(cut)}`;
    const rest = cuts.length - index - 1;
    const tail = rest > 0 ? `; and ${rest} more` : '';
    if (Buffer.byteLength(next + tail, 'utf8') > CUT_NOTE_BYTES && note) {
      return `${note}; and ${cuts.length - index} more`;
    }
    note = next;
  }
  return note;
}

/** The parts of an alert group that carry labels. */
export interface LabelledGroup {
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: Alert[];
}

/**
 * The group with its labels bounded (fitLabels): each alert's within MAX_ALERT_LABEL_BYTES,
 * the group and common labels each within MAX_GROUP_LABEL_BYTES. An alert whose labels were
 * cut says so in its LABELS_CUT_ANNOTATION, which the incident's record keeps with the alert;
 * `cuts` names every cut ("alerts[3].labels.pod_spec (… bytes cut)") for the log. A group
 * that fits is returned as it is.
 */
export function fitGroupLabels(group: LabelledGroup): { group: LabelledGroup; cuts: string[] } {
  const cuts: string[] = [];
  // One at a time: a spread of hundreds of thousands of cuts would overflow the stack.
  const note = (where: string, found: LabelCut[]): void => {
    for (const cut of found) cuts.push(`${where}.${describeCut(cut)}`);
  };
  const groupLabels = fitLabels(group.groupLabels, MAX_GROUP_LABEL_BYTES);
  note('groupLabels', groupLabels.cuts);
  const commonLabels = fitLabels(group.commonLabels, MAX_GROUP_LABEL_BYTES);
  note('commonLabels', commonLabels.cuts);
  const alerts = group.alerts.map((alert, index) => {
    const fitted = fitLabels(alert.labels, MAX_ALERT_LABEL_BYTES);
    if (fitted.cuts.length === 0) return alert;
    note(`alerts[${index}].labels`, fitted.cuts);
    return {
      ...alert,
      labels: fitted.labels,
      annotations: Object.fromEntries([
        ...Object.entries(alert.annotations).filter(([name]) => name !== LABELS_CUT_ANNOTATION),
        [LABELS_CUT_ANNOTATION, cutNote(fitted.cuts)],
      ]),
    };
  });
  if (cuts.length === 0) return { group, cuts };
  return {
    group: { ...group, groupLabels: groupLabels.labels, commonLabels: commonLabels.labels, alerts },
    cuts,
  };
}
