/**
 * What becomes of an inbound email, for the SMTP listener and the provider route alike:
 * read its headers (reply.ts), authenticate it (authenticate.ts), and only then read its text
 * for the command, which it takes as the responder through the same workflow updates (and so
 * the same rules and refusal reasons) as the HTTP API and Slack.
 *
 * Answers: a reply that acted gets a short confirmation, a note too (so that a mistyped
 * command is not taken silently for a note); a reply the incident refused gets the reason.
 * Both go to the responder's configured address, threaded under the reply, marked
 * `Auto-Submitted: auto-replied`. Auto-replies, bounces and mail that failed authentication
 * are never answered: a forged sender must not receive mail from Baton (backscatter).
 */
import type { DNSResolver } from 'mailauth';
import { simpleParser } from 'mailparser';
import type { Mailer } from '../mailer';
import type { BatonConfig, ResponderConfig } from '../../../config/schema';
import type { Secrets } from '../../../config/secrets';
import {
  acknowledgeUpdate,
  confirmTrainingUpdate,
  escalateUpdate,
  resolveUpdate,
} from '../../../workflows/incident/messages';
import type { IncidentState } from '../../../workflows/incident/state';
import { fromTemporal, HttpError } from '../../../api/errors';
import type { IncidentService } from '../../../api/incidents';
import { authenticateReply, type AuthenticationMode, type Connection } from './authenticate';
import { addressGroup } from '../../../api/client-address';
import { UsedLinks } from '../links/used-links';
import { RefusedMailLimits } from './limits';
import {
  commandOf,
  readReply,
  type Envelope,
  type Reply,
  type ReplyCommand,
  type ReplySettings,
} from './reply';

/** The part of the incident service email uses. */
export type EmailIncidents = Pick<IncidentService, 'step' | 'note' | 'recordRefusedEmail'>;

/** pino's shape (Fastify's logger fits). */
export interface EmailLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface InboundDeps {
  config: BatonConfig;
  incidents: EmailIncidents;
  secrets: Secrets;
  /** Sends the answers; without one, nobody is answered. */
  mailer?: Mailer | undefined;
  log: EmailLog;
  /** mailauth's DNS resolver (TXT for DKIM keys, SPF and DMARC); the system's by default. */
  resolver?: DNSResolver;
  /** Which refused emails go on the incident's record; REFUSALS_RECORDED by default. */
  refusals?: RefusedMailLimits;
}

export interface InboundContext extends ReplySettings {
  config: BatonConfig;
  incidents: EmailIncidents;
  mode: AuthenticationMode;
  mailer?: Mailer | undefined;
  log: EmailLog;
  resolver?: DNSResolver;
  refusals: RefusedMailLimits;
  /** The replies taken once (used-links.ts); under the configuration's dataDir by default. */
  usedReplies?: UsedLinks;
}

/**
 * One refused email a minute per incident and delivering address, and ten an hour per
 * incident, go on the incident's record, for the whole process (the listener and the provider
 * route alike); the rest are only logged. Forged mail then cannot fill an incident's record,
 * nor keep the workflow busy, whatever From it claims.
 */
export const REFUSALS_RECORDED = new RefusedMailLimits();

/** Replies need the signing secret and the reply domain; both are checked once, at start. */
export function inboundContext(deps: InboundDeps): InboundContext {
  const email = deps.config.notifications.email;
  const secret = deps.secrets.emailLinkSecret;
  if (!email?.replyDomain || !secret) {
    throw new Error(
      'email replies need notifications.email.replyDomain and the secret notifications.email.linkSecretEnv names',
    );
  }
  return {
    config: deps.config,
    incidents: deps.incidents,
    secret,
    replyDomain: email.replyDomain,
    mode: email.inbound?.authentication ?? 'strict',
    mailer: deps.mailer,
    log: deps.log,
    ...(deps.resolver ? { resolver: deps.resolver } : {}),
    refusals: deps.refusals ?? REFUSALS_RECORDED,
  };
}

export type InboundOutcome =
  | { outcome: 'acted'; incident: string; summary: string }
  | { outcome: 'note'; incident: string; summary: string }
  /** Authenticated, and refused by the incident (or not a command it can take): answered. */
  | { outcome: 'refused'; incident: string; reason: string }
  /** Sent by a machine: dropped silently. */
  | { outcome: 'ignored'; reason: string; incident?: string }
  /** Not for a reply address, unreadable, or failed authentication: changes nothing, not answered. */
  | { outcome: 'rejected'; reason: string; incident?: string }
  /** Could not be handled now (Temporal unavailable, a DNS failure): the sender should retry. */
  | { outcome: 'deferred'; reason: string; incident?: string };

export interface InboundMessage {
  raw: Buffer;
  /** The SMTP envelope and connection, when Baton's own listener took the message. */
  smtp?: Envelope & { remoteAddress: string; helo: string };
  /** The address of the provider that posted the message, when it came by the inbound route. */
  postedFrom?: string;
}

type ReplyMessage = Extract<Reply, { kind: 'reply' }>;

