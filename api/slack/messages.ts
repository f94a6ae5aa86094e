/**
 * The words Baton answers people with in Slack: pure functions of the record, escaped for
 * mrkdwn like everything else Baton posts.
 */
import type { SlackStep } from '../../activities/slack-actions';
import { describeMove, escapeMrkdwn, lastMove, phaseLabel, responseOf } from '../../activities/slack-blocks';
import type { Phase } from '../../workflows/model';
import type { IncidentState } from '../../workflows/state';
import type { IncidentSummary } from '../incidents';

/** Responders' names by id, for people to read. */
export type Names = Record<string, { name: string }>;

export function incidentRef(incident: { id: string; title: string }): string {
  return `*${escapeMrkdwn(incident.title)}* (\`${escapeMrkdwn(incident.id)}\`)`;
}

const DONE: Record<SlackStep, string> = {
  acknowledge: 'You acknowledged',
  assess: 'You assessed',
  recordAction: 'You recorded an action on',
  escalate: 'You escalated to Level 3',
  acceptHandover: 'You accepted the handover of',
  resolve: 'You resolved',
};

export function stepDone(step: SlackStep, state: IncidentState): string {
  return `${DONE[step]} ${incidentRef(state)}; it is now _${phaseLabel(state.phase)}_.`;
}

export function refused(reason: string): string {
  return `Nothing was changed: ${escapeMrkdwn(reason)}.`.replace(/\.\.$/, '.');
}

/** What a failed step tells the person: refused (nothing changed), or not known yet (504). */
export function failed(failure: { status: number; reason: string }): string {
  return failure.status === 504 ? `Not confirmed: ${escapeMrkdwn(failure.reason)}.` : refused(failure.reason);
}

export function notFound(id: string): string {
  return `Baton has no incident \`${escapeMrkdwn(id)}\`.`;
}

/**
 * A click on a message that no longer shows where the incident stands (someone acted since
 * it was rendered) changes nothing; the clicker learns what happened and who did it.
 */
export function staleClick(
  state: IncidentState,
  shownPhase: Phase,
  names: Names = {},
  shownResponse?: number,
): string | undefined {
  const sameResponse = shownResponse === undefined || shownResponse === responseOf(state);
  if (state.phase === shownPhase && sameResponse) return undefined;
  const last = lastMove(state);
  return [
    `Nothing was changed: this message is out of date. ${incidentRef(state)} is now _${phaseLabel(state.phase)}_` +
      ` (the message showed _${phaseLabel(shownPhase)}_).`,
    last ? `Last: ${describeMove(last, { responders: names })} (${escapeMrkdwn(last.at)}).` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export function statusText(state: IncidentState, names: Names = {}): string {
  const last = lastMove(state);
  const name = (id: string): string => escapeMrkdwn(Object.hasOwn(names, id) ? (names[id]?.name ?? id) : id);
  const lines = [
    `${incidentRef(state)}: ${escapeMrkdwn(state.severity)}, ${escapeMrkdwn(state.service)}, _${phaseLabel(state.phase)}_`,
    `Holder: ${state.holder ? name(state.holder) : 'nobody yet'}`,
  ];
  if (state.handover) {
    lines.push(
      state.handover.acceptedBy
        ? `Level 3: ${name(state.handover.acceptedBy)} accepted the handover`
        : `Escalated by ${name(state.handover.requestedBy)}; waiting for Level 3`,
    );
  }
  if (last) lines.push(`Last: ${describeMove(last, { responders: names })} (${escapeMrkdwn(last.at)})`);
  return lines.join('\n');
}

export function listText(incidents: IncidentSummary[], teams: string[]): string {
  const where = `team${teams.length === 1 ? '' : 's'} ${teams.map(escapeMrkdwn).join(', ')}`;
  if (incidents.length === 0) return `No open incidents for ${where}.`;
  return [
    `Open incidents for ${where}:`,
    ...incidents.map(
      (i) =>
        `• \`${escapeMrkdwn(i.id)}\` ${escapeMrkdwn(i.severity)} *${escapeMrkdwn(i.title)}*: ` +
        `${escapeMrkdwn(i.status)}, ${escapeMrkdwn(i.assignee)}`,
    ),
  ].join('\n');
}
