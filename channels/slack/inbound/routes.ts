/**
 * Slack's way in: buttons and forms (`/slack/interactions`), the `/incident` command
 * (`/slack/commands`) and thread replies (`/slack/events`). Registered only when Slack's
 * signing secret is set.
 *
 * Every request is checked against the signing secret over the body exactly as it arrived,
 * so these routes keep bodies as strings (their own content-type parsers) and parse them
 * only once the signature holds. A request Baton takes becomes a workflow update or signal
 * before Slack gets its answer; what is not done within Slack's 3 seconds goes on, and its
 * answer follows through the response_url or an ephemeral message.
 */
import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { BatonConfig } from '../../../config/schema';
import type { IncidentService } from '../../../api/incidents';
import type { ScheduleService } from '../../../api/schedules';
import { SlackAnswers } from './answers';
import { onCommand } from './commands';
import type { SlackContext } from './context';
import { IncidentThreads, onEvent } from './events';
import { SlackIdentities } from './identity';
import { onBlockActions, onViewSubmission } from './interactions';
import {
  blockActionsPayload,
  eventCallback,
  formFields,
  jsonOr400,
  parseOr400,
  slashCommand,
  typed,
  urlVerification,
  viewSubmissionPayload,
} from './payloads';
import { verifySlackSignature } from './verify';

export interface SlackRouteDeps {
  config: BatonConfig;
  signingSecret: string;
  incidents: IncidentService;
  /** The same service as the schedule routes', for `/incident oncall` and `/incident cover`. */
  schedules: ScheduleService;
  temporal: Client;
  /** users.info, chat.postEphemeral, views.open, conversations.replies; absent without a bot token. */
  slack: WebClient | undefined;
  /** How long Baton works on a request before it answers Slack anyway (Slack waits 3 s). */
  answerWithinMs?: number;
  now?: () => number;
}

const LATE = Symbol('late');

/**
 * The work's result if it is done within the budget; LATE otherwise, and the work goes on
 * (its failure logged), so Slack always has its answer in time.
 */
async function within<T>(work: Promise<T>, ms: number, log: FastifyBaseLogger): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), ms);
  });
  try {
    const result = await Promise.race([work, late]);
    if (result === LATE) {
      log.warn({ budgetMs: ms }, 'answered Slack before the request was done; it goes on');
      work.catch((err: unknown) => log.error({ err }, 'a Slack request failed after Slack had its answer'));
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

function rawBody(request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : '';
}

export const slackRoutes =
  (deps: SlackRouteDeps): FastifyPluginAsync =>
  async (app) => {
    const budget = deps.answerWithinMs ?? 2_500;
    const answers = new SlackAnswers(deps.slack);
    const ctx: SlackContext = {
      config: deps.config,
      incidents: deps.incidents,
      schedules: deps.schedules,
      temporal: deps.temporal,
      identities: new SlackIdentities(deps.config, deps.slack),
      answers,
      slack: deps.slack,
      names: Object.fromEntries(deps.config.responders.map((r) => [r.id, { name: r.name }])),
    };
    const threads = new IncidentThreads();

    // The signature covers the bytes Slack sent: keep them, parse after the check.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    app.addHook('preValidation', async (request) => {
      verifySlackSignature(deps.signingSecret, rawBody(request), request.headers, deps.now?.() ?? Date.now());
      const retry = request.headers['x-slack-retry-num'];
      if (retry !== undefined) {
        request.log.info(
          { retry, reason: request.headers['x-slack-retry-reason'] },
          'Slack retried a request',
        );
      }
    });

    app.post(
      '/slack/interactions',
      {
        schema: {
          summary: 'Slack buttons and forms (block_actions, view_submission), signed by Slack',
          tags: ['slack'],
          security: [],
        },
      },
      async (request, reply) => {
        const raw = jsonOr400(formFields(rawBody(request)).payload, 'interaction payload');
        const { type } = parseOr400(typed, raw, 'interaction payload');
        if (type === 'block_actions') {
          const payload = parseOr400(blockActionsPayload, raw, 'block_actions payload');
          await within(onBlockActions(ctx, payload, request.log), budget, request.log);
        } else if (type === 'view_submission') {
          const payload = parseOr400(viewSubmissionPayload, raw, 'view_submission payload');
          const { answer, work } = onViewSubmission(ctx, payload, request.log);
          await within(work, budget, request.log);
          if (answer) return reply.code(200).send(answer);
        }
        return reply.code(200).send();
      },
    );

    app.post(
      '/slack/commands',
      {
        schema: {
          summary: 'The /incident slash command, signed by Slack',
          tags: ['slack'],
          security: [],
        },
      },
      async (request, reply) => {
        const form = parseOr400(slashCommand, formFields(rawBody(request)), 'slash command');
        const work = onCommand(ctx, form, request.log);
        const text = await within(work, budget, request.log);
        if (text === LATE) {
          const url = form.response_url;
          // A failure was logged by within(); a late answer goes to the command's response_url.
          void work.then(
            (late) => (url ? answers.toResponseUrl(url, late, request.log) : false),
            () => false,
          );
          return reply
            .code(200)
            .send({ response_type: 'ephemeral', text: 'Working on it; the answer follows.' });
        }
        return reply.code(200).send({ response_type: 'ephemeral', text });
      },
    );

    app.post(
      '/slack/events',
      {
        schema: {
          summary: 'Slack Events API (url_verification, thread replies as notes), signed by Slack',
          tags: ['slack'],
          security: [],
        },
      },
      async (request, reply) => {
        const body = jsonOr400(rawBody(request), 'event');
        const { type } = parseOr400(typed, body, 'event');
        if (type === 'url_verification') {
          const { challenge } = parseOr400(urlVerification, body, 'url_verification');
          return reply.code(200).send({ challenge });
        }
        if (type === 'event_callback') {
          const callback = parseOr400(eventCallback, body, 'event_callback');
          await within(onEvent(ctx, threads, callback, request.log), budget, request.log);
        }
        return reply.code(200).send();
      },
    );
  };
