/**
 * A local stand-in for Slack's Web API, on loopback, speaking the protocol the way
 * @slack/web-api uses it: `POST <apiUrl><method>` with an `Authorization: Bearer` token (or a
 * `token` argument) and the arguments form-encoded (objects as JSON strings) or as a JSON body;
 * HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error }` as Slack answers.
 *
 * It implements the methods Baton calls: chat.postMessage and chat.update (it keeps the
 * messages, with their metadata), chat.postEphemeral, views.open, users.info (from the users a
 * test gives it) and conversations.replies (a thread's parent, with its metadata when asked
 * with include_all_metadata). It also hands out response_url addresses, as Slack puts in
 * interaction payloads, and records what is posted to them. It records every request. A
 * test can make the next requests for a channel fail the ways Slack fails (`failNext`): HTTP
 * 429 with Retry-After, an HTTP 5xx, a platform error, or an answer that comes late.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeNow } from './loopback-server';

export interface SlackRequest {
  /** The Web API method, e.g. chat.postMessage. */
  method: string;
  httpMethod: string;
  contentType: string;
  /** The token presented, from the Authorization header or the `token` argument. */
  token?: string;
  channel?: string;
  text?: string;
  /** `metadata` as posted, parsed from its JSON form. */
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
  args: Record<string, unknown>;
  /** What the stand-in answered: the HTTP status, and `ok` / `error` from the body. */
  response: {
    ok: boolean;
    error?: string;
    status: number;
    /** The posted message's channel id and ts, as chat.postMessage answers them. */
    channel?: string;
    ts?: string;
  };
}

/** One way for one request to go wrong. */
export type SlackFault =
  /** HTTP 429 with `Retry-After: seconds` (and `{ ok: false, error: 'ratelimited' }`), as Slack rate-limits. */
  | { rateLimited: number }
  /** That HTTP status (a 5xx) with an HTML body, as a failing load balancer answers. */
  | { status: number }
  /** HTTP 200 with `{ ok: false, error }`: a platform error such as channel_not_found. */
  | { error: string }
  /** Answered as usual, this much later. */
  | { delayMs: number };

/** A workspace member as users.info answers for them. */
export interface SlackUser {
  id: string;
  email?: string;
  is_bot?: boolean;
  deleted?: boolean;
  /**
   * Slack's word that the profile's email was confirmed (true unless set); null leaves the
   * field out of the users.info answer.
   */
  is_email_confirmed?: boolean | null;
}

/** A message the stand-in keeps, as conversations.replies answers it. */
export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown;
  metadata?: SlackRequest['metadata'];
  bot_id?: string;
  app_id?: string;
  user?: string;
}

/** What was posted to a response_url. */
export interface SlackResponsePost {
  url: string;
  body: { text?: string; response_type?: string; replace_original?: boolean; [key: string]: unknown };
}

export interface SlackApiOptions {
  /** The bot token that is accepted; any other gets invalid_auth. */
  token: string;
  /** Channels (names like #x, ids, or user ids) that answer channel_not_found. */
  failChannels?: string[];
  /** The workspace's members, for users.info; anyone else is user_not_found. */
  users?: SlackUser[];
  /** The app id on Baton's own messages (default A0BATON). */
  appId?: string;
}

export interface SlackApi {
  /** The base URL to configure as notifications.slack.apiUrl (ends with /api/). */
  apiUrl: string;
  requests: SlackRequest[];
  /** The chat.postMessage calls that Slack accepted: the messages that really arrived. */
  posted(): SlackRequest[];
  /** The accepted calls of one method (chat.postEphemeral, views.open…). */
  called(method: string): SlackRequest[];
  /** The message as kept now (after any chat.update), by the channel id Slack answered and ts. */
  message(channelId: string, ts: string): SlackMessage | undefined;
  /** A fresh response_url, as Slack puts one in each interaction payload. */
  responseUrl(): string;
  /** Everything posted to the response_urls handed out. */
  responses: SlackResponsePost[];
  /** What one user was told: ephemeral messages to them and posts to the response_urls given. */
  toldTo(user: string, responseUrls?: string[]): string[];
  /** The next requests to `channel` meet these faults, one request each, in order; then all is well. */
  failNext(channel: string, ...faults: SlackFault[]): void;
  close(): Promise<void>;
}

/** A Slack-looking id for a channel name or user id: C… for channels, D… for direct messages. */
function channelId(channel: string): string {
  const digest = createHash('sha256').update(channel).digest('hex').slice(0, 8).toUpperCase();
  return /^[UW]/.test(channel) ? `D${digest}` : `C${digest}`;
}

