import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../api/app';
import { TeamsConversations } from '../channels/teams/conversations';
import { parseConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { TOKEN_ENV } from './support/app';
import { testConfig, testConfigInput } from './support/config';
import { startTeamsConnector, type TeamsConnector } from './support/teams-connector';

const ALICE_AAD = '6f1c2a44-1b7e-4c55-9a63-0c7d2f4b8e11';

let teams: TeamsConnector;
let app: FastifyInstance;
let connection: Connection;
let config: BatonConfig;

beforeAll(async () => {
  teams = await startTeamsConnector();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-teams-'));
  config = testConfig((input) => {
    input.dataDir = dataDir;
    input.api = { ...input.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } };
    input.notifications = {
      ...input.notifications,
      teams: { appId: teams.appId, tenants: [teams.tenantId], openIdMetadataUrl: teams.openIdMetadataUrl },
    };
    const alice = input.responders.find((r) => r.id === 'alice');
    if (alice) alice.teamsUserId = ALICE_AAD;
  });
  connection = Connection.lazy({ address: config.temporal.address });
  app = await buildApp({
    config,
    secrets: loadSecrets(config, TOKEN_ENV),
    temporal: new Client({ connection, namespace: config.temporal.namespace }),
  });
});
afterAll(async () => {
  await app?.close();
  await connection?.close();
  await teams?.close();
});

/** Alice installing the app for herself: the first activity of her personal chat with it. */
function installation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'installationUpdate',
    action: 'add',
    id: 'f:install-1',
    channelId: 'msteams',
    serviceUrl: teams.serviceUrl,
    from: { id: '29:alice-teams-id', aadObjectId: ALICE_AAD, name: 'Alice Ng' },
    recipient: { id: `28:${teams.appId}`, name: 'Baton' },
    conversation: { id: 'a:alice-personal', conversationType: 'personal', tenantId: teams.tenantId },
    channelData: { tenant: { id: teams.tenantId } },
    ...overrides,
  };
}

async function post(body: unknown, token: string | undefined): Promise<number> {
  const response = await app.inject({
    method: 'POST',
    url: '/teams/messages',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    payload: body as Record<string, unknown>,
  });
  return response.statusCode;
}

const known = (): string[] => {
  try {
    return readdirSync(path.join(config.dataDir, 'teams', 'people'));
  } catch {
    return [];
  }
};

describe('the Teams messaging endpoint', () => {
  it('refuses every request the Bot Connector did not sign for this bot, and keeps nothing', async () => {
    const refusals: [string, string | undefined, Record<string, unknown>][] = [
      ['no token', undefined, installation()],
      ['forged', await teams.inboundToken({ forged: true }), installation()],
      ['expired', await teams.inboundToken({ expiresInSeconds: -3_600 }), installation()],
      ['wrong audience', await teams.inboundToken({ audience: 'another-bot' }), installation()],
      ['wrong issuer', await teams.inboundToken({ issuer: 'https://evil.example' }), installation()],
      ['no serviceurl claim', await teams.inboundToken({ serviceUrl: null }), installation()],
      [
        'serviceUrl not the claimed one',
        await teams.inboundToken(),
        installation({ serviceUrl: 'http://127.0.0.1:1/' }),
      ],
      ['activity without serviceUrl', await teams.inboundToken(), installation({ serviceUrl: undefined })],
      [
        'another tenant',
        await teams.inboundToken(),
        installation({
          channelData: { tenant: { id: '22222222-2222-4222-8222-222222222222' } },
          conversation: {
            id: 'a:x',
            conversationType: 'personal',
            tenantId: '22222222-2222-4222-8222-222222222222',
          },
        }),
      ],
      [
        'tenants that disagree',
        await teams.inboundToken(),
        installation({
          conversation: {
            id: 'a:x',
            conversationType: 'personal',
            tenantId: '22222222-2222-4222-8222-222222222222',
          },
        }),
      ],
      // The Bot Connector signs Web Chat's activities too; their channelData is the client's word.
      ['not from Teams', await teams.inboundToken(), installation({ channelId: 'webchat' })],
    ];
    for (const [what, token, body] of refusals) {
      expect(await post(body, token), what).toBe(401);
    }
    expect(known()).toEqual([]);
    // The keys came from the stand-in's metadata location: the real validator did the checking.
    expect(teams.hits.keys).toBeGreaterThan(0);
  });

  it("keeps a person's personal conversation once their installation is verified", async () => {
    expect(await post(installation(), await teams.inboundToken())).toBe(200);
    const stored = await new TeamsConversations(config.dataDir).personalFor(ALICE_AAD);
    expect(stored).toMatchObject({
      aadObjectId: ALICE_AAD,
      userId: '29:alice-teams-id',
      conversationId: 'a:alice-personal',
      serviceUrl: teams.serviceUrl,
      tenantId: teams.tenantId,
    });
    // A channel activity names no personal conversation: nothing more is kept.
    const before = known();
    const inChannel = installation({
      type: 'message',
      text: 'hello',
      conversation: {
        id: '19:incidents@thread.tacv2',
        conversationType: 'channel',
        tenantId: teams.tenantId,
      },
    });
    expect(await post(inChannel, await teams.inboundToken())).toBe(200);
    expect(known()).toEqual(before);

    // Removing the app forgets her chat: Baton may not write to her any more.
    const removal = installation({ action: 'remove', id: 'f:remove-1' });
    expect(await post(removal, await teams.inboundToken())).toBe(200);
    expect(await new TeamsConversations(config.dataDir).personalFor(ALICE_AAD)).toBeUndefined();
  });
});

describe('the README on Teams', () => {
  it('shows a configuration Baton takes', () => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Microsoft Teams'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const shown = parseYaml(block as string) as {
      notifications: { teams: unknown };
      responders: { id: string; teamsUserId: string }[];
    };
    const input = testConfigInput();
    const parsed = parseConfig({
      ...input,
      notifications: { ...input.notifications, ...shown.notifications },
      responders: input.responders.map((r) => ({
        ...r,
        ...(shown.responders.find((s) => s.id === r.id) ?? {}),
      })),
    });
    expect(parsed.notifications.teams?.openIdMetadataUrl).toBe(
      'https://login.botframework.com/v1/.well-known/openidconfiguration',
    );
    expect(parsed.notifications.teams?.appPasswordEnv).toBe('BATON_TEAMS_APP_PASSWORD');
    expect(parsed.responders.find((r) => r.id === 'alice')?.teamsUserId).toBe(
      shown.responders[0]?.teamsUserId,
    );
  });
});
