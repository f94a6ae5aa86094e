/** Teams' outbound half as the configuration sets it up: who has a Teams id, and the bot's tokens. */
import type { BatonConfig } from '../../config/schema';
import type { Secrets } from '../../config/secrets';
import { TeamsConversations } from './conversations';
import type { TeamsOutboundOptions } from './outbound';
import { BotTokens } from './token';

/** Undefined when the configuration has no Teams section. */
export function teamsOutboundFor(config: BatonConfig, secrets: Secrets): TeamsOutboundOptions | undefined {
  const teams = config.notifications.teams;
  if (!teams) return undefined;
  const password = secrets.teamsAppPassword;
  return {
    people: new Map(
      config.responders.flatMap((r) => (r.teamsUserId ? [[r.id, r.teamsUserId] as const] : [])),
    ),
    conversations: new TeamsConversations(config.dataDir),
    tokens: password ? new BotTokens({ appId: teams.appId, password, tokenUrl: teams.tokenUrl }) : undefined,
  };
}
