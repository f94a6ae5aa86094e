/**
 * The `/incident` slash command: `ack`, `escalate`, `resolve`, `trained`, `note`, `status`,
 * `list`, `oncall`, `cover`, `help`. Steps go through the same workflow updates and refusals
 * as the buttons and the API, covers through the same override checks as the schedule API;
 * the answer is a message for the person alone.
 */
import type { FastifyBaseLogger } from 'fastify';
import { escapeMrkdwn } from '../blocks';
import { addNote, openIncidents, readIncident, takeStep, type SlackContext } from './context';
import { failed, listText, notFound, refused, statusText, stepDone } from './messages';
import { parseCover, parseOnCall, type ScheduleCommand } from './oncall';
import type { SlashCommand } from './payloads';
import { coverAnswer, onCallAnswer } from './schedule-commands';

export type Command =
  | { kind: 'help' }
  | { kind: 'list' }
  | { kind: 'status' | 'ack'; id: string }
  | { kind: 'escalate' | 'resolve' | 'note'; id: string; text: string }
  /** The member confirms their own training; the note is optional. */
  | { kind: 'trained'; id: string; note?: string }
  | ScheduleCommand
  | { kind: 'usage'; problem: string };

const NEEDS_TEXT = { escalate: 'a reason', resolve: 'a summary', note: 'the text of the note' } as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** Reads the command's text: a sub-command, an incident id, and the rest as free text. */
export function parseCommand(text: string): Command {
  const trimmed = text.trim();
  const [word = '', id = '', ...rest] = trimmed.split(/\s+/);
  const sub = word.toLowerCase();
  const free = trimmed.slice(trimmed.indexOf(id, word.length) + id.length).trim();
  if (sub === '' || sub === 'help') return { kind: 'help' };
  if (sub === 'list') return { kind: 'list' };
  if (sub === 'oncall') return parseOnCall(trimmed.split(/\s+/).slice(1));
  if (sub === 'cover') return parseCover(trimmed.split(/\s+/).slice(1));
  const known = ['ack', 'acknowledge', 'status', 'escalate', 'resolve', 'trained', 'note'];
  if (!known.includes(sub)) return { kind: 'usage', problem: `There is no \`${sub}\` command.` };
  if (!id) return { kind: 'usage', problem: `\`${sub}\` needs an incident id.` };
  if (!ID.test(id)) return { kind: 'usage', problem: `\`${id}\` is not an incident id.` };
  if (sub === 'ack' || sub === 'acknowledge') return { kind: 'ack', id };
  if (sub === 'status') return { kind: 'status', id };
  if (sub === 'trained')
    return rest.length > 0 && free ? { kind: 'trained', id, note: free } : { kind: 'trained', id };
  const kind = sub as keyof typeof NEEDS_TEXT;
  if (rest.length === 0 || !free) return { kind: 'usage', problem: `\`${sub}\` needs ${NEEDS_TEXT[kind]}.` };
  return { kind, id, text: free };
}

export function usage(command = '/incident'): string {
  const c = escapeMrkdwn(command);
  // The placeholders are escaped: Slack would read a bare <id> as its own markup.
  return [
    `*${c}* acts on Baton's incidents and on-call schedules:`,
    `\`${c} list\`: the open incidents of your teams`,
    `\`${c} status &lt;id&gt;\`: where an incident stands`,
    `\`${c} ack &lt;id&gt;\`: acknowledge it and take it`,
    `\`${c} escalate &lt;id&gt; &lt;reason&gt;\`: escalate it to Level 3`,
    `\`${c} resolve &lt;id&gt; &lt;summary&gt;\`: resolve it`,
    `\`${c} trained &lt;id&gt; [note]\`: confirm you were trained after it`,
    `\`${c} note &lt;id&gt; &lt;text&gt;\`: add a note to its timeline`,
    `\`${c} oncall [team]\`: who is on call now for your teams' schedules, and who is next`,
    `\`${c} cover &lt;schedule&gt; &lt;from&gt; &lt;to&gt;\`: take that shift yourself (from \`now\` or an ISO time, to an ISO time or a duration like \`4h\`)`,
    `\`${c} help\`: this message`,
  ].join('\n');
}

/** The answer to one command, as text for the person who typed it. */
export async function onCommand(
  ctx: SlackContext,
  form: SlashCommand,
  log: FastifyBaseLogger,
): Promise<string> {
  const command = parseCommand(form.text);
  if (command.kind === 'help') return usage(form.command);
  if (command.kind === 'usage') return `${escapeMrkdwn(command.problem)}\n${usage(form.command)}`;
  const who = await ctx.identities.responderFor(form.user_id);
  if (!who.ok) return who.reason;
  const actor = who.responder.id;
  if (command.kind === 'list') {
    const teams = ctx.incidents.teamsVisibleTo(actor) ?? ctx.config.teams.map((t) => t.id);
    const found = await openIncidents(ctx, actor, log);
    return found.ok ? listText(found.value, teams) : refused(found.reason);
  }
  if (command.kind === 'oncall') return onCallAnswer(ctx, who.responder, command.team, log);
  if (command.kind === 'cover') return coverAnswer(ctx, who.responder, command, log);
  const unknown = `${notFound(command.id)}\n${usage(form.command)}`;
  const requestId = `slack:${form.trigger_id}`;
  switch (command.kind) {
    case 'status': {
      const found = await readIncident(ctx, command.id, actor, log);
      if (found.ok) return statusText(found.value, ctx.names);
      return found.status === 404 ? unknown : refused(found.reason);
    }
    case 'note': {
      const noted = await addNote(ctx, command.id, { actor, text: command.text, requestId }, log);
      if (noted.ok) return `Your note is on the timeline of \`${escapeMrkdwn(command.id)}\`.`;
      return noted.status === 404 ? unknown : refused(noted.reason);
    }
    case 'trained': {
      const note = command.note ? { note: command.note } : {};
      const outcome = await takeStep(ctx, 'confirmTraining', command.id, { ...note, actor, requestId }, log);
      if (outcome.ok) return stepDone('confirmTraining', outcome.value);
      return outcome.status === 404 ? unknown : failed(outcome);
    }
    default: {
      const step = command.kind === 'ack' ? 'acknowledge' : command.kind;
      const extra =
        command.kind === 'escalate'
          ? { reason: command.text }
          : command.kind === 'resolve'
            ? { summary: command.text }
            : {};
      const outcome = await takeStep(ctx, step, command.id, { ...extra, actor, requestId }, log);
      if (outcome.ok) return stepDone(step, outcome.value);
      return outcome.status === 404 ? unknown : failed(outcome);
    }
  }
}
