import type { WebClient } from '@slack/web-api';
import type { DeliveryReport, Notification } from '../workflows/model';
import { emailTargets, sendEmail, type Mailer } from './email';
import type { Outbox } from './outbox';
import { postToSlack, slackTargets } from './slack';

export interface NotificationDeps {
  slack?: WebClient;
  mailer?: Mailer;
  outbox: Outbox;
  log: (message: string, fields: Record<string, unknown>) => void;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: { error?: string } }).data;
    return data?.error && !err.message.includes(data.error) ? `${err.message} (${data.error})` : err.message;
  }
  return String(err);
}

export function createNotificationActivities(deps: NotificationDeps) {
  return {
    /**
     * Sends one notification on every configured channel. Each target is tried once here;
     * a failed target is reported back (the workflow records it) rather than thrown, so a
     * retry never repeats what was already delivered. Only the outbox write may throw.
     */
    async notify(notification: Notification): Promise<DeliveryReport> {
      const report: DeliveryReport = { delivered: [], failed: [], undelivered: [] };

      // Every target at once: one slow channel must not hold up the others, and the whole
      // attempt stays well inside the activity's timeout so a retry never repeats a delivery.
      const attempts: Promise<void>[] = [];
      const attempt = (channel: 'slack' | 'email', target: string, send: () => Promise<void>): void => {
        attempts.push(
          send().then(
            () => {
              report.delivered.push({ channel, target });
            },
            (err: unknown) => {
              report.failed.push({ channel, target, error: describeError(err) });
            },
          ),
        );
      };

      const slack = slackTargets(notification);
      const { slack: slackClient, mailer } = deps;
      if (slackClient) {
        for (const target of slack)
          attempt('slack', target, () => postToSlack(slackClient, target, notification));
      } else {
        report.undelivered.push(...slack.map((t) => `slack:${t}`));
      }

      const email = emailTargets(notification);
      if (mailer) {
        for (const target of email) attempt('email', target, () => sendEmail(mailer, target, notification));
      } else {
        report.undelivered.push(...email.map((t) => `email:${t}`));
      }
      await Promise.all(attempts);

      await deps.outbox.write(notification, report);
      deps.log(
        report.delivered.length > 0 ? 'notification sent' : 'notification not delivered (outbox only)',
        {
          incidentId: notification.incidentId,
          kind: notification.kind,
          subject: notification.subject,
          delivered: report.delivered.length,
          failed: report.failed.length,
          undelivered: report.undelivered,
        },
      );
      return report;
    },
  };
}
