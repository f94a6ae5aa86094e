import type { Context } from '@temporalio/activity';
import type { WebClient } from '@slack/web-api';
import type { DeliveryReport, Notification } from '../workflows/incident/model';
import type { Mailer } from '../channels/email/mailer';
import { isChannelId, type ChannelId } from '../channels/ids';
import { outboundChannels } from '../channels/registry';
import type { TeamsOutboundOptions } from '../channels/teams/outbound';
import { describeError, type Verdict } from './delivery-errors';
import { cancellationOf, currentActivity, startHeartbeats } from './heartbeat';
import { answerKey, asAnswer, type DeliveryAnswer, type DeliveryLedger } from './ledger';
import type { Outbox } from './outbox';
import { deliver, retryPolicy, type RetryPolicy } from './retry';

export { SendTimeout } from './delivery-errors';

/**
 * How long one send (one Slack message, one email) may take before it counts as a transient
 * failure. Retries of one target stop after the retry budget (two minutes by default), so
 * the whole activity stays inside the notify activity's start-to-close timeout.
 */
export const DEFAULT_SEND_TIMEOUT_MS = 20_000;

/** The notify activity heartbeats at least this often (the workflow's heartbeat timeout is 5 s). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;

export interface NotificationDeps {
  slack?: WebClient;
  /** The incident's live Slack messages are kept (channels/slack/live.ts): no channel posts there. */
  liveMessages?: boolean;
  mailer?: Mailer;
  /** Teams, when the configuration has it (channels/teams/setup.ts). */
  teams?: TeamsOutboundOptions;
  outbox: Outbox;
  /**
   * Each target's final answer, recorded as it happens; a notify that runs again for the same
   * notification id (a retry after a crash) sends only to the targets without one.
   */
  ledger?: DeliveryLedger;
  log: (message: string, fields: Record<string, unknown>) => void;
  /** One send's deadline; a send that takes longer is a transient failure. */
  sendTimeoutMs?: number;
  /** Attempts, backoff, the longest single wait and the per-target budget; tests use milliseconds. */
  retry?: Partial<RetryPolicy>;
  heartbeatIntervalMs?: number;
}

/** What notify heartbeats: the targets answered so far, so a retry on another worker skips them too. */
export interface NotifyProgress {
  notificationId?: string;
  answered: DeliveryAnswer[];
}

interface Target {
  channel: ChannelId;
  target: string;
  send: (signal: AbortSignal) => Promise<void>;
  classify: (err: unknown) => Verdict;
}

/** Pages and messages by kind, channel and outcome, served by the worker's metrics exporter. */
export const NOTIFICATIONS_METRIC = 'baton_notifications_total';

/**
 * Counts targets through the activity's metric meter, so that the SDK's exporter serves it
 * beside the worker's own metrics. Called when an answer is first known: a retry that skips
 * the targets answered before does not count them again.
 */
function countTargets(
  context: Context | undefined,
  labels: { kind: Notification['kind']; channel: string; outcome: 'delivered' | 'failed' | 'undelivered' },
): void {
  try {
    context?.metricMeter
      .createCounter(NOTIFICATIONS_METRIC, undefined, 'Notification targets by kind, channel and outcome')
      .add(1, labels);
  } catch {
    // A metric must never turn a delivery into a failed activity, and so a repeat.
  }
}

/** Answers from the heartbeat details of an earlier attempt at the same notification. */
function answersFromHeartbeat(details: unknown, notificationId: string): DeliveryAnswer[] {
  if (typeof details !== 'object' || details === null) return [];
  const progress = details as { notificationId?: unknown; answered?: unknown };
  if (progress.notificationId !== notificationId || !Array.isArray(progress.answered)) return [];
  return progress.answered.flatMap((a) => asAnswer(a) ?? []);
}

