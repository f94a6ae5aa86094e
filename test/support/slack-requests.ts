/**
 * Requests as Slack sends them to an app in HTTP mode: interaction payloads form-encoded as
 * `payload=<json>`, slash commands form-encoded, Events API callbacks as JSON, each signed
 * the way Slack signs (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>` with the app's signing
 * secret, in X-Slack-Signature and X-Slack-Request-Timestamp). Written from Slack's
 * documentation, independently of Baton's verification.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export const SIGNING_SECRET = 'test-signing-secret-8f14e45fceea167a5a36dedd4bea2543';

export interface Signing {
  secret?: string;
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** Sent instead of the right signature. */
  signature?: string;
  /** Leave the signature headers out. */
  unsigned?: boolean;
  /** X-Slack-Retry-Num, as Slack sets on a retried event. */
  retry?: number;
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signedHeaders(body: string, signing: Signing = {}): Record<string, string> {
  const timestamp = signing.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {};
  if (!signing.unsigned) {
    headers['x-slack-request-timestamp'] = String(timestamp);
    headers['x-slack-signature'] =
      signing.signature ?? signatureOf(signing.secret ?? SIGNING_SECRET, timestamp, body);
  }
  if (signing.retry !== undefined) {
    headers['x-slack-retry-num'] = String(signing.retry);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return headers;
}

const FORM = 'application/x-www-form-urlencoded';

export function interactionBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** POSTs a body to one of the Slack routes, signed (or not) as `signing` says. */
export function sendToSlackRoute(
  app: FastifyInstance,
  route: 'interactions' | 'commands' | 'events',
  body: string,
  signing: Signing = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: `/slack/${route}`,
    headers: {
      'content-type': route === 'events' ? 'application/json' : FORM,
      ...signedHeaders(body, signing),
    },
    payload: body,
  });
}

export const triggerId = (): string =>
  `${Date.now()}.${Math.floor(Math.random() * 1e9)}.${randomUUID().slice(0, 8)}`;

/** A click on one of Baton's buttons, as a block_actions payload. */
export function buttonClick(options: {
  user: string;
  actionId: string;
  value: string;
  responseUrl: string;
  channel?: string;
  triggerId?: string;
}): Record<string, unknown> {
  const channel = options.channel ?? 'C0PAYMENTS';
  return {
    type: 'block_actions',
    team: { id: 'T0BATON', domain: 'baton' },
    user: { id: options.user, username: options.user.toLowerCase(), team_id: 'T0BATON' },
    api_app_id: 'A0BATON',
    token: 'verification-token-not-used',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channel, is_ephemeral: false },
    trigger_id: options.triggerId ?? triggerId(),
    channel: { id: channel, name: 'payments-incidents' },
    message: { type: 'message', ts: '1700000000.000100', bot_id: 'B0BATON', text: 'incident' },
    response_url: options.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: options.actionId,
        block_id: 'baton:actions',
        text: { type: 'plain_text', text: 'button' },
        value: options.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

type Values = Record<string, { value?: string; selected?: string }>;

/** The submission of a modal Baton opened: `view` as views.open sent it, with the fields filled in. */
export function viewSubmission(options: {
  user: string;
  view: Record<string, unknown>;
  viewId: string;
  values: Values;
}): Record<string, unknown> {
  const state: Record<string, Record<string, unknown>> = {};
  for (const [name, filled] of Object.entries(options.values)) {
    state[name] = {
      [name]:
        filled.selected !== undefined
          ? {
              type: 'static_select',
              selected_option: {
                text: { type: 'plain_text', text: filled.selected },
                value: filled.selected,
              },
            }
          : { type: 'plain_text_input', value: filled.value ?? null },
    };
  }
  return {
    type: 'view_submission',
    team: { id: 'T0BATON', domain: 'baton' },
    user: { id: options.user, username: options.user.toLowerCase(), team_id: 'T0BATON' },
    api_app_id: 'A0BATON',
    trigger_id: triggerId(),
    view: {
      ...options.view,
      id: options.viewId,
      team_id: 'T0BATON',
      hash: `${Date.now()}.abc`,
      state: { values: state },
    },
    response_urls: [],
  };
}

/** A slash command, form-encoded as Slack posts it. */
export function slashCommand(options: {
  user: string;
  text: string;
  responseUrl: string;
  triggerId?: string;
}): string {
  return new URLSearchParams({
    token: 'verification-token-not-used',
    team_id: 'T0BATON',
    team_domain: 'baton',
    channel_id: 'C0PAYMENTS',
    channel_name: 'payments-incidents',
    user_id: options.user,
    user_name: options.user.toLowerCase(),
    command: '/incident',
    text: options.text,
    api_app_id: 'A0BATON',
    response_url: options.responseUrl,
    trigger_id: options.triggerId ?? triggerId(),
  }).toString();
}

/** An Events API callback carrying a message event. */
export function messageEvent(options: {
  eventId: string;
  channel: string;
  text: string;
  user?: string;
  threadTs?: string;
  ts?: string;
  botId?: string;
  subtype?: string;
}): string {
  const ts =
    options.ts ??
    `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return JSON.stringify({
    token: 'verification-token-not-used',
    team_id: 'T0BATON',
    api_app_id: 'A0BATON',
    type: 'event_callback',
    event_id: options.eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T0BATON', user_id: 'U0BATONBOT', is_bot: true }],
    event: {
      type: 'message',
      channel: options.channel,
      channel_type: 'channel',
      ts,
      text: options.text,
      ...(options.user ? { user: options.user } : {}),
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
      ...(options.botId ? { bot_id: options.botId } : {}),
      ...(options.subtype ? { subtype: options.subtype } : {}),
    },
  });
}
