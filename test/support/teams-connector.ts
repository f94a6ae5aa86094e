/**
 * A local stand-in for Microsoft Teams' servers, on loopback, speaking the protocol the way
 * the Bot Framework does it:
 *
 * - As the Bot Connector calling a bot, it signs the bot's inbound requests: `inboundToken()`
 *   is an RS256 JWT with `iss` https://api.botframework.com, `aud` the app id and a
 *   `serviceurl` claim, whose key the bot finds through the OpenID metadata and keys routes
 *   (`/v1/.well-known/openidconfiguration`, `/v1/.well-known/keys`), as at
 *   login.botframework.com.
 * - As the Bot Connector REST API at the bot's serviceUrl, it takes the bot's outbound calls
 *   (`/v3/conversations…`: create a 1:1, post, reply, update), each with a bearer JWT signed
 *   by its own key (`botToken()`), and keeps the activities so a test can read a card as it
 *   is now and the replies in a thread.
 *
 * It records every call to the Bot Connector API. A test can make the next calls answer 429
 * with Retry-After, as Teams throttles a bot.
 */
import http from 'node:http';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { closeNow, listenOnLoopback } from './loopback-server';

const BOT_CONNECTOR_ISSUER = 'https://api.botframework.com';
/** The audience of the tokens a bot presents to the Bot Connector. */
const BOT_CONNECTOR_AUDIENCE = 'https://api.botframework.com';
const KID = 'baton-test-connector';
const METADATA_PATH = '/v1/.well-known/openidconfiguration';
const KEYS_PATH = '/v1/.well-known/keys';
/** Where the bot asks for its token (client credentials), as at login.microsoftonline.com. */
const TOKEN_PATH = '/botframework.com/oauth2/v2.0/token';
/** Far above a Teams message (about 28 KB) and an Adaptive Card; a few MB pass. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface TeamsConnectorOptions {
  /** The bot's Microsoft app id: the audience of inbound tokens. */
  appId?: string;
  tenantId?: string;
  /** The bot's client secret the token route takes; `test-app-password` by default. */
  appPassword?: string;
}

export interface InboundTokenOptions {
  /** `aud`; the app id unless set. */
  audience?: string;
  /** `iss`; https://api.botframework.com unless set. */
  issuer?: string;
  /** The `serviceurl` claim; the stand-in's serviceUrl unless set, left out when null. */
  serviceUrl?: string | null;
  /**
   * `exp` is now plus this (default 3600); negative for a token that has expired. The Teams
   * SDK allows 300 s of clock skew, so an expired token that must be refused needs < -300.
   */
  expiresInSeconds?: number;
  /** Signed with another key under the same kid, as an attacker would. */
  forged?: boolean;
}

/** One call to the Bot Connector API (`/v3/...`), as it arrived and as it was answered. */
export interface TeamsCall {
  method: string;
  /** The path as received, before decoding. */
  path: string;
  /**
   * The conversation, decoded once; for a thread id `<channel>;messageid=<root>` the channel
   * (the root is in replyToId). For a create-conversation call, the id answered; '' when the
   * call had none (a refused create, or a path that is no route).
   */
  conversationId: string;
  /** The activity the call created or updated. */
  activityId?: string;
  /** The activity replied to: from the path, the thread id, or the body's replyToId. */
  replyToId?: string;
  /** The JSON body parsed, or the raw text when it was not JSON. */
  body: unknown;
  status: number;
  /** When it arrived (Date.now()). */
  at: number;
}

/** An activity the bot posted, with its latest body. */
export interface TeamsActivity {
  id: string;
  conversationId: string;
  replyToId?: string;
  body: Record<string, unknown>;
  /** How many times it was updated. */
  updates: number;
}

