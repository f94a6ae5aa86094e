/**
 * On-call schedules: who is on call, the final shifts, overrides, time off and the fairness
 * report. Read from the configuration and the schedule store; no Temporal involved.
 */
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { LocalFolderStore, type IncidentStore } from '../../activities/store/incident-store';
import { scheduleStoreIn, type ScheduleStore } from '../../activities/store/schedule-store';
import type { BatonConfig } from '../../config/schema';
import type { Secrets } from '../../config/secrets';
import { timeOffInputSchema, type ScheduleContext } from '../../schedules/schema';
import type { MemberFairness } from '../../schedules/fairness';
import { DAY_MS } from '../../schedules/zone';
import { actorOf, requireResponder } from '../auth';
import { HttpError } from '../errors';
import { InvalidBody, ScheduleService, shiftText, type ScheduleServiceDeps } from '../schedules';
import { errorResponse } from '../schemas';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const INSTANT_HINT = 'write an ISO time with its offset, like 2026-11-03T08:00:00Z';

const instantQuery = z
  .string()
  .max(40)
  .refine((text) => ISO_INSTANT.test(text) && !Number.isNaN(Date.parse(text)), INSTANT_HINT)
  .describe('ISO time with offset');

const scheduleParams = z.strictObject({ id: z.string().min(1).max(100) });
const overrideParams = z.strictObject({
  id: scheduleParams.shape.id,
  overrideId: z.string().min(1).max(100),
});
const responderParams = z.strictObject({ id: z.string().min(1).max(100) });
const timeOffParams = z.strictObject({ id: responderParams.shape.id, timeOffId: z.string().min(1).max(100) });

const onCallQuery = z.strictObject({ at: instantQuery.optional().describe('When; now if absent') });
const windowQuery = z.strictObject({ from: instantQuery.optional(), to: instantQuery.optional() });

/** The shape of the bodies; what refers to the configuration or the present is checked in the handler. */
const overrideBody = z.strictObject({
  member: z.string().max(100).describe('Who covers'),
  from: z.string().max(40).describe('ISO time with offset'),
  to: z.string().max(40).describe('ISO time with offset'),
  replacing: z.string().max(100).optional().describe('Only in place of this member'),
});
const timeOffBody = z.strictObject({
  from: z.string().max(40).describe('ISO time with offset'),
  to: z.string().max(40).describe('ISO time with offset'),
});

const times = {
  start: z.string(),
  end: z.string(),
  startLocal: z.string().describe("In the schedule's zone, with its offset"),
  endLocal: z.string(),
};
const shiftView = z.object({
  member: z.string(),
  name: z.string(),
  source: z.union([
    z.object({ type: z.literal('layer'), layer: z.number(), replacing: z.string().optional() }),
    z.object({ type: z.literal('override'), id: z.string(), replacing: z.string().optional() }),
  ]),
  ...times,
});
const gapView = z.object({
  gap: z.literal(true),
  reason: z.enum(['no-layer', 'time-off']),
  layer: z.number().optional(),
  ...times,
});
const segmentView = z.union([shiftView, gapView]);
const onCallView = z.union([
  shiftView.extend({ schedule: z.string(), at: z.string() }),
  gapView.extend({ schedule: z.string(), at: z.string() }),
]);

const overrideView = z.object({
  id: z.string(),
  schedule: z.string(),
  member: z.string(),
  replacing: z.string().optional(),
  from: z.string(),
  to: z.string(),
  fromLocal: z.string(),
  toLocal: z.string(),
  by: z.string().optional(),
  at: z.string().optional(),
  configured: z.boolean(),
});
const timeOffView = z.object({
  id: z.string(),
  member: z.string(),
  from: z.string(),
  to: z.string(),
  by: z.string().optional(),
  at: z.string().optional(),
  schedule: z.string().optional(),
  configured: z.boolean(),
});

const scheduleSummary = z.object({
  id: z.string(),
  team: z.string(),
  name: z.string(),
  timezone: z.string(),
  layers: z.array(
    z.object({
      members: z.array(z.string()),
      shift: z.string(),
      handoff: z.string(),
      restrict: z
        .array(z.object({ weekdays: z.array(z.string()), from: z.string(), to: z.string() }))
        .optional(),
    }),
  ),
  onCall: segmentView.describe('Who is on call now'),
});

