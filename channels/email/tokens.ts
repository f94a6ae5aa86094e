/**
 * What makes an email actionable, signed with notifications.email.linkSecretEnv:
 *
 * - an action link names one incident, one responder, one step, the phase and response it
 *   was offered in, when it expires and a nonce (so that it can be used once);
 * - a reply address (`reply+<token>@<replyDomain>`) names one incident and one recipient.
 *
 * Each has its own key derived from the secret, so a token of one kind never passes as the
 * other. The worker signs (it renders the emails); the API checks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Phase } from '../../workflows/incident/model';

/** The moves an email can offer (its links) and take (the confirmed link, a reply). */
export const EMAIL_STEPS = ['acknowledge', 'escalate', 'acceptHandover', 'resolve'] as const;
export type EmailStep = (typeof EMAIL_STEPS)[number];

export interface LinkClaims {
  incident: string;
  responder: string;
  step: EmailStep;
  /** The phase (and response, after a reopening) the link was offered in. */
  phase: Phase;
  response: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Random; a used link's nonce is remembered, so the link works once. */
  nonce: string;
}

export type LinkCheck =
  | { ok: true; claims: LinkClaims }
  | { ok: false; reason: 'malformed' | 'tampered' | 'expired'; claims?: LinkClaims };

function key(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`baton email ${purpose}`).digest();
}

function mac(secret: string, purpose: string, data: Buffer | string): Buffer {
  return createHmac('sha256', key(secret, purpose)).update(data).digest();
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newNonce(): string {
  return randomBytes(12).toString('base64url');
}

export function signLink(claims: LinkClaims, secret: string): string {
  const body = Buffer.from(
    JSON.stringify([
      1,
      claims.incident,
      claims.responder,
      claims.step,
      claims.phase,
      claims.response,
      claims.expiresAt,
      claims.nonce,
    ]),
  ).toString('base64url');
  return `${body}.${mac(secret, 'links', body).toString('base64url')}`;
}

/** Checks the signature before anything else, then the expiry; the claims are trusted only if ok. */
export function checkLink(token: string, secret: string, now = Date.now()): LinkCheck {
  const match = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return { ok: false, reason: 'malformed' };
  const [, body, signature] = match as unknown as [string, string, string];
  if (!sameBytes(Buffer.from(signature, 'base64url'), mac(secret, 'links', body))) {
    return { ok: false, reason: 'tampered' };
  }
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!Array.isArray(fields) || fields.length !== 8 || fields[0] !== 1)
    return { ok: false, reason: 'malformed' };
  const [, incident, responder, step, phase, response, expiresAt, nonce] = fields as unknown[];
  if (
    typeof incident !== 'string' ||
    typeof responder !== 'string' ||
    !EMAIL_STEPS.includes(step as EmailStep) ||
    typeof phase !== 'string' ||
    typeof response !== 'number' ||
    typeof expiresAt !== 'number' ||
    typeof nonce !== 'string'
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const claims: LinkClaims = {
    incident,
    responder,
    step: step as EmailStep,
    phase: phase as Phase,
    response,
    expiresAt,
    nonce,
  };
  if (now >= expiresAt) return { ok: false, reason: 'expired', claims };
  return { ok: true, claims };
}

/** The URL an action link opens: a confirmation page, never the step itself. */
export function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/email/actions/${token}`;
}

// Reply addresses are read case-insensitively by some mail systems: RFC 4648 base32 in
// lower case survives that, where base64 would not.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text.toLowerCase()) {
    const index = BASE32.indexOf(char);
    if (index < 0) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export const REPLY_PREFIX = 'reply+';
const REPLY_MAC_BYTES = 10;

export interface ReplyClaims {
  incident: string;
  /** The responder id the email was sent to (or the address, for someone who is not one). */
  recipient: string;
}

/** The local part of a reply address: version, a truncated MAC, then the incident and recipient. */
export function replyToken(claims: ReplyClaims, secret: string): string {
  const payload = Buffer.from(`${claims.incident}\u0000${claims.recipient}`, 'utf8');
  const signature = mac(secret, 'replies', payload).subarray(0, REPLY_MAC_BYTES);
  return base32(Buffer.concat([Buffer.from([1]), signature, payload]));
}

export function replyAddress(claims: ReplyClaims, secret: string, domain: string): string {
  return `${REPLY_PREFIX}${replyToken(claims, secret)}@${domain}`;
}

/** The claims of a reply address Baton signed, or undefined for any other address. */
export function checkReplyAddress(address: string, secret: string): ReplyClaims | undefined {
  const at = address.lastIndexOf('@');
  const local = (at < 0 ? address : address.slice(0, at)).toLowerCase();
  if (!local.startsWith(REPLY_PREFIX)) return undefined;
  const bytes = fromBase32(local.slice(REPLY_PREFIX.length));
  if (!bytes || bytes.length <= 1 + REPLY_MAC_BYTES || bytes[0] !== 1) return undefined;
  const signature = bytes.subarray(1, 1 + REPLY_MAC_BYTES);
  const payload = bytes.subarray(1 + REPLY_MAC_BYTES);
  if (!sameBytes(signature, mac(secret, 'replies', payload).subarray(0, REPLY_MAC_BYTES))) return undefined;
  const [incident, recipient, ...rest] = payload.toString('utf8').split('\u0000');
  if (!incident || !recipient || rest.length > 0) return undefined;
  return { incident, recipient };
}
