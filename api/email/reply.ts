/**
 * What a reply to one of Baton's emails says, read from the parsed message alone: which
 * signed reply address it came back to, whether a machine sent it (an auto-reply, a bounce),
 * the text the person wrote above the quoted history, and the command that text gives.
 * Nothing here trusts the sender: authenticate.ts decides that.
 */
import { createHash } from 'node:crypto';
import EmailReplyParser from 'email-reply-parser';
import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';
import { checkReplyAddress, type ReplyClaims } from '../../activities/email-tokens';
import { acknowledgeSchema, addNoteSchema, escalateSchema, resolveSchema } from '../../workflows/messages';

/** The lengths the workflow takes (workflows/messages.ts), so a refusal can say which was too long. */
const LIMITS = {
  ackNote: acknowledgeSchema.shape.note.unwrap().maxLength ?? 2_000,
  reason: escalateSchema.shape.reason.maxLength ?? 4_000,
  summary: resolveSchema.shape.summary.maxLength ?? 10_000,
  note: addNoteSchema.shape.text.maxLength ?? 20_000,
};

export type ReplyCommand =
  | { kind: 'acknowledge'; note?: string }
  | { kind: 'escalate'; reason: string }
  | { kind: 'resolve'; summary: string }
  | { kind: 'note'; text: string }
  /** A command Baton cannot take as written (escalate without a reason, an empty reply). */
  | { kind: 'invalid'; reason: string };

/** The SMTP envelope, when Baton's own listener received the message. */
export interface Envelope {
  /** MAIL FROM; empty for the null sender `<>` (bounces, delivery notifications). */
  mailFrom: string;
  rcptTo: string[];
}

export type Reply =
  /** Sent by a machine: never acted on, never answered. */
  | { kind: 'ignored'; reason: string; incident?: string }
  /** Not sent to a reply address Baton signed. */
  | { kind: 'unaddressed'; reason: string }
  | {
      kind: 'reply';
      claims: ReplyClaims;
      /** The reply address the message came back to. */
      address: string;
      /** Whether the address is in the To or Cc header too (headers a DKIM signature covers). */
      addressInHeaders: boolean;
      /** The From addresses, in lower case: a reply that can act has exactly one. */
      from: string[];
      /** How many From header lines the message has. */
      fromHeaders: number;
      /** Derived from the Message-ID: a redelivered message is the same request. */
      requestId: string;
      messageId?: string;
      references: string[];
      subject: string;
      command: ReplyCommand;
    };

export interface ReplySettings {
  /** notifications.email.linkSecretEnv's value: it signed the reply addresses. */
  secret: string;
  /** notifications.email.replyDomain. */
  replyDomain: string;
}