function parseArgs(contentType: string, body: string, query: URLSearchParams): Record<string, unknown> {
  const args: Record<string, unknown> = Object.fromEntries(query);
  if (body === '') return args;
  if (contentType.startsWith('application/json')) {
    return { ...args, ...(JSON.parse(body) as Record<string, unknown>) };
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return { ...args, ...Object.fromEntries(new URLSearchParams(body)) };
  }
  throw new Error(`unsupported content type ${contentType || '(none)'}`);
}

function parseMetadata(value: unknown): SlackRequest['metadata'] {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return JSON.parse(value) as SlackRequest['metadata'];
  return value as SlackRequest['metadata'];
}

/** Arguments posted form-encoded carry objects as JSON strings. */
function objectArg(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

const truthy = (value: unknown): boolean => value === true || value === 'true' || value === '1';

export async function startSlackApi(options: SlackApiOptions): Promise<SlackApi> {
  const requests: SlackRequest[] = [];
  const failChannels = new Set(options.failChannels ?? []);
  const faults = new Map<string, SlackFault[]>();
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const appId = options.appId ?? 'A0BATON';
  /** Messages by `<channel id>/<ts>`. */
  const messages = new Map<string, SlackMessage>();
  const responses: SlackResponsePost[] = [];
  const handedOut = new Set<string>();
  let counter = 0;
  let port = 0;
  const nextTs = (): string => {
    counter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(counter).padStart(6, '0')}`;
  };
  /** A channel as Slack names it in answers: ids stay, names and user ids become ids. */
  const idOf = (channel: string): string =>
    /^[CDG][0-9A-F]{8}$/.test(channel) ? channel : channelId(channel);

  /** The answer to one well-formed, authorized call of `method`. */
  const methods: Record<
    string,
    (args: Record<string, unknown>, channel?: string) => Record<string, unknown>
  > = {
    'chat.postMessage': (args, channel) => {
      if (!channel || failChannels.has(channel)) return { ok: false, error: 'channel_not_found' };
      const text = typeof args.text === 'string' ? args.text : undefined;
      if (!text && args.blocks === undefined && args.attachments === undefined) {
        return { ok: false, error: 'no_text' };
      }
      const ts = nextTs();
      const id = idOf(channel);
      messages.set(`${id}/${ts}`, {
        channel: id,
        ts,
        ...(text !== undefined ? { text } : {}),
        ...(args.blocks !== undefined ? { blocks: objectArg(args.blocks) ?? args.blocks } : {}),
        ...(args.metadata !== undefined ? { metadata: parseMetadata(args.metadata) } : {}),
        bot_id: 'B0BATON',
        app_id: appId,
      });
      return {
        ok: true,
        channel: id,
        ts,
        message: { type: 'message', subtype: 'bot_message', text, bot_id: 'B0BATON', app_id: appId, ts },
      };
    },
    'chat.update': (args, channel) => {
      const kept =
        channel && typeof args.ts === 'string' ? messages.get(`${idOf(channel)}/${args.ts}`) : undefined;
      if (!kept) return { ok: false, error: 'message_not_found' };
      if (typeof args.text === 'string') kept.text = args.text;
      if (args.blocks !== undefined) kept.blocks = objectArg(args.blocks) ?? args.blocks;
      if (args.metadata !== undefined) kept.metadata = parseMetadata(args.metadata);
      return { ok: true, channel: kept.channel, ts: kept.ts, text: kept.text };
    },
    'chat.postEphemeral': (args, channel) => {
      if (!channel || failChannels.has(channel)) return { ok: false, error: 'channel_not_found' };
      if (typeof args.user !== 'string' || !args.user) return { ok: false, error: 'user_not_in_channel' };
      if (!args.text && args.blocks === undefined) return { ok: false, error: 'no_text' };
      return { ok: true, message_ts: nextTs() };
    },
    'views.open': (args) => {
      if (typeof args.trigger_id !== 'string' || !args.trigger_id)
        return { ok: false, error: 'invalid_trigger_id' };
      const view = objectArg(args.view);
      if (!view || view.type !== 'modal') return { ok: false, error: 'invalid_arguments' };
      counter += 1;
      return {
        ok: true,
        view: { ...view, id: `V${String(counter).padStart(8, '0')}`, hash: `h-${counter}` },
      };
    },
    'users.info': (args) => {
      const user = typeof args.user === 'string' ? users.get(args.user) : undefined;
      if (!user) return { ok: false, error: 'user_not_found' };
      return {
        ok: true,
        user: {
          id: user.id,
          deleted: user.deleted ?? false,
          is_bot: user.is_bot ?? false,
          ...(user.is_email_confirmed === null
            ? {}
            : { is_email_confirmed: user.is_email_confirmed ?? true }),
          profile: user.email ? { email: user.email } : {},
        },
      };
    },
    'conversations.replies': (args, channel) => {
      const parent =
        channel && typeof args.ts === 'string' ? messages.get(`${idOf(channel)}/${args.ts}`) : undefined;
      if (!parent) return { ok: false, error: 'thread_not_found' };
      // Slack leaves metadata out unless asked for it.
      const { metadata, ...rest } = parent;
      const withMetadata = truthy(args.include_all_metadata) && metadata ? { metadata } : {};
      return {
        ok: true,
        messages: [{ type: 'message', ...rest, ...withMetadata }],
        has_more: false,
      };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/response/')) {
        // A response_url: Slack answers "ok" to a JSON message it takes, 404 to one it never gave.
        const where = `http://127.0.0.1:${port}${url.pathname}`;
        if (!handedOut.has(where)) {
          res.writeHead(404).end('no_response_url');
          return;
        }
        try {
          responses.push({
            url: where,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackResponsePost['body'],
          });
        } catch {
          res.writeHead(400).end('invalid_payload');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
      if (!match) {
        reply({ ok: false, error: 'unknown_method' }, 404);
        return;
      }
      const method = match[1] as string;
      const contentType = req.headers['content-type'] ?? '';
      let args: Record<string, unknown>;
      let metadata: SlackRequest['metadata'];
      try {
        args = parseArgs(contentType, Buffer.concat(chunks).toString('utf8'), url.searchParams);
        metadata = parseMetadata(args.metadata);
      } catch {
        reply({ ok: false, error: 'invalid_form_data' });
        return;
      }
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
      const channel = typeof args.channel === 'string' ? args.channel : undefined;
      const text = typeof args.text === 'string' ? args.text : undefined;

      const fault = channel !== undefined ? faults.get(channel)?.shift() : undefined;
      const record = (body: Record<string, unknown>, status: number) =>
        requests.push({
          method,
          httpMethod: req.method ?? '',
          contentType,
          ...(token !== undefined ? { token } : {}),
          ...(channel !== undefined ? { channel } : {}),
          ...(text !== undefined ? { text } : {}),
          ...(metadata !== undefined ? { metadata } : {}),
          args,
          response: {
            ok: body.ok === true,
            ...(typeof body.error === 'string' ? { error: body.error } : {}),
            status,
            ...(typeof body.channel === 'string' ? { channel: body.channel } : {}),
            ...(typeof body.ts === 'string' ? { ts: body.ts } : {}),
          },
        });
      if (fault && 'rateLimited' in fault) {
        const body = { ok: false, error: 'ratelimited' };
        record(body, 429);
        reply(body, 429, { 'retry-after': String(fault.rateLimited) });
        return;
      }
      if (fault && 'status' in fault) {
        record({ ok: false, error: `http_${fault.status}` }, fault.status);
        res.writeHead(fault.status, { 'content-type': 'text/html' });
        res.end(`<html><body>${fault.status} Service Unavailable</body></html>`);
        return;
      }
      if (fault && 'error' in fault) {
        const body = { ok: false, error: fault.error };
        record(body, 200);
        reply(body);
        return;
      }

      const answer = (): Record<string, unknown> => {
        if (!token) return { ok: false, error: 'not_authed' };
        if (token !== options.token) return { ok: false, error: 'invalid_auth' };
        const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
        return handler ? handler(args, channel) : { ok: false, error: 'unknown_method' };
      };
      const respond = () => {
        const body = answer();
        record(body, 200);
        reply(body);
      };
      if (fault && 'delayMs' in fault) setTimeout(respond, fault.delayMs).unref();
      else respond();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Port 0: the kernel picks a free port, so nothing can take it between choosing and binding.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const called = (method: string) => requests.filter((r) => r.method === method && r.response.ok);

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    requests,
    posted: () => called('chat.postMessage'),
    called,
    message: (id, ts) => messages.get(`${id}/${ts}`),
    responseUrl: () => {
      counter += 1;
      const where = `http://127.0.0.1:${port}/response/T0/${counter}/${randomUUID()}`;
      handedOut.add(where);
      return where;
    },
    responses,
    toldTo: (user, responseUrls = []) => [
      ...called('chat.postEphemeral')
        .filter((r) => r.args.user === user)
        .map((r) => r.text ?? ''),
      ...responses.filter((r) => responseUrls.includes(r.url)).map((r) => r.body.text ?? ''),
    ],
    failNext: (channel, ...planned) => {
      faults.set(channel, [...(faults.get(channel) ?? []), ...planned]);
    },
    close: () => closeNow(server),
  };
}

/** The requests about one incident (Baton tags each message's metadata with its id). */
export function aboutIncident(requests: SlackRequest[], incidentId: string): SlackRequest[] {
  return requests.filter((r) => r.metadata?.event_payload?.incident_id === incidentId);
}