const HOW_TO =
  'To act on the incident by email, start your reply with one of:\n' +
  '  ack            (anything after it is a note on the acknowledgement)\n' +
  '  escalate <why>\n' +
  '  resolve <what fixed it>\n' +
  '  trained        (once resolved: you confirm your training; anything after it is a note)\n' +
  'Anything else is added to the incident as a note.';

/** A step the incident refused (4xx) stays refused; Temporal away or slow (5xx) is worth a retry. */
function classify(
  err: unknown,
  incident: string,
  log: EmailLog,
): { permanent: true; reason: string } | { permanent: false; reason: string } {
  const mapped = fromTemporal(err, incident);
  if (mapped instanceof HttpError && mapped.statusCode < 500)
    return { permanent: true, reason: mapped.message };
  if (mapped instanceof HttpError) {
    log.warn({ err, incident }, mapped.message);
    return { permanent: false, reason: mapped.message };
  }
  log.error({ err, incident }, 'an email reply failed');
  return { permanent: false, reason: 'Baton failed to handle the message; try again later' };
}

/** What a step did, for "you … incident <id>" in the answer, or "<responder> … <id>" in the log. */
function describe(command: ReplyCommand, whose: 'your' | 'their' = 'your'): string {
  switch (command.kind) {
    case 'acknowledge':
      return 'acknowledged';
    case 'escalate':
      return 'escalated to Level 3';
    case 'resolve':
      return 'resolved';
    case 'confirmTraining':
      return `confirmed ${whose} training on`;
    default:
      return command.kind;
  }
}

async function takeStep(
  ctx: InboundContext,
  incident: string,
  command: ReplyCommand,
  actor: string,
  requestId: string,
): Promise<IncidentState | undefined> {
  const envelope = { actor, requestId };
  switch (command.kind) {
    case 'acknowledge':
      return ctx.incidents.step(incident, acknowledgeUpdate, {
        ...envelope,
        ...(command.note ? { note: command.note } : {}),
      });
    case 'escalate':
      return ctx.incidents.step(incident, escalateUpdate, { ...envelope, reason: command.reason });
    case 'resolve':
      return ctx.incidents.step(incident, resolveUpdate, { ...envelope, summary: command.summary });
    case 'confirmTraining':
      return ctx.incidents.step(incident, confirmTrainingUpdate, {
        ...envelope,
        ...(command.note ? { note: command.note } : {}),
      });
    case 'note':
      await ctx.incidents.note(incident, actor, command.text, requestId, 'email');
      return undefined;
    default:
      throw new Error(`not a command: ${command.kind}`);
  }
}

/** Sends an answer; a failure is logged and changes nothing (the step is taken either way). */
async function answer(
  ctx: InboundContext,
  reply: ReplyMessage,
  responder: ResponderConfig,
  text: string,
): Promise<void> {
  if (!ctx.mailer || !responder.email) return;
  const subject = reply.subject.trim() || `incident ${reply.claims.incident}`;
  try {
    await ctx.mailer.transport.sendMail({
      from: ctx.mailer.from,
      to: responder.email,
      subject: /^re:/i.test(subject) ? subject : `Re: ${subject}`,
      text,
      ...(reply.messageId
        ? { inReplyTo: reply.messageId, references: [...reply.references, reply.messageId] }
        : {}),
      headers: {
        // RFC 3834: an automatic answer, which other responders must not answer in turn.
        'Auto-Submitted': 'auto-replied',
        'X-Auto-Response-Suppress': 'All',
        'X-Baton-Incident': reply.claims.incident,
      },
    });
  } catch (err) {
    ctx.log.warn(
      { err, incident: reply.claims.incident, to: responder.email },
      'could not answer an email reply',
    );
  }
}

/**
 * Puts a reply that failed authentication on the incident's timeline, within the limits of
 * REFUSALS_RECORDED (per incident and the address that delivered it; never per From, which the
 * sender chose); nothing else changes. Every one is logged.
 */
async function recordRefusal(
  ctx: InboundContext,
  reply: ReplyMessage,
  reason: string,
  deliveredBy: string,
): Promise<InboundOutcome> {
  const { incident } = reply.claims;
  const from = (reply.from.join(', ') || '(no From address)').slice(0, 320);
  ctx.log.warn({ incident, from, reason, deliveredBy }, 'an email reply failed authentication');
  const source = { incident, address: addressGroup(deliveredBy) };
  if (!ctx.refusals.take(source)) {
    ctx.log.info(
      { incident, from, deliveredBy },
      'a refused email was not recorded: one a minute per incident and delivering address, ten an hour per incident',
    );
    return { outcome: 'rejected', reason, incident };
  }
  try {
    await ctx.incidents.recordRefusedEmail(incident, { from, reason, requestId: reply.requestId });
  } catch (err) {
    const failure = classify(err, incident, ctx.log);
    if (!failure.permanent) {
      // Temporal away: the attempt must still reach the record, so the sender retries later.
      ctx.refusals.giveBack(source);
      return { outcome: 'deferred', reason: failure.reason, incident };
    }
    ctx.log.warn({ incident, from, reason: failure.reason }, 'a refused email could not be recorded');
  }
  return { outcome: 'rejected', reason, incident };
}

