import type { WebClient } from '@slack/web-api';
import type { FastifyBaseLogger } from 'fastify';
import type { AnswerTo } from '../actions';

/** The error Slack answered (`channel_not_found`, `ratelimited`…), or what failed on the way. */
export function slackErrorOf(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data;
  if (typeof data?.error === 'string') return data.error;
  return err instanceof Error ? err.message : String(err);
}

/** How long Baton waits for Slack to take an answer it sends outside a request. */
const SEND_TIMEOUT_MS = 5_000;

/**
 * Answers only the person who acted: through the interaction's response_url where there is
 * one (it works in any conversation, even where the bot is not a member), else with
 * chat.postEphemeral in the conversation (and thread) they acted in. Never throws: an
 * answer that cannot be delivered is logged, and whatever the step did stays done.
 */
export class SlackAnswers {
  constructor(private readonly slack: WebClient | undefined) {}

  async ephemeral(
    to: Partial<AnswerTo> & { user: string },
    text: string,
    log: FastifyBaseLogger,
  ): Promise<void> {
    if (to.responseUrl && (await this.toResponseUrl(to.responseUrl, text, log))) return;
    if (!this.slack || !to.channel) {
      log.warn(
        { slackUser: to.user },
        'a Slack answer had nowhere to go (no response_url, channel or bot token)',
      );
      return;
    }
    try {
      await this.slack.chat.postEphemeral({
        channel: to.channel,
        user: to.user,
        text,
        ...(to.threadTs ? { thread_ts: to.threadTs } : {}),
      });
    } catch (err) {
      log.warn({ err, slackUser: to.user, channel: to.channel }, 'chat.postEphemeral failed');
    }
  }

  /** Posts a message for the user alone to an interaction's response_url; true when Slack took it. */
  async toResponseUrl(url: string, text: string, log: FastifyBaseLogger): Promise<boolean> {
    if (!/^https?:\/\//i.test(url)) return false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
        signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      });
      if (response.ok) return true;
      log.warn({ status: response.status }, 'Slack refused an answer to a response_url');
    } catch (err) {
      log.warn({ err }, 'an answer to a Slack response_url failed');
    }
    return false;
  }
}
