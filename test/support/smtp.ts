/**
 * A real SMTP server (the `smtp-server` package) on loopback that keeps every message it
 * accepts: the envelope as the client gave it and the headers and text body parsed from the
 * raw DATA. The parser is deliberately small: it handles what a single-part text message
 * carries (folded headers, RFC 2047 encoded words, 7bit / 8bit / quoted-printable / base64
 * bodies) and refuses anything else rather than guess.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** MAIL FROM, as given in the envelope. */
  from: string;
  /** RCPT TO, as given in the envelope: who the message was actually delivered to. */
  to: string[];
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: Record<string, string>;
  subject: string;
  /** The decoded text body. */
  text: string;
  raw: string;
  /** When the server accepted it (answered the end of DATA), in epoch milliseconds. */
  acceptedAt?: number;
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: ReceivedMail[];
  /** Connections clients opened (one per send attempt: nodemailer does not pool here). */
  readonly connections: number;
  /** Recipients refused with `refuse.code`. */
  readonly refused: number;
  /** Stops listening; a client that connects afterwards has its connection refused. */
  close(): Promise<void>;
}

/** RFC 2047 encoded words (=?charset?B|Q?...?=), as nodemailer writes non-ASCII headers. */
function decodeWords(value: string): string {
  // Whitespace between two adjacent encoded words is not part of the text.
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, charset: string, enc: string, data) => {
    if (!/^utf-?8$/i.test(charset) && !/^us-ascii$/i.test(charset)) {
      throw new Error(`unexpected header charset ${charset}`);
    }
    const bytes =
      enc.toUpperCase() === 'B'
        ? Buffer.from(data as string, 'base64')
        : qpBytes((data as string).replace(/_/g, ' '));
    return bytes.toString('utf8');
  });
}

function qpBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(char, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** Quoted-printable body: soft line breaks (=CRLF) joined, =XX octets decoded. */
function decodeQuotedPrintable(body: string): Buffer {
  return qpBytes(body.replace(/=\r?\n/g, ''));
}

export function parseMail(raw: string): { headers: Record<string, string>; text: string } {
  const split = raw.search(/\r?\n\r?\n/);
  if (split < 0) throw new Error('message without a header/body separator');
  const head = raw.slice(0, split);
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');

  const headers: Record<string, string> = {};
  // Unfold: a line that starts with whitespace continues the previous header.
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${line}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }

  const contentType = (headers['content-type'] ?? 'text/plain').toLowerCase();
  if (!contentType.startsWith('text/plain')) {
    throw new Error(`expected a single text/plain part, got ${contentType}`);
  }
  const charset = /charset="?([^";\s]+)"?/.exec(contentType)?.[1] ?? 'us-ascii';
  if (!/^(utf-?8|us-ascii)$/.test(charset)) throw new Error(`unexpected body charset ${charset}`);

  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  // A message ends with a line break (nodemailer adds one when the text has none), so the
  // last one ends the final line rather than being part of the text.
  const lines = body.replace(/\r?\n$/, '');
  let bytes: Buffer;
  if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(lines);
  else if (encoding === 'base64') bytes = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  else if (encoding === '7bit' || encoding === '8bit') bytes = Buffer.from(lines, 'utf8');
  else throw new Error(`unexpected transfer encoding ${encoding}`);

  // SMTP carries lines ending in CRLF; the text was written with LF.
  const text = bytes.toString('utf8').replace(/\r\n/g, '\n');
  return { headers, text };
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
  const server = new SMTPServer({
    onClose(session) {
      gone.add(session.id);
    },
    authOptional: true,
    // Plain SMTP on loopback: without STARTTLS on offer nodemailer does not try to upgrade.
    disabledCommands: ['STARTTLS'],
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
        const raw = Buffer.concat(chunks).toString('utf8');
        let mail: ReceivedMail;
        try {
          const { headers, text } = parseMail(raw);
          const { mailFrom, rcptTo } = session.envelope;
          mail = {
            from: mailFrom ? mailFrom.address : '',
            to: rcptTo.map((r) => r.address),
            headers,
            subject: decodeWords(headers.subject ?? ''),
            text,
            raw,
          };
        } catch (err) {
          // Refused at the SMTP level, so a message the test cannot read fails loudly.
          later(() => callback(err as Error));
          return;
        }
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
    get connections() {
      return connections;
    },
    get refused() {
      return refused;
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The messages about one incident (Baton tags each with an X-Baton-Incident header). */
export function mailAbout(messages: ReceivedMail[], incidentId: string): ReceivedMail[] {
  return messages.filter((m) => m.headers['x-baton-incident'] === incidentId);
}
