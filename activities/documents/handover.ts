/**
 * One document per escalation (handover-1.md, handover-2.md after a reopening…): the
 * handover package Level 3 was sent, who accepted it and when, and the charts collected for
 * the escalation as images beside it. The package is the record as it stood at the
 * escalation; the acceptance and the charts are added as they come. Rewritten while its
 * handover is the current one; an earlier escalation's file is never touched again.
 */
import { buildHandoverPackage } from '../../workflows/incident/handover';
import type { IncidentState } from '../../workflows/incident/state';
import { mdInline } from '../markdown';
import { responseStart, type IncidentDocument } from './common';

/** Which escalation the current handover is: one more than the reopenings that had one. */
export function escalationNumber(state: Pick<IncidentState, 'reopenings'>): number {
  return 1 + (state.reopenings ?? []).filter((r) => r.handover !== undefined).length;
}

/** handover-N.md's name: the listing and the API know it by this pattern. */
export const HANDOVER_NAME = /^handover-([1-9]\d{0,5})\.md$/;

/**
 * A chart's SVG relative to the incident's folder (`diagnostics/<collection>/<file>.svg`),
 * from the path the record keeps (absolute, as the diagnostics activity answered it);
 * undefined for anything else, so no other link is ever written.
 */
export function chartLink(chart: string): string | undefined {
  const match =
    /(?:^|[\\/])diagnostics[\\/]([A-Za-z0-9_-][A-Za-z0-9._-]*)[\\/]([A-Za-z0-9_-][A-Za-z0-9._-]*\.svg)$/.exec(
      chart,
    );
  return match ? `diagnostics/${match[1]}/${match[2]}` : undefined;
}

/** Every string in a value escaped as one line of Markdown, keys too (alert labels are keys). */
function escapedDeep<T>(value: T): T {
  if (typeof value === 'string') return mdInline(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => escapedDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [mdInline(k), escapedDeep(v)]),
    ) as T;
  }
  return value;
}

/** The package's consecutive plain lines are lines (hard breaks), not one paragraph. */
function withHardBreaks(lines: string[]): string[] {
  const plain = (line: string | undefined): boolean =>
    line !== undefined && line.trim() !== '' && !line.startsWith('#') && !line.startsWith('- ');
  return lines.map((line, i) => (plain(line) && plain(lines[i + 1]) ? `${line}\\` : line));
}

/**
 * The record as it stood when Level 3 was sent the package: whatever came after (Level 3's
 * own work, the resolution) belongs to the other documents, so the package reads the same
 * however late the file is written.
 */
function asEscalated(state: IncidentState, at: string): IncidentState {
  const before = (t: string): boolean => t <= at;
  return {
    ...state,
    assessments: state.assessments.filter((a) => before(a.at)),
    actions: state.actions.filter((a) => before(a.at)),
    notes: state.notes.filter((n) => before(n.at)),
    timeline: state.timeline.filter((e) => before(e.at)),
    ...(state.diagnostics ? { diagnostics: state.diagnostics.filter((d) => before(d.collectedAt)) } : {}),
  };
}

export function renderHandover(state: IncidentState): IncidentDocument | undefined {
  const handover = state.handover;
  if (!handover) return undefined;
  const n = escalationNumber(state);
  const md = mdInline;
  // The package as Level 3 got it, built from a record whose every word is escaped: its
  // headings and list items are Baton's, nothing typed or alerted can add one.
  const lines = [
    ...withHardBreaks(
      buildHandoverPackage(escapedDeep(asEscalated(state, handover.requestedAt))).split('\n'),
    ),
    '',
    `## Escalation ${n}: acceptance`,
    '',
  ];
  lines.push(
    handover.acceptedBy
      ? `Accepted by ${md(handover.acceptedBy)} at ${md(handover.acceptedAt ?? '?')}${handover.notes ? `: ${md(handover.notes)}` : ''}`
      : `Not accepted yet (escalated by ${md(handover.requestedBy)} at ${md(handover.requestedAt)}; handover meeting ${md(handover.meetingAt)})`,
  );
  // The charts of this response: collected when it opened and at this escalation.
  const start = responseStart(state);
  const charts = (state.diagnostics ?? [])
    .filter((d) => d.collectedAt >= start)
    .flatMap((d) =>
      d.charts.map((c) => ({
        link: chartLink(c.chart),
        alt: `${c.alertname ?? 'Chart'} (${d.occasion}, ${d.collectedAt})`,
        text: c.text,
      })),
    );
  if (charts.length > 0) {
    lines.push('', '## Charts');
    for (const c of charts) {
      lines.push(
        '',
        c.link ? `![${md(c.alt)}](${c.link})` : `${md(c.alt)}: chart not in the incident folder`,
        '',
        md(c.text),
      );
    }
  }
  return { name: `handover-${n}.md`, content: `${lines.join('\n')}\n` };
}
