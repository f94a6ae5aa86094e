import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ResponderConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
import { addressGroup } from './client-address';
import { WindowLimiter } from '../channels/email/inbound/limits';
import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** The responder the bearer token belongs to; set on authenticated routes. */
    responder?: ResponderConfig;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export function basicCredentials(
  header: string | undefined,
): { username: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Every incident API request acts as the responder whose token it carries. */
export function requireResponder(secrets: Secrets) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    const responder = token ? secrets.responderForToken(token) : undefined;
    if (!responder) {
      void reply.header('WWW-Authenticate', 'Bearer realm="baton"');
      throw new HttpError(
        401,
        token ? 'the token is not valid' : 'a bearer token is required',
        'Unauthorized',
      );
    }
    request.responder = responder;
  };
}

export function actorOf(request: FastifyRequest): ResponderConfig {
  if (!request.responder) throw new HttpError(401, 'a bearer token is required', 'Unauthorized');
  return request.responder;
}

/**
 * The credential a route checks, under whose name its failures are counted: a request can only
 * succeed by matching that one secret. A bearer token names nobody (it is compared against
 * every responder's digest, so a guess at the incident API is a guess at all their tokens at
 * once): its name is the kind of credential. The webhook's Basic username is not a name of its
 * own either: there is one configured, and another cannot succeed, so counting usernames would
 * only let a guesser fill the counter with names of its choosing.
 */
export type CredentialName = 'api token' | 'webhook' | 'email inbound' | 'metrics' | 'calendar feed';

/** Which credential a route checks, if any. */
export function credentialOf(route: string | undefined): CredentialName | undefined {
  if (route === undefined) return undefined;
  // The codec endpoint takes the same responder tokens as the incident API.
  if (route.startsWith('/api/v1/') || route.startsWith('/codec/')) return 'api token';
  if (route === '/webhooks/alertmanager') return 'webhook';
  if (route === '/email/inbound') return 'email inbound';
  if (route === '/metrics') return 'metrics';
  // A calendar feed's URL carries its token (api/routes/calendar-feeds.ts).
  if (route.startsWith('/calendars/')) return 'calendar feed';
  return undefined;
}

/**
 * The credential an answer says failed its check, if any: a 401 from a route that checks
 * one, or the 404 a calendar feed's URL answers (calendar apps send no credential to be
 * refused with a 401; the token in the URL is it, and an unknown one says no more than a
 * missing page).
 */
export function failedCredential(route: string | undefined, status: number): CredentialName | undefined {
  const credential = credentialOf(route);
  if (credential === undefined) return undefined;
  return status === (credential === 'calendar feed' ? 404 : 401) ? credential : undefined;
}

export interface AuthLimits {
  /** Failures one address (an IPv6 /64) may have in a window. */
  perAddress: number;
  /** Failures a credential may have in a window, from all addresses together. */
  perCredential: number;
  windowMs: number;
  /** The clock, for tests. */
  now?: () => number;
  /** Addresses remembered at most; the oldest windows are forgotten first. */
  capacity?: number;
}

/**
 * Ten failures a minute per address: a person retyping a token, or a client with an old one,
 * stays below it. A hundred per credential: what many addresses guessing together may cost.
 */
export const AUTH_LIMITS: AuthLimits = { perAddress: 10, perCredential: 100, windowMs: 60_000 };

/** A limit a failure reached: the address group or the credential whose window is now full. */
export interface Reached {
  by: 'address' | 'credential';
  key: string;
}

/** What a failed authentication gets: its 401 (and the limits it filled), or a refusal. */
export type FailureVerdict =
  | { refused: false; reached: Reached[] }
  | { refused: true; retryAfter: number; by: 'address' | 'credential' };

/**
 * Failed authentications, in fixed windows, per caller address (IPv6 by /64) and per
 * credential. It is asked only once a credential has failed its check, so a valid one is
 * served whatever failed before it from the same address (a NAT, a proxy's address, one
 * Alertmanager beside a guesser). Past a limit, failures are refused (429, or 503 for the
 * webhook) without being counted, so a window ends when it was due to.
 *
 * What it buys: a guesser's failures cost Baton a bounded number of counted failures and of
 * log lines a minute. It cannot slow the guessing itself: a limit that never refuses a valid
 * credential answers a wrong guess, in effect, as a 401 would. What keeps tokens from being
 * guessed is their length (npm run token makes 256 random bits). In memory, per API process.
 */
export class AuthFailures {
  /** Failures an address may have in a window. */
  readonly max: number;
  /** Failures a credential may have in a window, from all addresses together. */
  readonly perCredential: number;
  readonly windowMs: number;
  private readonly addresses: WindowLimiter;
  private readonly credentials: WindowLimiter;

  constructor(limits: AuthLimits = AUTH_LIMITS) {
    const { windowMs, now = Date.now, capacity = 10_000 } = limits;
    this.max = limits.perAddress;
    this.perCredential = limits.perCredential;
    this.windowMs = windowMs;
    this.addresses = new WindowLimiter({ limit: limits.perAddress, windowMs, now, maxKeys: capacity });
    this.credentials = new WindowLimiter({ limit: limits.perCredential, windowMs, now });
  }

  /**
   * Counts a credential that failed its check, or refuses it when its address or its
   * credential is at its limit. Call it only after the check: never for a valid credential.
   */
  countFailure(address: string, credential: CredentialName): FailureVerdict {
    const group = addressGroup(address);
    const byAddress = this.addresses.blockedForMs(group);
    if (byAddress !== undefined)
      return { refused: true, retryAfter: Math.ceil(byAddress / 1000), by: 'address' };
    const byCredential = this.credentials.blockedForMs(credential);
    if (byCredential !== undefined) {
      return { refused: true, retryAfter: Math.ceil(byCredential / 1000), by: 'credential' };
    }
    this.addresses.take(group);
    this.credentials.take(credential);
    const reached: Reached[] = [];
    if (this.addresses.blockedForMs(group) !== undefined) reached.push({ by: 'address', key: group });
    if (this.credentials.blockedForMs(credential) !== undefined)
      reached.push({ by: 'credential', key: credential });
    return { refused: false, reached };
  }
}
