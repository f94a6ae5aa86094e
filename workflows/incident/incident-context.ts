/**
 * The incident as the workflow holds it: the record, the rules it runs by, and the
 * bookkeeping that makes retries, restarts and continue-as-new harmless. Steps, signals and
 * duties act through it; only it writes the timeline and queues notifications.
 *
 * It uses no workflow API, so the steps can be unit-tested on a plain incident.
 */
import { RefusalType } from './messages';
import { responderOf, type IncidentPolicy, type Notification } from './model';
import type { Refusal } from './rules';
import {
  CARRIED_BYTES,
  DESCRIPTION_BYTES,
  EVENT_DETAILS_BYTES,
  EVENT_SUMMARY_BYTES,
  EVENT_BATCH_BYTES,
  EVENTS_PER_WRITE,
  LEGACY,
  RECORD_BYTES,
  REMEMBERED_REQUESTS,
  TIMELINE_TAIL,
  TITLE_BYTES,
  UNWRITTEN_EVENTS,
  jsonBytes,
  newestWithin,
  truncateBytes,
} from './limits';
import { RecentKeys } from './recent-keys';
import { shrinkToFit } from './shrink';
import type {
  CarriedIncident,
  DiagnosticsOccasion,
  IncidentInput,
  IncidentState,
  TimelineEvent,
  TimelineKind,
} from './state';

/** The actor on the timeline for what the process did by itself. */
export const SYSTEM = 'baton';

/** When each repeating reminder last went out; kept across continue-as-new. */
export interface Reminders {
  lastNudgeAt?: string;
  lastAssessReminderAt?: string;
  lastUpdateReminderAt?: string;
}

/**
 * What the incident tells the worker's metrics as it happens (workflows/incident/metrics.ts measures
 * it with the SDK's workflow meter, which is silent during replay, so nothing counts twice).
 * Durations are in seconds, from the start of the current response.
 */
export interface IncidentMeter {
  opened(): void;
  acknowledged(seconds: number): void;
  escalated(seconds: number): void;
  resolved(seconds: number, automatic: boolean): void;
  followUpsOpened(count: number): void;
  followUpClosed(outcome: 'done' | 'waived'): void;
  followUpOverdue(): void;
}

/** Measures nothing: incidents outside a workflow (unit tests) and until the workflow sets one. */
export const UNMEASURED: IncidentMeter = {
  opened: () => undefined,
  acknowledged: () => undefined,
  escalated: () => undefined,
  resolved: () => undefined,
  followUpsOpened: () => undefined,
  followUpClosed: () => undefined,
  followUpOverdue: () => undefined,
};

/** An incident whose policy is known: every step and duty runs on one of these. */
export type ReadyIncident = Incident & { readonly policy: IncidentPolicy };

export class Incident {
  readonly state: IncidentState;
  /**
   * The rules the incident runs by. Unknown until resolved from configuration when the
   * starter did not pass them (a start from the Temporal CLI); see `ready()`.
   */
  policy: IncidentPolicy | undefined;
  /** Notifications queued for delivery, oldest first. */
  readonly outbox: Notification[];
  readonly reminders: Reminders;
  /** One firing (or clearing) of one alert already taken in; Alertmanager re-sends them. */
  readonly seenAlerts: RecentKeys;
  /**
   * The incident started before record limits were counted in bytes: it keeps the old
   * limits (see LEGACY in limits.ts). Set by the workflow from its history.
   */
  legacyLimits = false;
  /** Signals are handled in the task they arrive in (see handlers.ts); set by the workflow. */
  signalsAtOnce = true;
  /** The incident keeps live Slack messages (slack-sync.ts); set by the workflow. */
  slackLive = false;
  /** A sync of the live Slack messages is under way. */
  slackSyncing = false;
  /** The live Slack messages need no more syncing (closed and told, or no Slack). */
  slackDone = false;
  /** Where the incident's metrics go; set by the workflow. */
  meter: IncidentMeter = UNMEASURED;
  /** The record changed since it was last written out. */
  documentationDue = true;
  /** The record is being written out right now. */
  documenting = false;
  /** Diagnostics collections asked for and not started yet (diagnostics-collection.ts). */
  readonly diagnosticsWanted: DiagnosticsOccasion[] = [];
  /** Diagnostics collections under way. */
  diagnosing = 0;
  /**
   * An escalation is asking the first Level 3 step's schedules who is on call: Level 3 is
   * paged, and its accept timeout starts, once the answer is in (level3-paging.ts).
   */
  handoverPending = false;
  /** Request id → the message it was used for; a retry of the same message changes nothing. */
  private readonly requests: Map<string, string>;
  /** Timeline events the incident store has not taken yet, oldest first. */
  private unwritten: TimelineEvent[];

