/**
 * Whether a reply may act as the responder its reply address names. The checks:
 *
 * (a) the reply address is one Baton signed (reply.ts found its claims);
 * (b) the message has one From, To, Cc, Message-ID, Subject and Date header at most, and its
 *     one From address is that responder's configured email (case-insensitive);
 * (c) in `strict` mode, the responder's domain vouches for this message, sent to this reply
 *     address: either
 *     - a DKIM signature passes, aligned with the From domain, with no l= tag (all of the
 *       body signed), that covers the From header, the To or Cc header that holds the reply
 *       address, and the Message-ID (the request id comes from that signed Message-ID); or
 *     - on Baton's SMTP listener only, SPF passes for an envelope sender aligned with the
 *       From domain, and the message was delivered (RCPT TO) to the reply address.
 *   DMARC passing is not enough on its own: it passes on an aligned signature whatever that
 *   signature covers, or on SPF, which the provider route cannot check.
 * `token-and-sender` stops after (b).
 *
 * Why the signature must cover To and Message-ID: the responder's signed reply to incident A
 * is otherwise a reusable credential. Sent again to incident B's reply address, or with a new
 * Message-ID on top (a new request id), it would act again. Each of those headers appears once
 * (b), so the copy that was signed is the copy that is read.
 *
 * Alignment here is relaxed in a simple way: the two domains are equal, or one is a
 * subdomain of the other (a suffix check on whole labels). DMARC's relaxed alignment
 * compares organizational domains with the Public Suffix List and also accepts sibling
 * subdomains; this check does not, so it is stricter. A signature by a parent domain
 * (d=example.com for From alice@mail.example.com) is accepted: its key sits in that
 * domain's DNS, which only its owner controls.
 */
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import addressparser from 'nodemailer/lib/addressparser';
import type { BatonConfig, ResponderConfig } from '../../../config/schema';
import { requestIdOf, type Reply } from './reply';

export type AuthenticationMode = 'strict' | 'token-and-sender';

type ReplyMessage = Extract<Reply, { kind: 'reply' }>;

/** The connection a message came in on; absent on the provider route, where SPF cannot be checked. */
export interface Connection {
  ip: string;
  helo: string;
  /** MAIL FROM. */
  sender: string;
  /** RCPT TO: where the listener delivered the message. */
  recipients: string[];
}

export type Authentication =
  /** `requestId`: the request id the steps take (see readReply and judge). */
  | { ok: true; responder: ResponderConfig; via: string; requestId: string }
  /** `transient`: a DNS failure; the same message may pass later. */
  | { ok: false; reason: string; transient?: boolean };

/** A header field a signature covers: its name in lower case, its value unfolded. */
export interface SignedHeader {
  key: string;
  value: string;
}

/** What the decision needs of mailauth's result, so that it can be tested without DNS. */
export interface AuthResults {
  /** The From addresses mailauth read (it checks DMARC against the first). */
  headerFrom: string[];
  dkim: {
    signingDomain: string;
    result: string;
    /** The header fields the signature covers, as mailauth verified them. */
    signedHeaders: SignedHeader[];
    /** An l= tag: the signature covers the body up to a length, and more may follow unsigned. */
    partialBody: boolean;
  }[];
  spf?: { domain: string; result: string };
  dmarc?: { result: string };
}

/** "To: Baton\r\n <reply+…@…>" as { key: 'to', value: 'Baton <reply+…@…>' }. */
function signedHeader(line: string): SignedHeader {
  const colon = line.indexOf(':');
  return {
    key: line
      .slice(0, colon < 0 ? 0 : colon)
      .trim()
      .toLowerCase(),
    value: line
      .slice(colon + 1)
      .replace(/\s+/g, ' ')
      .trim(),
  };
}

/** The parts of mailauth's DKIM result its type declarations leave out (mailauth 4: dkim-verifier.js). */
interface DkimDetails {
  /** The header lines the signature covers, as found in the message (the last copy of each). */
  signingHeaders?: { headers?: string[] };
  /** The signature has an l= tag. */
  canonBodyLengthLimited?: boolean;
}

