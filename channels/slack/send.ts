import type { WebClient } from '@slack/web-api';
import type { Notification } from '../../workflows/incident/model';
import { oneLine } from '../../activities/markdown';
import { actionIdOf, buttonValue } from './actions';
import { fitMrkdwn, mrkdwnLink, safeUrl, SLACK_TEXT_MAX, type Block } from './blocks';
import { NOTICE_MOVE_LABELS } from '../moves';

/**
 * Slack's part of a notification: one message to each channel and each responder's direct
 * messages; with live messages, none to the channels whose live message tells it already.
 */
export function slackTargets(notification: Notification, liveMessages = false): string[] {
  const live = new Set(liveMessages ? (notification.liveChannels ?? []) : []);
  const targets = new Set(notification.slackChannels.filter((c) => !live.has(c)));
  for (const responder of notification.responders) {
    if (responder.slackUserId) targets.add(responder.slackUserId);
  }
  return [...targets];
}

/**
 * The notice as mrkdwn in at most `max` characters: its subject, its text (cut if need be,
 * keeping a quarter of the room for links) and the links Slack may show (http(s) only) that
 * fit whole. All of it came from people and alerts through the incident, so all of it is
 * escaped: no mention, and no link but Baton's own.
 */
function noticeMrkdwn(notification: Notification, max: number): string {
  const subject = `*${fitMrkdwn(oneLine(notification.subject), 500)}*`;
  const links = notification.links.flatMap((l) => (safeUrl(l.url) ? [mrkdwnLink(l.url, l.label)] : []));
  const separator = ' · ';
  const linksLength = links.reduce((sum, l) => sum + l.length + separator.length, 0);
  const room = max - subject.length - 2 - Math.min(linksLength, Math.floor(max / 4));
  const text = fitMrkdwn(notification.text, Math.max(0, room));
  let left = max - subject.length - text.length - 2;
  const shown: string[] = [];
  for (const link of links) {
    if (link.length + separator.length > left) break;
    shown.push(link);
    left -= link.length + separator.length;
  }
  return [subject, text, shown.join(separator)].filter(Boolean).join('\n');
}

/** The message's text: what a channel shows, and the notification of a direct message. */
export function slackText(notification: Notification): string {
  return noticeMrkdwn(notification, SLACK_TEXT_MAX);
}

/** A Slack user id (a direct message), as opposed to a channel. */
const isPerson = (target: string): boolean => /^[UW][A-Z0-9]+$/.test(target);

/**
 * A direct message that offers moves: the notice as escaped mrkdwn, its links, and a
 * button per move, the same buttons (and so the same handling) as the live message's.
 */
export function directMessageBlocks(notification: Notification): Block[] | undefined {
  const { actions } = notification;
  if (!actions || actions.steps.length === 0) return undefined;
  return [
    // A section's text holds at most 3,000 characters.
    { type: 'section', text: { type: 'mrkdwn', text: noticeMrkdwn(notification, 3_000) } },
    {
      type: 'actions',
      block_id: 'baton:actions',
      elements: actions.steps.map((step) => ({
        type: 'button' as const,
        action_id: actionIdOf(step),
        text: { type: 'plain_text' as const, text: NOTICE_MOVE_LABELS[step] },
        value: buttonValue({
          incident: notification.incidentId,
          phase: actions.phase,
          ...(actions.response !== undefined ? { response: actions.response } : {}),
        }),
        ...(step === 'acknowledge' ? { style: 'primary' as const } : {}),
      })),
    },
  ];
}

export async function postToSlack(
  client: WebClient,
  target: string,
  notification: Notification,
): Promise<void> {
  const blocks = isPerson(target) ? directMessageBlocks(notification) : undefined;
  await client.chat.postMessage({
    channel: target,
    text: slackText(notification),
    ...(blocks ? { blocks } : {}),
    unfurl_links: false,
    metadata: {
      event_type: 'baton_incident',
      event_payload: { incident_id: notification.incidentId, kind: notification.kind },
    },
  });
}