  constructor(
    state: IncidentState,
    policy: IncidentPolicy | undefined,
    carried?: CarriedIncident,
    /** Makes each notification's id; the workflow passes its deterministic uuid4. */
    private readonly newId: () => string = counter(),
  ) {
    this.state = state;
    this.policy = policy;
    this.requests = new Map(carried?.seenRequests ?? []);
    this.seenAlerts = new RecentKeys(carried?.seenAlertKeys ?? []);
    this.outbox = [...(carried?.outbox ?? [])];
    this.unwritten = [...(carried?.unwrittenEvents ?? [])];
    // Records from before events were numbered: number them from the timeline they kept.
    state.timelineTotal ??= state.timeline.length;
    this.reminders = {
      ...(carried?.lastNudgeAt ? { lastNudgeAt: carried.lastNudgeAt } : {}),
      ...(carried?.lastAssessReminderAt ? { lastAssessReminderAt: carried.lastAssessReminderAt } : {}),
      ...(carried?.lastUpdateReminderAt ? { lastUpdateReminderAt: carried.lastUpdateReminderAt } : {}),
    };
  }

  /** The incident a workflow run starts with: carried from the previous run, or opened anew. */
  static fromInput(
    input: IncidentInput,
    run: { workflowId: string; startTime: Date },
    newId: () => string,
  ): Incident {
    return new Incident(input.carried?.state ?? openIncident(input, run), input.policy, input.carried, newId);
  }

  /**
   * Which response this is: 0 until the incident is first reopened, then one more each
   * time. Duties belong to one response and end when the incident is reopened.
   */
  cycle(): number {
    return this.state.reopenedCount ?? this.state.reopenings?.length ?? 0;
  }

  /** Seconds from the start of the current response (the opening, or the last reopening) to now. */
  secondsIntoResponse(): number {
    const reopened = this.state.reopenings?.at(-1)?.at;
    return Math.max(0, (Date.now() - ms(reopened ?? this.state.openedAt)) / 1_000);
  }

  /** True once the policy is known; handlers wait for it, duties start after it. */
  ready(): this is ReadyIncident {
    return this.policy !== undefined;
  }

  // ---------------------------------------------------------------------------------------
  // The record.

  /**
   * Appends one event to the timeline; the record is written out after it. The workflow
   * keeps the newest events, the store every one.
   */
  log(kind: TimelineKind, actor: string, summary: string, details?: Record<string, unknown>): void {
    this.append(kind, actor, summary, details);
    this.documentationDue = true;
  }

  /** Logs without making the record due (a failed write must not loop into another). */
  logQuietly(kind: TimelineKind, actor: string, summary: string): void {
    this.append(kind, actor, summary);
  }

  private append(
    kind: TimelineKind,
    actor: string,
    summary: string,
    details?: Record<string, unknown>,
  ): void {
    const { state } = this;
    state.timelineTotal = (state.timelineTotal ?? state.timeline.length) + 1;
    const event: TimelineEvent = {
      seq: state.timelineTotal,
      at: now(),
      actor,
      kind,
      summary: truncateBytes(summary, EVENT_SUMMARY_BYTES),
    };
    // Details are references and short facts; anything long belongs in the record itself.
    if (details) {
      event.details =
        jsonBytes(details) <= EVENT_DETAILS_BYTES ? details : { omitted: 'too long for the timeline' };
    }
    state.timeline.push(event);
    if (state.timeline.length > TIMELINE_TAIL)
      state.timeline.splice(0, state.timeline.length - TIMELINE_TAIL);
    this.unwritten.push(event);
    if (this.unwritten.length > UNWRITTEN_EVENTS)
      this.unwritten.splice(0, this.unwritten.length - UNWRITTEN_EVENTS);
  }

  /**
   * The unwritten events continue-as-new carries: the newest that fit, after an event that
   * says how many the store will never have when some do not.
   */
  private carriedEvents(): TimelineEvent[] {
    const carried = newestWithin(this.unwritten, CARRIED_BYTES.events);
    const lost = this.unwritten.length - carried.length;
    if (lost === 0) return carried;
    const gap: TimelineEvent = {
      at: now(),
      actor: SYSTEM,
      kind: 'documentation-failed',
      summary: `${lost} timeline event(s) could not be written to the store before the incident moved to a new run`,
    };
    // Numbered just before the first carried event, so the store takes it in order.
    if (carried[0]?.seq !== undefined) gap.seq = carried[0].seq - 0.5;
    return [gap, ...carried];
  }

  /** The next events for the store, oldest first. */
  eventsToWrite(): TimelineEvent[] {
    const batch: TimelineEvent[] = [];
    let bytes = 0;
    for (const event of this.unwritten.slice(0, EVENTS_PER_WRITE)) {
      bytes += jsonBytes(event);
      if (batch.length > 0 && bytes > EVENT_BATCH_BYTES) break;
      batch.push(event);
    }
    return batch;
  }

  /** The store took these events; returns true when more are waiting. */
  written(events: TimelineEvent[]): boolean {
    const last = events[events.length - 1]?.seq;
    if (last !== undefined) this.unwritten = this.unwritten.filter((e) => (e.seq ?? 0) > last);
    return this.unwritten.length > 0;
  }

  /** Queues a notification for delivery, under an id of its own. */
  send(notification: Notification): void {
    // With live messages, the team's and Level 3's channels hear it in the live thread.
    const live =
      this.slackLive && this.policy ? [this.policy.team.channel, this.policy.team.level3Channel] : [];
    this.outbox.push({
      id: this.newId(),
      ...notification,
      ...(live.length > 0 ? { liveChannels: live } : {}),
    });
  }

