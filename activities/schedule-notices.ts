/**
 * What the schedule workflow asks of the world: who is on call around now (the outlook it
 * plans its notices from), and sending one notice, written for the person it goes to. A
 * handoff notice lists the team's open incidents as they stand when it is sent, from the
 * incident store's records.
 */
import { snapshotOf, teamManagers } from '../config/policy';
import type { BatonConfig, ResponderConfig } from '../config/schema';
import { finalShifts } from '../schedules/shifts';
import type { OnCallSegment, ScheduleConfig } from '../schedules/types';
import { formatLocal } from '../schedules/zone';
import type { DeliveryReport, Notification } from '../workflows/incident/model';
import {
  DEFAULT_NOTICE_BEFORE_MS,
  GAP_HORIZON_MS,
  HANDOFF_HORIZON_MS,
  LATE_NOTICE_MS,
  type OutlookGap,
  type OutlookStretch,
  type ScheduleNotice,
  type ScheduleOutlook,
} from '../workflows/schedule/plan';
import type { AdjustmentsSource } from './page-targets';
import type { IncidentStore } from './store/incident-store';

export interface ScheduleNoticeDeps {
  config: BatonConfig;
  adjustments: AdjustmentsSource;
  /** Where the incidents' records are, for the open incidents a handoff passes on. */
  incidents: IncidentStore;
  notify: (notification: Notification) => Promise<DeliveryReport>;
  /** Where the API is, for the links in a gap warning. */
  publicUrl?: string;
}

export interface OutlookRequest {
  scheduleId: string;
  at: number;
}

export interface ScheduleNoticeRequest {
  /** The workflow's uuid4 for this notice: a retried send goes only to whoever has no answer yet. */
  id: string;
  scheduleId: string;
  notice: ScheduleNotice;
}

export interface ScheduleNoticeOutcome {
  /** Who it was for; none when nobody could be addressed (a member since removed). */
  to: string[];
  delivered: number;
  failed: number;
}

/** Adjacent segments merged where the same member (or nobody) stays on call. */
export function stretchesOf(segments: readonly OnCallSegment[]): OutlookStretch[] {
  const out: OutlookStretch[] = [];
  for (const s of segments) {
    const member = s.kind === 'shift' ? s.member : undefined;
    const last = out.at(-1);
    if (last && last.end === s.start && last.member === member) {
      last.end = s.end;
      continue;
    }
    out.push({ start: s.start, end: s.end, ...(member !== undefined ? { member } : {}) });
  }
  return out;
}

/** The gaps nobody planned: all of a layer's members away (a gap where no layer applies is the schedule's design). */
export function timeOffGaps(segments: readonly OnCallSegment[], after: number): OutlookGap[] {
  const gaps: OutlookGap[] = [];
  for (const s of segments) {
    if (s.kind !== 'gap' || s.reason !== 'time-off' || s.end <= after) continue;
    const last = gaps.at(-1);
    if (last && last.end === s.start) last.end = s.end;
    else gaps.push({ start: s.start, end: s.end });
  }
  return gaps;
}

interface OpenIncident {
  id: string;
  title: string;
  phase: string;
}

const DONE_PHASES = new Set(['post-incident', 'closed']);

/** The team's incidents still being worked on, by their records; a record that cannot be read is left out. */
async function openIncidentsOf(store: IncidentStore, team: string): Promise<OpenIncident[]> {
  const open: OpenIncident[] = [];
  for (const folder of await store.incidents()) {
    const content = await store.read(folder, 'record.json').catch(() => undefined);
    if (!content) continue;
    let record: { id?: unknown; team?: unknown; title?: unknown; phase?: unknown };
    try {
      record = JSON.parse(content.toString('utf8')) as typeof record;
    } catch {
      continue;
    }
    if (record.team !== team || typeof record.phase !== 'string' || DONE_PHASES.has(record.phase)) continue;
    open.push({
      id: typeof record.id === 'string' ? record.id : folder,
      title: typeof record.title === 'string' ? record.title : '',
      phase: record.phase,
    });
  }
  return open.sort((a, b) => a.id.localeCompare(b.id));
}

/** `Mon 2026-11-02 09:00 (Europe/Berlin)`. */
function when(schedule: ScheduleConfig, at: number): string {
  const weekday = new Intl.DateTimeFormat('en-GB', { weekday: 'short', timeZone: schedule.timezone }).format(
    at,
  );
  return `${weekday} ${formatLocal(schedule.timezone, at).replace('T', ' ')} (${schedule.timezone})`;
}

function incidentLines(open: readonly OpenIncident[], none: string): string {
  if (open.length === 0) return none;
  return open.map((i) => `- ${i.id}: ${i.title} (${i.phase})`).join('\n');
}

interface Written {
  to: ResponderConfig[];
  subject: string;
  text: string;
}

