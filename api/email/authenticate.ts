/**
 * Whether a reply may act as the responder its reply address names. Three checks:
 *
 * (a) the reply address is one Baton signed (reply.ts found its claims);
 * (b) the From address is that responder's configured email (case-insensitive);
 * (c) in `strict` mode, the domain vouches for the From address: DMARC passes, or a DKIM
 *     signature that passes is aligned with the From domain, or SPF passes for an envelope
 *     domain aligned with it. `token-and-sender` stops after (b).
 *
 * Alignment here is relaxed in a simple way: the two domains are equal, or one is a
 * subdomain of the other (a suffix check on whole labels). DMARC's relaxed alignment
 * compares organizational domains with the Public Suffix List and also accepts sibling
 * subdomains; this check does not, so it is stricter. A signature by a parent domain
 * (d=example.com for From alice@mail.example.com) is accepted: its key sits in that
 * domain's DNS, which only its owner controls.
 */
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import type { BatonConfig, ResponderConfig } from '../../config/schema';
import type { Reply } from './reply';

export type AuthenticationMode = 'strict' | 'token-and-sender';

type ReplyMessage = Extract<Reply, { kind: 'reply' }>;

/** The connection a message came in on; absent on the provider route, where SPF cannot be checked. */
export interface Connection {
  ip: string;
  helo: string;
  /** MAIL FROM. */
  sender: string;
}

export type Authentication =
  | { ok: true; responder: ResponderConfig; via: string }
  /** `transient`: a DNS failure; the same message may pass later. */
  | { ok: false; reason: string; transient?: boolean };

/** What the decision needs of mailauth's result, so that it can be tested without DNS. */
export interface AuthResults {
  /** The From addresses mailauth read (it checks DMARC against the first). */
  headerFrom: string[];
  dkim: {
    signingDomain: string;
    result: string;
    /** Header names the signature covers, in lower case. */
    signedHeaders: string[];
    /** The l= tag left part of the body unsigned. */
    partialBody: boolean;
  }[];
  spf?: { domain: string; result: string };
  dmarc?: { result: string };
}

export function summarize(result: AuthenticateResult): AuthResults {
  return {
    headerFrom: result.dkim.headerFrom ?? [],
    dkim: (result.dkim.results ?? []).map((r) => {
      const signing = (r as { signingHeaders?: { keys?: string } }).signingHeaders;
      return {
        signingDomain: r.signingDomain ?? '',
        result: r.status?.result ?? 'none',
        signedHeaders: (signing?.keys ?? '')
          .split(':')
          .map((k) => k.trim().toLowerCase())
          .filter(Boolean),
        partialBody: Boolean(r.status?.underSized),
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

/** Decides (c) from mailauth's results for a From address (b) already matched. */
export function judge(
  from: string,
  results: AuthResults,
  options: { spfChecked: boolean },
): { ok: true; via: string } | { ok: false; reason: string; transient?: boolean } {
  const address = from.toLowerCase();
  const fromDomain = address.slice(address.lastIndexOf('@') + 1);
  // The same From for both readers: a message whose From mailauth reads differently
  // (two From headers, an address hidden in a display name) could pass DMARC for another domain.
  if (results.headerFrom.length !== 1 || results.headerFrom[0]?.toLowerCase() !== address) {
    return { ok: false, reason: 'the From header is ambiguous' };
  }
  if (results.dmarc?.result === 'pass') return { ok: true, via: 'dmarc=pass' };
  const dkim = results.dkim.find(
    (d) =>
      d.result === 'pass' &&
      !d.partialBody &&
      d.signedHeaders.includes('from') &&
      aligned(fromDomain, d.signingDomain),
  );
  if (dkim) return { ok: true, via: `dkim=pass (d=${dkim.signingDomain})` };
  if (options.spfChecked && results.spf?.result === 'pass' && aligned(fromDomain, results.spf.domain)) {
    return { ok: true, via: `spf=pass (${results.spf.domain})` };
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
  return {
    ok: false,
    reason: `${fromDomain} did not vouch for the sender: no aligned DKIM signature, SPF or DMARC pass (${seen})`,
    ...(transient ? { transient: true } : {}),
  };
}

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
  const from = reply.from[0] as string;
  if (!responder.email || responder.email.toLowerCase() !== from) {
    return { ok: false, reason: `sent from ${from}, which is not the address of ${responder.id}` };
  }
  if (input.mode === 'token-and-sender') return { ok: true, responder, via: 'token and sender' };

  // A signed reply replayed to another of the responder's reply addresses would carry the
  // first incident's address in its (signed) To or Cc, not this one.
  if (!reply.addressInHeaders) {
    return { ok: false, reason: 'the reply address is not in the To or Cc of the message' };
  }
  const result = await authenticate(input.raw, {
    ...(input.connection
      ? { ip: input.connection.ip, helo: input.connection.helo, sender: input.connection.sender }
      : {}),
    ...(input.resolver ? { resolver: input.resolver } : {}),
    ...(input.mta ? { mta: input.mta } : {}),
    // ARC would mean trusting what intermediaries say they saw; BIMI is about logos.
    disableArc: true,
    disableBimi: true,
  });
  const verdict = judge(from, summarize(result), { spfChecked: input.connection !== undefined });
  return verdict.ok ? { ok: true, responder, via: verdict.via } : verdict;
}
