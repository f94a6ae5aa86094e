/**
 * A page that reaches none of its targets must not pass unnoticed: the timeline says
 * page-failed, the managers are told on every channel, and paging goes on to the next step.
 * Against the local Slack Web API server, which refuses the worker's token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from './support/config';
import { startIncident, type IncidentHandle } from './support/incidents';
import { startSlackApi, type SlackApi } from './support/slack-api';
import { eventsOf, pastDeadline, terminateAll, waitForEvents, waitForOutbox } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let slack: SlackApi;
let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  slack = await startSlackApi({ token: 'xoxb-right' });
  const config = testConfig((c) => {
    const team = c.teams[0];
    if (!team) throw new Error('the test configuration has a team');
    team.escalation = {
      steps: [
        { notify: ['alice'], ackTimeout: '2s' },
        { notify: ['bob'], ackTimeout: '1h' },
      ],
      repeat: 1,
    };
    c.notifications = { slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', liveMessages: false } };
  });
  w = await startTestWorker(config, 'page-failed', { SLACK_BOT_TOKEN: 'xoxb-revoked' });
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
  await slack?.close();
});

describe('a page that reaches nobody', () => {
  it('is page-failed on the timeline, the managers are told, and bob is still paged on time', async () => {
    const handle = await startIncident(w);
    started.push(handle);
    const s = await waitForEvents(handle, 'paged', 2, 30_000);
    const failed = eventsOf(s, 'page-failed');
    expect(failed[0]).toMatchObject({
      actor: 'baton',
      details: { to: ['dave'], channels: ['#payments-incidents'] },
    });
    expect(failed[0]?.summary).toMatch(/reached none of its targets; managers told/);
    expect(failed[0]?.details?.failures).toBe(2);
    // Every Slack target refused the token once, for good: no retries of a permanent error.
    const failures = eventsOf(s, 'notification-failed').filter((e) => e.details?.kind === 'page');
    expect(
      failures
        .map((e) => e.details?.target)
        .slice(0, 2)
        .sort(),
    ).toEqual(['#payments-incidents', 'U01ALICE']);
    expect(failures.every((e) => String(e.details?.error).includes('invalid_auth'))).toBe(true);
    // The escalation timer did not wait on the failures: bob was paged two seconds after alice.
    const [alice, bob] = eventsOf(s, 'paged');
    expect(Date.parse(bob?.at ?? '') - Date.parse(alice?.at ?? '')).toBeGreaterThanOrEqual(2_000);
    expect(Date.parse(bob?.at ?? '') - Date.parse(alice?.at ?? '')).toBeLessThan(5_000);
    const outbox = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'page-failed'));
    const notice = outbox.find((e) => e.notification.kind === 'page-failed')?.notification;
    expect(notice?.responders.map((r) => r.id)).toEqual(['dave']);
    expect(notice?.text).toMatch(/failed on every channel/);
    // Bob's page fails too; the managers' notices fail as well but are not escalated again.
    const both = await waitForEvents(handle, 'page-failed', 2);
    const later = await pastDeadline(handle, Date.parse(eventsOf(both, 'page-failed')[1]?.at ?? '') + 1_000);
    expect(eventsOf(later, 'page-failed')).toHaveLength(2);
  });
});
