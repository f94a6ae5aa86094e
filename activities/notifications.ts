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
    return data?.error ? `${err.message} (${data.error})` : err.message;
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

      const slack = slackTargets(notification);
      if (deps.slack) {
        for (const target of slack) {
          try {
            await postToSlack(deps.slack, target, notification);
            report.delivered.push({ channel: 'slack', target });
          } catch (err) {
            report.failed.push({ channel: 'slack', target, error: describeError(err) });
          }
        }
      } else {
        report.undelivered.push(...slack.map((t) => `slack:${t}`));
      }

      const email = emailTargets(notification);
      if (deps.mailer) {
        for (const target of email) {
          try {
            await sendEmail(deps.mailer, target, notification);
            report.delivered.push({ channel: 'email', target });
          } catch (err) {
            report.failed.push({ channel: 'email', target, error: describeError(err) });
          }
        }
      } else {
        report.undelivered.push(...email.map((t) => `email:${t}`));
      }

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
