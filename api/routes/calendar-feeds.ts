/**
 * Calendar feeds of on-call shifts. A calendar app cannot send a bearer token, so each feed
 * is an unguessable URL, `/calendars/<token>.ics`, made and revoked through the API (which
 * takes the responder's token as every other route does); the URL itself takes no other
 * credential. It is shown once: only the token's SHA-256 is kept.
 *
 * The feed is checked again on every fetch: one whose owner may no longer see what it shows
 * (they left the team in the configuration) answers 404 like one that never existed.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  calendarFeedStoreIn,
  type CalendarFeedStore,
  type StoredCalendarFeed,
} from '../../activities/store/calendar-feed-store';
import { sha256Hex, type Secrets } from '../../config/secrets';
import { actorOf, requireResponder } from '../auth';
import { HttpError } from '../errors';
import { responderCalendar, scheduleCalendar } from '../schedule-calendar';
import type { ScheduleService } from '../schedules';
import { errorResponse } from '../schemas';

/** Under /calendars/: api/auth.ts counts its 404s as failed credentials of their own kind. */
const FEED_ROUTE = '/calendars/:file';

/** 32 random bytes, base64url: 43 characters. */
const TOKEN_FILE = /^([A-Za-z0-9_-]{43})\.ics$/;

/** Feeds are found by reading every one; a bound per person keeps them few. */
export const MAX_FEEDS_PER_OWNER = 20;

/** A calendar app that asks again and again is answered from its cache for five minutes at most. */
const FEED_CACHE_CONTROL = 'private, max-age=300';

const scheduleParams = z.strictObject({ id: z.string().min(1).max(100) });
const responderParams = z.strictObject({ id: z.string().min(1).max(100) });
const feedParams = z.strictObject({ feedId: z.string().min(1).max(100) });
// Any text: a malformed token is answered 404 like an unknown one, never 400.
const fileParams = z.object({ file: z.string() });

const made = { id: z.string(), url: z.string().describe('The feed; shown only now'), createdAt: z.string() };
const scheduleFeedMade = z.object({ ...made, schedule: z.string() });
const responderFeedMade = z.object({ ...made, responder: z.string() });
const feedView = z.union([
  z.object({ id: z.string(), schedule: z.string(), createdAt: z.string() }),
  z.object({ id: z.string(), responder: z.string(), createdAt: z.string() }),
]);

/** The answer to every feed URL that shows nothing: the same whatever the reason. */
const notFound = (): HttpError => new HttpError(404, 'not found', 'NotFound');

function viewOf(feed: StoredCalendarFeed): z.infer<typeof feedView> {
  return 'schedule' in feed
    ? { id: feed.id, schedule: feed.schedule, createdAt: feed.createdAt }
    : { id: feed.id, responder: feed.responder, createdAt: feed.createdAt };
}

export interface CalendarFeedRoutesDeps {
  secrets: Secrets;
  schedules: ScheduleService;
  /** Where feeds are kept; the folder store under dataDir/calendar-feeds when not given. */
  store?: CalendarFeedStore;
}

export const calendarFeedRoutes =
  (deps: CalendarFeedRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { schedules } = deps;
    const store = deps.store ?? calendarFeedStoreIn(schedules.config.dataDir);
    // Two scopes: the bearer token check of the API must not reach the feed URL.
    await app.register(feedManagementRoutes(deps.secrets, schedules, store));
    await app.register(feedRoutes(schedules, store));
  };

/** Where the feed is reached: api.publicUrl, else the address this request came to. */
function feedUrl(schedules: ScheduleService, request: FastifyRequest, token: string): string {
  const base = schedules.config.api.publicUrl ?? `${request.protocol}://${request.host}`;
  return `${base.replace(/\/+$/, '')}/calendars/${token}.ics`;
}

