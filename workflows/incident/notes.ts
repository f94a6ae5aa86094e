/**
 * Notes from people (the API, Slack and email replies). A note is a signal: it cannot be
 * refused, so a note that cannot be taken changes nothing and the reason goes to the
 * worker's log.
 */
import { excerpt, now, SYSTEM, type ReadyIncident } from './incident-context';
import type { AddNoteInput, EmailRefusedInput } from './messages';
import { checkActor, checkMember } from './rules';

/** Adds the note; returns why it was dropped, if it was (a retry is dropped silently). */
export function addNote(incident: ReadyIncident, input: Required<AddNoteInput>): string | undefined {
  const { state } = incident;
  if (incident.usedFor(input.requestId) !== undefined) return undefined;
  if (checkActor(incident.policy, input.actor)) return `note from an unknown actor "${input.actor}" ignored`;
  if (checkMember(incident.policy, input.actor)) {
    return `note from ${input.actor}, who is not on team ${incident.policy.team.id}, ignored`;
  }
  if (state.phase === 'closed') return undefined;
  if (incident.full()) return 'note dropped: the incident record is at its size limit';
  incident.remember(input.requestId, 'addNote');
  state.notes.push({ by: input.actor, at: now(), text: input.text, source: input.source });
  incident.log('note', input.actor, excerpt(input.text), { source: input.source });
  return undefined;
}

/** How many refused emails one incident puts on its timeline; later ones are only counted. */
export const REFUSED_EMAILS_RECORDED = 20;

/**
 * An email that failed authentication goes on the timeline (never into notes: its text is
 * not trusted). Anyone who has seen a reply address can send such mail, so it neither takes
 * a place in the request-id memory (which would push out real requests' ids) nor fills the
 * timeline: a redelivery is recognised among the recent refusals, and past a few refusals
 * they are only counted.
 */
export function recordRefusedEmail(
  incident: ReadyIncident,
  input: Required<EmailRefusedInput>,
): string | undefined {
  const { state } = incident;
  const recent = state.timeline.some(
    (e) => e.kind === 'email-refused' && e.details?.requestId === input.requestId,
  );
  if (recent) return undefined;
  state.emailRefusals = (state.emailRefusals ?? 0) + 1;
  if (state.emailRefusals > REFUSED_EMAILS_RECORDED) {
    return `refused email from ${input.from} counted, not recorded: ${state.emailRefusals} so far`;
  }
  if (incident.full()) return 'refused email not recorded: the incident record is at its size limit';
  incident.log(
    'email-refused',
    SYSTEM,
    `email from ${excerpt(input.from)} refused: ${excerpt(input.reason)}`,
    {
      from: input.from,
      reason: input.reason,
      requestId: input.requestId,
      ...(state.emailRefusals === REFUSED_EMAILS_RECORDED
        ? { note: `later refused emails are counted in emailRefusals, not recorded` }
        : {}),
    },
  );
  return undefined;
}
