/**
 * Notes from people (the API, Slack and email replies). A note is a signal: it cannot be
 * refused, so a note that cannot be taken changes nothing and the reason goes to the
 * worker's log.
 */
import { excerpt, now, SYSTEM, type ReadyIncident } from './incident-context';
import type { AddNoteInput, EmailRefusedInput } from './messages';
import { checkActor } from './rules';

/** Adds the note; returns why it was dropped, if it was (a retry is dropped silently). */
export function addNote(incident: ReadyIncident, input: Required<AddNoteInput>): string | undefined {
  const { state } = incident;
  if (incident.usedFor(input.requestId) !== undefined) return undefined;
  if (checkActor(incident.policy, input.actor)) return `note from an unknown actor "${input.actor}" ignored`;
  if (state.phase === 'closed') return undefined;
  if (incident.full()) return 'note dropped: the incident record is at its size limit';
  incident.remember(input.requestId, 'addNote');
  state.notes.push({ by: input.actor, at: now(), text: input.text, source: input.source });
  incident.log('note', input.actor, excerpt(input.text), { source: input.source });
  return undefined;
}

/**
 * An email that failed authentication goes on the timeline (never into notes: its text is
 * not trusted). A retried signal is recorded once; a full record drops it.
 */
export function recordRefusedEmail(
  incident: ReadyIncident,
  input: Required<EmailRefusedInput>,
): string | undefined {
  if (incident.usedFor(input.requestId) !== undefined) return undefined;
  if (incident.full()) return 'refused email not recorded: the incident record is at its size limit';
  incident.remember(input.requestId, 'emailRefused');
  incident.log(
    'email-refused',
    SYSTEM,
    `email from ${excerpt(input.from)} refused: ${excerpt(input.reason)}`,
    {
      from: input.from,
      reason: input.reason,
    },
  );
  return undefined;
}
