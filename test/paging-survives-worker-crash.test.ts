/**
 * A worker killed with SIGKILL in the middle of sending a page, and started again: the page
 * still reaches every target, each exactly once, within seconds of the worker's return.
 * Real peers: the Temporal server, a real SMTP server that accepts a message only when it
 * answers the end of DATA (a client that dies before that never had it accepted, as with
 * any MTA), and the local Slack Web API server. The worker runs in a process of its own.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DeliveryLedger } from '../activities/ledger';
import { policyFor, teamById } from '../config/policy';
import type { BatonConfig } from '../config/schema';
import { incidentWorkflow } from '../workflows/incident/incident';
import { testConfig } from './support/config';
import { startSlackApi, type SlackApi } from './support/slack-api';
import { mailAbout, startSmtpSink, type ReceivedMail, type SmtpSink } from './support/smtp';
import { eventsOf, terminateAll, waitForEvents } from './support/timeline';
import { startTestWorker, eventually, type TestWorker } from './support/worker';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

const TOKEN = 'xoxb-crash-test';
let slack: SlackApi;
let smtp: SmtpSink;
let client: TestWorker;
let worker: WorkerProcess | undefined;
const kills: { at: number; back: number; pendingTo: string }[] = [];
let killing: Promise<void> | undefined;
let config: BatonConfig;
let taskQueue: string;

async function startWorker(): Promise<WorkerProcess> {
  return spawnWorker({
    address: inject('temporalAddress'),
    taskQueue,
    bundlePath: inject('workflowBundlePath'),
    config,
    env: { SLACK_BOT_TOKEN: TOKEN },
  });
}

/** Waits until the ledger holds `count` Slack answers for the email's notification, or gives up. */
async function slackAnswered(mail: ReceivedMail, count: number, withinMs: number): Promise<void> {
  const incidentId = mail.headers['x-baton-incident'] ?? '';
  const notificationId = /^<(.+)@baton>$/.exec(mail.headers['message-id'] ?? '')?.[1] ?? '';
  const ledger = new DeliveryLedger(path.resolve(config.dataDir, 'deliveries'));
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const record = await ledger.read(incidentId, notificationId).catch(() => undefined);
    const slackAnswers = [...(record?.answers.values() ?? [])].filter((a) => a.channel === 'slack');
    if (slackAnswers.length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  slack = await startSlackApi({ token: TOKEN });
  // The first two pages' emails are each waiting for their 250 when the worker is killed.
  smtp = await startSmtpSink({
    acceptDelayMs: 1_000,
    onDataEnd: (mail) => {
      const to = mail.to.join(',');
      // Once each for alice's and bob's page; the retried sends are left to finish.
      if (kills.length >= 2 || killing || !worker || kills.some((k) => k.pendingTo === to)) return;
      const victim = worker;
      killing = (async () => {
        // Slack has no idempotency key: a post under way when the worker dies is sent again,
        // whatever Baton does. What this test claims is that an answered target is never
        // repeated and an unanswered one never lost, so the kill waits (well within the
        // email's second before it is accepted) until the page's Slack answers are recorded.
        await slackAnswered(mail, 2, 800);
        const at = Date.now();
        await victim.kill();
        worker = await startWorker();
        kills.push({ at, back: worker.readyAt, pendingTo: to });
        killing = undefined;
      })();
    },
  });
  config = testConfig((c) => {
    const team = c.teams[0];
    if (!team) throw new Error('the test configuration has a team');
    team.escalation = {
      steps: [
        { notify: ['alice'], ackTimeout: '6s' },
        { notify: ['bob'], ackTimeout: '6s' },
      ],
      repeat: 1,
    };
    c.notifications = {
      slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', liveMessages: false },
      email: {
        from: 'Baton <baton@example.com>',
        // The test server speaks plain SMTP on loopback.
        smtp: { host: '127.0.0.1', port: smtp.port, secure: false, requireTLS: false },
      },
    };
    c.dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-crash-'));
  });
  // Only a client here: the worker under test is the process below.
  client = await startTestWorker(config, 'crash-client');
  taskQueue = `crash-${Date.now()}`;
  worker = await startWorker();
});

afterAll(async () => {
  await killing;
  await worker?.kill();
  await client?.stop();
  await smtp?.close();
  await slack?.close();
});

describe('a worker killed with SIGKILL while it pages', () => {
  it('loses no page and repeats none: every target gets each page once, within 10 s of the worker’s return', async () => {
    const incident = await client.client.workflow.start(incidentWorkflow, {
      taskQueue,
      workflowId: `incident-crash-${Date.now()}`,
      args: [
        {
          title: 'Payments API error rate above 5%',
          service: 'payments',
          severity: 'SEV2',
          origin: { kind: 'manual', declaredBy: 'alice' },
          policy: policyFor(config, teamById(config, 'payments')),
        },
      ],
    });
    try {
      const s = await waitForEvents(incident, 'escalation-exhausted', 1, 60_000);
      expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
      // Three pages (alice, bob, then the manager), each by email and on Slack.
      await eventually(() => (mailAbout(smtp.messages, s.id).length >= 3 ? true : undefined), 60_000);
      // Give a repeat every chance to show before counting.
      await new Promise((resolve) => setTimeout(resolve, 8_000));

      expect(kills).toHaveLength(2);
      expect(kills.map((k) => k.pendingTo)).toEqual(['alice@example.com', 'bob@example.com']);
      const accepted = mailAbout(smtp.messages, s.id);
      expect(accepted.map((m) => m.to.join(','))).toEqual([
        'alice@example.com',
        'bob@example.com',
        'dave@example.com',
      ]);
      const posted = slack.posted().filter((r) => r.metadata?.event_payload?.incident_id === s.id);
      const perTarget = (channel: string): number => posted.filter((r) => r.channel === channel).length;
      expect({
        team: perTarget('#payments-incidents'),
        alice: perTarget('U01ALICE'),
        bob: perTarget('U01BOB'),
        dave: perTarget('U01DAVE'),
      }).toEqual({ team: 3, alice: 1, bob: 1, dave: 1 });

      // Each interrupted email went out within 10 s of the worker coming back.
      const recovered = kills.map((kill) => {
        const mail = accepted.find((m) => m.to.includes(kill.pendingTo));
        return { to: kill.pendingTo, ms: (mail?.acceptedAt ?? Infinity) - kill.back };
      });
      console.info('interrupted pages delivered after the worker returned:', JSON.stringify(recovered));
      for (const { ms } of recovered) expect(ms).toBeLessThan(10_000);
    } finally {
      await terminateAll([incident]);
    }
  }, 180_000);
});
