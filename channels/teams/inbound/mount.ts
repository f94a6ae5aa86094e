/**
 * Teams' inbound half on the API: the bot's messaging endpoint, `POST /teams/messages`. Every
 * activity is verified (verify.ts) before Baton reads anything in it; one that fails is 401
 * and changes nothing.
 *
 * Acted on so far: a person's installation of the app, or any activity in their personal
 * chat with it, keeps the reference Baton needs to write to them (conversations.ts), and
 * removing the app forgets it. Other
 * verified activities are answered 200 and logged, so that Teams does not retry them.
 */
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { InboundContext } from '../../channel';
import { TeamsConversations, type PersonalConversation } from '../conversations';
import { teamsVerifier, type TeamsActivityEnvelope } from './verify';

export interface TeamsInboundOptions {
  /** Where personal conversations are kept; under dataDir/teams by default. */
  conversations?: TeamsConversations | undefined;
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** The personal conversation a verified activity shows, if it comes from one. */
export function personalConversationOf(
  envelope: TeamsActivityEnvelope,
  body: unknown,
  now: Date,
): PersonalConversation | undefined {
  const activity = record(body);
  const conversation = record(activity.conversation);
  const from = record(activity.from);
  if (conversation.conversationType !== 'personal') return undefined;
  const conversationId = text(conversation.id);
  const userId = text(from.id);
  const aadObjectId = text(from.aadObjectId);
  if (!conversationId || !userId || !aadObjectId) return undefined;
  return {
    aadObjectId,
    userId,
    conversationId,
    serviceUrl: envelope.serviceUrl,
    tenantId: envelope.tenantId,
    seenAt: now.toISOString(),
  };
}

/** The person removed Baton's app: nothing may be written to them any more. */
function removesTheApp(body: unknown): boolean {
  const activity = record(body);
  return (
    activity.type === 'installationUpdate' &&
    typeof activity.action === 'string' &&
    activity.action.startsWith('remove')
  );
}

function routes(
  verify: ReturnType<typeof teamsVerifier>,
  conversations: TeamsConversations,
  log: FastifyBaseLogger,
): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/teams/messages',
      {
        schema: {
          summary: "Microsoft Teams' activities for the bot, signed by the Bot Connector",
          tags: ['teams'],
          security: [],
        },
      },
      async (request, reply) => {
        const verified = await verify(request.headers.authorization, request.body);
        if (!verified.ok) {
          request.log.warn({ reason: verified.reason }, 'Teams activity refused');
          return reply.code(401).send({ error: 'the request is not from Teams for this bot' });
        }
        const { activity } = verified;
        const personal = personalConversationOf(activity, request.body, new Date());
        if (personal && removesTheApp(request.body)) await conversations.forget(personal.aadObjectId);
        else if (personal) await conversations.remember(personal);
        else log.info({ type: activity.type, activityId: activity.id }, 'Teams activity not acted on');
        return reply.code(200).send({});
      },
    );
  };
}

export async function mountTeamsInbound(
  { app, config }: InboundContext,
  options: TeamsInboundOptions,
): Promise<void> {
  const teams = config.notifications.teams;
  if (!teams) return;
  const conversations = options.conversations ?? new TeamsConversations(config.dataDir);
  await app.register(routes(teamsVerifier(teams), conversations, app.log));
}
