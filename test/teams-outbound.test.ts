import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeamsConversations } from '../channels/teams/conversations';
import { testConfig } from './support/config';
import { startIncident, type IncidentHandle } from './support/incidents';
import { startTeamsConnector, type TeamsConnector, type TeamsCall } from './support/teams-connector';
import { eventsOf, terminateAll, waitForEvents } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const ALICE_AAD = '6f1c2a44-1b7e-4c55-9a63-0c7d2f4b8e11';
const ALICE_CHAT = 'a:alice-personal';

let teams: TeamsConnector;
let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  teams = await startTeamsConnector();
  const config = testConfig((input) => {
    input.notifications = {
      ...input.notifications,
      teams: {
        appId: teams.appId,
        tenants: [teams.tenantId],
        openIdMetadataUrl: teams.openIdMetadataUrl,
        tokenUrl: teams.tokenUrl,
        appPasswordEnv: 'TEAMS_APP_PASSWORD',
      },
    };
    const alice = input.responders.find((r) => r.id === 'alice');
    if (alice) alice.teamsUserId = ALICE_AAD;
  });
  w = await startTestWorker(
    config,
    'teams-outbound',
    { TEAMS_APP_PASSWORD: teams.appPassword },
    { retry: { initialDelayMs: 50, maxDelayMs: 2_000, budgetMs: 10_000 } },
  );
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
  await teams?.close();
});

/** Alice's chat with Baton, as the API keeps it once she has installed the app. */
async function aliceInstalled(): Promise<void> {
  await new TeamsConversations(w.dataDir).remember({
    aadObjectId: ALICE_AAD,
    userId: '29:alice-teams-id',
    conversationId: ALICE_CHAT,
    serviceUrl: teams.serviceUrl,
    tenantId: teams.tenantId,
    seenAt: new Date().toISOString(),
  });
}

const postsToAlice = (calls: readonly TeamsCall[]): TeamsCall[] =>
  // A refused call names no conversation; its path does.
  calls.filter((c) => c.method === 'POST' && c.path === `/v3/conversations/${ALICE_CHAT}/activities`);

async function pageOf(handle: IncidentHandle) {
  return eventually(() => w.outbox(handle.workflowId).find((e) => e.notification.kind === 'page'));
}

describe('pages in Teams', () => {
  it("reach the paged person's chat with Baton once, as a card, past a 429", async () => {
    await aliceInstalled();
    teams.throttle(1, 0);
    const handle = await startIncident(w);
    started.push(handle);
    const page = await pageOf(handle);
    expect(page.report.delivered).toContainEqual({ channel: 'teams', target: ALICE_AAD });

    const posts = postsToAlice(teams.calls);
    // The throttled attempt, then the one that went through: one card in Alice's chat.
    expect(posts.map((c) => c.status)).toEqual([429, 201]);
    const card = teams.activity(posts[1]?.activityId ?? '')?.body as {
      summary: string;
      attachments: { contentType: string; content: { body: { inlines: { text: string }[] }[] } }[];
    };
    expect(card.summary).toBe(page.notification.subject);
    expect(card.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0]?.content.body.map((b) => b.inlines[0]?.text)).toEqual([
      page.notification.subject,
      page.notification.text,
    ]);
    // The bot asked for its token once, with its app id and secret, and kept it.
    expect(teams.hits.tokens).toBe(1);
  });

  it('are a failure the incident records when the person has not installed the app', async () => {
    rmSync(path.join(w.dataDir, 'teams'), { recursive: true, force: true });
    const before = postsToAlice(teams.calls).length;
    const handle = await startIncident(w);
    started.push(handle);
    const page = await pageOf(handle);
    const failed = page.report.failed.find((f) => f.channel === 'teams' && f.target === ALICE_AAD);
    expect(failed?.error).toContain("has not installed Baton's Teams app");
    // The incident's own record says who could not be reached, and why.
    const s = await waitForEvents(handle, 'notification-failed');
    expect(eventsOf(s, 'notification-failed').map((e) => e.summary)).toContainEqual(
      expect.stringMatching(/^page to .* via teams failed: .*has not installed Baton's Teams app/),
    );
    expect(postsToAlice(teams.calls)).toHaveLength(before);
  });
});