export interface TeamsConnector {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  /** `url` with a trailing slash, as Teams sends it in activity.serviceUrl. */
  serviceUrl: string;
  /** The OpenID metadata URL to configure in place of login.botframework.com's. */
  openIdMetadataUrl: string;
  appId: string;
  tenantId: string;
  /** Requests to the metadata, keys and token routes. */
  hits: { metadata: number; keys: number; tokens: number };
  /** Where the bot asks for its token with its app id and `appPassword`. */
  tokenUrl: string;
  appPassword: string;
  /** Calls to the Bot Connector API, oldest first. */
  calls: readonly TeamsCall[];
  /** A JWT as the Bot Connector signs its requests to the bot. */
  inboundToken(options?: InboundTokenOptions): Promise<string>;
  /** A JWT the stand-in accepts on /v3, as Entra would issue to the bot. */
  botToken(): Promise<string>;
  /** The activity as it is now (after any updates). */
  activity(id: string): TeamsActivity | undefined;
  /** The activities posted as replies to rootId, oldest first. */
  repliesTo(rootId: string): TeamsActivity[];
  /** The next `count` authorized /v3 calls answer 429 with Retry-After: retryAfterSeconds. */
  throttle(count: number, retryAfterSeconds: number): void;
  /** Resolves with the calls once predicate(calls) holds; rejects after timeoutMs (default 5000). */
  waitFor(predicate: (calls: readonly TeamsCall[]) => boolean, timeoutMs?: number): Promise<TeamsCall[]>;
  close(): Promise<void>;
}

/** The Bot Connector's error body: `{ error: { code, message } }`. */
const failure = (code: string, message: string) => ({ error: { code, message } });

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Percent-decodes a path segment once; ids arrive raw (`19:x@thread.tacv2`) or encoded. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpFailure(400, 'BadArgument', `malformed percent-encoding in ${segment}`);
  }
}

/** `<channel>;messageid=<root>` is a thread: a reply to <root> in <channel>. */
function splitThread(conversationId: string): { conversationId: string; root?: string } {
  const match = /^(.+?);messageid=([^;]+)$/.exec(conversationId);
  return match ? { conversationId: match[1] as string, root: match[2] } : { conversationId };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads the body whole; past the limit it keeps draining (so the client is not cut off) and says so. */
function readBody(req: http.IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: size > MAX_BODY_BYTES }),
    );
    req.on('error', reject);
    // A client that hangs up mid-body never sends 'end'; without this the handler would wait forever.
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client hung up before the body was complete'));
    });
  });
}

