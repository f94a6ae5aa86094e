/**
 * The incident's live message in Slack: one message per channel (the team's, and the Level
 * 3 channel's once the incident is escalated) that shows the incident as it stands, with the
 * buttons the process allows now, and a thread under the team's message that tells the
 * timeline. The workflow calls `syncSlackMessages` whenever the incident changed; changes
 * that come while a sync is under way are merged into the next one.
 */
import type { WebClient } from '@slack/web-api';
import type { IncidentState, SlackLiveMessage, TimelineEvent } from '../../workflows/incident/state';
import { classifySlackError } from './errors';
import { currentActivity } from '../../activities/heartbeat';
import { oneLine } from '../../activities/markdown';
import { deliver, retryPolicy, type RetryPolicy } from '../../activities/retry';
import { fitMrkdwn, incidentBlocks, incidentText, SLACK_TEXT_MAX } from './blocks';

export interface SlackLiveDeps {
  /** Absent, or live messages turned off: the workflow is told so and stops asking. */
  slack?: WebClient;
  log: (message: string, fields: Record<string, unknown>) => void;
  retry?: Partial<RetryPolicy>;
  /** One Slack call's deadline. */
  sendTimeoutMs?: number;
}

export interface SlackSyncInput {
  /** The record, with its newest events. */
  record: IncidentState;
  /** The channels that have (or should have) a live message. */
  channels: { channel: string; level3: boolean }[];
  /** The messages posted so far. */
  messages: SlackLiveMessage[];
  /** The last timeline event already told in the team message's thread. */
  threadSeq: number;
  /** Names for responder ids, and the Slack user ids of those to mention when first posted. */
  responders: Record<string, { name: string; slackUserId?: string }>;
}

export interface SlackSyncResult {
  /** False without a Slack client or with live messages off: the workflow stops asking. */
  configured: boolean;
  messages: SlackLiveMessage[];
  threadSeq: number;
  /** Channels that could not be posted to or updated, with the error. */
  failed: { channel: string; error: string }[];
}

/** What an earlier attempt's heartbeat says it posted; nothing when it says nothing usable. */
function progressOf(details: unknown): { messages: SlackLiveMessage[]; threadSeq: number } {
  const none = { messages: [], threadSeq: 0 };
  if (!details || typeof details !== 'object') return none;
  const { messages, threadSeq } = details as { messages?: unknown; threadSeq?: unknown };
  const valid = Array.isArray(messages)
    ? messages.filter(
        (m): m is SlackLiveMessage =>
          typeof m === 'object' &&
          m !== null &&
          typeof (m as SlackLiveMessage).channel === 'string' &&
          typeof (m as SlackLiveMessage).channelId === 'string' &&
          typeof (m as SlackLiveMessage).ts === 'string',
      )
    : [];
  return { messages: valid, threadSeq: typeof threadSeq === 'number' ? threadSeq : 0 };
}

/**
 * A line of the thread: the timeline event in the words of the record, on one line, so that
 * a note cannot add a line that reads as another event, and escaped, so that it cannot
 * mention anyone or show a link.
 */
function threadLine(event: TimelineEvent, names: SlackSyncInput['responders']): string {
  const known = Object.hasOwn(names, event.actor) ? names[event.actor]?.name : undefined;
  const who = event.actor === 'baton' ? 'Baton' : (known ?? event.actor);
  return `${fitMrkdwn(oneLine(who), 100)}: ${fitMrkdwn(oneLine(event.summary), 1_000)}`;
}

/** The thread's reply for these events: as many lines as Slack takes, then how many are left out. */
export function threadText(events: TimelineEvent[], names: SlackSyncInput['responders']): string {
  const lines: string[] = [];
  let length = 0;
  for (const event of events) {
    const line = threadLine(event, names);
    if (length + line.length + 1 > SLACK_TEXT_MAX - 100) break;
    lines.push(line);
    length += line.length + 1;
  }
  const omitted = events.length - lines.length;
  if (omitted > 0) lines.push(`…and ${omitted} more event(s), in the incident's record`);
  return lines.join('\n');
}

/** A Slack user id as Slack writes it: anything else in the configuration is not mentioned. */
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

