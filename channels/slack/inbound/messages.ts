/**
 * The words Baton answers people with in Slack: pure functions of the record, escaped for
 * mrkdwn like everything else Baton posts, and each field on one line so that a title or a
 * name cannot add a line that reads as Baton's.
 */
import { oneLine } from '../../../activities/markdown';
import { describeMove, fitMrkdwn, lastMove, phaseLabel, responseOf, SLACK_TEXT_MAX } from '../blocks';
import type { Phase } from '../../../workflows/incident/model';
import type { IncidentState } from '../../../workflows/incident/state';
import type { IncidentSummary } from '../../../api/incidents';
import type { StepName } from '../../../api/step-updates';

/** Responders' names by id, for people to read. */
export type Names = Record<string, { name: string }>;

/** A field of the record or a reason, as one escaped line of at most `max` characters. */
export const line = (text: string, max = 500): string => fitMrkdwn(oneLine(text), max);

export function incidentRef(incident: { id: string; title: string }): string {
  return `*${line(incident.title)}* (\`${line(incident.id, 200)}\`)`;
}

const DONE: Record<Exclude<StepName, 'confirmTraining'>, string> = {
  acknowledge: 'You acknowledged',
  assess: 'You assessed',
  recordAction: 'You recorded an action on',
  escalate: 'You escalated to Level 3',
  acceptHandover: 'You accepted the handover of',
  resolve: 'You resolved',
};

export function stepDone(step: StepName, state: IncidentState): string {
  // The phase says nothing to a member confirming their training: the incident stays
  // post-incident until the last follow-up is done.
  if (step === 'confirmTraining') return `You confirmed your training on ${incidentRef(state)}.`;
  return `${DONE[step]} ${incidentRef(state)}; it is now _${phaseLabel(state.phase)}_.`;
}

export function refused(reason: string): string {
  return `Nothing was changed: ${line(reason, 2_000)}.`.replace(/\.\.$/, '.');
}

/** What a failed step tells the person: refused (nothing changed), or not known yet (504). */
export function failed(failure: { status: number; reason: string }): string {
  return failure.status === 504 ? `Not confirmed: ${line(failure.reason, 2_000)}.` : refused(failure.reason);
}

export function notFound(id: string): string {
  return `Baton has no incident \`${line(id, 200)}\`.`;
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
    last ? `Last: ${describeMove(last, { responders: names })} (${line(last.at, 40)}).` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export function statusText(state: IncidentState, names: Names = {}): string {
  const last = lastMove(state);
  const name = (id: string): string => line(Object.hasOwn(names, id) ? (names[id]?.name ?? id) : id, 100);
  const lines = [
    `${incidentRef(state)}: ${line(state.severity, 20)}, ${line(state.service, 100)}, _${phaseLabel(state.phase)}_`,
    `Holder: ${state.holder ? name(state.holder) : 'nobody yet'}`,
  ];
  if (state.handover) {
    lines.push(
      state.handover.acceptedBy
        ? `Level 3: ${name(state.handover.acceptedBy)} accepted the handover`
        : `Escalated by ${name(state.handover.requestedBy)}; waiting for Level 3`,
    );
  }
  if (last) lines.push(`Last: ${describeMove(last, { responders: names })} (${line(last.at, 40)})`);
  return lines.join('\n');
}

export function listText(incidents: IncidentSummary[], teams: string[]): string {
  const where = `team${teams.length === 1 ? '' : 's'} ${teams.map((t) => line(t, 100)).join(', ')}`;
  if (incidents.length === 0) return `No open incidents for ${where}.`;
  const lines = [`Open incidents for ${where}:`];
  let length = lines[0]?.length ?? 0;
  for (const i of incidents) {
    const entry =
      `• \`${line(i.id, 200)}\` ${line(i.severity, 20)} *${line(i.title)}*: ` +
      `${line(i.status, 40)}, ${line(i.assignee, 100)}`;
    // Slack cuts a long message; the rest is counted instead.
    if (length + entry.length + 1 > SLACK_TEXT_MAX - 100) {
      lines.push(`…and ${incidents.length - lines.length + 1} more`);
      break;
    }
    lines.push(entry);
    length += entry.length + 1;
  }
  return lines.join('\n');
}
