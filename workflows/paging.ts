/**
 * Paging Level 2: one step of the escalation policy at a time, round after round, then the
 * managers when nobody acknowledged.
 */
import { SYSTEM, now, type ReadyIncident } from './incident-context';
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

/** Pages one step of the escalation policy. */
export function pageStep(incident: ReadyIncident, targets: string[], round: number, step: number): void {
  const { state, policy } = incident;
  const attempt = `round ${round + 1} of ${policy.escalation.repeat}, step ${step + 1} of ${policy.escalation.steps.length}`;
  const notice = notices.page(state, policy, targets, attempt);
  incident.tell(notice, 'paged', SYSTEM, `paged ${targets.join(', ')} (${attempt})`, {
    round: round + 1,
    step: step + 1,
  });
}
