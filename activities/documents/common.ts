/**
 * What the incident's documents share: when the current response started, how long a step
 * took, and who took part. Pure functions of the record.
 */
import type { IncidentState } from '../../workflows/incident/state';
import { mdInline } from '../markdown';

/** One document of the incident: its name in the incident's folder and its Markdown. */
export interface IncidentDocument {
  name: string;
  content: string;
}

/** The current response starts at the last reopening, or at the opening. */
export function responseStart(state: Pick<IncidentState, 'openedAt' | 'reopenings'>): string {
  return state.reopenings?.at(-1)?.at ?? state.openedAt;
}

/** `1h 5m`, `12m 30s`, `2d 3h`; undefined when either time does not parse or `to` is earlier. */
export function elapsed(from: string, to: string | undefined): string | undefined {
  if (to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const seconds = Math.round(ms / 1000);
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}

/** A time with its delay from the response's start, escaped: `2026-…Z (after 4m 10s)`. */
export function timeAfter(start: string, at: string | undefined, absent: string): string {
  if (at === undefined) return absent;
  const took = elapsed(start, at);
  return took ? `${took} (${mdInline(at)})` : mdInline(at);
}

/**
 * Everyone who took part, in order of first appearance, each with what they did:
 * `alice: acknowledged, assessed, took actions`. Names and roles escaped.
 */
export function peopleInvolved(state: IncidentState): string[] {
  const roles = new Map<string, string[]>();
  const add = (who: string | undefined, role: string): void => {
    if (!who) return;
    const list = roles.get(who) ?? [];
    if (!list.includes(role)) list.push(role);
    roles.set(who, list);
  };
  add(state.acknowledgedBy, 'acknowledged');
  for (const a of state.assessments) add(a.by, 'assessed');
  for (const a of state.actions) add(a.by, 'took actions');
  add(state.handover?.requestedBy, 'escalated');
  add(state.handover?.acceptedBy, 'accepted the handover');
  add(state.holder, 'holds the incident');
  for (const c of state.communications) add(c.by, 'communicated');
  for (const c of state.communications) add(c.approvedBy, 'approved communications');
  for (const m of state.customerMessages ?? []) add(m.draftedBy, 'drafted customer messages');
  add(state.resolution && !state.resolution.automatic ? state.resolution.by : undefined, 'resolved');
  add(state.report?.by, 'wrote the final report');
  return [...roles].map(([who, did]) => `${mdInline(who)}: ${did.join(', ')}`);
}