const reportView = z.object({
  schedule: z.string(),
  from: z.string(),
  to: z.string(),
  members: z.array(
    z.object({
      member: z.string(),
      name: z.string(),
      hoursOnCall: z.number(),
      hoursOutsideBusinessHours: z.number(),
      pages: z.number(),
      nightsWoken: z.number(),
    }),
  ),
  gapHours: z.number(),
});

const DEFAULT_WINDOW_MS = 7 * DAY_MS;

/** A body that failed the checks needing context, answered as the central handler answers a malformed one. */
function invalidBody(reply: FastifyReply, error: z.ZodError | InvalidBody): FastifyReply {
  const refused = error instanceof InvalidBody ? error : new InvalidBody(error);
  return reply.code(400).send({ error: refused.message, code: 'InvalidInput', issues: refused.issues });
}

function windowOf(
  query: { from?: string; to?: string },
  now: number,
  defaultFrom: 'now' | 'before',
): {
  from: number;
  to: number;
} {
  const from = query.from !== undefined ? Date.parse(query.from) : undefined;
  const to = query.to !== undefined ? Date.parse(query.to) : undefined;
  if (defaultFrom === 'now') {
    const start = from ?? (to !== undefined ? to - DEFAULT_WINDOW_MS : now);
    return { from: start, to: to ?? start + DEFAULT_WINDOW_MS };
  }
  const end = to ?? (from !== undefined ? from + DEFAULT_WINDOW_MS : now);
  return { from: from ?? end - DEFAULT_WINDOW_MS, to: end };
}

export interface ScheduleServiceOptions {
  config: BatonConfig;
  /** What people add at run time; the folder store under dataDir when not given. */
  store?: ScheduleStore;
  /** Where the team's incidents are, for pages in the report; the folder under dataDir when not given. */
  incidents?: IncidentStore;
  onChanged?: ScheduleServiceDeps['onChanged'];
}

/** The one ScheduleService the API's routes share (schedules, calendars, Slack). */
export function scheduleServiceFor(options: ScheduleServiceOptions): ScheduleService {
  const { dataDir } = options.config;
  return new ScheduleService({
    config: options.config,
    store: options.store ?? scheduleStoreIn(dataDir),
    incidents: options.incidents ?? new LocalFolderStore(path.resolve(dataDir, 'incidents')),
    ...(options.onChanged ? { onChanged: options.onChanged } : {}),
  });
}

export interface ScheduleRoutesDeps {
  secrets: Secrets;
  schedules: ScheduleService;
  /** When given, the on-call gauges (`baton_oncall_hours`, `_pages`, `_nights`) are served from it. */
  registry?: Registry;
}

