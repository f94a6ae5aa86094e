/**
 * Baton's own SMTP listener for replies (notifications.email.inbound): the MX of the reply
 * domain. It takes mail for signed reply addresses only, refused at RCPT TO otherwise (550),
 * so it relays nothing; one reply address per message (a second gets 452, and the sending
 * MTA delivers it in another transaction). No AUTH (it is an MX) and no STARTTLS (no
 * certificate is configured: put a TLS-terminating MTA in front where that matters).
 *
 * The answer to DATA comes once the message has been handled: 250 when it was taken, refused
 * for good or ignored; 451 when it could not be handled now (Temporal unavailable, a DNS
 * failure), so that the sending MTA retries; 552 past maxMessageBytes.
 *
 * Each remote address (an IPv6 /64 as one) gets a few connections at once, and a number of
 * connections and of messages (MAIL FROM) a minute (PER_ADDRESS): past them, a connection is
 * refused with 421 and a message with 450, both of which a sending MTA retries later. So one
 * address cannot hold all of maxConnections, and a connection that stops talking is closed
 * after IDLE_TIMEOUT_MS (421). Behind a front MTA every message comes from its address, so a
 * burst of replies waits a minute or so rather than being lost.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { addressGroup } from '../../../api/client-address';
import { handleInbound, inboundContext, type InboundDeps, type InboundOutcome } from './act';
import { WindowLimiter } from './limits';
import { checkAddress } from './reply';

export interface InboundListener {
  host: string;
  /** The port it listens on: the one bound when the configuration says 0. */
  port: number;
  /** Stops taking connections; open ones get closeTimeoutMs to finish. */
  close(): Promise<void>;
}

/** What one remote address may do at once and in a window. */
export interface PerAddressLimits {
  /** Connections open at the same time. */
  concurrent: number;
  connections: number;
  /** Transactions (MAIL FROM), each one message. */
  messages: number;
  windowMs: number;
}

/**
 * Three connections at once: a sending MTA delivers a reply or two per connection, and retries
 * a 421 later, while the other 17 of the default 20 stay for everyone else.
 */
export const PER_ADDRESS: PerAddressLimits = {
  concurrent: 3,
  connections: 60,
  messages: 30,
  windowMs: 60_000,
};

/**
 * How long a client may stay silent while Baton waits for its next command or more of its
 * message (smtp-server's own default is 60 s; it does not count while Baton is answering). A
 * sending MTA talks without pauses; a client that holds a connection open without a word is
 * the one to close early.
 */
export const IDLE_TIMEOUT_MS = 30_000;

