/**
 * The incident's live Slack message: one message per channel, kept current with
 * chat.update, with the buttons the process allows now, and the timeline told in its thread.
 * Against the local Slack Web API server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgeUpdate,
  addNoteSignal,
  escalateUpdate,
  resolveUpdate,
  waiveFollowUpUpdate,
} from '../workflows/incident/messages';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSlackLiveActivities, type SlackSyncInput, type SlackSyncResult } from '../channels/slack/live';
import { testConfig } from './support/config';
import { by, startIncident, state, type IncidentHandle } from './support/incidents';
import { startSlackApi, type SlackApi, type SlackRequest } from './support/slack-api';
import { terminateAll } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const TOKEN = 'xoxb-live';
const TEAM = '#payments-incidents';
const LEVEL3 = '#payments-l3';
let slack: SlackApi;
let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  slack = await startSlackApi({ token: TOKEN });
  w = await startTestWorker(
    testConfig((c) => {
      c.notifications = { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN' } };
    }),
    'slack-live',
    { SLACK_BOT_TOKEN: TOKEN },
  );
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
  await slack?.close();
});

const about = (id: string) => (r: SlackRequest) => r.metadata?.event_payload?.incident_id === id;
/** The action ids of a message's buttons. */
function buttons(blocks: unknown): string[] {
  // The Web API client sends blocks as a JSON string in a form body.
  const json = typeof blocks === 'string' ? blocks : JSON.stringify(blocks ?? []);
  return [...json.matchAll(/"action_id":"(baton:[A-Za-z]+)"/g)].map((m) => m[1] ?? '');
}

describe('the live incident message', () => {
  it('is one message per channel, kept current, with the timeline in its thread', async () => {
    const handle = await startIncident(w);
    started.push(handle);
    const id = handle.workflowId;
    const live = await eventually(() =>
      slack.posted().find((r) => about(id)(r) && r.channel === TEAM && r.args.thread_ts === undefined),
    );
    // The first post mentions whoever is paged, and offers what the process allows now.
    expect(live.text).toMatch(/^<@U01ALICE> /);
    // Before anyone acknowledged, only acknowledging and resolving are moves.
    expect(buttons(live.args.blocks)).toEqual(['baton:acknowledge', 'baton:resolve']);
    const channelId = String(live.response.channel);
    const ts = String(live.response.ts);
    // The page still reaches alice directly; the channel hears it in the thread only.
    await eventually(() => slack.posted().find((r) => about(id)(r) && r.channel === 'U01ALICE'));

    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    await eventually(() => {
      const now = slack.message(channelId, ts);
      return now && !buttons(now.blocks).includes('baton:acknowledge') ? now : undefined;
    });
    expect(buttons(slack.message(channelId, ts)?.blocks)).toEqual([
      'baton:assess',
      'baton:recordAction',
      'baton:escalate',
      'baton:resolve',
    ]);
    expect(JSON.stringify(slack.message(channelId, ts)?.blocks)).toContain('Bob Okafor');

    for (let i = 0; i < 5; i += 1) {
      await handle.signal(addNoteSignal, { ...by('alice'), text: `EU checkout note ${i}`, source: 'api' });
    }
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('bob'), reason: 'provider errors' }] });
    const level3 = await eventually(() =>
      slack.posted().find((r) => about(id)(r) && r.channel === LEVEL3 && r.args.thread_ts === undefined),
    );
    expect(buttons(level3.args.blocks)).toContain('baton:acceptHandover');

    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('bob'), summary: 'provider recovered' }] });
    for (const followUpId of ['report', 'lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'drill' }],
      });
    }
    const final = await handle.result();
    expect(final.phase).toBe('closed');

    // One top-level message in each channel, however many changes: the rest were updates.
    const topLevel = slack.posted().filter((r) => about(id)(r) && r.args.thread_ts === undefined);
    expect(topLevel.filter((r) => r.channel === TEAM)).toHaveLength(1);
    expect(topLevel.filter((r) => r.channel === LEVEL3)).toHaveLength(1);
    expect(slack.called('chat.update').filter((r) => r.args.ts === ts).length).toBeGreaterThanOrEqual(3);
    // Closed: the message says so and offers nothing.
    expect(buttons(slack.message(channelId, ts)?.blocks)).toEqual([]);
    expect(JSON.stringify(slack.message(channelId, ts)?.blocks)).toMatch(/Closed/);

    // The thread tells every event once, in the record's words; nothing else is posted there.
    const thread = slack
      .posted()
      .filter((r) => r.args.thread_ts === ts)
      .map((r) => r.text ?? '')
      .join('\n');
    const record = await state(handle).catch(() => final);
    for (const event of record.timeline) {
      const told = thread.split('\n').filter((line) => line.endsWith(event.summary.replace(/&/g, '&amp;')));
      expect(told.length, event.summary).toBe(1);
    }
    expect(thread.split('\n').filter((l) => l.includes('EU checkout note 3'))).toHaveLength(1);
    expect(thread).toContain('Bob Okafor: Bob Okafor acknowledged and holds the incident');
  });

  it('updates the message an earlier attempt posted, from its heartbeat, instead of posting a second', async () => {
    const { WebClient } = await import('@slack/web-api');
    const client = new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const live = createSlackLiveActivities({ slack: client, log: () => undefined });
    const sync = (input: SlackSyncInput): Promise<SlackSyncResult> => live.syncSlackMessages(input);
    const record = await state(await startIncident(w).then((h) => (started.push(h), h)));
    // The incident's own worker posts its live message as well; counted once it has.
    await eventually(() =>
      slack.posted().find((r) => about(record.id)(r) && r.channel === TEAM && r.args.thread_ts === undefined),
    );
    // The first attempt posted the message and heartbeat it, then its worker died.
    const posted = await client.chat.postMessage({ channel: TEAM, text: 'first attempt' });
    const earlier = {
      channel: TEAM,
      channelId: String(posted.channel),
      ts: String(posted.ts),
      level3: false,
    };
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: { messages: [earlier], threadSeq: 0 },
    });
    const before = slack.posted().filter((r) => r.channel === TEAM && r.args.thread_ts === undefined).length;
    const result = await env.run<[SlackSyncInput], SlackSyncResult, typeof sync>(sync, {
      record,
      channels: [{ channel: TEAM, level3: false }],
      messages: [],
      threadSeq: 0,
      responders: { alice: { name: 'Alice Ng', slackUserId: 'U01ALICE' } },
    });
    expect(result.messages).toEqual([earlier]);
    expect(slack.posted().filter((r) => r.channel === TEAM && r.args.thread_ts === undefined)).toHaveLength(
      before,
    );
    expect(slack.called('chat.update').some((r) => r.args.ts === earlier.ts)).toBe(true);
    expect(buttons(slack.message(earlier.channelId, earlier.ts)?.blocks)).toContain('baton:acknowledge');
  });
});
