import type { WebClient } from '@slack/web-api';
import type { Notification } from '../workflows/model';

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

export async function postToSlack(
  client: WebClient,
  target: string,
  notification: Notification,
): Promise<void> {
  await client.chat.postMessage({
    channel: target,
    text: slackText(notification),
    unfurl_links: false,
    metadata: {
      event_type: 'baton_incident',
      event_payload: { incident_id: notification.incidentId, kind: notification.kind },
    },
  });
}
