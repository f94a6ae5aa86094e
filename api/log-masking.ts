/**
 * Secrets that travel in URLs stay out of the log: an email action link's signed token is its
 * path (whoever reads it can act as the responder it was sent to), so is a Slack
 * response_url's, and a client may put a token, key or signature in a query string. Fastify
 * logs the URL of every request, and puts it in messages of its own ("Route PUT:/… not
 * found"); an error may quote it too.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export const MASK = '[masked]';

/** Paths whose next segment is a secret: email action links, calendar feeds' URLs. */
const SECRET_SEGMENT = /(\/(?:email\/actions|calendars)\/)[^/?#\s"'<>\\]+/gi;

/** Slack's response_url and incoming webhooks: the whole path is the secret. */
const SLACK_HOOK = /(\bhooks\.slack\.com\/)[^?#\s"'<>\\]+/gi;

/** A query parameter, as it appears in a URL or in a line of JSON that quotes one. */
const PARAMETER = /([?&;])([^=&#\s"'<>\\]+)=([^&#\s"'<>\\]*)/g;

/** Parameter names that say their value is a secret: access_token, api_key, sig, Signature, password… */
const SECRET_NAME = /token|key|sig|secret|passw|auth|credential|session/i;

function secretName(raw: string): boolean {
  let name = raw;
  try {
    name = decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: judged as written.
  }
  return SECRET_NAME.test(name);
}

/** The text with every secret a URL in it carries replaced by [masked]. */
export function maskSecrets(text: string): string {
  return text
    .replace(SECRET_SEGMENT, `$1${MASK}`)
    .replace(SLACK_HOOK, `$1${MASK}`)
    .replace(PARAMETER, (whole, separator: string, name: string, value: string) =>
      value && secretName(name) ? `${separator}${name}=${MASK}` : whole,
    );
}

/** Fastify's request serializer (its fields), with the URL masked. */
function request(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: maskSecrets(req.url),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/**
 * The logger options Baton runs with: the request serializer masks the URL of each request
 * line, and the stream hook every line as written, so that messages and errors that quote a
 * URL are masked too, whoever logs them. Headers that carry credentials are redacted, against
 * a future serializer that would include them.
 */
export function maskingLogger(options: LoggerOptions | true): LoggerOptions {
  const given = options === true ? {} : options;
  return {
    ...given,
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: { ...given.serializers, req: request },
    hooks: { ...given.hooks, streamWrite: maskSecrets },
  };
}