export function createSlackLiveActivities(deps: SlackLiveDeps) {
  const policy = retryPolicy(deps.retry);
  const sendTimeoutMs = deps.sendTimeoutMs ?? 20_000;

  /** One Slack call with Baton's bounded retries (429 with Retry-After, 5xx): its answer or the error. */
  async function call<T>(
    send: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    let value: T | undefined;
    const outcome = await deliver({
      send: async () => {
        value = await send();
      },
      classify: classifySlackError,
      policy,
      sendTimeoutMs,
    });
    if (outcome.delivered && value !== undefined) return { ok: true, value };
    return { ok: false, error: 'error' in outcome ? outcome.error : 'not sent' };
  }

  return {
    /**
     * Posts the incident's live message where it has none yet and updates it where it has,
     * then tells the timeline events since the last sync in the team message's thread, in
     * one reply, so that a burst of changes is one update and one reply.
     */
    async syncSlackMessages(input: SlackSyncInput): Promise<SlackSyncResult> {
      const { slack } = deps;
      if (!slack)
        return { configured: false, messages: input.messages, threadSeq: input.threadSeq, failed: [] };
      const { record } = input;
      // A retry after a crash: what the earlier attempt posted, from its heartbeat, so the
      // live message is updated rather than posted a second time.
      const context = currentActivity();
      const earlier = progressOf(context?.info.heartbeatDetails);
      const messages = [...input.messages];
      for (const m of earlier.messages) if (!messages.some((k) => k.channel === m.channel)) messages.push(m);
      const progress = (threadSeq: number): void => {
        try {
          context?.heartbeat({ messages, threadSeq });
        } catch {
          // A heartbeat that cannot be sent must not fail what was posted.
        }
      };
      const failed: SlackSyncResult['failed'] = [];
      const text = incidentText(record);
      const metadata = {
        event_type: 'baton_incident',
        event_payload: { incident_id: record.id, kind: 'live' },
      };
      for (const { channel, level3 } of input.channels) {
        const blocks = incidentBlocks(record, { level3, responders: input.responders });
        const existing = messages.find((m) => m.channel === channel);
        if (existing) {
          const answer = await call(() =>
            slack.chat.update({ channel: existing.channelId, ts: existing.ts, text, blocks }),
          );
          if (!answer.ok) failed.push({ channel, error: answer.error });
          continue;
        }
        // The first post mentions whoever is paged now, so Slack notifies them; updates do not.
        const paged = record.timeline.filter((e) => e.kind === 'paged').at(-1)?.details?.to;
        const mentions = (Array.isArray(paged) ? (paged as unknown[]) : [])
          .map((id) => (typeof id === 'string' ? input.responders[id]?.slackUserId : undefined))
          .filter((id): id is string => id !== undefined && SLACK_USER_ID.test(id))
          .map((id) => `<@${id}>`);
        const answer = await call(() =>
          slack.chat.postMessage({
            channel,
            text: mentions.length > 0 && !level3 ? `${mentions.join(' ')} ${text}` : text,
            blocks,
            metadata,
            unfurl_links: false,
          }),
        );
        if (!answer.ok || !answer.value.ts || !answer.value.channel) {
          failed.push({ channel, error: answer.ok ? 'Slack answered without a message ts' : answer.error });
          continue;
        }
        messages.push({ channel, channelId: answer.value.channel, ts: answer.value.ts, level3 });
        progress(Math.max(input.threadSeq, earlier.threadSeq));
      }

      let threadSeq = Math.max(input.threadSeq, earlier.threadSeq);
      const team = messages.find((m) => !m.level3);
      const fresh = record.timeline.filter((e) => (e.seq ?? 0) > threadSeq);
      if (team && fresh.length > 0) {
        const answer = await call(() =>
          slack.chat.postMessage({
            channel: team.channelId,
            thread_ts: team.ts,
            text: threadText(fresh, input.responders),
            metadata,
            unfurl_links: false,
          }),
        );
        if (answer.ok) {
          threadSeq = Math.max(threadSeq, ...fresh.map((e) => e.seq ?? 0));
          progress(threadSeq);
        } else failed.push({ channel: `${team.channel} (thread)`, error: answer.error });
      }
      for (const failure of failed) {
        deps.log('live Slack message not kept current', { incidentId: record.id, ...failure });
      }
      return { configured: true, messages, threadSeq, failed };
    },
  };
}