export async function startTeamsConnector(options: TeamsConnectorOptions = {}): Promise<TeamsConnector> {
  const appId = options.appId ?? '00000000-0000-4000-8000-00000000b0b0';
  const tenantId = options.tenantId ?? '11111111-1111-4111-8111-111111111111';
  const appPassword = options.appPassword ?? 'test-app-password';
  const keys = await generateKeyPair('RS256');
  // The attacker's key: same kid, so only the signature tells the two apart.
  const forgery = await generateKeyPair('RS256');
  const jwks = {
    keys: [
      { ...(await exportJWK(keys.publicKey)), kid: KID, use: 'sig', alg: 'RS256', endorsements: ['msteams'] },
    ],
  };

  const hits = { metadata: 0, keys: 0, tokens: 0 };
  const calls: TeamsCall[] = [];
  const activities = new Map<string, TeamsActivity>();
  /** 1:1 conversation ids by member id. */
  const personal = new Map<string, string>();
  const throttled = { remaining: 0, retryAfterSeconds: 0 };
  // Teams' message ids are millisecond timestamps; counting up from now keeps them unique.
  let lastActivityId = Date.now();
  let url = '';

  const sign = (claims: Record<string, unknown>, expiresInSeconds: number, forged = false) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(forged ? forgery.privateKey : keys.privateKey);
  };

  const authorized = async (header: string | undefined): Promise<boolean> => {
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    if (!token) return false;
    try {
      await jwtVerify(token, keys.publicKey, { algorithms: ['RS256'] });
      return true;
    } catch {
      return false;
    }
  };

  /** A token as Entra issues the bot for the Bot Connector: what /v3 takes. */
  const botToken = () =>
    sign(
      {
        iss: `https://sts.windows.net/${tenantId}/`,
        aud: BOT_CONNECTOR_AUDIENCE,
        appid: appId,
        tid: tenantId,
      },
      3600,
    );

  /** Posts an activity; `replyToId` makes it a reply in that thread. */
  const post = (conversationId: string, body: Record<string, unknown>, replyToId: string | undefined) => {
    lastActivityId += 1;
    const id = String(lastActivityId);
    activities.set(id, { id, conversationId, ...(replyToId ? { replyToId } : {}), body, updates: 0 });
    return id;
  };

  type Outcome = { status: number; answer: unknown; call: Partial<TeamsCall> };

  /** The Bot Connector's answer to one authorized, well-formed call. */
  const route = (method: string, segments: string[], body: unknown): Outcome => {
    const [, conversation, activitiesWord, activitySegment, ...rest] = segments;
    if (conversation === undefined) {
      if (method !== 'POST') throw new HttpFailure(405, 'MethodNotAllowed', `${method} /v3/conversations`);
      const members = isRecord(body) && Array.isArray(body.members) ? (body.members as unknown[]) : [];
      const member = isRecord(members[0]) && typeof members[0].id === 'string' ? members[0].id : undefined;
      if (!member) throw new HttpFailure(400, 'BadArgument', 'members[0].id is required');
      const known = personal.get(member);
      const id = known ?? `a:personal-${member}`;
      personal.set(member, id);
      return { status: known ? 200 : 201, answer: { id }, call: { conversationId: id } };
    }
    if (activitiesWord !== 'activities' || rest.length > 0) {
      throw new HttpFailure(404, 'NotFound', `no route for ${segments.join('/')}`);
    }
    if (!isRecord(body)) throw new HttpFailure(400, 'BadArgument', 'the body must be an activity object');
    const thread = splitThread(decodeSegment(conversation));
    const conversationId = thread.conversationId;
    const pathActivity = activitySegment === undefined ? undefined : decodeSegment(activitySegment);

    if (method === 'PUT' && pathActivity !== undefined) {
      const kept = activities.get(pathActivity);
      if (!kept || kept.conversationId !== conversationId) {
        throw new HttpFailure(404, 'ActivityNotFound', `no activity ${pathActivity} in ${conversationId}`);
      }
      kept.body = body;
      kept.updates += 1;
      return {
        status: 200,
        answer: { id: kept.id },
        call: {
          conversationId,
          activityId: kept.id,
          ...(kept.replyToId ? { replyToId: kept.replyToId } : {}),
        },
      };
    }
    if (method !== 'POST') {
      throw new HttpFailure(405, 'MethodNotAllowed', `${method} on ${segments.join('/')}`);
    }
    const bodyReplyTo = typeof body.replyToId === 'string' && body.replyToId ? body.replyToId : undefined;
    const replyToId = pathActivity ?? thread.root ?? bodyReplyTo;
    const id = post(conversationId, body, replyToId);
    return {
      status: 201,
      answer: { id },
      call: { conversationId, activityId: id, ...(replyToId ? { replyToId } : {}) },
    };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const method = req.method ?? '';
    const rawPath = req.url ?? '/';
    const path = rawPath.split('?')[0] as string;
    const reply = (status: number, answer: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(answer));
    };

    if (path === METADATA_PATH || path === KEYS_PATH) {
      if (path === METADATA_PATH) hits.metadata += 1;
      else hits.keys += 1;
      if (method !== 'GET') return reply(405, failure('MethodNotAllowed', `${method} ${path}`));
      if (path === KEYS_PATH) return reply(200, jwks);
      return reply(200, {
        issuer: BOT_CONNECTOR_ISSUER,
        authorization_endpoint: `${url}/v1/authorize`,
        jwks_uri: `${url}${KEYS_PATH}`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }

    if (path === TOKEN_PATH) {
      hits.tokens += 1;
      if (method !== 'POST') return reply(405, failure('MethodNotAllowed', `${method} ${path}`));
      const form = new URLSearchParams((await readBody(req)).text);
      const granted =
        form.get('grant_type') === 'client_credentials' &&
        form.get('client_id') === appId &&
        form.get('client_secret') === appPassword &&
        form.get('scope') === `${BOT_CONNECTOR_AUDIENCE}/.default`;
      if (!granted) {
        return reply(401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        });
      }
      return reply(200, { token_type: 'Bearer', expires_in: 3600, access_token: await botToken() });
    }

    // Everything else is the Bot Connector API, recorded whatever the answer.
    const at = Date.now();
    const { text, tooLarge } = await readBody(req);
    let body: unknown = text;
    let malformed = false;
    if (text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        malformed = true;
      }
    }
    const record = (status: number, call: Partial<TeamsCall> = {}) =>
      calls.push({ method, path: rawPath, conversationId: '', ...call, body, status, at });
    const refuse = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      record(status);
      reply(status, failure(code, message), headers);
    };

    const segments = path.split('/').slice(2); // ['', 'v3', 'conversations', ...]
    if (!path.startsWith('/v3/') || segments[0] !== 'conversations' || segments.includes('')) {
      return refuse(404, 'NotFound', `no route for ${path}`);
    }
    if (!(await authorized(req.headers.authorization))) {
      return refuse(401, 'Unauthorized', 'Authorization has been denied for this request.');
    }
    // Teams throttles per bot, which it knows from the token: unauthorized calls are not counted.
    if (throttled.remaining > 0) {
      throttled.remaining -= 1;
      return refuse(429, 'TooManyRequests', 'Too many requests; retry later.', {
        'retry-after': String(throttled.retryAfterSeconds),
      });
    }
    if (tooLarge) return refuse(413, 'RequestEntityTooLarge', `the body exceeds ${MAX_BODY_BYTES} bytes`);
    if (malformed) return refuse(400, 'BadSyntax', 'the body is not valid JSON');
    try {
      const outcome = route(method, segments, body);
      record(outcome.status, outcome.call);
      reply(outcome.status, outcome.answer);
    } catch (err) {
      if (!(err instanceof HttpFailure)) throw err;
      refuse(err.status, err.code, err.message);
    }
  };

  const server = http.createServer((req, res) => {
    // A bug here must fail the test that caused it, not take the server down for the rest.
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(failure('InternalServerError', String(err))));
    });
  });
  const port = await listenOnLoopback(server);
  url = `http://127.0.0.1:${port}`;
  const serviceUrl = `${url}/`;

  const describeCalls = () =>
    calls.length === 0
      ? 'no calls arrived'
      : `${calls.length} call(s) arrived: ${calls.map((c) => `${c.method} ${c.path} -> ${c.status}`).join('; ')}`;

  return {
    url,
    serviceUrl,
    openIdMetadataUrl: `${url}${METADATA_PATH}`,
    appId,
    tenantId,
    hits,
    calls,
    inboundToken: (wanted = {}) => {
      const claimed = wanted.serviceUrl === undefined ? serviceUrl : wanted.serviceUrl;
      return sign(
        {
          iss: wanted.issuer ?? BOT_CONNECTOR_ISSUER,
          aud: wanted.audience ?? appId,
          ...(claimed === null ? {} : { serviceurl: claimed }),
        },
        wanted.expiresInSeconds ?? 3600,
        wanted.forged,
      );
    },
    botToken,
    tokenUrl: `${url}${TOKEN_PATH}`,
    appPassword,
    activity: (id) => activities.get(id),
    repliesTo: (rootId) => [...activities.values()].filter((a) => a.replyToId === rootId),
    throttle: (count, retryAfterSeconds) => {
      throttled.remaining = count;
      throttled.retryAfterSeconds = retryAfterSeconds;
    },
    waitFor: (predicate, timeoutMs = 5000) =>
      new Promise<TeamsCall[]>((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          let matched: boolean;
          try {
            matched = predicate(calls);
          } catch (err) {
            // Thrown from a timer it would be uncaught: hand it to the waiting test instead.
            return reject(err instanceof Error ? err : new Error(String(err)));
          }
          if (matched) return resolve([...calls]);
          if (Date.now() - started >= timeoutMs) {
            return reject(
              new Error(`Teams stand-in: the calls did not match within ${timeoutMs} ms; ${describeCalls()}`),
            );
          }
          setTimeout(check, 10);
        };
        check();
      }),
    close: () => closeNow(server),
  };
}