export interface InboundListenerDeps extends InboundDeps {
  /** How long close() lets open connections finish before it ends them. */
  closeTimeoutMs?: number;
  /** PER_ADDRESS by default, field by field. */
  perAddress?: Partial<PerAddressLimits>;
  /** IDLE_TIMEOUT_MS by default. */
  idleTimeoutMs?: number;
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; SPF wants a.b.c.d. */
function plainIp(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/** The connections open now, per address group, of those onConnect let in. */
class OpenConnections {
  private readonly byAddress = new Map<string, number>();
  private readonly sessions = new Map<string, string>();

  constructor(private readonly limit: number) {}

  /** Whether the address may open one more. */
  mayOpen(address: string): boolean {
    return (this.byAddress.get(address) ?? 0) < this.limit;
  }

  opened(session: string, address: string): void {
    this.sessions.set(session, address);
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  /** smtp-server reports every connection closing, refused ones too: only those let in count. */
  closed(session: string): void {
    const address = this.sessions.get(session);
    if (address === undefined) return;
    this.sessions.delete(session);
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }
}

function dataAnswer(outcome: InboundOutcome): { error?: Error; message?: string } {
  if (outcome.outcome === 'deferred') {
    return { error: smtpError(451, `4.3.0 ${outcome.reason}`) };
  }
  return { message: `2.0.0 message handled (${outcome.outcome})` };
}

export async function startInboundListener(deps: InboundListenerDeps): Promise<InboundListener> {
  const inbound = deps.config.notifications.email?.inbound;
  if (!inbound) throw new Error('notifications.email.inbound is not configured');
  const ctx = inboundContext(deps);
  const { log } = deps;
  const perAddress = { ...PER_ADDRESS, ...deps.perAddress };
  const open = new OpenConnections(perAddress.concurrent);
  const connections = new WindowLimiter({ limit: perAddress.connections, windowMs: perAddress.windowMs });
  const messages = new WindowLimiter({ limit: perAddress.messages, windowMs: perAddress.windowMs });
  // One log line per address and window says it is being held back, not one per attempt.
  const warned = new WindowLimiter({ limit: 1, windowMs: perAddress.windowMs });

  const onData = (
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null, message?: string) => void,
  ): void => {
    const chunks: Buffer[] = [];
    let answered = false;
    const done = (err?: Error | null, message?: string): void => {
      if (answered) return;
      answered = true;
      callback(err, message);
    };
    stream.on('data', (chunk: Buffer) => {
      // Past the limit, keep reading (the client is still sending) but keep nothing.
      if (!stream.sizeExceeded) chunks.push(chunk);
    });
    stream.once('error', (err) => {
      log.warn({ err, session: session.id }, 'an inbound email stream failed');
      done(smtpError(451, '4.3.0 the message could not be received; try again later'));
    });
    stream.once('end', () => {
      if (stream.sizeExceeded) {
        done(smtpError(552, `5.3.4 the message is larger than ${inbound.maxMessageBytes} bytes`));
        return;
      }
      const { mailFrom, rcptTo } = session.envelope;
      handleInbound(ctx, {
        raw: Buffer.concat(chunks),
        smtp: {
          mailFrom: mailFrom ? mailFrom.address : '',
          rcptTo: rcptTo.map((r) => r.address),
          remoteAddress: plainIp(session.remoteAddress),
          helo: session.hostNameAppearsAs || '',
        },
      })
        .then((outcome) => {
          log.info(
            { session: session.id, remoteAddress: session.remoteAddress, ...outcome },
            'inbound email handled',
          );
          const { error, message } = dataAnswer(outcome);
          done(error ?? null, message);
        })
        .catch((err: unknown) => {
          // handleInbound does not throw; this guards the answer itself.
          log.error({ err }, 'an inbound email failed');
          done(smtpError(451, '4.3.0 Baton failed to handle the message; try again later'));
        });
    });
  };

  const server = new SMTPServer({
    name: ctx.replyDomain,
    banner: 'Baton replies',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: inbound.maxMessageBytes,
    maxClients: inbound.maxConnections,
    maxRecipients: 1,
    logger: false,
    // Nothing reads the client's reverse name; SPF checks the address itself.
    disableReverseLookup: true,
    closeTimeout: deps.closeTimeoutMs ?? 10_000,
    socketTimeout: deps.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
    onConnect(session, callback) {
      const address = addressGroup(session.remoteAddress);
      if (!open.mayOpen(address)) {
        if (warned.take(`concurrent ${address}`)) {
          log.warn(
            { remoteAddress: address, concurrent: perAddress.concurrent },
            'inbound SMTP connections refused: too many open at once from this address',
          );
        }
        callback(smtpError(421, '4.7.0 too many connections at once from your address; try again later'));
        return;
      }
      if (!connections.take(address)) {
        if (warned.take(`connections ${address}`)) {
          log.warn(
            { remoteAddress: address },
            'inbound SMTP connections refused: too many from this address',
          );
        }
        callback(smtpError(421, '4.7.0 too many connections from your address; try again later'));
        return;
      }
      open.opened(session.id, address);
      callback();
    },
    onClose(session) {
      open.closed(session.id);
    },
    onMailFrom(_address, session, callback) {
      const address = addressGroup(session.remoteAddress);
      if (messages.take(address)) {
        callback();
        return;
      }
      if (warned.take(`messages ${address}`)) {
        log.warn({ remoteAddress: address }, 'inbound emails deferred: too many from this address');
      }
      callback(smtpError(450, '4.7.1 too many messages from your address; try again later'));
    },
    onRcptTo(address, _session, callback) {
      try {
        if (checkAddress(address.address, ctx)) {
          callback();
          return;
        }
        callback(smtpError(550, '5.1.1 no such mailbox here'));
      } catch (err) {
        log.error({ err }, 'an inbound recipient could not be checked');
        callback(smtpError(451, '4.3.0 try again later'));
      }
    },
    onData(stream, session, callback) {
      try {
        onData(stream, session, callback);
      } catch (err) {
        log.error({ err }, 'an inbound email failed');
        stream.resume();
        callback(smtpError(451, '4.3.0 Baton failed to handle the message; try again later'));
      }
    },
  });
  // A client that misbehaves (a reset connection, a protocol error) ends its connection, not Baton.
  server.on('error', (err) => log.warn({ err }, 'inbound SMTP connection error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(inbound.port, inbound.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  log.info({ host: inbound.host, port, authentication: ctx.mode }, 'listening for email replies');

  let closing: Promise<void> | undefined;
  return {
    host: inbound.host,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
