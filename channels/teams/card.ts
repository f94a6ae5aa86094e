/**
 * A notice as an Adaptive Card for a person's chat with Baton: its subject, its text and its
 * links. The moves a notice offers (a page's Acknowledge) become buttons once the messaging
 * endpoint acts on them: a button that does nothing is worse than none.
 *
 * Everything in it came from people and alerts through the incident: the text goes in
 * TextRuns, which Teams shows as plain text (no Markdown, so no link but Baton's own), and only
 * http(s) links become buttons.
 */
import type { Notification } from '../../workflows/incident/model';
import { truncateBytes } from '../../workflows/incident/limits';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

/**
 * A Teams message is at most about 28 KB: the text, the subject (twice: card and summary) and
 * the links are measured in UTF-8 bytes and stay inside it even when JSON doubles the text
 * (a text of line breaks).
 */
const TEXT_BYTES = 8_000;
const SUBJECT_BYTES = 600;
const LINKS_MAX = 5;
const URL_MAX = 1_000;

function isWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

export function noticeCard(notification: Notification): Record<string, unknown> {
  const links = notification.links
    .filter((l) => l.url.length <= URL_MAX && isWebLink(l.url))
    .slice(0, LINKS_MAX)
    .map((l) => ({ type: 'Action.OpenUrl', title: truncateBytes(l.label, 200), url: l.url }));
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      {
        type: 'RichTextBlock',
        inlines: [
          {
            type: 'TextRun',
            text: truncateBytes(notification.subject, SUBJECT_BYTES),
            weight: 'Bolder',
            size: 'Medium',
          },
        ],
      },
      {
        type: 'RichTextBlock',
        inlines: [{ type: 'TextRun', text: truncateBytes(notification.text, TEXT_BYTES) }],
      },
    ],
    actions: links,
  };
}

/** The message that carries the card; its summary is what a notification shows. */
export interface CardMessage {
  type: 'message';
  summary: string;
  attachments: { contentType: string; content: Record<string, unknown> }[];
}

export function noticeActivity(notification: Notification): CardMessage {
  return {
    type: 'message' as const,
    summary: truncateBytes(notification.subject, SUBJECT_BYTES),
    attachments: [{ contentType: ADAPTIVE_CARD, content: noticeCard(notification) }],
  };
}
