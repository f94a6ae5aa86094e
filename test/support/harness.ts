/**
 * What the webhook tests share: clean-ups that run in reverse order whatever happened, a
 * receiver name of a test's own (alert group workflow ids come from the receiver and the
 * group key, and every test file shares one Temporal server), and ending what a test left
 * running on its task queue.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { alertGroupWorkflowId } from '../../api/incidents';

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

/**
 * The body Alertmanager's webhook sends for a group of one firing alert: `alertname` on
 * payments, critical (a SEV1 route), for `receiver`.
 */
export function firingGroup(receiver: string, alertname: string, fingerprint: string) {
  const labels = { alertname, service: 'payments', severity: 'critical' };
  return {
    version: '4',
    groupKey: groupKeyOf(alertname),
    status: 'firing',
    receiver,
    groupLabels: { alertname, service: 'payments' },
    commonLabels: labels,
    commonAnnotations: {},
    alerts: [{ status: 'firing', labels, annotations: {}, startsAt: new Date().toISOString(), fingerprint }],
  };
}

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

/**
 * Posts one firing alert group (CheckoutErrors on payments, critical: a SEV1 route) to the
 * app's webhook with the demo configuration's token, as Alertmanager would; returns the
 * incident id it opens. The Done-when tests start from this.
 */
export async function postCriticalGroup(
  app: FastifyInstance,
  receiver: string,
  fingerprint: string,
): Promise<string> {
  const groupKey = groupKeyOf('CheckoutErrors');
  const labels = { alertname: 'CheckoutErrors', service: 'payments', severity: 'critical' };
  const webhook = await app.inject({
    method: 'POST',
    url: '/webhooks/alertmanager',
    headers: { authorization: 'Bearer alertmanager-demo-token' },
    payload: {
      version: '4',
      groupKey,
      status: 'firing',
      receiver,
      groupLabels: { alertname: 'CheckoutErrors', service: 'payments' },
      commonLabels: labels,
      commonAnnotations: { summary: 'Checkout errors above 5%' },
      externalURL: 'http://alertmanager.example',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: { summary: 'Checkout errors above 5%' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example/graph',
          fingerprint,
        },
      ],
    },
  });
  if (webhook.statusCode !== 202)
    throw new Error(`the webhook answered ${webhook.statusCode}: ${webhook.body}`);
  return alertGroupWorkflowId(receiver, groupKey);
}
