/** The moves a notice offers the people it addresses (a page's Acknowledge), as every channel labels them. */
import type { Notification } from '../workflows/incident/model';

export type NoticeMove = NonNullable<Notification['actions']>['steps'][number];

export const NOTICE_MOVE_LABELS: Record<NoticeMove, string> = {
  acknowledge: 'Acknowledge',
  escalate: 'Escalate to Level 3',
  acceptHandover: 'Accept handover',
  resolve: 'Resolve',
};