export const scheduleRoutes =
  (deps: ScheduleRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const { schedules } = deps;
    app.addHook('onRequest', requireResponder(deps.secrets));
    if (deps.registry) registerOnCallHours(deps.registry, schedules);

    const context = (): ScheduleContext => {
      const { config } = schedules;
      return { responderIds: config.responders.map((r) => r.id), now: schedules.now() };
    };
    const callerOf = (request: FastifyRequest): string => actorOf(request).id;

    app.get(
      '/api/v1/schedules',
      {
        schema: {
          summary: "The schedules of the caller's teams, with who is on call now",
          tags: ['schedules'],
          response: { 200: z.object({ schedules: z.array(scheduleSummary) }), 401: errorResponse },
        },
      },
      async (request) => {
        const now = schedules.now();
        const visible = schedules.listVisible(callerOf(request));
        return {
          schedules: await Promise.all(
            visible.map(async (s) => {
              const onCall = await schedules.segmentAt(s, now);
              return {
                id: s.id,
                team: s.team,
                name: s.name,
                timezone: s.timezone,
                layers: s.layers.map((l) => ({
                  members: [...l.members],
                  shift: shiftText(l.shift),
                  handoff: l.handoff,
                  ...(l.restrict
                    ? {
                        restrict: l.restrict.map((r) => ({
                          weekdays: [...r.weekdays],
                          from: r.from,
                          to: r.to,
                        })),
                      }
                    : {}),
                })),
                onCall,
              };
            }),
          ),
        };
      },
    );

    app.get(
      '/api/v1/schedules/:id/oncall',
      {
        schema: {
          summary: 'Who is on call at a time (now by default)',
          description:
            'The member, the layer or override that put them there, and the shift start and end; for nobody, `gap: true` with the reason.',
          tags: ['schedules'],
          params: scheduleParams,
          querystring: onCallQuery,
          response: { 200: onCallView, 400: errorResponse, 401: errorResponse, 404: errorResponse },
        },
      },
      async (request) => {
        const { schedule } = schedules.visible(request.params.id, callerOf(request));
        const at = request.query.at !== undefined ? Date.parse(request.query.at) : schedules.now();
        return schedules.onCall(schedule, at);
      },
    );

    app.get(
      '/api/v1/schedules/:id/shifts',
      {
        schema: {
          summary: 'The final shifts over a window, after layers, overrides and time off',
          description: 'From `from` (now) to `to` (a week later); at most 400 days.',
          tags: ['schedules'],
          params: scheduleParams,
          querystring: windowQuery,
          response: {
            200: z.object({
              schedule: z.string(),
              timezone: z.string(),
              from: z.string(),
              to: z.string(),
              shifts: z.array(segmentView),
            }),
            400: errorResponse,
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request) => {
        const { schedule } = schedules.visible(request.params.id, callerOf(request));
        const { from, to } = windowOf(request.query, schedules.now(), 'now');
        const shifts = await schedules.shifts(schedule, from, to);
        return {
          schedule: schedule.id,
          timezone: schedule.timezone,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          shifts,
        };
      },
    );

    app.get(
      '/api/v1/schedules/:id/report',
      {
        schema: {
          summary:
            'The fairness report: hours on call per member, outside business hours, pages, nights woken',
          description:
            "From `from` (a week before `to`) to `to` (now); at most 400 days. Pages are the `paged` events of the team's incidents in the window.",
          tags: ['schedules'],
          params: scheduleParams,
          querystring: windowQuery,
          response: { 200: reportView, 400: errorResponse, 401: errorResponse, 404: errorResponse },
        },
      },
      async (request) => {
        const { schedule } = schedules.visible(request.params.id, callerOf(request));
        const { from, to } = windowOf(request.query, schedules.now(), 'before');
        const report = await schedules.report(schedule, from, to);
        return {
          schedule: schedule.id,
          from: new Date(report.from).toISOString(),
          to: new Date(report.to).toISOString(),
          members: report.members.map((m) => ({ ...m, name: report.names[m.member] ?? m.member })),
          gapHours: report.gapHours,
        };
      },
    );

    app.get(
      '/api/v1/schedules/:id/overrides',
      {
        schema: {
          summary: "The schedule's overrides: the configured ones, then those added through the API",
          tags: ['schedules'],
          params: scheduleParams,
          response: {
            200: z.object({ overrides: z.array(overrideView) }),
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request) => {
        const { schedule } = schedules.visible(request.params.id, callerOf(request));
        return { overrides: await schedules.overrides(schedule) };
      },
    );

    app.post(
      '/api/v1/schedules/:id/overrides',
      {
        schema: {
          summary: '`member` covers `from`–`to` instead of whoever the layers say',
          description:
            "A member may put themselves on call (take a shift, cover their own); a manager of the schedule's team may put anyone of the team on call. At most a year ahead.",
          tags: ['schedules'],
          params: scheduleParams,
          body: overrideBody,
          response: {
            201: overrideView,
            400: errorResponse,
            401: errorResponse,
            403: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const v = schedules.visible(request.params.id, callerOf(request));
        let created;
        try {
          created = await schedules.createOverride(v, request.body);
        } catch (err) {
          if (err instanceof InvalidBody) return invalidBody(reply, err);
          throw err;
        }
        return reply
          .code(201)
          .header('Location', `/api/v1/schedules/${v.schedule.id}/overrides/${created.id}`)
          .send(created);
      },
    );

    app.delete(
      '/api/v1/schedules/:id/overrides/:overrideId',
      {
        schema: {
          summary: 'Remove an override added through the API',
          description:
            'A manager of the team removes any; a member, one they made or that puts them on call.',
          tags: ['schedules'],
          params: overrideParams,
          response: {
            204: z.null(),
            401: errorResponse,
            403: errorResponse,
            404: errorResponse,
            409: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const v = schedules.visible(request.params.id, callerOf(request));
        await schedules.removeOverride(v, request.params.overrideId);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/responders/:id/time-off',
      {
        schema: {
          summary: "A responder's time off: configured, then added through the API",
          description: 'For the responder and the people of their teams.',
          tags: ['schedules'],
          params: responderParams,
          response: {
            200: z.object({ timeOff: z.array(timeOffView) }),
            401: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request) => {
        const { member } = schedules.responderFor(request.params.id, callerOf(request));
        return { timeOff: await schedules.timeOff(member.id) };
      },
    );

    app.post(
      '/api/v1/responders/:id/time-off',
      {
        schema: {
          summary: 'The responder is away `from`–`to`: their shifts go to the next free member of the layer',
          description: 'Set by the responder or by a manager of a team they are on. At most a year ahead.',
          tags: ['schedules'],
          params: responderParams,
          body: timeOffBody,
          response: {
            201: timeOffView,
            400: errorResponse,
            401: errorResponse,
            403: errorResponse,
            404: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const { member, mayChange } = schedules.responderFor(request.params.id, caller);
        if (!mayChange) {
          throw new HttpError(
            403,
            `only ${member.id} or a manager of a team ${member.id} is on may set their time off`,
            'NotPermitted',
          );
        }
        const parsed = timeOffInputSchema(context()).safeParse({ member: member.id, ...request.body });
        if (!parsed.success) return invalidBody(reply, parsed.error);
        const created = await schedules.addTimeOff(parsed.data, caller);
        return reply
          .code(201)
          .header('Location', `/api/v1/responders/${member.id}/time-off/${created.id}`)
          .send(created);
      },
    );

    app.delete(
      '/api/v1/responders/:id/time-off/:timeOffId',
      {
        schema: {
          summary: 'Remove time off added through the API',
          description: 'By the responder or a manager of a team they are on.',
          tags: ['schedules'],
          params: timeOffParams,
          response: {
            204: z.null(),
            401: errorResponse,
            403: errorResponse,
            404: errorResponse,
            409: errorResponse,
          },
        },
      },
      async (request, reply) => {
        const { member, mayChange } = schedules.responderFor(request.params.id, callerOf(request));
        if (!mayChange) {
          throw new HttpError(
            403,
            `only ${member.id} or a manager of a team ${member.id} is on may remove their time off`,
            'NotPermitted',
          );
        }
        await schedules.removeTimeOff(member.id, request.params.timeOffId);
        return reply.code(204).send(null);
      },
    );
  };

/**
 * The on-call gauges, computed when Prometheus scrapes, over each schedule's current local
 * week (Monday 00:00 to Monday 00:00): `baton_oncall_hours{schedule, member}`, the hours each
 * member is on call (what is still to come included), and `baton_oncall_pages` and
 * `baton_oncall_nights`, the pages received and nights woken so far, as the fairness report
 * counts them.
 */
function registerOnCallHours(registry: Registry, schedules: ScheduleService): void {
  new Gauge({
    name: 'baton_oncall_hours',
    help: "Hours each member is on call in the schedule's current week (Monday to Monday, local time).",
    labelNames: ['schedule', 'member'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = schedules.now();
      for (const schedule of schedules.config.schedules) {
        for (const { member, hours } of await schedules.weekHours(schedule, now)) {
          this.set({ schedule: schedule.id, member }, hours);
        }
      }
    },
  });
  const weekReports = oncePerScrape(async () => {
    const now = schedules.now();
    const reports: { schedule: string; members: MemberFairness[] }[] = [];
    for (const schedule of schedules.config.schedules) {
      reports.push({ schedule: schedule.id, members: (await schedules.weekReport(schedule, now)).members });
    }
    return reports;
  });
  const fromReports = (name: string, help: string, figure: (m: MemberFairness) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['schedule', 'member'] as const,
      registers: [registry],
      async collect() {
        const reports = await weekReports();
        this.reset();
        for (const { schedule, members } of reports) {
          for (const m of members) this.set({ schedule, member: m.member }, figure(m));
        }
      },
    });
  };
  fromReports(
    'baton_oncall_pages',
    "Pages each member received from the team's incidents in the schedule's current week (Monday to Monday, local time).",
    (m) => m.pages,
  );
  fromReports(
    'baton_oncall_nights',
    "Nights (22:00 to 07:00 local) each member was woken by a page in the schedule's current week.",
    (m) => m.nightsWoken,
  );
}

/**
 * One computation for every gauge of a scrape: Prometheus asks for them all at once, and
 * the team's incidents are read once, not once per gauge.
 */
function oncePerScrape<T>(compute: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= compute().finally(() => {
      running = undefined;
    });
    return running;
  };
}
