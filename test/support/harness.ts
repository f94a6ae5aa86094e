/**
 * What the webhook tests share: clean-ups that run in reverse order whatever happened, a
 * receiver name of a test's own (alert group workflow ids come from the receiver and the
 * group key, and every test file shares one Temporal server), and ending what a test left
 * running on its task queue.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll } from 'vitest';

/** Registers an afterAll that runs the clean-ups in reverse order; returns how to add one. */
export function cleanupsInReverse(): (what: string, run: () => unknown) => void {
  const cleanups: { what: string; run: () => unknown }[] = [];
  afterAll(async () => {
    const failures: string[] = [];
    for (const { what, run } of cleanups.splice(0).reverse()) {
      try {
        await run();
      } catch (err) {
        failures.push(`${what}: ${String(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`clean-up failed:\n${failures.join('\n')}`);
  });
  return (what, run) => {
    cleanups.push({ what, run });
  };
}

export const receiverFor = (name: string): string => `baton-${name}-${randomUUID().slice(0, 8)}`;

/** Alertmanager's group key for the root route grouped by alertname and service. */
export const groupKeyOf = (alertname: string, service = 'payments'): string =>
  `{}:{alertname="${alertname}", service="${service}"}`;

/** Terminates every incident still running on a task queue. */
export async function terminateQueue(client: Client, taskQueue: string): Promise<void> {
  for await (const info of client.workflow.list({
    query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    await client.workflow
      .getHandle(info.workflowId)
      .terminate('test finished')
      .catch(() => undefined);
  }
}
