/**
 * `/incident oncall` and `/incident cover` against the API's ScheduleService: the same
 * visibility, the same override checks and refusals as `/api/v1/schedules`, answered in
 * words for the person who typed the command.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ResponderConfig } from '../../../config/schema';
import { MAX_WINDOW_MS } from '../../../schedules/shifts';
import { HttpError } from '../../../api/errors';
import type { ScheduleConfig } from '../../../schedules/types';
import type { SlackContext } from './context';
import { refused } from './messages';
import {
  coverDone,
  coveredNotice,
  noTeam,
  onCallText,
  replacedIn,
  resolveSpan,
  type Replaced,
  type ScheduleCommand,
  type ScheduleOnCall,
  type Told,
} from './oncall';

const FAILED = 'Baton failed to handle this (the details are in its log)';

/** A refusal in the API's words; anything else stays in the log. */
function failure(err: unknown, log: FastifyBaseLogger, refusal: (reason: string) => string): string {
  if (err instanceof HttpError && err.statusCode < 500) return refusal(err.message);
  log.error({ err }, 'a Slack schedule command failed');
  return FAILED;
}

/** Who is on call now for each schedule of the caller's teams, or of the one team asked about. */
export async function onCallAnswer(
  ctx: SlackContext,
  caller: ResponderConfig,
  team: string | undefined,
  log: FastifyBaseLogger,
): Promise<string> {
  const visibleTeams = ctx.incidents.teamsVisibleTo(caller.id) ?? ctx.config.teams.map((t) => t.id);
  // A team the caller does not see is answered as one that does not exist.
  if (team !== undefined && !visibleTeams.includes(team)) return noTeam(team);
  const teams = team !== undefined ? [team] : visibleTeams;
  const schedules = ctx.schedules.listVisible(caller.id).filter((s) => teams.includes(s.team));
  try {
    const now = ctx.schedules.now();
    const entries = await Promise.all(schedules.map((s) => onCallOf(ctx, s, now)));
    return onCallText(entries, teams);
  } catch (err) {
    return failure(err, log, (reason) => `Baton could not say who is on call: ${reason}.`);
  }
}

async function onCallOf(ctx: SlackContext, schedule: ScheduleConfig, at: number): Promise<ScheduleOnCall> {
  const [now, next] = await Promise.all([
    ctx.schedules.segmentAt(schedule, at),
    ctx.schedules.nextAt(schedule, at),
  ]);
  return { schedule: { id: schedule.id, name: schedule.name }, now, ...(next ? { next } : {}) };
}

/**
 * The caller takes the shift from–to: an override with them as the member, made through the
 * same ScheduleService method as `POST /api/v1/schedules/:id/overrides`. Whoever the schedule
 * had on call in that window is told by direct message.
 */
export async function coverAnswer(
  ctx: SlackContext,
  caller: ResponderConfig,
  command: Extract<ScheduleCommand, { kind: 'cover' }>,
  log: FastifyBaseLogger,
): Promise<string> {
  try {
    const visible = ctx.schedules.visible(command.schedule, caller.id);
    const span = resolveSpan(command.from, command.to, ctx.schedules.now());
    if (!span.ok) return refused(span.problem);
    const replaced = await replacedBetween(ctx, visible.schedule, span, caller.id);
    const created = await ctx.schedules.createOverride(visible, {
      member: caller.id,
      from: span.from,
      to: span.to,
    });
    const told = await Promise.all(
      replaced.map(async (r) => ({
        ...r,
        told: await tell(ctx, r, coveredNotice(caller.name, visible.schedule.name, r), log),
      })),
    );
    return coverDone(visible.schedule.name, created, told);
  } catch (err) {
    return failure(err, log, refused);
  }
}

/**
 * Who the schedule has on call over the window before the override is added. A window the
 * override's checks will refuse, or too long to compute, replaces nobody.
 */
async function replacedBetween(
  ctx: SlackContext,
  schedule: ScheduleConfig,
  span: { from: string; to: string },
  coverer: string,
): Promise<Replaced[]> {
  const from = Date.parse(span.from);
  const to = Date.parse(span.to);
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from || to - from > MAX_WINDOW_MS) return [];
  return replacedIn(await ctx.schedules.shifts(schedule, from, to), coverer);
}

/** A direct message to a replaced member, at their configured Slack user id; never throws. */
async function tell(
  ctx: SlackContext,
  replaced: Replaced,
  text: string,
  log: FastifyBaseLogger,
): Promise<Told> {
  const slackUserId = ctx.config.responders.find((r) => r.id === replaced.member)?.slackUserId;
  if (!slackUserId) return 'no-slack';
  if (!ctx.slack) {
    log.warn({ responder: replaced.member }, 'no Slack bot token: a covered member was not told');
    return 'failed';
  }
  try {
    await ctx.slack.chat.postMessage({ channel: slackUserId, text, unfurl_links: false });
    return 'told';
  } catch (err) {
    log.warn({ err, responder: replaced.member }, 'a direct message about a covered shift failed');
    return 'failed';
  }
}
