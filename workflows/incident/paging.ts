/**
 * Paging Level 2: one step of the escalation policy at a time, round after round, then the
 * managers when nobody acknowledged.
 */
import { SYSTEM, now, type ReadyIncident } from './incident-context';
import type { Notification } from './model';
import { notices } from './notices';

export function pageNextStep(incident: ReadyIncident): void {
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
    return;
  }
  cursor.step = next;
  cursor.round = round;
  const target = policy.escalation.steps[next];
  if (target) pageStep(incident, target.notify, round, next);
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

/** Pages one step of the escalation policy. */
export function pageStep(
  incident: ReadyIncident,
  targets: string[],
  round: number,
  step: number,
  first?: FirstPage,
): void {
  const { state, policy } = incident;
  const attempt = `round ${round + 1} of ${policy.escalation.repeat}, step ${step + 1} of ${policy.escalation.steps.length}`;
  const summary = `paged ${targets.join(', ')} (${attempt})`;
  const details = { round: round + 1, step: step + 1 };
  if (first?.sent) {
    incident.told(first.sent, 'paged', SYSTEM, summary, details);
    return;
  }
  const notice = notices.page(state, policy, targets, attempt);
  incident.tell(first?.id ? { ...notice, id: first.id } : notice, 'paged', SYSTEM, summary, details);
}
