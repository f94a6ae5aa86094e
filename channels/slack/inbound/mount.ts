/**
 * Slack's inbound half on the API: its interactions, slash commands and events. The routes
 * exist only with Slack's signing secret: without it no request could be trusted.
 */
import type { WebClient } from '@slack/web-api';
import type { InboundContext } from '../../channel';
import { slackApiClientFor } from './client';
import { slackRoutes } from './routes';

export interface SlackInboundOptions {
  /**
   * The Slack Web API client the routes answer with (users.info, chat.postEphemeral,
   * views.open, conversations.replies); built from notifications.slack when not given.
   */
  client?: WebClient | undefined;
}

export async function mountSlackInbound(
  { app, config, secrets, incidents, schedules, temporal }: InboundContext,
  options: SlackInboundOptions,
): Promise<void> {
  const signingSecret = secrets.slackSigningSecret;
  if (!signingSecret) return;
  const slack = options.client ?? slackApiClientFor(config, secrets);
  if (!slack) {
    app.log.warn(
      "Slack's signing secret is set but not its bot token: Slack's forms, ephemeral answers and thread replies cannot work",
    );
  }
  await app.register(slackRoutes({ config, signingSecret, incidents, schedules, temporal, slack }));
}
