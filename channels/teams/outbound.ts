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
      client = new Client(base, { token: () => bot.token() });
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
          await clientFor(conversation.serviceUrl, tokens).conversations.createActivity(
            conversation.conversationId,
            noticeActivity(notification),
          );
        }
      : undefined,
    classify: classifyTeamsError,
  };
}
