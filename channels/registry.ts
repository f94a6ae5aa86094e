/**
 * The one place that lists Baton's channels: what the notify activity sends through, in the
 * order a report lists them, and what the API mounts. A new channel adds a line to each.
 */
import type { WebClient } from '@slack/web-api';
import type { InboundContext, OutboundChannel } from './channel';
import { mountEmailInbound, type EmailInboundOptions } from './email/inbound/mount';
import type { Mailer } from './email/mailer';
import { emailOutbound } from './email/outbound';
import { mountSlackInbound, type SlackInboundOptions } from './slack/inbound/mount';
import { slackOutbound } from './slack/outbound';
import { mountTeamsInbound, type TeamsInboundOptions } from './teams/inbound/mount';
import { teamsOutbound, type TeamsOutboundOptions } from './teams/outbound';

export interface OutboundDeps {
  slack?: WebClient | undefined;
  /** The incident's live Slack messages are kept: no Slack notice goes where they are. */
  liveMessages?: boolean | undefined;
  mailer?: Mailer | undefined;
  /** Teams, when the configuration has it (channels/teams/setup.ts). */
  teams?: TeamsOutboundOptions | undefined;
  log: (message: string, fields: Record<string, unknown>) => void;
}

export function outboundChannels(deps: OutboundDeps): OutboundChannel[] {
  return [
    slackOutbound({ client: deps.slack, liveMessages: deps.liveMessages }),
    emailOutbound({
      mailer: deps.mailer,
      onRenderError: ({ incidentId, kind }, target, error) =>
        deps.log('email sent as plain text: its template failed', { incidentId, kind, target, error }),
    }),
    ...(deps.teams ? [teamsOutbound(deps.teams)] : []),
  ];
}

export interface InboundOptions {
  email?: EmailInboundOptions;
  slack?: SlackInboundOptions;
  teams?: TeamsInboundOptions;
}

/** Every channel's inbound routes, each mounted only when its configuration and secrets allow. */
export async function mountInboundChannels(
  context: InboundContext,
  options: InboundOptions = {},
): Promise<void> {
  await mountEmailInbound(context, options.email ?? {});
  await mountSlackInbound(context, options.slack ?? {});
  await mountTeamsInbound(context, options.teams ?? {});
}