  /**
   * Logs an event and sends its notice. The timeline says whom the notice went to, read
   * from the notice itself: responders by id, then any Slack channels and email addresses.
   */
  tell(
    notification: Notification,
    kind: TimelineKind,
    actor: string,
    summary: string,
    details: Record<string, unknown> = {},
  ): void {
    this.told(notification, kind, actor, summary, details);
    this.send(notification);
  }

  /** Logs a notice that has already gone out (the first page), naming whom it went to. */
  told(
    notification: Notification,
    kind: TimelineKind,
    actor: string,
    summary: string,
    details: Record<string, unknown> = {},
  ): void {
    const { responders, slackChannels, emails } = notification;
    this.log(kind, actor, summary, {
      ...details,
      to: responders.map((r) => r.id),
      ...(slackChannels.length > 0 ? { channels: slackChannels } : {}),
      ...(emails.length > 0 ? { emails } : {}),
    });
  }

  /** A responder's name for people to read; the id when the policy does not know them. */
  nameOf(id: string): string {
    return (this.policy && responderOf(this.policy, id)?.name) ?? id;
  }

  /** True when the record has no room left for free text. */
  full(): boolean {
    return this.legacyLimits
      ? JSON.stringify(this.state).length > LEGACY.recordChars
      : jsonBytes(this.state) > RECORD_BYTES;
  }

  /** Refuses steps that add free text once the record is full. */
  withinBudget(): Refusal | undefined {
    return this.full()
      ? {
          type: RefusalType.invalidMove,
          message: `the incident record has reached its size limit (${(this.legacyLimits ? LEGACY.recordChars : RECORD_BYTES) / 1_000} kB); link long material instead of pasting it`,
        }
      : undefined;
  }

  /**
   * Keeps the record under its hard limit after a step that may not be refused (resolving,
   * the report, lessons, waivers, customer updates): the longest texts are shortened, once
   * noted on the timeline, so nothing the incident sends or returns can outgrow Temporal.
   */
  fit(): void {
    if (this.legacyLimits || !shrinkToFit(this.state) || this.state.shortened) return;
    this.state.shortened = true;
    this.log(
      'record-shortened',
      SYSTEM,
      'the record reached its size limit; its longest texts were shortened (the store keeps the timeline)',
    );
  }

  // ---------------------------------------------------------------------------------------
  // Request ids.

  /** The message a request id was first used for, if any. */
  usedFor(requestId: string): string | undefined {
    return this.requests.get(requestId);
  }

  remember(requestId: string, message: string): void {
    this.requests.set(requestId, message);
    if (this.requests.size > (this.legacyLimits ? LEGACY.rememberedRequests : REMEMBERED_REQUESTS)) {
      const oldest = this.requests.keys().next().value;
      if (oldest !== undefined) this.requests.delete(oldest);
    }
  }

  /** What continue-as-new carries into the next run besides the input. */
  carry(): CarriedIncident {
    // The record is under its hard limit; each list beside it keeps its newest entries
    // within a share of the payload, so the whole input stays under PAYLOAD_BYTES.
    return {
      state: this.state,
      seenRequests: newestWithin([...this.requests], CARRIED_BYTES.requests),
      seenAlertKeys: newestWithin(this.seenAlerts.values(), CARRIED_BYTES.alertKeys),
      outbox: this.outbox,
      ...this.reminders,
      ...(this.unwritten.length > 0 ? { unwrittenEvents: this.carriedEvents() } : {}),
    };
  }
}

/** Ids for incidents outside a workflow (tests): n-1, n-2, … */
function counter(): () => string {
  let n = 0;
  return () => `n-${(n += 1)}`;
}

export function now(): string {
  return new Date().toISOString();
}

export function ms(iso: string): number {
  return Date.parse(iso);
}

/** The record of a new incident, before its first event. */
export function openIncident(
  input: IncidentInput,
  run: { workflowId: string; startTime: Date },
): IncidentState {
  const openedAt = new Date(run.startTime).toISOString();
  return {
    id: run.workflowId,
    title: truncateBytes(input.title, TITLE_BYTES),
    ...(input.description ? { description: truncateBytes(input.description, DESCRIPTION_BYTES) } : {}),
    service: input.service,
    team: input.policy?.team.id ?? input.team ?? 'unrouted',
    severity: input.severity ?? 'SEV4',
    phase: 'triggered',
    origin: input.origin,
    openedAt,
    alerts: input.alerts ?? [],
    runbooks: [],
    escalation: { round: 0, step: 0, pagedAt: openedAt, exhausted: false },
    assessments: [],
    actions: [],
    notes: [],
    communications: [],
    lastStakeholderUpdateAt: openedAt,
    followUps: [],
    timeline: [],
    links: input.temporalUiUrl ? { temporalUi: input.temporalUiUrl } : {},
  };
}

/** The timeline gives the gist; the full text stays where it belongs (notes, actions). */
export function excerpt(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
