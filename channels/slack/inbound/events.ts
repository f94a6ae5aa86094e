/**
 * Events API: a person's reply in the thread of one of Baton's incident messages becomes a
 * note on that incident (source: slack). The thread's parent is found with
 * conversations.replies, whose metadata (`baton_incident`, set on every message Baton posts)
 * names the incident. Bots, Baton's own posts and edits are ignored.
 */
import type { FastifyBaseLogger } from 'fastify';
import { HttpError } from '../../../api/errors';
import { addNote, type SlackContext } from './context';
import { notFound, refused } from './messages';
import { messageEvent, type EventCallback, type MessageEvent } from './payloads';

const NOTE_MAX = 20_000;
const MAX_THREADS_CACHED = 2_000;

/** A reply by a person in a thread, in a channel: the only messages that become notes. */
export function isPersonThreadReply(event: MessageEvent, botUsers: string[]): boolean {
  return (
    event.subtype === undefined &&
    event.bot_id === undefined &&
    event.user !== undefined &&
    !botUsers.includes(event.user) &&
    event.thread_ts !== undefined &&
    event.thread_ts !== event.ts &&
    (event.channel_type === undefined || event.channel_type === 'channel' || event.channel_type === 'group')
  );
}

/** Which incident a thread belongs to, remembered once found (a thread never changes parent). */
export class IncidentThreads {
  private readonly known = new Map<string, string>();

  async incidentOf(
    ctx: SlackContext,
    channel: string,
    threadTs: string,
    appId: string | undefined,
    log: FastifyBaseLogger,
  ): Promise<string | undefined> {
    const key = `${channel}/${threadTs}`;
    const cached = this.known.get(key);
    if (cached) return cached;
    if (!ctx.slack) return undefined;
    let parent;
    try {
      const replies = await ctx.slack.conversations.replies({
        channel,
        ts: threadTs,
        include_all_metadata: true,
        limit: 1,
      });
      parent = replies.messages?.find((m) => m.ts === threadTs);
    } catch (err) {
      // Slack retries an event answered 5xx: the reply is taken when Slack answers again.
      log.warn({ err, channel, threadTs }, 'conversations.replies failed');
      throw new HttpError(503, 'Slack did not say which thread this is; retry', 'SlackUnavailable');
    }
    const metadata = parent?.metadata;
    const incident = (metadata?.event_payload as Record<string, unknown> | undefined)?.incident_id;
    // Another app's message with look-alike metadata is not one of Baton's.
    const sameApp = !appId || !parent?.app_id || parent.app_id === appId;
    if (metadata?.event_type !== 'baton_incident' || typeof incident !== 'string' || !sameApp)
      return undefined;
    if (this.known.size >= MAX_THREADS_CACHED) this.known.clear();
    this.known.set(key, incident);
    return incident;
  }
}

export async function onEvent(
  ctx: SlackContext,
  threads: IncidentThreads,
  body: EventCallback,
  log: FastifyBaseLogger,
): Promise<void> {
  const parsed = messageEvent.safeParse(body.event);
  if (!parsed.success) return;
  const event = parsed.data;
  const botUsers = (body.authorizations ?? []).flatMap((a) => (a.user_id ? [a.user_id] : []));
  const text = event.text?.trim();
  if (!isPersonThreadReply(event, botUsers) || !text || !event.user || !event.thread_ts) return;
  const incident = await threads.incidentOf(ctx, event.channel, event.thread_ts, body.api_app_id, log);
  if (!incident) return;
  const to = { user: event.user, channel: event.channel, threadTs: event.thread_ts };
  const who = await ctx.identities.responderFor(event.user);
  if (!who.ok) {
    await ctx.answers.ephemeral(to, `Your reply was not added to the incident. ${who.reason}`, log);
    return;
  }
  const noted = await addNote(
    ctx,
    incident,
    {
      actor: who.responder.id,
      text: text.length <= NOTE_MAX ? text : `${text.slice(0, NOTE_MAX - 1)}…`,
      // Slack retries an event it thinks was not answered: the same event id is the same note.
      requestId: `slack:${body.event_id}`,
    },
    log,
  );
  if (!noted.ok && noted.status >= 500) {
    throw new HttpError(503, 'the note could not reach the incident; retry', 'TemporalUnavailable');
  }
  if (!noted.ok) {
    const why = noted.status === 404 ? notFound(incident) : refused(noted.reason);
    await ctx.answers.ephemeral(to, `Your reply was not added to the incident. ${why}`, log);
  }
}
