import type { WebClient } from '@slack/web-api';
import type { DeliveryReport, Notification } from '../workflows/model';
import { emailTargets, sendEmail, type Mailer } from './email';
import type { Outbox } from './outbox';
import { postToSlack, slackTargets } from './slack';

/**
 * How long one send (one Slack message, one email) may take in all. The notify activity has
 * 60 s (workflows/incident.ts); every target is tried at once, so the whole attempt stays
 * well inside that and is never retried for being slow, which would repeat what was sent.
 */
export const DEFAULT_SEND_TIMEOUT_MS = 20_000;

export interface NotificationDeps {
  slack?: WebClient;
  mailer?: Mailer;
  outbox: Outbox;
  log: (message: string, fields: Record<string, unknown>) => void;
  /** Overall deadline for one send; a send that takes longer is reported as failed. */
  sendTimeoutMs?: number;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const data = (err as { data?: { error?: string } }).data;
    return data?.error && !err.message.includes(data.error) ? `${err.message} (${data.error})` : err.message;
  }
  return String(err);
}

export class SendTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs / 1000}s without an answer`);
    this.name = 'SendTimeout';
  }
}

/**
 * `send` settled within `timeoutMs`, or a SendTimeout. Neither Slack's client nor nodemailer
 * can be cancelled mid-call, so a late send runs on; `late` hears how it ended.
 */
async function withDeadline(
  send: Promise<void>,
  timeoutMs: number,
  late: (outcome: { delivered: true } | { delivered: false; error: string }) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([send.then(() => 'sent' as const), deadline]);
    if (outcome === 'timeout') {
      send.then(
        () => late({ delivered: true }),
        (err: unknown) => late({ delivered: false, error: describeError(err) }),
      );
      throw new SendTimeout(timeoutMs);
    }
  } finally {
    clearTimeout(timer);
  }
}

export function createNotificationActivities(deps: NotificationDeps) {
  const sendTimeoutMs = deps.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;

  /** Logging must never turn a finished delivery into a failed activity (and so a repeat). */
  const log = (message: string, fields: Record<string, unknown>): void => {
    try {
      deps.log(message, fields);
    } catch (err) {
      console.error(`could not log "${message}":`, err);
    }
  };

  return {
    /**
     * Sends one notification on every configured channel. Each target is tried once here;
     * a failed or timed-out target is reported back (the workflow records it) rather than
     * thrown, and nothing after the sends throws either (not even a failed outbox write), so
     * the activity is never retried and never repeats what was already delivered.
     */
    async notify(notification: Notification): Promise<DeliveryReport> {
      const report: DeliveryReport = { delivered: [], failed: [], undelivered: [] };

      // Every target at once: one slow channel must not hold up the others, and each send has
      // its own deadline, so the whole attempt stays well inside the activity's timeout.
      const attempts: Promise<void>[] = [];
      const attempt = (channel: 'slack' | 'email', target: string, send: () => Promise<void>): void => {
        const sending = Promise.resolve().then(send);
        attempts.push(
          withDeadline(sending, sendTimeoutMs, (outcome) =>
            log('notification send finished after its deadline', {
              incidentId: notification.incidentId,
              kind: notification.kind,
              channel,
              target,
              ...outcome,
            }),
          ).then(
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

      // The outbox is the delivery log, not a channel: when it cannot be written the sends
      // stand. The failure is logged and listed in the report (the workflow keeps the report
      // in its history), and the activity still succeeds.
      let inOutbox = true;
      try {
        await deps.outbox.write(notification, report);
      } catch (err) {
        inOutbox = false;
        const error = describeError(err);
        log('notification not written to the outbox', {
          incidentId: notification.incidentId,
          kind: notification.kind,
          subject: notification.subject,
          outbox: deps.outbox.fileFor(notification.incidentId),
          error,
        });
        report.undelivered.push(`outbox:${error}`);
      }
      const outcome =
        report.delivered.length > 0
          ? 'notification sent'
          : inOutbox
            ? 'notification not delivered (outbox only)'
            : 'notification not delivered';
      log(outcome, {
        incidentId: notification.incidentId,
        kind: notification.kind,
        subject: notification.subject,
        delivered: report.delivered.length,
        failed: report.failed.length,
        undelivered: report.undelivered,
      });
      return report;
    },
  };
}
