/**
 * A notice as an Adaptive Card for a person's chat with Baton: its subject and text, its
 * links, and a button per move the notice offers (a page's Acknowledge), as Universal Actions
 * (`Action.Execute`) carrying the phase they were offered in, so a late click on a changed
 * incident changes nothing.
 *
 * Everything in it came from people and alerts through the incident: the text goes in
 * TextRuns, which Teams shows as plain text (no Markdown, so no link but Baton's own), and only
 * http(s) links become buttons.
 */
import type { Notification } from '../../workflows/incident/model';
import { NOTICE_MOVE_LABELS, type NoticeMove } from '../moves';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

/** A Teams message is at most about 28 KB; the card keeps well inside it. */
const TEXT_MAX = 8_000;
const SUBJECT_MAX = 300;
const LINKS_MAX = 5;

/** The verb of a move's button; the endpoint reads the move back from it. */
export const verbOf = (step: NoticeMove): string => `baton.${step}`;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function isWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

export function noticeCard(notification: Notification): Record<string, unknown> {
  const { actions } = notification;
  const moves = (actions?.steps ?? []).map((step) => ({
    type: 'Action.Execute',
    title: NOTICE_MOVE_LABELS[step],
    verb: verbOf(step),
    data: {
      incident: notification.incidentId,
      phase: actions?.phase,
      ...(actions?.response !== undefined ? { response: actions.response } : {}),
    },
    ...(step === 'acknowledge' ? { style: 'positive' } : {}),
  }));
  const links = notification.links
    .filter((l) => isWebLink(l.url))
    .slice(0, LINKS_MAX)
    .map((l) => ({ type: 'Action.OpenUrl', title: cut(l.label, 100), url: l.url }));
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body: [
      {
        type: 'RichTextBlock',
        inlines: [
          { type: 'TextRun', text: cut(notification.subject, SUBJECT_MAX), weight: 'Bolder', size: 'Medium' },
        ],
      },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: cut(notification.text, TEXT_MAX) }] },
    ],
    actions: [...moves, ...links],
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
    summary: cut(notification.subject, SUBJECT_MAX),
    attachments: [{ contentType: ADAPTIVE_CARD, content: noticeCard(notification) }],
  };
}