export function createScheduleNoticeActivities(deps: ScheduleNoticeDeps) {
  const { config } = deps;
  const responder = (id: string | undefined): ResponderConfig | undefined =>
    id === undefined ? undefined : config.responders.find((r) => r.id === id);
  const nameOf = (id: string | undefined): string => responder(id)?.name ?? id ?? 'nobody';

  async function write(schedule: ScheduleConfig, notice: ScheduleNotice): Promise<Written> {
    const label = schedule.name;
    switch (notice.kind) {
      case 'going-on-call': {
        const who = responder(notice.member);
        const from = notice.from ? `, taking over from ${nameOf(notice.from)}` : '';
        return {
          to: who ? [who] : [],
          subject: `You go on call for ${label} at ${when(schedule, notice.start)}`,
          text:
            `You go on call for ${label} at ${when(schedule, notice.start)}${from}, ` +
            `until ${when(schedule, notice.end)}.`,
        };
      }
      case 'on-call': {
        const who = responder(notice.member);
        const open = await openIncidentsOf(deps.incidents, schedule.team);
        const from = notice.from ? ` You take over from ${nameOf(notice.from)}.` : '';
        return {
          to: who ? [who] : [],
          subject: `You are on call for ${label} until ${when(schedule, notice.end)}`,
          text:
            `You are on call for ${label} from ${when(schedule, notice.start)} ` +
            `until ${when(schedule, notice.end)}.${from}\n\n` +
            `Open incidents you inherit:\n${incidentLines(open, 'none.')}`,
        };
      }
      case 'off-call': {
        const who = responder(notice.member);
        const open = await openIncidentsOf(deps.incidents, schedule.team);
        const next = notice.to ? `${nameOf(notice.to)} is on call now` : 'nobody is on call now (a gap)';
        return {
          to: who ? [who] : [],
          subject: `You are off call for ${label}`,
          text:
            `Your shift on ${label} ended at ${when(schedule, notice.at)}; ${next}.\n\n` +
            `Open incidents you hand over:\n${incidentLines(open, 'none.')}`,
        };
      }
      case 'gap-found':
      case 'gap-soon': {
        const team = config.teams.find((t) => t.id === schedule.team);
        const managers = team ? teamManagers(config, team).flatMap((id) => responder(id) ?? []) : [];
        const span = `from ${when(schedule, notice.start)} to ${when(schedule, notice.end)}`;
        const where = deps.publicUrl
          ? `${deps.publicUrl.replace(/\/+$/, '')}/api/v1/schedules/${schedule.id}/overrides`
          : `/api/v1/schedules/${schedule.id}/overrides`;
        const soon = notice.kind === 'gap-soon';
        return {
          to: managers,
          subject: soon
            ? `Within a day, nobody is on call for ${label}`
            : `Nobody will be on call for ${label}`,
          text:
            `Nobody is on call for ${label} ${span}: everyone in its rotation is on time off then. ` +
            `Pages to ${label} in that time fall through to the next step.\n\n` +
            `Cover it with an override (POST ${where}, or /incident cover ${schedule.id} <from> <to> in Slack).`,
        };
      }
    }
  }

  return {
    /** Who is on call around `at`, for the schedule workflow to plan its notices from. */
    async scheduleOutlook(request: OutlookRequest): Promise<ScheduleOutlook> {
      const schedule = config.schedules.find((s) => s.id === request.scheduleId);
      if (!schedule) return { found: false, noticeBeforeMs: 0, stretches: [], gaps: [] };
      const adjustments = await deps.adjustments(schedule);
      const from = request.at - LATE_NOTICE_MS;
      const segments = finalShifts(schedule, adjustments, from, request.at + GAP_HORIZON_MS);
      const horizon = request.at + HANDOFF_HORIZON_MS;
      return {
        found: true,
        noticeBeforeMs: schedule.handoffNotice ?? DEFAULT_NOTICE_BEFORE_MS,
        // Handoffs past the horizon are planned when the workflow looks again; a stretch keeps its real end.
        stretches: stretchesOf(segments).filter((s) => s.start < horizon),
        gaps: timeOffGaps(segments, request.at),
      };
    },

    /** Sends one notice; a schedule or person gone from the configuration since is nobody to tell. */
    async sendScheduleNotice(request: ScheduleNoticeRequest): Promise<ScheduleNoticeOutcome> {
      const schedule = config.schedules.find((s) => s.id === request.scheduleId);
      if (!schedule) return { to: [], delivered: 0, failed: 0 };
      const written = await write(schedule, request.notice);
      if (written.to.length === 0) return { to: [], delivered: 0, failed: 0 };
      const report = await deps.notify({
        id: request.id,
        incidentId: `schedule:${schedule.id}`,
        kind: 'schedule',
        subject: written.subject,
        text: written.text,
        responders: written.to.map(snapshotOf),
        slackChannels: [],
        emails: [],
        links: [],
      });
      return {
        to: written.to.map((r) => r.id),
        delivered: report.delivered.length,
        failed: report.failed.length,
      };
    },
  };
}
