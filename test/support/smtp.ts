/**
 * A real SMTP server (the `smtp-server` package) on loopback that keeps every message it
 * accepts: the envelope as the client gave it, and the headers, text, HTML and calendar parts
 * parsed from the raw DATA by mailparser, as a mail client would read them. A message it
 * cannot parse is refused at the end of DATA, so that a test fails loudly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { simpleParser, type Attachment, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** MAIL FROM, as given in the envelope. */
  from: string;
  /** RCPT TO, as given in the envelope: who the message was actually delivered to. */
  to: string[];
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: Record<string, string>;
  subject: string;
  /** The decoded text body (the text/plain part of a multipart message). */
  text: string;
  /** The decoded HTML part, if the message has one. */
  html?: string;
  /** The iCalendar content of a text/calendar part (or an application/ics attachment). */
  calendar?: string;
  /** Every part that is neither the text nor the HTML body, as mailparser gives them. */
  attachments: Attachment[];
  raw: string;
  /** When the server accepted it (answered the end of DATA), in epoch milliseconds. */
  acceptedAt?: number;
}

/** An AUTH command the server received: who logged in, and whether the session was in TLS. */
export interface AuthAttempt {
  username: string;
  secure: boolean;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Every AUTH the server received (it accepts any password). */
  authAttempts: AuthAttempt[];
  /** With `startTls`: the PEM file of the server's self-signed certificate, to trust as a CA. */
  caFile?: string;
  /** Connections clients opened (one per send attempt: nodemailer does not pool here). */
  readonly connections: number;
  /** Recipients refused with `refuse.code`. */
  readonly refused: number;
  /** Stops listening; a client that connects afterwards has its connection refused. */
  close(): Promise<void>;
}

/** Header names in lower case, each with its first value as written (unfolded, not decoded). */
function headersOf(parsed: ParsedMail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const name = key.toLowerCase();
    if (name in headers) continue;
    const colon = line.indexOf(':');
    headers[name] = line
      .slice(colon + 1)
      .replace(/\r?\n(?=[ \t])/g, '')
      .trim();
  }
  return headers;
}

const contentType = (a: Attachment): string => a.contentType.toLowerCase();

