/** Slack as the notify activity sees it: whom a notification reaches there, and how. */
import type { WebClient } from '@slack/web-api';
import type { OutboundChannel } from '../channel';
import { classifySlackError } from './errors';
import { postToSlack, slackTargets } from './send';

export interface SlackOutboundOptions {
  /** The Web API client; without one Slack's targets are reported undelivered. */
  client?: WebClient | undefined;
  /** The incident's live Slack messages are kept (live.ts): no notice is posted where they are. */
  liveMessages?: boolean | undefined;
}

export function slackOutbound({ client, liveMessages }: SlackOutboundOptions): OutboundChannel {
  return {
    id: 'slack',
    targets: (notification) => slackTargets(notification, Boolean(client) && liveMessages === true),
    send: client ? (target, notification) => postToSlack(client, target, notification) : undefined,
    classify: classifySlackError,
  };
}