export function createNotificationActivities(deps: NotificationDeps) {
  const sendTimeoutMs = deps.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const policy = retryPolicy(deps.retry);
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;

  /** Logging must never turn a finished delivery into a failed activity (and so a repeat). */
  const log = (message: string, fields: Record<string, unknown>): void => {
    try {
      deps.log(message, fields);
    } catch (err) {
      console.error(`could not log "${message}":`, err);
    }
  };

  const channels = outboundChannels({
    slack: deps.slack,
    liveMessages: deps.liveMessages,
    mailer: deps.mailer,
    teams: deps.teams,
    log,
  });

  /** What the ledger and an earlier attempt's heartbeats already know about this notification. */
  async function known(notification: Notification, previousDetails: unknown) {
    const answers = new Map<string, DeliveryAnswer>();
    let outboxWritten = false;
    const { id, incidentId, kind } = notification;
    if (!id) return { answers, outboxWritten };
    if (deps.ledger) {
      try {
        const record = await deps.ledger.read(incidentId, id);
        for (const [key, answer] of record.answers) answers.set(key, answer);
        outboxWritten = record.outboxWritten;
        if (record.skipped > 0) {
          log('delivery ledger has unreadable lines (skipped)', {
            incidentId,
            ledger: deps.ledger.fileFor(incidentId),
            skipped: record.skipped,
          });
        }
      } catch (err) {
        // Without the ledger a retry may repeat a send; that is better than not sending.
        log('delivery ledger could not be read', {
          incidentId,
          kind,
          ledger: deps.ledger.fileFor(incidentId),
          error: describeError(err),
        });
      }
    }
    for (const answer of answersFromHeartbeat(previousDetails, id)) {
      const key = answerKey(answer.channel, answer.target);
      if (!answers.has(key)) answers.set(key, answer);
    }
    return { answers, outboxWritten };
  }

  return {
    /**
     * Sends one notification to every target on every configured channel, all at once, each
     * with bounded retries on transient failures. A target that fails for good is reported
     * back (the workflow records it), never thrown. Each target's answer is recorded in the
     * ledger the moment it is known, and a run for a notification id seen before sends only
     * to the targets without one. Nothing after the sends throws, not even a failed outbox
     * write; the one exception is a cancellation that stops the sends before every target
     * has an answer, so that Temporal can try the rest again.
     */
    async notify(notification: Notification): Promise<DeliveryReport> {
      const context = currentActivity();
      const { id, incidentId, kind } = notification;
      const { answers, outboxWritten } = await known(notification, context?.info.heartbeatDetails);
      const resumed = answers.size;

      const progress = (): NotifyProgress => ({
        ...(id ? { notificationId: id } : {}),
        answered: [...answers.values()],
      });
      const heartbeats = startHeartbeats(context, heartbeatIntervalMs, progress, (err) =>
        log('notify could not heartbeat', { incidentId, kind, error: describeError(err) }),
      );
      try {
        const report: DeliveryReport = { delivered: [], failed: [], undelivered: [] };
        const targets: Target[] = [];
        for (const channel of channels) {
          const found = channel.targets(notification);
          const { send } = channel;
          if (!send) {
            report.undelivered.push(...found.map((t) => `${channel.id}:${t}`));
            continue;
          }
          for (const target of found) {
            targets.push({
              channel: channel.id,
              target,
              send: (signal) => send(target, notification, signal),
              classify: channel.classify,
            });
          }
        }

        // Every target at once: one slow or retrying channel must not hold up the others.
        let interrupted = 0;
        const about = (t: Target) => ({ incidentId, kind, channel: t.channel, target: t.target });
        await Promise.all(
          targets
            .filter((t) => !answers.has(answerKey(t.channel, t.target)))
            .map(async (t) => {
              const outcome = await deliver({
                send: t.send,
                classify: t.classify,
                policy,
                sendTimeoutMs,
                ...(context ? { cancelled: context.cancellationSignal } : {}),
                onRetry: (retry) => log('notification send failed; retrying', { ...about(t), ...retry }),
                onLate: (late) =>
                  log('notification send finished after its deadline', { ...about(t), ...late }),
              });
              if ('interrupted' in outcome) {
                interrupted += 1;
                return;
              }
              const answer: DeliveryAnswer = outcome.delivered
                ? { channel: t.channel, target: t.target, delivered: true }
                : { channel: t.channel, target: t.target, delivered: false, error: outcome.error };
              answers.set(answerKey(t.channel, t.target), answer);
              countTargets(context, {
                kind,
                channel: t.channel,
                outcome: answer.delivered ? 'delivered' : 'failed',
              });
              heartbeats.beat();
              if (id && deps.ledger) {
                try {
                  await deps.ledger.recordAnswer(incidentId, id, answer);
                } catch (err) {
                  // The heartbeat details still carry the answer to a retry.
                  log('delivery not written to the ledger', {
                    ...about(t),
                    ledger: deps.ledger.fileFor(incidentId),
                    error: describeError(err),
                  });
                }
              }
            }),
        );
        // Cancelled (worker shutting down, heartbeat timed out, workflow gone) before every
        // target had an answer: the answers are recorded, the rest is for the next attempt.
        if (interrupted > 0) throw cancellationOf(context);

        for (const t of targets) {
          const answer = answers.get(answerKey(t.channel, t.target));
          if (answer?.delivered) report.delivered.push({ channel: answer.channel, target: answer.target });
          else if (answer)
            report.failed.push({ channel: answer.channel, target: answer.target, error: answer.error });
        }

        // The outbox is the delivery log, not a channel: when it cannot be written the sends
        // stand. The failure is logged and listed in the report (the workflow keeps the report
        // in its history), and the activity still succeeds.
        let inOutbox = true;
        if (!outboxWritten) {
          try {
            await deps.outbox.write(notification, report);
          } catch (err) {
            inOutbox = false;
            const error = describeError(err);
            log('notification not written to the outbox', {
              incidentId,
              kind,
              subject: notification.subject,
              outbox: deps.outbox.fileFor(incidentId),
              error,
            });
            report.undelivered.push(`outbox:${error}`);
          }
          if (inOutbox && id && deps.ledger) {
            // So that a retry does not write the same notification to the outbox twice.
            await deps.ledger.recordOutbox(incidentId, id).catch((err: unknown) =>
              log('delivery not written to the ledger', {
                incidentId,
                kind,
                ledger: deps.ledger?.fileFor(incidentId),
                error: describeError(err),
              }),
            );
          }
        }
        for (const target of report.undelivered) {
          const channel = target.slice(0, target.indexOf(':'));
          if (isChannelId(channel)) {
            countTargets(context, { kind, channel, outcome: 'undelivered' });
          }
        }
        const outcome =
          report.delivered.length > 0
            ? 'notification sent'
            : inOutbox
              ? 'notification not delivered (outbox only)'
              : 'notification not delivered';
        log(outcome, {
          incidentId,
          kind,
          subject: notification.subject,
          delivered: report.delivered.length,
          failed: report.failed.length,
          undelivered: report.undelivered,
          ...(resumed > 0 ? { answeredBefore: resumed } : {}),
        });
        return report;
      } finally {
        heartbeats.stop();
      }
    },
  };
}