export function summarize(result: AuthenticateResult): AuthResults {
  return {
    headerFrom: result.dkim.headerFrom ?? [],
    dkim: (result.dkim.results ?? []).map((r) => {
      const details = r as DkimDetails;
      return {
        signingDomain: r.signingDomain ?? '',
        result: r.status?.result ?? 'none',
        signedHeaders: (details.signingHeaders?.headers ?? []).map(signedHeader),
        partialBody: details.canonBodyLengthLimited === true || Boolean(r.status?.underSized),
      };
    }),
    ...(result.spf ? { spf: { domain: result.spf.domain, result: result.spf.status.result } } : {}),
    ...(result.dmarc ? { dmarc: { result: result.dmarc.status.result } } : {}),
  };
}

function normalDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Relaxed alignment by suffix: equal domains, or one a subdomain of the other. The shorter
 * must have two labels at least, so that no top-level domain aligns with everything.
 */
export function aligned(fromDomain: string, other: string): boolean {
  const a = normalDomain(fromDomain);
  const b = normalDomain(other);
  if (!a || !b) return false;
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.includes('.') && long.endsWith(`.${short}`);
}

/** The addresses of an address header's value, in lower case. */
function addressesIn(value: string): string[] {
  return addressparser(value, { flatten: true }).map((a) => a.address.toLowerCase());
}

/** What a reply must be bound to for (c). */
export interface Expected {
  /** The one From address, which (b) matched with the responder. */
  from: string;
  /** The reply address the message came back to (its claims name the incident). */
  address: string;
  /** RCPT TO, on the SMTP listener. */
  recipients?: string[];
}

type Verdict =
  { ok: true; via: string; requestId?: string } | { ok: false; reason: string; transient?: boolean };

/**
 * What a passing, aligned DKIM signature leaves out that would bind the message to this
 * sender, reply address and request; or, when it leaves out nothing, the Message-ID it signs.
 * The addresses expected are in lower case.
 */
function unbound(
  dkim: AuthResults['dkim'][number],
  expected: Expected,
): { missing: string } | { messageId: string } {
  if (dkim.partialBody) return { missing: 'all of the body (it has an l= tag)' };
  const signed = (key: string): string | undefined => dkim.signedHeaders.find((h) => h.key === key)?.value;
  const from = signed('from');
  if (from === undefined || !addressesIn(from).includes(expected.from)) return { missing: 'the From header' };
  const to = ['to', 'cc'].some((key) => addressesIn(signed(key) ?? '').includes(expected.address));
  if (!to) return { missing: 'the To or Cc header with the reply address' };
  const messageId = signed('message-id');
  if (!messageId) return { missing: 'the Message-ID' };
  return { messageId };
}

/**
 * Decides (c) from mailauth's results. A DKIM pass gives the request id: the hash of the
 * Message-ID the signature covers. An SPF pass gives none (the caller's, from the unsigned
 * Message-ID, stands).
 */
export function judge(expected: Expected, results: AuthResults, options: { spfChecked: boolean }): Verdict {
  const address = expected.from.toLowerCase();
  const fromDomain = address.slice(address.lastIndexOf('@') + 1);
  const replyAddress = expected.address.toLowerCase();
  // The same From for both readers: a message whose From mailauth reads differently
  // (two From headers, an address hidden in a display name) could pass DMARC for another domain.
  if (results.headerFrom.length !== 1 || results.headerFrom[0]?.toLowerCase() !== address) {
    return { ok: false, reason: 'the From header is ambiguous' };
  }
  const candidates = results.dkim.filter((d) => d.result === 'pass' && aligned(fromDomain, d.signingDomain));
  let shortfall: string | undefined;
  for (const dkim of candidates) {
    const binding = unbound(dkim, { from: address, address: replyAddress });
    if ('messageId' in binding) {
      return {
        ok: true,
        via: `dkim=pass (d=${dkim.signingDomain})`,
        requestId: requestIdOf(binding.messageId, ''),
      };
    }
    shortfall ??= `the DKIM signature of ${dkim.signingDomain} passes but does not cover ${binding.missing}`;
  }
  // SPF vouches for the connection, not for the message: on the listener only, and only for a
  // message delivered (RCPT TO) to the reply address itself, so that the incident is the one
  // the message really went to; the request id stays the one of the (unsigned) Message-ID.
  // Residual risk, accepted: SPF proves only that the sending host is one the domain lists.
  // Whoever can send through such a host with an envelope sender of the domain (a shared
  // provider that does not hold its customers to their own domains, say) can write the
  // responder's reply outright, and so can also send a reply again under a new Message-ID to
  // have it taken twice. Behind a TLS-terminating front MTA, SPF is checked against the front
  // MTA's address and never passes: only DKIM counts there.
  if (options.spfChecked && results.spf?.result === 'pass' && aligned(fromDomain, results.spf.domain)) {
    const delivered = (expected.recipients ?? []).some((r) => r.toLowerCase() === replyAddress);
    if (delivered) return { ok: true, via: `spf=pass (${results.spf.domain})` };
    shortfall ??= 'SPF passes but the message was not delivered to the reply address';
  }
  const seen = [
    results.dkim.length === 0
      ? 'dkim=none'
      : results.dkim
          .map((d) => `dkim=${d.result}${d.signingDomain ? ` (d=${d.signingDomain})` : ''}`)
          .join(', '),
    options.spfChecked ? `spf=${results.spf?.result ?? 'none'}` : 'spf not checked',
    `dmarc=${results.dmarc?.result ?? 'none'}`,
  ].join(', ');
  const transient =
    results.dkim.some((d) => /^temperr/.test(d.result)) ||
    (options.spfChecked && /^temperr/.test(results.spf?.result ?? '')) ||
    /^temperr/.test(results.dmarc?.result ?? '');
  const reason = shortfall
    ? `${fromDomain} did not vouch for this reply: ${shortfall} (${seen})`
    : `${fromDomain} did not vouch for the sender: no aligned DKIM signature or SPF pass (${seen})`;
  return { ok: false, reason, ...(transient ? { transient: true } : {}) };
}

