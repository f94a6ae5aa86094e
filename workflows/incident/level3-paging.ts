/**
 * Paging Level 3 once the incident is escalated: the handover package and meeting go to the
 * first Level 3 step, then each step in turn while nobody accepts. A step that names a
 * schedule pages whoever the schedule has on call when the step pages (asked of the same
 * activity as the escalation steps, see schedule-paging.ts); a step whose schedules have
 * nobody falls through to the next one at once.
 */
import { patched } from '@temporalio/workflow';
import { withCharts } from './diagnostics';
import { buildHandoverPackage } from './handover';
import { SYSTEM, now, type ReadyIncident } from './incident-context';
import { notices } from './notices';
import { gapText, namedResponders, namesSchedule, pagedAs, type ResolvedTargets } from './page-targets';
import { resolveNow } from './schedule-paging';
import type { Handover } from './state';

/** Marks the incidents whose escalation asks the first Level 3 step's schedules who is on call. */
export const LEVEL3_SCHEDULES_PATCH = 'level3-resolves-schedules';

/**
 * Whether the escalation asks the first Level 3 step's schedules; false for a step that names
 * people only. Incidents without the marker paged that step as named, as they always did.
 */
export function handoverAsksSchedules(targets: readonly string[]): boolean {
  return namesSchedule(targets) && patched(LEVEL3_SCHEDULES_PATCH);
}

/** "alice (on call for Payments L3)": whom an answer pages, with why. */
function namedWithReasons(incident: ReadyIncident, answer: ResolvedTargets): string[] {
  return answer.responders.map((id) => {
    const because = answer.because[id];
    return because ? `${incident.nameOf(id)} (${because})` : incident.nameOf(id);
  });
}

/** "You are paged as on call for Payments L3 to accept the handover.", above the package. */
function whyPaged(incident: ReadyIncident, to: string[], answer?: ResolvedTargets): string {
  if (!answer || Object.keys(answer.because).length === 0) return '';
  return `${pagedAs(incident.policy, to, answer.because).replace(/\.$/, '')} to accept the handover.\n\n`;
}

/** Keeps whom a Level 3 step's schedules reached: for the next page's words and who hears the end. */
function recordReached(handover: Handover, answer: ResolvedTargets): void {
  handover.reached = answer.responders;
  const paged = handover.paged ?? [];
  handover.paged = [...paged, ...answer.responders.filter((id) => !paged.includes(id))];
}

/** The Level 3 step just paged reached nobody: the gap is on the timeline, the next step due at once. */
function fallThrough(incident: ReadyIncident, handover: Handover, answer: ResolvedTargets): void {
  handover.fellThrough = true;
  incident.log('paging-gap', SYSTEM, `${gapText(answer.gaps)}; paging the next Level 3 step`, {
    level3Step: handover.level3Step + 1,
    gaps: answer.gaps,
  });
}

/**
 * The handover package and the meeting, to the Level 3 channel and the first Level 3 step:
 * `targets` as named, or as `answer` resolved its schedules. Fresh figures are collected
 * for Level 3 once the package is out.
 */
export function handOver(incident: ReadyIncident, targets: string[], answer?: ResolvedTargets): void {
  const { state, policy } = incident;
  const handover = state.handover;
  if (!handover) return;
  const to = answer ? answer.responders : targets;
  const pkg = buildHandoverPackage(state);
  const channel = policy.team.level3Channel;
  const named = answer ? namedWithReasons(incident, answer) : targets;
  const gaps = answer && answer.gaps.length > 0 ? `; ${gapText(answer.gaps)}` : '';
  incident.tell(
    withCharts(
      notices.handoverPackage(state, policy, whyPaged(incident, to, answer) + pkg, to),
      state.diagnostics ?? [],
    ),
    'handover-package',
    SYSTEM,
    named.length > 0
      ? `handover package sent to ${channel} and ${named.join(', ')}${gaps}`
      : `handover package sent to ${channel}${gaps}`,
    // The package went out with the notification and is rebuilt from the record; a copy
    // here would double the incident's size with every escalation.
    {
      characters: pkg.length,
      ...(answer ? { schedules: answer.schedules } : {}),
      ...(answer && answer.gaps.length > 0 ? { gaps: answer.gaps } : {}),
    },
  );
  incident.tell(
    notices.handoverMeeting(state, policy, to),
    'handover-meeting',
    SYSTEM,
    `handover meeting called for ${handover.meetingAt}`,
    { at: handover.meetingAt },
  );
  if (answer && answer.responders.length === 0) fallThrough(incident, handover, answer);
  // Fresh figures for Level 3, collected beside the process: the step does not wait.
  if (state.diagnostics) incident.diagnosticsWanted.push('escalated');
}

/**
 * Hands over once the first Level 3 step's schedules said who is on call. The accept timeout
 * counts from this page; the Level 3 paging duty waits for it (`handoverPending`). Nothing is
 * sent when the incident was resolved (or reopened, and that handover is gone) meanwhile.
 */
export async function handOverAsked(
  incident: ReadyIncident,
  handover: Handover,
  targets: string[],
): Promise<void> {
  incident.handoverPending = true;
  try {
    const answer = await resolveNow(incident, targets);
    if (incident.state.handover !== handover || incident.state.resolution) return;
    handover.level3PagedAt = now();
    recordReached(handover, answer);
    handOver(incident, targets, answer);
  } finally {
    incident.handoverPending = false;
  }
}

/** Whom a Level 3 step reached: who its schedules put on the page, or the people it names. */
export function reachedBy(handover: Handover, targets: readonly string[]): string[] {
  return handover.reached ?? namedResponders(targets);
}

/** "carol did not accept", or why nobody could for a step that reached nobody. */
function notAccepted(previous: readonly string[]): string {
  return previous.length > 0
    ? `${previous.join(', ')} did not accept`
    : 'nobody was on call at the previous Level 3 step';
}

/** Pages the next Level 3 step: its targets as named, or as its schedules resolved them. */
export function pageLevel3(
  incident: ReadyIncident,
  previous: string[],
  targets: string[],
  answer?: ResolvedTargets,
): void {
  const { state, policy } = incident;
  const handover = state.handover;
  if (!handover) return;
  handover.level3Step += 1;
  if (!answer) {
    delete handover.reached;
    // Paged someone: the accept timeout applies again. Incidents without the marker went on
    // at once after a gap, and replay as they ran.
    if (handover.fellThrough && patched(LEVEL3_SCHEDULES_PATCH)) delete handover.fellThrough;
    incident.tell(
      notices.level3Page(state, policy, targets, previous),
      'level3-paged',
      SYSTEM,
      `${notAccepted(previous)}; paged ${targets.join(', ')}`,
    );
    return;
  }
  handover.level3PagedAt = now();
  recordReached(handover, answer);
  if (answer.responders.length === 0) {
    fallThrough(incident, handover, answer);
    return;
  }
  delete handover.fellThrough;
  incident.tell(
    notices.level3Page(state, policy, answer.responders, previous, answer.because),
    'level3-paged',
    SYSTEM,
    `${notAccepted(previous)}; paged ${namedWithReasons(incident, answer).join(', ')}`,
    { schedules: answer.schedules, ...(answer.gaps.length > 0 ? { gaps: answer.gaps } : {}) },
  );
}