async function act(ctx: InboundContext, message: InboundMessage): Promise<InboundOutcome> {
  let mail;
  try {
    mail = await simpleParser(message.raw);
  } catch (err) {
    ctx.log.warn({ err }, 'an inbound email could not be read');
    return { outcome: 'rejected', reason: 'the message could not be read' };
  }
  const reply = readReply(mail, message.raw, message.smtp, ctx);
  if (reply.kind === 'ignored') {
    ctx.log.info({ incident: reply.incident, reason: reply.reason }, 'an automatic email was ignored');
    return {
      outcome: 'ignored',
      reason: reply.reason,
      ...(reply.incident ? { incident: reply.incident } : {}),
    };
  }
  if (reply.kind === 'unaddressed') return { outcome: 'rejected', reason: reply.reason };

  const { incident } = reply.claims;
  const connection: Connection | undefined = message.smtp
    ? {
        ip: message.smtp.remoteAddress,
        helo: message.smtp.helo,
        sender: message.smtp.mailFrom,
        recipients: message.smtp.rcptTo,
      }
    : undefined;
  const auth = await authenticateReply({
    raw: message.raw,
    reply,
    config: ctx.config,
    mode: ctx.mode,
    ...(connection ? { connection } : {}),
    ...(ctx.resolver ? { resolver: ctx.resolver } : {}),
    mta: ctx.replyDomain,
  });
  if (!auth.ok) {
    if (auth.transient) return { outcome: 'deferred', reason: auth.reason, incident };
    const deliveredBy = message.smtp?.remoteAddress ?? message.postedFrom ?? 'unknown';
    return recordRefusal(ctx, reply, auth.reason, deliveredBy);
  }
  const { responder, requestId } = auth;
  // Only now is the body read: what a stranger sends costs no more than parsing the MIME and
  // checking the signatures (reply.ts bounds the text the command is read from, too).
  const command = commandOf(mail);
  const fields = { incident, actor: responder.id, requestId, via: auth.via };
  if (command.kind === 'invalid') {
    ctx.log.info({ ...fields, reason: command.reason }, 'an email reply was not a command Baton can take');
    await answer(ctx, reply, responder, `Baton did not act on your reply: ${command.reason}.\n\n${HOW_TO}\n`);
    return { outcome: 'refused', incident, reason: command.reason };
  }

  // Once for good: the incident forgets request ids (its newest 500, within a run), a copy of
  // a signed reply lasts forever.
  const used = ctx.usedReplies ?? new UsedLinks(ctx.config.dataDir, 'replies');
  if (!(await used.claim(requestId))) {
    ctx.log.warn(fields, 'an email reply taken once already came again: ignored');
    return { outcome: 'ignored', reason: 'this reply was taken once already', incident };
  }
  let state: IncidentState | undefined;
  try {
    state = await takeStep(ctx, incident, command, responder.id, requestId);
  } catch (err) {
    const failure = classify(err, incident, ctx.log);
    if (!failure.permanent) {
      // The sender retries soon with the same request id, which the incident still knows if
      // the step reached it: taken once either way.
      await used.release(requestId);
      return { outcome: 'deferred', reason: failure.reason, incident };
    }
    ctx.log.info({ ...fields, reason: failure.reason }, 'the incident refused an email reply');
    await answer(
      ctx,
      reply,
      responder,
      `Baton did not act on your reply to incident ${incident}: ${failure.reason}.\n\n${HOW_TO}\n`,
    );
    return { outcome: 'refused', incident, reason: failure.reason };
  }

  if (command.kind === 'note') {
    ctx.log.info(fields, 'an email reply was added as a note');
    await answer(
      ctx,
      reply,
      responder,
      `Your reply was added as a note to incident ${incident}.\n\n${HOW_TO}\n`,
    );
    return { outcome: 'note', incident, summary: `note added to ${incident}` };
  }
  const summary = `${responder.id} ${describe(command, 'their')} ${incident}`;
  ctx.log.info(fields, summary);
  await answer(
    ctx,
    reply,
    responder,
    `Done: you ${describe(command)} incident ${incident}` +
      `${state ? ` ("${state.title}"); it is now ${state.phase}` : ''}.\n`,
  );
  return { outcome: 'acted', incident, summary };
}

/**
 * Handles one inbound message from start to end. It never throws: whatever a sender sends
 * ends as an outcome, and a failure of Baton's own is a 'deferred' one (logged), which the
 * sending MTA or provider retries; the request id makes the retry the same step.
 */
export async function handleInbound(ctx: InboundContext, message: InboundMessage): Promise<InboundOutcome> {
  try {
    return await act(ctx, message);
  } catch (err) {
    ctx.log.error({ err }, 'an inbound email failed');
    return { outcome: 'deferred', reason: 'Baton failed to handle the message; try again later' };
  }
}
