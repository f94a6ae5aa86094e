import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import type { FastifyBaseLogger } from 'fastify';
import type { BatonConfig } from '../../../config/schema';
import { OPEN_PHASES } from '../../../workflows/incident/phases';
import type { IncidentState } from '../../../workflows/incident/state';
import { fromTemporal, HttpError } from '../../../api/errors';
import { STEP_UPDATES, type StepArg, type StepName } from '../../../api/step-updates';
import type { IncidentService, IncidentSummary } from '../../../api/incidents';
import type { ScheduleService } from '../../../api/schedules';
import type { SlackAnswers } from './answers';
import type { SlackIdentities } from './identity';

/** What the Slack handlers work with: one per app. */
export interface SlackContext {
  config: BatonConfig;
  incidents: IncidentService;
  /** The API's own: `oncall` and `cover` see and change what `/api/v1/schedules` does. */
  schedules: ScheduleService;
  temporal: Client;
  identities: SlackIdentities;
  answers: SlackAnswers;
  /** Absent when no bot token is set: nothing that needs one (modals, thread lookups) works. */
  slack: WebClient | undefined;
  /** Responders' names by id. */
  names: Record<string, { name: string }>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; reason: string };

/** What went wrong, in words for the person who asked; internals stay in the log. */
function failure(err: unknown, id: string, log: FastifyBaseLogger, stepping = false): Outcome<never> {
  const mapped = fromTemporal(err, id);
  if (mapped instanceof HttpError && mapped.statusCode === 504) {
    log.warn({ err, incident: id }, mapped.message);
    // The API's wording speaks of Idempotency-Keys; a Slack user needs to know what to check.
    const reason = stepping
      ? 'the incident did not answer in time (is a Baton worker running?); the step may still be applied when it does, so check the incident before you try again'
      : 'the incident did not answer in time (is a Baton worker running?)';
    return { ok: false, status: 504, reason };
  }
  if (mapped instanceof HttpError) {
    if (mapped.statusCode >= 500) log.warn({ err, incident: id }, mapped.message);
    return { ok: false, status: mapped.statusCode, reason: mapped.message };
  }
  log.error({ err, incident: id }, 'a Slack request failed');
  return { ok: false, status: 500, reason: 'Baton failed to handle this (the details are in its log)' };
}

/**
 * Takes the step as the responder, through the same workflow update (and so the same rules
 * and refusal reasons) as the HTTP API. The request id comes from Slack's own id for the
 * interaction, so a retried or replayed request is the same update and changes nothing.
 */
export async function takeStep(
  ctx: SlackContext,
  step: StepName,
  id: string,
  arg: StepArg,
  log: FastifyBaseLogger,
): Promise<Outcome<IncidentState>> {
  try {
    return { ok: true, value: await ctx.incidents.step(id, STEP_UPDATES[step], arg) };
  } catch (err) {
    return failure(err, id, log, true);
  }
}

export async function readIncident(
  ctx: SlackContext,
  id: string,
  viewer: string,
  log: FastifyBaseLogger,
): Promise<Outcome<IncidentState>> {
  try {
    return { ok: true, value: await ctx.incidents.get(id, viewer) };
  } catch (err) {
    return failure(err, id, log);
  }
}

/**
 * A note from Slack (a thread reply, `/incident note`) is the addNote signal with source
 * 'slack'. A signal is durable once Temporal has it; the request id makes a retry harmless.
 */
export async function addNote(
  ctx: SlackContext,
  id: string,
  note: { actor: string; text: string; requestId: string },
  log: FastifyBaseLogger,
): Promise<Outcome<true>> {
  try {
    await ctx.incidents.note(id, note.actor, note.text, note.requestId, 'slack');
    return { ok: true, value: true };
  } catch (err) {
    return failure(err, id, log);
  }
}

/** Open incidents (not yet resolved) of the teams a responder sees, newest first. */
export async function openIncidents(
  ctx: SlackContext,
  viewer: string,
  log: FastifyBaseLogger,
  limit = 20,
): Promise<Outcome<IncidentSummary[]>> {
  try {
    const lists = await Promise.all(
      OPEN_PHASES.map((status) => ctx.incidents.list({ status, limit: 50 }, viewer)),
    );
    const found = lists.flat().sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    return { ok: true, value: found.slice(0, limit) };
  } catch (err) {
    return failure(err, 'list', log);
  }
}