/** Every value of a header, unfolded, in the order of the message. */
export function headerValues(mail: Pick<ParsedMail, 'headerLines'>, name: string): string[] {
  const key = name.toLowerCase();
  return mail.headerLines
    .filter((h) => h.key === key)
    .map((h) =>
      h.line
        .slice(h.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    );
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const flat = (list: EmailAddress[]): string[] =>
    list.flatMap((a) => (a.group ? flat(a.group) : a.address ? [a.address] : []));
  return (Array.isArray(field) ? field : field ? [field] : []).flatMap((f) => flat(f.value));
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The claims of a reply address on the reply domain, or undefined for any other address. */
export function checkAddress(address: string, settings: ReplySettings): ReplyClaims | undefined {
  if (!address.includes('@') || domainOf(address) !== settings.replyDomain.toLowerCase()) return undefined;
  return checkReplyAddress(address, settings.secret);
}

/** The envelope's recipients first (where the message was delivered), then To and Cc. */
export function findReplyAddress(
  mail: Pick<ParsedMail, 'to' | 'cc'>,
  envelope: Envelope | undefined,
  settings: ReplySettings,
): { address: string; claims: ReplyClaims; inHeaders: boolean } | undefined {
  const inHeaders = [...addressesOf(mail.to), ...addressesOf(mail.cc)];
  for (const address of [...(envelope?.rcptTo ?? []), ...inHeaders]) {
    const claims = checkAddress(address, settings);
    if (claims) {
      const lower = address.toLowerCase();
      return { address, claims, inHeaders: inHeaders.some((a) => a.toLowerCase() === lower) };
    }
  }
  return undefined;
}

const AUTO_SUBJECT =
  /^\s*(out of (the )?office|automatic reply|auto(matic)?[ -]?(reply|response)|autoreply|auto:|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[aá]tica|undeliver(able|ed)|delivery status notification|mail delivery (failed|failure|subsystem)|returned mail)/i;

/**
 * Why a machine sent this message (RFC 3834 Auto-Submitted, the de facto Precedence and
 * X-Auto* headers, mailing list headers, bounces, the usual auto-reply subjects), or undefined
 * when a person did. Auto-replies are never acted on and never answered, so that two
 * auto-responders cannot keep each other busy.
 */
export function autoReplyReason(
  mail: Pick<ParsedMail, 'headerLines' | 'subject' | 'from'>,
  envelope?: Envelope,
): string | undefined {
  if (envelope && envelope.mailFrom === '') return 'the envelope sender is empty (a bounce or notification)';
  const first = (name: string): string | undefined => headerValues(mail, name)[0];
  const autoSubmitted = first('auto-submitted');
  if (autoSubmitted !== undefined && !/^no\b/i.test(autoSubmitted)) {
    return `Auto-Submitted: ${autoSubmitted}`;
  }
  const precedence = first('precedence');
  if (precedence && /^(bulk|junk|list|auto_reply)\b/i.test(precedence)) return `Precedence: ${precedence}`;
  for (const name of ['X-Autoreply', 'X-Autorespond', 'List-Id', 'List-Unsubscribe']) {
    const value = first(name);
    if (value !== undefined) return `${name}: ${value}`;
  }
  const contentType = first('content-type');
  if (contentType && /^multipart\/report\b/i.test(contentType)) return 'a delivery or read report';
  const sender = addressesOf(mail.from)[0]?.toLowerCase() ?? '';
  if (/^(mailer-daemon|postmaster)@/.test(sender)) return `sent by ${sender}`;
  const subject = mail.subject ?? '';
  if (AUTO_SUBJECT.test(subject)) return `the subject says it is automatic ("${subject.slice(0, 80)}")`;
  return undefined;
}

/** Lines that start a quoted history the parser may have left visible. */
const HISTORY_START = [
  /^on\b.*\bwrote:$/i,
  /^-{2,}\s*(original|forwarded) message\s*-{2,}/i,
  /^_{10,}$/,
  /^>/,
];

function startsHistory(lines: string[], index: number): boolean {
  const line = lines[index]?.trim() ?? '';
  const next = (n: number): string => lines[index + n]?.trim() ?? '';
  if (HISTORY_START.some((start) => start.test(line))) return true;
  // "On Thu, 26 Nov 2026 at 10:00, Baton <baton@example.com>" then "wrote:" on the next line.
  if (/^on\b/i.test(line) && /^\S*\s*wrote:$/i.test(next(1))) return true;
  // Outlook's header block: "From: …" followed by "Sent: …", "Date: …", "To: …".
  return /^from:\s/i.test(line) && [1, 2, 3].some((n) => /^(sent|date|to|subject):\s/i.test(next(n)));
}

/**
 * What the person wrote: the text part, or for an HTML-only message mailparser's conversion
 * of the HTML (it renders <blockquote> history as "> " lines), with the quoted history and
 * the signature removed by email-reply-parser. What the parser leaves of a history ("On … wrote:"
 * split over two lines, Outlook's "From: … Sent: …" block) is cut here.
 */
export function visibleText(mail: Pick<ParsedMail, 'text'>): string {
  const text = (mail.text ?? '').replace(/\r\n?/g, '\n').replace(/\u00a0/g, ' ');
  const lines = new EmailReplyParser().read(text).getVisibleText().split('\n');
  const cut = lines.findIndex((_line, index) => startsHistory(lines, index));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n').trim();
}

const COMMAND = /^(ack|acknowledge|escalate|resolve)(?=$|[\s:.!,;])[\s:.!,;]*(.*)$/i;

function tooLong(what: string, limit: number): ReplyCommand {
  return { kind: 'invalid', reason: `${what} is longer than ${limit} characters` };
}

/**
 * The command a reply gives on its first non-empty line, case-insensitive: `ack` or
 * `acknowledge` (what follows is the acknowledgement's note), `escalate <reason>`,
 * `resolve <summary>`; the lines below continue the reason or summary. Anything else is a
 * note with the whole visible text.
 */
export function parseCommand(visible: string): ReplyCommand {
  const lines = visible.replace(/\r\n?/g, '\n').split('\n');
  const start = lines.findIndex((line) => line.trim() !== '');
  if (start < 0) return { kind: 'invalid', reason: 'the reply has no text above the quoted message' };
  const match = COMMAND.exec(lines[start]?.trim() ?? '');
  if (!match) {
    const text = visible.trim();
    return { kind: 'note', text: text.length > LIMITS.note ? `${text.slice(0, LIMITS.note - 2)} …` : text };
  }
  const word = (match[1] ?? '').toLowerCase();
  const rest = [match[2] ?? '', ...lines.slice(start + 1)].join('\n').trim();
  if (word === 'ack' || word === 'acknowledge') {
    if (rest.length > LIMITS.ackNote) return tooLong('the note after ack', LIMITS.ackNote);
    return rest ? { kind: 'acknowledge', note: rest } : { kind: 'acknowledge' };
  }
  if (word === 'escalate') {
    if (!rest) return { kind: 'invalid', reason: 'escalate needs a reason: write "escalate <why>"' };
    if (rest.length > LIMITS.reason) return tooLong('the reason', LIMITS.reason);
    return { kind: 'escalate', reason: rest };
  }
  if (!rest) return { kind: 'invalid', reason: 'resolve needs a summary: write "resolve <what fixed it>"' };
  if (rest.length > LIMITS.summary) return tooLong('the summary', LIMITS.summary);
  return { kind: 'resolve', summary: rest };
}

/**
 * One request id per message: from its Message-ID, or from its bytes when it has none. A
 * redelivered message is the same step, which the workflow takes once.
 */
export function requestIdOf(messageId: string | undefined, raw: Buffer | string): string {
  const hash = createHash('sha256');
  if (messageId?.trim()) hash.update(`message-id\u0000${messageId.trim()}`);
  else hash.update('raw\u0000').update(raw);
  return `email-${hash.digest('hex').slice(0, 24)}`;
}

function referencesOf(mail: Pick<ParsedMail, 'references'>): string[] {
  const { references } = mail;
  return Array.isArray(references) ? references : references ? [references] : [];
}

/** Reads a parsed message: a reply to act on, one to ignore, or one not sent to a reply address. */
export function readReply(
  mail: ParsedMail,
  raw: Buffer | string,
  envelope: Envelope | undefined,
  settings: ReplySettings,
): Reply {
  const found = findReplyAddress(mail, envelope, settings);
  const automatic = autoReplyReason(mail, envelope);
  if (automatic)
    return { kind: 'ignored', reason: automatic, ...(found ? { incident: found.claims.incident } : {}) };
  if (!found) return { kind: 'unaddressed', reason: 'not sent to a reply address Baton signed' };
  return {
    kind: 'reply',
    claims: found.claims,
    address: found.address,
    addressInHeaders: found.inHeaders,
    from: addressesOf(mail.from).map((a) => a.toLowerCase()),
    fromHeaders: mail.headerLines.filter((h) => h.key === 'from').length,
    requestId: requestIdOf(mail.messageId, raw),
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    references: referencesOf(mail),
    subject: mail.subject ?? '',
    command: parseCommand(visibleText(mail)),
  };
}
