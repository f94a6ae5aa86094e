/**
 * Teams as the notify activity sees it: each person a notice addresses who has a Teams id
 * gets it in their chat with Baton, as a card with the moves it offers (a page's
 * Acknowledge). Channel posts are the live card's (not here yet).
 */
import { Client } from '@microsoft/teams.api';
import type { OutboundChannel } from '../channel';
import { noticeActivity } from './card';
import type { TeamsConversations } from './conversations';
import { classifyTeamsError, TeamsNotInstalled } from './errors';
import type { BotTokens } from './token';

export interface TeamsOutboundOptions {
  /** Responder id → their Microsoft Entra object id (responders[].teamsUserId). */
  people: ReadonlyMap<string, string>;
  conversations: TeamsConversations;
  /** The bot's tokens; without them (no client secret) Teams' targets are reported undelivered. */
  tokens?: BotTokens | undefined;
}

export function teamsOutbound({ people, conversations, tokens }: TeamsOutboundOptions): OutboundChannel {
  // One client per Bot Connector region. The SDK's 2.0 client does not strip a trailing slash.
  const clients = new Map<string, Client>();
  const clientFor = (serviceUrl: string, bot: BotTokens): Client => {
    const base = serviceUrl.replace(/\/+$/, '');
    let client = clients.get(base);
    if (!client) {
      // Past the send deadline (20 s) the request is abandoned, not left to post beside its retry.
      client = new Client(base, { token: () => bot.token(), timeout: 15_000 });
      clients.set(base, client);
    }
    return client;
  };
  return {
    id: 'teams',
    targets: (notification) => [...new Set(notification.responders.flatMap((r) => people.get(r.id) ?? []))],
    send: tokens
      ? async (target, notification) => {
          const conversation = await conversations.personalFor(target);
          if (!conversation) throw new TeamsNotInstalled(target);
          const used = await tokens.token();
          try {
            await clientFor(conversation.serviceUrl, tokens).conversations.createActivity(
              conversation.conversationId,
              noticeActivity(notification),
            );
          } catch (err) {
            // A refused token (revoked, or the secret rotated) is not kept for the retry.
            if ((err as { response?: { status?: unknown } }).response?.status === 401) tokens.forget(used);
            throw err;
          }
        }
      : undefined,
    classify: classifyTeamsError,
  };
}
