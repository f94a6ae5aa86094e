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
