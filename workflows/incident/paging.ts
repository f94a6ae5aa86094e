/**
 * Paging Level 2: one step of the escalation policy at a time, round after round, then the
 * managers when nobody acknowledged. A step that names a schedule pages whoever the
 * schedule had on call when the step paged (resolved by an activity, see schedule-paging.ts);
 * a step that reached nobody falls through to the next one at once.
 */
import { SYSTEM, now, type ReadyIncident } from './incident-context';
import type { Notification } from './model';
import { notices } from './notices';
import { gapText, type ResolvedTargets } from './page-targets';

/** The step paging moves to. */
export interface NextStep {
  round: number;
  step: number;
  targets: string[];
}

/**
 * Where paging goes next: the following step, round after round. Undefined once the rounds
 * ran out, or every step of a round in a row reached nobody: then the managers are paged.
 */
export function advance(incident: ReadyIncident): NextStep | undefined {
  const { state, policy } = incident;
  const cursor = state.escalation;
  let next = cursor.step + 1;
  let round = cursor.round;
  if (next >= policy.escalation.steps.length) {
    next = 0;
    round += 1;
  }
  cursor.pagedAt = now();
  if (round >= policy.escalation.repeat) {
    cursor.exhausted = true;
    incident.tell(
      notices.nobodyAcknowledged(state, policy, round),
      'escalation-exhausted',
      SYSTEM,
      `nobody acknowledged after ${round} round(s); managers paged`,
    );
    return undefined;
  }
  // Gaps at every step in a row: going round again would only find the same gaps.
  if ((cursor.fellThrough ?? 0) >= policy.escalation.steps.length) {
    cursor.exhausted = true;
    incident.tell(
      notices.nobodyAcknowledged(state, policy, round),
      'escalation-exhausted',
      SYSTEM,
      `nobody was on call at any of the ${policy.escalation.steps.length} step(s) in a row; managers paged`,
    );
    return undefined;
  }
  return { round, step: next, targets: policy.escalation.steps[next]?.notify ?? [] };
}

/** Pages the step paging moved to, with whom its schedules resolved to when it names any. */
export function pageAt(incident: ReadyIncident, next: NextStep, resolved?: ResolvedTargets): void {
  const cursor = incident.state.escalation;
  cursor.step = next.step;
  cursor.round = next.round;
  if (resolved) cursor.pagedAt = now();
  pageStep(incident, next.targets, next.round, next.step, undefined, resolved);
}

/** Pages the next step of a policy whose steps name people only. */
export function pageNextStep(incident: ReadyIncident): void {
  const next = advance(incident);
  if (next) pageAt(incident, next);
}

/**
 * How the first page of a new incident stands when the step pages: already sent (by the
 * activity that opened the incident; it is only logged), or to be sent under the id that
 * activity reserved, so that the delivery ledger knows any send it made before it failed.
 */
export interface FirstPage {
  sent?: Notification;
  id?: string;
}

/**
 * Pages one step of the escalation policy: the targets as named, or as `resolved` from
 * the step's schedules. A resolved step with nobody to page records the gap and leaves the
 * next step due at once.
 */
export function pageStep(
  incident: ReadyIncident,
  targets: string[],
  round: number,
  step: number,
  first?: FirstPage,
  resolved?: ResolvedTargets,
): void {
  const { state, policy } = incident;
  const attempt = `round ${round + 1} of ${policy.escalation.repeat}, step ${step + 1} of ${policy.escalation.steps.length}`;
  const details: Record<string, unknown> = { round: round + 1, step: step + 1 };
  if (resolved && resolved.responders.length === 0) {
    const cursor = state.escalation;
    cursor.fellThrough = (cursor.fellThrough ?? 0) + 1;
    incident.log('paging-gap', SYSTEM, `${gapText(resolved.gaps)}; paging the next step (${attempt})`, {
      ...details,
      gaps: resolved.gaps,
    });
    return;
  }
  // Someone is paged: the next step waits for this one's ack timeout again.
  delete state.escalation.fellThrough;
  let summary = `paged ${targets.join(', ')} (${attempt})`;
  if (resolved) {
    const reached = state.escalation.paged ?? [];
    state.escalation.paged = [...reached, ...resolved.responders.filter((id) => !reached.includes(id))];
    const named = resolved.responders.map((id) => {
      const because = resolved.because[id];
      return because ? `${incident.nameOf(id)} (${because})` : incident.nameOf(id);
    });
    const gaps = resolved.gaps.length > 0 ? `; ${gapText(resolved.gaps)}` : '';
    summary = `paged ${named.join(', ')} (${attempt})${gaps}`;
    details.schedules = resolved.schedules;
    if (resolved.gaps.length > 0) details.gaps = resolved.gaps;
  }
  if (first?.sent) {
    incident.told(first.sent, 'paged', SYSTEM, summary, details);
    return;
  }
  const notice = resolved
    ? notices.page(state, policy, resolved.responders, attempt, resolved.because)
    : notices.page(state, policy, targets, attempt);
  incident.tell(first?.id ? { ...notice, id: first.id } : notice, 'paged', SYSTEM, summary, details);
}
