import type { WebClient } from '@slack/web-api';
import type { Notification } from '../workflows/model';
import { actionIdOf, buttonValue } from './slack-actions';
import { escapeMrkdwn, mrkdwnLink, type Block } from './slack-blocks';

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

export function slackText(notification: Notification): string {
  const links = notification.links.map((l) => `<${l.url}|${l.label}>`).join(' · ');
  return [`*${notification.subject}*`, notification.text, links].filter(Boolean).join('\n');
}

/** A Slack user id (a direct message), as opposed to a channel. */
const isPerson = (target: string): boolean => /^[UW][A-Z0-9]+$/.test(target);

const BUTTON_TEXT = {
  acknowledge: 'Acknowledge',
  escalate: 'Escalate to Level 3',
  acceptHandover: 'Accept handover',
  resolve: 'Resolve',
} as const;

/**
 * A direct message that offers moves: the notice as escaped mrkdwn, its links, and a
 * button per move, the same buttons (and so the same handling) as the live message's.
 */
export function directMessageBlocks(notification: Notification): Block[] | undefined {
  const { actions } = notification;
  if (!actions || actions.steps.length === 0) return undefined;
  const links = notification.links.map((l) => mrkdwnLink(l.url, l.label)).join(' · ');
  const text = [`*${escapeMrkdwn(notification.subject)}*`, escapeMrkdwn(notification.text), links]
    .filter(Boolean)
    .join('\n');
  return [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: text.length > 2_900 ? `${text.slice(0, 2_899)}…` : text },
    },
    {
      type: 'actions',
      block_id: 'baton:actions',
      elements: actions.steps.map((step) => ({
        type: 'button' as const,
        action_id: actionIdOf(step),
        text: { type: 'plain_text' as const, text: BUTTON_TEXT[step] },
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
