/**
 * A local stand-in for Slack's Web API, on loopback, speaking the protocol the way
 * @slack/web-api uses it: `POST <apiUrl><method>` with an `Authorization: Bearer` token (or a
 * `token` argument) and the arguments form-encoded (objects as JSON strings) or as a JSON body;
 * HTTP 200 with `{ ok: true, ... }` or `{ ok: false, error }` as Slack answers.
 *
 * It implements the one method Baton calls, chat.postMessage, and records every request. A
 * test can make the next requests for a channel fail the ways Slack fails (`failNext`): HTTP
 * 429 with Retry-After, an HTTP 5xx, a platform error, or an answer that comes late.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
  response: { ok: boolean; error?: string; status: number };
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

export interface SlackApiOptions {
  /** The bot token that is accepted; any other gets invalid_auth. */
  token: string;
  /** Channels (names like #x, ids, or user ids) that answer channel_not_found. */
  failChannels?: string[];
}

export interface SlackApi {
  /** The base URL to configure as notifications.slack.apiUrl (ends with /api/). */
  apiUrl: string;
  requests: SlackRequest[];
  /** The chat.postMessage calls that Slack accepted: the messages that really arrived. */
  posted(): SlackRequest[];
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

export async function startSlackApi(options: SlackApiOptions): Promise<SlackApi> {
  const requests: SlackRequest[] = [];
  const failChannels = new Set(options.failChannels ?? []);
  const faults = new Map<string, SlackFault[]>();
  let counter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (body: Record<string, unknown>, status = 200, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
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
        if (method !== 'chat.postMessage') return { ok: false, error: 'unknown_method' };
        if (!channel || failChannels.has(channel)) return { ok: false, error: 'channel_not_found' };
        if (!text && args.blocks === undefined && args.attachments === undefined) {
          return { ok: false, error: 'no_text' };
        }
        counter += 1;
        const ts = `${Math.floor(Date.now() / 1000)}.${String(counter).padStart(6, '0')}`;
        return {
          ok: true,
          channel: channelId(channel),
          ts,
          message: { type: 'message', subtype: 'bot_message', text, bot_id: 'B0BATON', ts },
        };
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
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    requests,
    posted: () => requests.filter((r) => r.method === 'chat.postMessage' && r.response.ok),
    failNext: (channel, ...planned) => {
      faults.set(channel, [...(faults.get(channel) ?? []), ...planned]);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The requests about one incident (Baton tags each message's metadata with its id). */
export function aboutIncident(requests: SlackRequest[], incidentId: string): SlackRequest[] {
  return requests.filter((r) => r.metadata?.event_payload?.incident_id === incidentId);
}