const HEADER_NAMES: Record<string, string> = {
  from: 'From',
  to: 'To',
  cc: 'Cc',
  'message-id': 'Message-ID',
  subject: 'Subject',
  date: 'Date',
};

/** Checks (b), then (c) unless the mode says the token and the sender are enough. */
export async function authenticateReply(input: {
  raw: Buffer;
  reply: ReplyMessage;
  config: BatonConfig;
  mode: AuthenticationMode;
  connection?: Connection;
  resolver?: DNSResolver;
  /** The receiving host's name for Authentication-Results (mailauth's `mta`). */
  mta?: string;
}): Promise<Authentication> {
  const { reply, config } = input;
  const recipient = reply.claims.recipient;
  const responder = config.responders.find((r) => r.id === recipient);
  if (!responder) {
    return { ok: false, reason: `the reply address was issued to ${recipient}, who is not a responder` };
  }
  if (reply.fromHeaders !== 1 || reply.from.length !== 1) {
    const count = Math.max(reply.fromHeaders, reply.from.length);
    return {
      ok: false,
      reason: count === 0 ? 'the message has no From address' : `the message has ${count} From addresses`,
    };
  }
  if (reply.repeatedHeaders.length > 0) {
    const names = reply.repeatedHeaders.map((h) => HEADER_NAMES[h] ?? h);
    return { ok: false, reason: `the message has more than one ${names.join(', ')} header` };
  }
  const from = reply.from[0] as string;
  if (!responder.email || responder.email.toLowerCase() !== from) {
    return { ok: false, reason: `sent from ${from}, which is not the address of ${responder.id}` };
  }
  if (input.mode === 'token-and-sender') {
    return { ok: true, responder, via: 'token and sender', requestId: reply.requestId };
  }

  // A signed reply replayed to another of the responder's reply addresses would carry the
  // first incident's address in its (signed) To or Cc, not this one.
  if (!reply.addressInHeaders) {
    return { ok: false, reason: 'the reply address is not in the To or Cc of the message' };
  }
  const { connection } = input;
  const result = await authenticate(input.raw, {
    ...(connection ? { ip: connection.ip, helo: connection.helo, sender: connection.sender } : {}),
    ...(input.resolver ? { resolver: input.resolver } : {}),
    ...(input.mta ? { mta: input.mta } : {}),
    // ARC would mean trusting what intermediaries say they saw; BIMI is about logos.
    disableArc: true,
    disableBimi: true,
  });
  const verdict = judge(
    { from, address: reply.address, ...(connection ? { recipients: connection.recipients } : {}) },
    summarize(result),
    { spfChecked: connection !== undefined },
  );
  if (!verdict.ok) return verdict;
  return { ok: true, responder, via: verdict.via, requestId: verdict.requestId ?? reply.requestId };
}