/** Reads a message as a mail client would (mailparser): multipart, encodings, encoded words. */
export async function parseMail(
  message: Buffer | string,
): Promise<Omit<ReceivedMail, 'from' | 'to' | 'acceptedAt'>> {
  // The bytes, not a string of them: an 8bit part in another charset decodes as its header says.
  const parsed = await simpleParser(message, { skipTextToHtml: true, skipImageLinks: true });
  const headers = headersOf(parsed);
  // A single-part message ends with a line break (nodemailer adds one when the text has none),
  // which ends the final line rather than being part of the text. In a multipart message the
  // line break before a boundary belongs to the boundary, and mailparser leaves it out already.
  const multipart = (headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
  const text = (parsed.text ?? '').replace(/\r\n/g, '\n');
  // The invitation goes both as a text/calendar alternative and as an .ics attachment.
  const calendar =
    parsed.attachments.find((a) => contentType(a) === 'text/calendar') ??
    parsed.attachments.find((a) => contentType(a) === 'application/ics');
  return {
    headers,
    subject: parsed.subject ?? '',
    text: multipart ? text : text.replace(/\n$/, ''),
    ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
    ...(calendar ? { calendar: calendar.content.toString('utf8') } : {}),
    attachments: parsed.attachments,
    raw: Buffer.isBuffer(message) ? message.toString('utf8') : message,
  };
}

export interface SmtpSinkOptions {
  /**
   * A slow server: the greeting and the answers to MAIL FROM, RCPT TO and the end of DATA
   * each come this much later. Each wait is short of any idle timeout, but together they
   * keep one message busy for four times as long.
   */
  replyDelayMs?: number;
  /**
   * The first `times` recipients are refused at RCPT TO with this reply: 451 (greylisting, try
   * later) is transient, 550 (no such mailbox) permanent. Later ones are accepted.
   */
  refuse?: { code: number; times: number; message?: string };
  /**
   * The answer to the end of DATA (the moment a message is accepted) comes this much later,
   * and `onDataEnd` hears that a message is waiting for it. A client that goes away before
   * the answer never had its message accepted, and it is not kept: what an MTA does.
   */
  acceptDelayMs?: number;
  onDataEnd?: (mail: ReceivedMail) => void;
  /**
   * Offer STARTTLS, with a self-signed certificate for 127.0.0.1 made for this server (its
   * file is `caFile`). Without it the server speaks plain SMTP only, and still offers AUTH
   * over it, as a server behind an attacker who strips STARTTLS would seem to.
   */
  startTls?: boolean;
}

/** A self-signed certificate for 127.0.0.1, made with openssl for one server. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer; certFile: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-smtp-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
      .concat(['-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1'])
      .concat(['-addext', 'subjectAltName=IP:127.0.0.1']),
    { stdio: 'pipe' },
  );
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile, dir };
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const delayMs = options.replyDelayMs ?? 0;
  let connections = 0;
  let refused = 0;
  const later = (reply: () => void): void => {
    if (delayMs <= 0) reply();
    else setTimeout(reply, delayMs).unref();
  };
  const gone = new Set<string>();
  const authAttempts: AuthAttempt[] = [];
  const tls = options.startTls ? selfSignedCertificate() : undefined;
  const server = new SMTPServer({
    onClose(session) {
      gone.add(session.id);
    },
    authOptional: true,
    onAuth(auth, session, callback) {
      authAttempts.push({ username: auth.username ?? '', secure: session.secure });
      callback(null, { user: auth.username ?? '' });
    },
    ...(tls
      ? { key: tls.key, cert: tls.cert }
      : {
          // Plain SMTP on loopback: a client that does not require TLS sends as it is, AUTH too.
          disabledCommands: ['STARTTLS'],
          allowInsecureAuth: true,
        }),
    logger: false,
    closeTimeout: 1_000,
    onConnect(_session, callback) {
      connections += 1;
      later(() => callback());
    },
    onMailFrom(_address, _session, callback) {
      later(() => callback());
    },
    onRcptTo(_address, _session, callback) {
      const { refuse } = options;
      if (refuse && refused < refuse.times) {
        refused += 1;
        const err = Object.assign(
          new Error(refuse.message ?? 'Requested action not taken, try again later'),
          {
            responseCode: refuse.code,
          },
        );
        later(() => callback(err));
        return;
      }
      later(() => callback());
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => later(() => callback(err)));
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        parseMail(Buffer.concat(chunks)).then(
          (parsed) => {
            const mail: ReceivedMail = {
              from: mailFrom ? mailFrom.address : '',
              to: rcptTo.map((r) => r.address),
              ...parsed,
            };
            // Kept when it is accepted, the moment the client hears so.
            const accept = (): void => {
              if (gone.has(session.id)) return;
              messages.push({ ...mail, acceptedAt: Date.now() });
              callback();
            };
            if (options.acceptDelayMs) {
              options.onDataEnd?.(mail);
              setTimeout(() => later(accept), options.acceptDelayMs).unref();
            } else later(accept);
          },
          // Refused at the SMTP level, so a message the test cannot read fails loudly.
          (err: unknown) => later(() => callback(err instanceof Error ? err : new Error(String(err)))),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  let closed = false;

  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    ...(tls ? { caFile: tls.certFile } : {}),
    get connections() {
      return connections;
    },
    get refused() {
      return refused;
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      if (tls) rmSync(tls.dir, { recursive: true, force: true });
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The messages about one incident (Baton tags each with an X-Baton-Incident header). */
export function mailAbout(messages: ReceivedMail[], incidentId: string): ReceivedMail[] {
  return messages.filter((m) => m.headers['x-baton-incident'] === incidentId);
}
