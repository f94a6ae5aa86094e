/**
 * The demo configuration, pointed at a Slack server by the environment, from an alert to
 * the incident's resolution driven from Slack alone: the live message, a signed click on
 * Acknowledge, a signed `/incident escalate`, a signed Accept handover in the Level 3
 * channel, a thread reply as a note, and the message showing the final state.
 */
import { WebClient } from '@slack/web-api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app';
import { loadConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { startSlackApi, type SlackApi, type SlackRequest } from './support/slack-api';
import {
  SIGNING_SECRET,
  buttonClick,
  interactionBody,
  messageEvent,
  sendToSlackRoute,
  slashCommand,
} from './support/slack-requests';
import { postCriticalGroup, receiverFor } from './support/harness';
import { state } from './support/incidents';
import { terminateAll } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const TOKEN = 'xoxb-done-when';
let slack: SlackApi;
let w: TestWorker;
let app: FastifyInstance;

beforeAll(async () => {
  slack = await startSlackApi({ token: TOKEN });
  const env = { SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl };
  const { config } = loadConfig(env);
  w = await startTestWorker(config, 'slack-done-when', env);
  const appConfig: BatonConfig = { ...w.config, temporal: { ...w.config.temporal, taskQueue: w.taskQueue } };
  app = await buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, env),
    temporal: w.client,
    slack: new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }),
  });
});
afterAll(async () => {
  await app?.close();
  await w?.stop();
  await slack?.close();
});

const topLevel = (id: string, channel: string) => (r: SlackRequest) =>
  r.metadata?.event_payload?.incident_id === id && r.channel === channel && r.args.thread_ts === undefined;
function button(blocks: unknown, actionId: string): { value: string } {
  const json = typeof blocks === 'string' ? blocks : JSON.stringify(blocks);
  const found = (JSON.parse(json) as { elements?: { action_id: string; value: string }[] }[])
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId);
  if (!found) throw new Error(`no ${actionId} button`);
  return found;
}

describe('the demo configuration with Slack from the environment', () => {
  it('takes an alert to collaborating and resolved from Slack, and the live message shows it', async () => {
    const id = await postCriticalGroup(app, receiverFor('done-when'), 'fp-done-when');
    const handle = w.client.workflow.getHandle(id);
    try {
      const live = await eventually(() => slack.posted().find(topLevel(id, '#payments-incidents')));
      const channelId = String(live.response.channel);
      const ts = String(live.response.ts);

      const ack = buttonClick({
        user: 'U01ALICE',
        actionId: 'baton:acknowledge',
        value: button(live.args.blocks, 'baton:acknowledge').value,
        responseUrl: slack.responseUrl(),
      });
      expect((await sendToSlackRoute(app, 'interactions', interactionBody(ack))).statusCode).toBe(200);
      expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });

      const escalate = await sendToSlackRoute(
        app,
        'commands',
        slashCommand({
          user: 'U01ALICE',
          text: `escalate ${id} provider errors`,
          responseUrl: slack.responseUrl(),
        }),
      );
      expect(escalate.statusCode, escalate.body).toBe(200);
      expect((await state(handle)).phase).toBe('escalated');

      const level3 = await eventually(() => slack.posted().find(topLevel(id, '#payments-l3')));
      const accept = buttonClick({
        user: 'U01CAROL',
        actionId: 'baton:acceptHandover',
        value: button(level3.args.blocks, 'baton:acceptHandover').value,
        responseUrl: slack.responseUrl(),
        channel: String(level3.response.channel),
      });
      expect((await sendToSlackRoute(app, 'interactions', interactionBody(accept))).statusCode).toBe(200);
      expect(await state(handle)).toMatchObject({ phase: 'collaborating', holder: 'carol' });

      const reply = messageEvent({
        eventId: `Ev${Date.now()}`,
        channel: channelId,
        threadTs: ts,
        user: 'U01BOB',
        text: 'EU customers only, it seems',
      });
      expect((await sendToSlackRoute(app, 'events', reply)).statusCode).toBe(200);
      const noted = await eventually(async () => {
        const s = await state(handle);
        return s.notes.some((n) => n.text === 'EU customers only, it seems') ? s : undefined;
      });
      expect(noted.notes.at(-1)).toMatchObject({ by: 'bob', source: 'slack' });

      const resolve = await sendToSlackRoute(
        app,
        'commands',
        slashCommand({
          user: 'U01CAROL',
          text: `resolve ${id} failed over`,
          responseUrl: slack.responseUrl(),
        }),
      );
      expect(resolve.statusCode, resolve.body).toBe(200);
      expect((await state(handle)).phase).toBe('post-incident');
      // The channel's message shows where the incident ended, and offers no more moves.
      await eventually(() => {
        const blocks = JSON.stringify(slack.message(channelId, ts)?.blocks ?? '');
        return blocks.includes('Resolved') && !blocks.includes('baton:') ? true : undefined;
      });
      expect(slack.posted().filter(topLevel(id, '#payments-incidents'))).toHaveLength(1);
    } finally {
      await terminateAll([handle]);
    }
  });
});
