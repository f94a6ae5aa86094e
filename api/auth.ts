import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ResponderConfig } from '../config/schema';
import type { Secrets } from '../config/secrets';
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
 * Failed authentications per caller address, in fixed windows. Past `max` failures in a
 * window the address is refused (429) until the window ends, without its credentials being
 * checked; successful requests are never counted. In memory, per API process: the point is
 * to make guessing slow and cheap to refuse, not to keep a ledger.
 */
export class AuthFailures {
  private readonly windows = new Map<string, { failures: number; endsAt: number }>();

  constructor(
    readonly max = 10,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    /** Addresses remembered at most; the oldest are forgotten first. */
    private readonly capacity = 10_000,
  ) {}

  /** Seconds until the address may try again, if it is refused now. */
  refusedFor(address: string): number | undefined {
    const window = this.windows.get(address);
    if (!window) return undefined;
    const left = window.endsAt - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return undefined;
    }
    return window.failures >= this.max ? Math.ceil(left / 1000) : undefined;
  }

  /** Counts a failure; true when it is the one that reaches the limit. */
  failed(address: string): boolean {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || window.endsAt <= now) {
      this.windows.delete(address);
      this.makeRoom(now);
      window = { failures: 0, endsAt: now + this.windowMs };
      this.windows.set(address, window);
    }
    window.failures += 1;
    return window.failures === this.max;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.capacity) return;
    for (const [address, window] of this.windows) if (window.endsAt <= now) this.windows.delete(address);
    // Still full: the oldest windows go (Map keeps insertion order).
    for (const address of this.windows.keys()) {
      if (this.windows.size < this.capacity) break;
      this.windows.delete(address);
    }
  }
}
