/**
 * An alert that fires while its group's incident is closing (closed, still writing its
 * final record and sending its last notices) belongs to a new incident: the webhook answers
 * 503 so that Alertmanager retries, and the retry after the close opens the new incident.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertGroupWorkflowId } from '../api/incidents';
import {
  acknowledgeUpdate,
  resolveUpdate,
  stateQuery,
  waiveFollowUpUpdate,
} from '../workflows/incident/messages';
import { buildTestApp, TOKENS } from './support/app';
import { testConfig } from './support/config';
import { by } from './support/incidents';
import { startSmtpSink, type SmtpSink } from './support/smtp';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

let smtp: SmtpSink;
let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  // Every email takes two seconds to be accepted: the incident's last notices keep it closing.
  smtp = await startSmtpSink({ acceptDelayMs: 2_000, startTls: true });
  w = await startTestWorker(
    testConfig((c) => {
      c.notifications = {
        email: {
          from: 'Baton <baton@example.com>',
          smtp: {
            host: '127.0.0.1',
            port: smtp.port,
            secure: false,
            ...(smtp.caFile ? { caFile: smtp.caFile } : {}),
          },
        },
      };
    }),
    'am-closing',
  );
  app = await buildTestApp(w);
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
  await smtp?.close();
});

const receiver = `baton-closing-${Date.now()}`;
const groupKey = '{}:{alertname="QueueBacklog", service="payments"}';

function notify(fingerprint: string, startsAt: string) {
  return app.inject({
    method: 'POST',
    url: '/webhooks/alertmanager',
    headers: { authorization: `Bearer ${TOKENS.webhook}` },
    payload: {
      version: '4',
      groupKey,
      status: 'firing',
      receiver,
      groupLabels: { alertname: 'QueueBacklog', service: 'payments' },
      commonLabels: { alertname: 'QueueBacklog', service: 'payments' },
      commonAnnotations: {},
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'QueueBacklog', service: 'payments', instance: fingerprint },
          annotations: {},
          startsAt,
          fingerprint,
        },
      ],
    },
  });
}

describe('an alert while its incident is closing', () => {
  it('is answered 503, and its retry after the close opens a new incident', async () => {
    expect((await notify('fp-first', '2026-11-27T10:00:00Z')).statusCode).toBe(202);
    const id = alertGroupWorkflowId(receiver, groupKey);
    const first = w.client.workflow.getHandle(id);
    const firstRun = (await first.describe()).runId;
    await first.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await first.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'drained' }] });
    // Whatever its severity asks for, waived.
    for (const { id: followUpId } of (await first.query(stateQuery)).followUps) {
      await first.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'drill' }],
      });
    }
    await eventually(async () => ((await first.query(stateQuery)).phase === 'closed' ? true : undefined));
    expect((await first.describe()).status.name).toBe('RUNNING');

    const during = await notify('fp-second', '2026-11-27T10:30:00Z');
    expect(during.statusCode, during.body).toBe(503);
    expect(during.json<{ error: string; code: string }>()).toMatchObject({
      code: 'Closing',
      error: expect.stringMatching(/closing/) as string,
    });

    await w.client.workflow.getHandle(id, firstRun).result();
    const after = await notify('fp-second', '2026-11-27T10:30:00Z');
    expect(after.statusCode, after.body).toBe(202);
    const second = await eventually(async () => {
      const described = await w.client.workflow.getHandle(id).describe();
      return described.runId !== firstRun ? described : undefined;
    });
    const s = await w.client.workflow.getHandle(id, second.runId).query(stateQuery);
    expect(s.phase).toBe('triggered');
    expect(s.alerts.map((a) => a.fingerprint)).toEqual(['fp-second']);
    await w.client.workflow.getHandle(id).terminate('test finished');
  }, 120_000);
});
