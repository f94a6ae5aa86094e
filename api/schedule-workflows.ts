/**
 * Every configured schedule has its workflow running (workflows/schedule/): the API starts the
 * missing ones when it starts listening, and wakes a schedule's workflow whenever an override
 * or time off changes it, so that its handoff notices and gap warnings follow at once. Both are
 * one signal-with-start, so a workflow that ended (or never ran) is started by either.
 */
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { BatonConfig } from '../config/schema';
import { scheduleChangedSignal, scheduleWorkflowId } from '../workflows/schedule/messages';
import type { scheduleWorkflow } from '../workflows/schedule/schedule';

export interface ScheduleWorkflowLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Starts the schedule's workflow if it is not running, and wakes it to look at the schedule again. */
export async function wakeScheduleWorkflow(
  client: Client,
  config: BatonConfig,
  scheduleId: string,
): Promise<void> {
  const { taskQueue } = config.temporal;
  await client.workflow.signalWithStart<typeof scheduleWorkflow, []>('scheduleWorkflow', {
    workflowId: scheduleWorkflowId(taskQueue, scheduleId),
    taskQueue,
    args: [{ scheduleId }],
    signal: scheduleChangedSignal,
    signalArgs: [],
  });
}

/** Wakes each of these schedules' workflows; one that Temporal does not take is logged and left for its next look. */
export function wakeScheduleWorkflows(
  client: Client,
  config: BatonConfig,
  log: ScheduleWorkflowLog,
  scheduleIds: readonly string[],
): Promise<string[]> {
  return Promise.all(
    scheduleIds.map((id) =>
      wakeScheduleWorkflow(client, config, id).then(
        () => undefined,
        (err: unknown) => {
          log.warn(
            { err, schedule: id },
            'schedule workflow not told of the change: Temporal did not answer',
          );
          return id;
        },
      ),
    ),
  ).then((failed) => failed.filter((id): id is string => id !== undefined));
}

/** Once the API listens: every schedule's workflow running, retried with backoff until Temporal answers. */
export function startScheduleWorkflowsOnListen(
  app: FastifyInstance,
  client: Client,
  config: BatonConfig,
): void {
  if (config.schedules.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = (ids: readonly string[], delayMs: number): void => {
    void wakeScheduleWorkflows(client, config, app.log, ids).then((failed) => {
      if (failed.length > 0 && !stopped) {
        timer = setTimeout(() => attempt(failed, Math.min(delayMs * 2, 300_000)), delayMs).unref();
      }
    });
  };
  app.addHook('onListen', async () =>
    attempt(
      config.schedules.map((s) => s.id),
      5_000,
    ),
  );
  app.addHook('onClose', async () => {
    stopped = true;
    clearTimeout(timer);
  });
}
