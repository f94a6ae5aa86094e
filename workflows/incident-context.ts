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
import type { CarriedIncident, IncidentInput, IncidentState, TimelineEvent, TimelineKind } from './state';

/** The actor on the timeline for what the process did by itself. */
export const SYSTEM = 'baton';

/** How many request ids are remembered for de-duplication. */
const REMEMBERED_REQUESTS = 1_000;
/**
 * Temporal refuses payloads over 2 MB and a worker's reply over 4 MB, and the record travels
 * whole, several times in one reply (query answers, update results, the documentation
 * activity, continue-as-new). Past this size free text is refused; the steps that close an
 * incident stay open and are bounded by their schemas.
 */
const RECORD_BUDGET_CHARS = 500_000;

/** When each repeating reminder last went out; kept across continue-as-new. */
export interface Reminders {
  lastNudgeAt?: string;
  lastAssessReminderAt?: string;
  lastUpdateReminderAt?: string;
}

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
  readonly seenAlerts: Set<string>;
  /** The record changed since it was last written out. */
  documentationDue = true;
  /** The record is being written out right now. */
  documenting = false;
  /** Request id → the message it was used for; a retry of the same message changes nothing. */
  private readonly requests: Map<string, string>;

  constructor(state: IncidentState, policy: IncidentPolicy | undefined, carried?: CarriedIncident) {
    this.state = state;
    this.policy = policy;
    this.requests = new Map(carried?.seenRequests ?? []);
    this.seenAlerts = new Set(carried?.seenAlertKeys ?? []);
    this.outbox = [...(carried?.outbox ?? [])];
    this.reminders = {
      ...(carried?.lastNudgeAt ? { lastNudgeAt: carried.lastNudgeAt } : {}),
      ...(carried?.lastAssessReminderAt ? { lastAssessReminderAt: carried.lastAssessReminderAt } : {}),
      ...(carried?.lastUpdateReminderAt ? { lastUpdateReminderAt: carried.lastUpdateReminderAt } : {}),
    };
  }

  /** The incident a workflow run starts with: carried from the previous run, or opened anew. */
  static fromInput(input: IncidentInput, run: { workflowId: string; startTime: Date }): Incident {
    return new Incident(input.carried?.state ?? openIncident(input, run), input.policy, input.carried);
  }

  /**
   * Which response this is: 0 until the incident is first reopened, then one more each
   * time. Duties belong to one response and end when the incident is reopened.
   */
  cycle(): number {
    return this.state.reopenings?.length ?? 0;
  }

  /** True once the policy is known; handlers wait for it, duties start after it. */
  ready(): this is ReadyIncident {
    return this.policy !== undefined;
  }

  // ---------------------------------------------------------------------------------------
  // The record.

  /** Appends one event to the timeline; the record is written out after it. */
  log(kind: TimelineKind, actor: string, summary: string, details?: Record<string, unknown>): void {
    const event: TimelineEvent = { at: now(), actor, kind, summary };
    if (details) event.details = details;
    this.state.timeline.push(event);
    this.documentationDue = true;
  }

  /** Queues a notification for delivery. */
  send(notification: Notification): void {
    this.outbox.push(notification);
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
    const { responders, slackChannels, emails } = notification;
    this.log(kind, actor, summary, {
      ...details,
      to: responders.map((r) => r.id),
      ...(slackChannels.length > 0 ? { channels: slackChannels } : {}),
      ...(emails.length > 0 ? { emails } : {}),
    });
    this.send(notification);
  }

  /** A responder's name for people to read; the id when the policy does not know them. */
  nameOf(id: string): string {
    return (this.policy && responderOf(this.policy, id)?.name) ?? id;
  }

  /** True when the record has no room left for free text. */
  full(): boolean {
    return JSON.stringify(this.state).length > RECORD_BUDGET_CHARS;
  }

  /** Refuses steps that add free text once the record is full. */
  withinBudget(): Refusal | undefined {
    return this.full()
      ? {
          type: RefusalType.invalidMove,
          message: `the incident record has reached its size limit (${RECORD_BUDGET_CHARS / 1_000} kB); link long material instead of pasting it`,
        }
      : undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Request ids.

  /** The message a request id was first used for, if any. */
  usedFor(requestId: string): string | undefined {
    return this.requests.get(requestId);
  }

  remember(requestId: string, message: string): void {
    this.requests.set(requestId, message);
    if (this.requests.size > REMEMBERED_REQUESTS) {
      const oldest = this.requests.keys().next().value;
      if (oldest !== undefined) this.requests.delete(oldest);
    }
  }

  /** What continue-as-new carries into the next run besides the input. */
  carry(): CarriedIncident {
    return {
      state: this.state,
      seenRequests: [...this.requests],
      seenAlertKeys: [...this.seenAlerts],
      outbox: this.outbox,
      ...this.reminders,
    };
  }
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
    title: input.title,
    ...(input.description ? { description: input.description } : {}),
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
