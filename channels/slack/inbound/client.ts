import { WebClient } from '@slack/web-api';
import type { BatonConfig } from '../../../config/schema';
import type { Secrets } from '../../../config/secrets';

/**
 * The API's own Slack client (users.info, chat.postEphemeral, views.open, conversations.replies),
 * built like the worker's (worker/worker.ts) with the configured base URL. Everything it does
 * answers a person who is waiting, inside Slack's 3 seconds: no retries, a short timeout, and
 * a rate limit is an error to report rather than a wait.
 */
export function slackApiClientFor(config: BatonConfig, secrets: Secrets): WebClient | undefined {
  const slack = config.notifications.slack;
  if (!slack || !secrets.slackToken) return undefined;
  return new WebClient(secrets.slackToken, {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    retryConfig: { retries: 0 },
    timeout: 2_500,
    rejectRateLimitedCalls: true,
  });
}
