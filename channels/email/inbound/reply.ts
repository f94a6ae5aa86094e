/**
 * What a reply to one of Baton's emails says, read from the parsed message alone: which
 * signed reply address it came back to, whether a machine sent it (an auto-reply, a bounce),
 * the text the person wrote above the quoted history, and the command that text gives.
 * Nothing here trusts the sender: authenticate.ts decides that, and act.ts reads the command
 * (commandOf) only of a reply that passed.
 *
 * Everything here runs on what anyone can send, so it takes time in proportion to the
 * message: the text read for a command is cut to MAX_TEXT first (boundedText), and every
 * pattern below looks at one line, anchored at its start, with no two quantifiers that can
 * match the same characters. (email-reply-parser, which this used to hand the text to, takes
 * seconds on 20 KB of blank lines, and minutes on 64 KB of some single lines of text.)
 */
import { createHash } from 'node:crypto';
import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';
import { checkReplyAddress, type ReplyClaims } from '../tokens';
import {
  acknowledgeSchema,
  addNoteSchema,
  confirmTrainingSchema,
  escalateSchema,
  resolveSchema,
} from '../../../workflows/incident/messages';

/** The lengths the workflow takes (workflows/incident/messages.ts), so a refusal can say which was too long. */
const LIMITS = {
  ackNote: acknowledgeSchema().shape.note.unwrap().maxLength ?? 2_000,
  reason: escalateSchema().shape.reason.maxLength ?? 4_000,
  summary: resolveSchema().shape.summary.maxLength ?? 10_000,
  note: addNoteSchema().shape.text.maxLength ?? 20_000,
  trainingNote: confirmTrainingSchema().shape.note.unwrap().maxLength ?? 2_000,
};

export type ReplyCommand =
  | { kind: 'acknowledge'; note?: string }
  | { kind: 'escalate'; reason: string }
  | { kind: 'resolve'; summary: string }
  /** The sender confirms their own training on the incident. */
  | { kind: 'confirmTraining'; note?: string }
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
      /**
       * Whether the address is in the To or Cc header too. In strict mode authenticate.ts
       * also asks that a DKIM signature covers that header.
       */
      addressInHeaders: boolean;
      /** The From addresses, in lower case: a reply that can act has exactly one. */
      from: string[];
      /** How many From header lines the message has. */
      fromHeaders: number;
      /**
       * Headers RFC 5322 allows once (From, To, Cc, Message-ID, Subject, Date) that the message
       * has more than once, in lower case. Such a message is refused: DKIM verifies the last
       * copy of a header and mailparser reads the first (or all), so a copy added on top of a
       * signed message would be read and never checked.
       */
      repeatedHeaders: string[];
      /**
       * Derived from the Message-ID: a redelivered message is the same request. In strict mode
       * authenticate.ts gives the request id instead, from the Message-ID the signature covers.
       */
      requestId: string;
      messageId?: string;
      references: string[];
      subject: string;
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

/** The headers a message may have once only (RFC 5322 section 3.6) that Baton reads. */
export const SINGLE_HEADERS = ['from', 'to', 'cc', 'message-id', 'subject', 'date'] as const;