function feedManagementRoutes(
  secrets: Secrets,
  schedules: ScheduleService,
  store: CalendarFeedStore,
): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('onRequest', requireResponder(secrets));

    /** A new token, kept as its digest, for a feed the caller owns. */
    const create = async (
      owner: string,
      subject: { schedule: string } | { responder: string },
    ): Promise<{ feed: StoredCalendarFeed; token: string }> => {
      const mine = (await store.list()).filter((f) => f.owner === owner);
      if (mine.length >= MAX_FEEDS_PER_OWNER) {
        throw new HttpError(
          409,
          `${owner} has ${mine.length} calendar feeds, the most one may have; revoke one first (DELETE /api/v1/calendar-feeds/:feedId)`,
          'TooManyFeeds',
        );
      }
      const token = randomBytes(32).toString('base64url');
      const feed = await store.add({
        owner,
        ...subject,
        tokenSha256: sha256Hex(token),
        createdAt: new Date(schedules.now()).toISOString(),
      });
      return { feed, token };
    };

    app.post(
      '/api/v1/schedules/:id/calendar-feeds',
      {
        schema: {
          summary: "A calendar feed of the schedule's shifts, for Google Calendar, Outlook and the like",
          description:
            "For the people of the schedule's team. The answer's `url` (`…/calendars/<token>.ics`) is the feed: subscribe to it; it needs no other credential and is shown only now. It holds the final shifts from 30 days ago to 90 days ahead, one event each.",
          tags: ['calendars'],
          params: scheduleParams,
          response: { 201: scheduleFeedMade, 401: errorResponse, 404: errorResponse, 409: errorResponse },
        },
      },
      async (request, reply) => {
        const { schedule, caller } = schedules.visible(request.params.id, actorOf(request).id);
        const { feed, token } = await create(caller.id, { schedule: schedule.id });
        return reply.code(201).send({
          id: feed.id,
          schedule: schedule.id,
          url: feedUrl(schedules, request, token),
          createdAt: feed.createdAt,
        });
      },
    );

    app.post(
      '/api/v1/responders/:id/calendar-feeds',
      {
        schema: {
          summary: "A calendar feed of one responder's shifts across their schedules",
          description:
            "Made by the responder or by a manager of a team they are on. As for a schedule's feed, the `url` is shown only now.",
          tags: ['calendars'],
          params: responderParams,
          response: {
            201: responderFeedMade,
            401: errorResponse,
            403: errorResponse,
            404: errorResponse,
            409: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const caller = actorOf(request).id;
        const { member, mayChange } = schedules.responderFor(request.params.id, caller);
        if (!mayChange) {
          throw new HttpError(
            403,
            `only ${member.id} or a manager of a team ${member.id} is on may make a calendar feed of their shifts`,
            'NotPermitted',
          );
        }
        const { feed, token } = await create(caller, { responder: member.id });
        return reply.code(201).send({
          id: feed.id,
          responder: member.id,
          url: feedUrl(schedules, request, token),
          createdAt: feed.createdAt,
        });
      },
    );

    app.get(
      '/api/v1/calendar-feeds',
      {
        schema: {
          summary: "The caller's calendar feeds (without their URLs, which were shown once)",
          tags: ['calendars'],
          response: { 200: z.object({ feeds: z.array(feedView) }), 401: errorResponse },
        },
      },
      async (request) => {
        const caller = actorOf(request).id;
        return { feeds: (await store.list()).filter((f) => f.owner === caller).map(viewOf) };
      },
    );

    app.delete(
      '/api/v1/calendar-feeds/:feedId',
      {
        schema: {
          summary: 'Revoke a calendar feed: its URL answers 404 from now on',
          description:
            "By its owner, or a manager of the feed's team (for a responder's feed: the responder, or a manager of a team they are on).",
          tags: ['calendars'],
          params: feedParams,
          response: { 204: z.null(), 401: errorResponse, 404: errorResponse },
        },
      },
      async (request, reply) => {
        const caller = actorOf(request).id;
        const { feedId } = request.params;
        const feed = await store.get(feedId);
        if (!feed || !mayRevoke(schedules, feed, caller) || !(await store.remove(feed.id))) {
          throw new HttpError(404, `no calendar feed "${feedId}"`, 'NotFound');
        }
        return reply.code(204).send(null);
      },
    );
  };
}

/** Whether `caller` may revoke the feed; a feed they may not revoke is not theirs to know of either. */
function mayRevoke(schedules: ScheduleService, feed: StoredCalendarFeed, caller: string): boolean {
  if (feed.owner === caller) return true;
  try {
    return 'schedule' in feed
      ? schedules.visible(feed.schedule, caller).manages
      : schedules.responderFor(feed.responder, caller).mayChange;
  } catch (err) {
    if (err instanceof HttpError && err.statusCode === 404) return false;
    throw err;
  }
}

/** The feed's calendar, if its owner may still see what it shows; 404 otherwise. */
async function calendarOf(schedules: ScheduleService, feed: StoredCalendarFeed): Promise<string> {
  const now = schedules.now();
  try {
    if ('schedule' in feed) {
      const { schedule } = schedules.visible(feed.schedule, feed.owner);
      return await scheduleCalendar(schedules, schedule, now);
    }
    const { member, mayChange } = schedules.responderFor(feed.responder, feed.owner);
    if (!mayChange) throw notFound();
    // The responder's schedules that the owner (a manager of one of their teams) may see too.
    const ownerSees = new Set(schedules.listVisible(feed.owner).map((s) => s.id));
    const among = schedules.listVisible(member.id).filter((s) => ownerSees.has(s.id));
    return await responderCalendar(schedules, member, among, now);
  } catch (err) {
    if (err instanceof HttpError && err.statusCode === 404) throw notFound();
    throw err;
  }
}

function feedRoutes(schedules: ScheduleService, store: CalendarFeedStore): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      FEED_ROUTE,
      {
        schema: {
          summary: 'A calendar feed (text/calendar): the URL a calendar app subscribes to',
          description:
            'The token in the URL is the credential; an unknown, revoked or malformed one answers 404, as does a feed whose owner may no longer see its schedule. Unknown tokens count as failed authentications.',
          tags: ['calendars'],
          security: [],
          params: fileParams,
          response: {
            200: z.string().describe('An iCalendar file, one VEVENT per shift'),
            404: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const token = TOKEN_FILE.exec(request.params.file)?.[1];
        // Found by the token's digest, as it is kept: the token itself is compared with nothing.
        const feed = token ? await store.withTokenSha256(sha256Hex(token)) : undefined;
        if (!feed) throw notFound();
        const text = await calendarOf(schedules, feed);
        return reply
          .header('Cache-Control', FEED_CACHE_CONTROL)
          .header('X-Content-Type-Options', 'nosniff')
          .type('text/calendar; charset=utf-8')
          .send(text);
      },
    );
  };
}