/** The headers of SINGLE_HEADERS the message has more than once. */
export function repeatedHeaders(mail: Pick<ParsedMail, 'headerLines'>): string[] {
  const counts = new Map<string, number>();
  for (const { key } of mail.headerLines) counts.set(key, (counts.get(key) ?? 0) + 1);
  return SINGLE_HEADERS.filter((name) => (counts.get(name) ?? 0) > 1);
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

/**
 * The most of a message's text read for a command. The longest text a command carries is a
 * note of 20,000 characters (workflows/incident/messages.ts); what the person wrote comes first, and
 * the quoted history below it need not be read to its end.
 */
export const MAX_TEXT = 64 * 1024;

/**
 * The text a command is read from: the text part (or mailparser's conversion of an HTML-only
 * message, which renders <blockquote> history as "> " lines), cut to MAX_TEXT before anything
 * else looks at it, with line ends and no-break spaces made plain.
 */
export function boundedText(text: string | undefined): string {
  let cut = (text ?? '').slice(0, MAX_TEXT);
  const last = cut.charCodeAt(cut.length - 1);
  // Not half of a character outside the Basic Multilingual Plane.
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut.replace(/\r\n?/g, '\n').replace(/\u00a0/g, ' ');
}

/** The words that open an "On <date>, <name> wrote:" line, in the languages mail clients write it in. */
const ATTRIBUTION_START = /^(on|le|el|il|em|am|den|op|pe|dnia|w dniu|in data)\s/;
/** The verbs that end it ("… wrote:", "… a écrit :"). */
const ATTRIBUTION_END = [
  'wrote',
  'écrit',
  'escribió',
  'scritto',
  'escreveu',
  'kirjoitti',
  'pisze',
  'napisał',
  'napisała',
];
/** The verbs followed by the name ("Am … schrieb Baton <baton@example.com>:"). */
const ATTRIBUTION_MIDDLE = [' schrieb ', ' skrev ', ' schreef '];

/** Whether text ends with a word: "…> wrote" and "…>wrote" do, "…rewrote" does not. */
function endsWithWord(text: string, word: string): boolean {
  return text.endsWith(word) && !/\p{L}/u.test(text.charAt(text.length - word.length - 1));
}

/** An attribution line (lower case, trimmed), or two joined: "On …, Baton <…> wrote:". */
function isAttribution(line: string): boolean {
  if (!line.endsWith(':') || !ATTRIBUTION_START.test(line)) return false;
  const body = line.slice(0, -1).trimEnd();
  return (
    ATTRIBUTION_END.some((verb) => endsWithWord(body, verb)) ||
    ATTRIBUTION_MIDDLE.some((verb) => body.includes(verb))
  );
}

/** The separators of a forwarded or quoted message, without their dashes ("-----Original Message-----"). */
const SEPARATORS = new Set([
  'original message',
  'forwarded message',
  'ursprüngliche nachricht',
  "message d'origine",
  'oprindelig besked',
  'mensaje original',
  'messaggio originale',
]);

function isSeparator(line: string): boolean {
  if (!line.startsWith('--')) return false;
  let start = 0;
  let end = line.length;
  while (start < end && (line[start] === '-' || line[start] === ' ')) start += 1;
  while (end > start && (line[end - 1] === '-' || line[end - 1] === ' ')) end -= 1;
  return SEPARATORS.has(line.slice(start, end));
}

/** Outlook's header block: "From: …" (or its translations) then "Sent: …", "To: …" and so on. */
const BLOCK_FROM = /^(from|von|de|da|van|från|fra)\s?:\s/;
const BLOCK_NEXT =
  /^(sent|date|to|cc|subject|gesendet|datum|an|betreff|envoyé|à|objet|enviado|para|asunto|inviato|a|oggetto|verzonden|aan|onderwerp|skickat|till|ämne|sendt|til|emne)\s?:\s/;

/** Lines that start a quoted history the person's text sits above. */
function startsHistory(lines: string[], index: number): boolean {
  const line = lines[index]?.trim().toLowerCase() ?? '';
  const next = (n: number): string => lines[index + n]?.trim().toLowerCase() ?? '';
  if (line.startsWith('>') || /^_{10,}$/.test(line) || isSeparator(line)) return true;
  if (isAttribution(line)) return true;
  // "On Thu, 26 Nov 2026 at 10:00, Baton <baton@example.com>" then "wrote:" on the next line.
  if (ATTRIBUTION_START.test(line) && isAttribution(`${line} ${next(1)}`)) return true;
  return BLOCK_FROM.test(line) && [1, 2, 3].some((n) => BLOCK_NEXT.test(next(n)));
}

/** What mobile clients add under the text ("Sent from my iPhone"), as the line starts. */
const SENT_FROM = [
  'Sent from ',
  'Get Outlook for ',
  'Envoyé de mon ',
  'Envoyé depuis ',
  'Enviado desde ',
  'Von meinem ',
  'Gesendet von ',
  'Verzonden vanaf ',
  'Verstuurd vanaf ',
  'Sendt fra ',
];

/** Lines that start a signature: a separator ("-- "), a "Sent from …" line, a closing ("Regards,"). */
function startsSignature(raw: string): boolean {
  if (raw === '-- ') return true;
  const line = raw.trim();
  if (/^(-{2,4}|_{2,4}|\+{2,4}|={2,4})$/.test(line)) return true;
  if (line.length > 80) return false;
  if (SENT_FROM.some((start) => line.startsWith(start))) return true;
  return /^((best|kind|warm|warmest|many)\s)?(regards|cheers|best wishes|cordialement)[,.!]*$/i.test(line);
}

/**
 * What the person wrote: the bounded text above the first line that starts a quoted history
 * ("On … wrote:", split over two lines or not, and its translations; "> " lines; Outlook's
 * "From: … Sent: …" block; "-----Original Message-----") or a signature.
 */
export function visibleText(mail: Pick<ParsedMail, 'text'>): string {
  const lines = boundedText(mail.text).split('\n');
  const cut = lines.findIndex((line, index) => startsHistory(lines, index) || startsSignature(line));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n').trim();
}

/** The command word, and the separators after it (what follows is the rest of the line). */
const COMMAND = /^(ack|acknowledge|escalate|resolve|trained)(?=$|[\s:.!,;])[\s:.!,;]*/i;

function tooLong(what: string, limit: number): ReplyCommand {
  return { kind: 'invalid', reason: `${what} is longer than ${limit} characters` };
}

/**
 * The command a reply gives on its first non-empty line, case-insensitive: `ack` or
 * `acknowledge` (what follows is the acknowledgement's note), `escalate <reason>`,
 * `resolve <summary>`, `trained` (what follows is a note on the sender's training); the
 * lines below continue the note, reason or summary. Anything else is a note with the whole
 * visible text.
 */
export function parseCommand(visible: string): ReplyCommand {
  const lines = visible.replace(/\r\n?/g, '\n').split('\n');
  const start = lines.findIndex((line) => line.trim() !== '');
  if (start < 0) return { kind: 'invalid', reason: 'the reply has no text above the quoted message' };
  const first = lines[start]?.trim() ?? '';
  const match = COMMAND.exec(first);
  if (!match) {
    const text = visible.trim();
    return { kind: 'note', text: text.length > LIMITS.note ? `${text.slice(0, LIMITS.note - 2)} …` : text };
  }
  const word = (match[1] ?? '').toLowerCase();
  const rest = [first.slice(match[0].length), ...lines.slice(start + 1)].join('\n').trim();
  if (word === 'ack' || word === 'acknowledge') {
    if (rest.length > LIMITS.ackNote) return tooLong('the note after ack', LIMITS.ackNote);
    return rest ? { kind: 'acknowledge', note: rest } : { kind: 'acknowledge' };
  }
  if (word === 'trained') {
    if (rest.length > LIMITS.trainingNote) return tooLong('the note after trained', LIMITS.trainingNote);
    return rest ? { kind: 'confirmTraining', note: rest } : { kind: 'confirmTraining' };
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
  // Spaces as DKIM's relaxed canonicalization sees them: a signed value can be refolded.
  const id = messageId?.replace(/\s+/g, ' ').trim();
  if (id) hash.update(`message-id\u0000${id}`);
  else hash.update('raw\u0000').update(raw);
  return `email-${hash.digest('hex').slice(0, 24)}`;
}

function referencesOf(mail: Pick<ParsedMail, 'references'>): string[] {
  const { references } = mail;
  return Array.isArray(references) ? references : references ? [references] : [];
}

/**
 * Reads a parsed message's headers: a reply to authenticate, one to ignore, or one not sent to
 * a reply address. The body is not read here: commandOf reads it once the reply has passed.
 */
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
    repeatedHeaders: repeatedHeaders(mail),
    requestId: requestIdOf(mail.messageId, raw),
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    references: referencesOf(mail),
    subject: mail.subject ?? '',
  };
}

/** The command of a reply that passed authentication: its visible text, read. */
export function commandOf(mail: Pick<ParsedMail, 'text'>): ReplyCommand {
  return parseCommand(visibleText(mail));
}
