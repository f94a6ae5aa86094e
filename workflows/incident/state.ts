/**
 * The incident record: everything that happened, in the shape the `state` query returns.
 * Times are ISO-8601 strings so the record reads the same in the UI, the API and a file.
 */
import type { Alert, IncidentPolicy, Notification, Phase, RequirableFollowUp, Severity } from './model';

export type IncidentOrigin =
  | {
      kind: 'alertmanager';
      receiver: string;
      groupKey: string;
      groupLabels: Record<string, string>;
      externalURL?: string;
    }
  | { kind: 'manual'; declaredBy: string };

export interface IncidentInput {
  title: string;
  service: string;
  /** Starting severity; the route's severity when omitted. */
  severity?: Severity;
  description?: string;
  origin: IncidentOrigin;
  alerts?: Alert[];
  /** Team to route to; the alert labels (or the service) pick one when omitted. */
  team?: string;
  /** Labels for routing when no policy is passed (the alert group's common labels). */
  labels?: Record<string, string>;
  /**
   * The rules the incident runs by, resolved from configuration by the starter. When
   * omitted (a start from the Temporal CLI), the workflow resolves it from configuration
   * as its first step.
   */
  policy?: IncidentPolicy;
  /** Where operators open this incident in the Temporal UI, if known. */
  temporalUiUrl?: string;
  /** Set only by continue-as-new: the incident as it stood, carried into the new run. */
  carried?: CarriedIncident;
}

export type TimelineKind =
  | 'triggered'
  | 'paged'
  | 'escalation-exhausted'
  /** A paging step whose schedules had nobody on call: paging went on to the next step at once. */
  | 'paging-gap'
  | 'acknowledged'
  | 'assessment-reminder'
  | 'assessed'
  | 'action'
  | 'escalation-nudge'
  | 'escalated'
  | 'handover-package'
  | 'handover-meeting'
  | 'level3-paged'
  | 'handover-accepted'
  | 'note'
  | 'communication'
  | 'stakeholder-update-reminder'
  | 'alerts-fired'
  | 'alerts-resolved'
  | 'reopened'
  | 'resolved'
  | 'follow-ups-scheduled'
  | 'report-submitted'
  | 'lessons-recorded'
  | 'action-item-completed'
  | 'training-recorded'
  | 'follow-up-reminder'
  | 'follow-up-overdue'
  | 'follow-up-waived'
  /** A manager required a follow-up beyond what the severity asks for. */
  | 'follow-up-required'
  | 'improvement-completed'
  | 'training-confirmed'
  | 'training-excused'
  | 'customer-message-drafted'
  | 'customer-message-approved'
  | 'customer-message-rejected'
  | 'notification-failed'
  /** An email reply or action that failed authentication: on record, and nothing changed. */
  | 'email-refused'
  | 'page-failed'
  | 'documentation-failed'
  | 'record-shortened'
  /** Charts and logs behind the alerts, collected at opening or escalation (see diagnostics.ts). */
  | 'diagnostics-collected'
  /** A data source behind an alert did not answer; nothing waited for it. */
  | 'diagnostics-failed'
  /** The configuration in force changed who is on the incident's team. */
  | 'membership-changed'
  | 'closed';

export interface TimelineEvent {
  /** 1, 2, 3…: the event's place in the incident's whole timeline (absent on older events). */
  seq?: number;
  at: string;
  /** A responder id, or "baton" for what the process did by itself, or "alertmanager". */
  actor: string;
  kind: TimelineKind;
  /** One line a person can read. */
  summary: string;
  details?: Record<string, unknown>;
}

/** `improvement`: a change to the support process that the lessons called for, tracked like an action item. */
export type FollowUpKind = 'report' | 'lessons' | 'action-item' | 'improvement' | 'training';
/** `suspended`: the incident was reopened before it was done; open again at the next resolution. */
export type FollowUpStatus = 'open' | 'done' | 'waived' | 'suspended';

export interface FollowUp {
  id: string;
  kind: FollowUpKind;
  title: string;
  /** Who is reminded; a responder id. */
  owner: string;
  dueAt: string;
  status: FollowUpStatus;
  remindedAt?: string;
  overdueNotifiedAt?: string;
  doneAt?: string;
  doneBy?: string;
  waiver?: { by: string; reason: string; at: string };
  /** A done process improvement: what changed (a link to the updated runbook or procedure). */
  changed?: string;
  /**
   * Training only: every member of the team, and whether each was trained. The follow-up is
   * done once none is pending. Absent on training from before attendance was kept: one
   * record of the session closed it.
   */
  attendance?: Attendance[];
}

export interface Attendance {
  member: string;
  status: 'pending' | 'confirmed' | 'excused';
  /** When the member confirmed, or was excused. */
  at?: string;
  /** Who excused the member (a manager), and why. */
  excusedBy?: string;
  reason?: string;
}

/**
 * A message for customers, drafted by anyone working the incident and sent only once a
 * manager approved exactly this text (or sent by a manager directly: self-approved).
 */
export interface CustomerMessage {
  id: string;
  message: string;
  draftedBy: string;
  draftedAt: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  decidedBy?: string;
  decidedAt?: string;
  /** Why a manager rejected it. */
  reason?: string;
}

export interface Assessment {
  severity: Severity;
  urgency: string;
  impact: string;
  observations: string;
  by: string;
  at: string;
}

export interface ActionRecord {
  id: string;
  kind: string;
  description: string;
  result: string;
  by: string;
  at: string;
  phase: Phase;
}

export interface Communication {
  audience: 'internal' | 'external';
  message: string;
  by: string;
  approvedBy?: string;
  /** The external message was sent by the manager who wrote it, without a separate approval. */
  selfApproved?: boolean;
  /** The customer message draft this was sent from. */
  draftId?: string;
  at: string;
}

export interface Handover {
  reason: string;
  requestedBy: string;
  requestedAt: string;
  /** Index into the policy's Level 3 steps currently paged. */
  level3Step: number;
  level3PagedAt: string;
  exhausted: boolean;
  /** The Level 3 step paged last reached nobody (its schedules had gaps): the next is due at once. */
  fellThrough?: boolean;
  /** Whom the Level 3 step paged last reached, when its schedules were asked (none for a gap). */
  reached?: string[];
  /** Who the Level 3 steps' schedules put on the pages of this handover so far. */
  paged?: string[];
  meetingAt: string;
  acceptedBy?: string;
  acceptedAt?: string;
  notes?: string;
}

/** When diagnostics are collected: as the incident opens, and again at each escalation. */
export type DiagnosticsOccasion = 'opened' | 'escalated';

/** One collection of diagnostics as the record keeps it; the files are in the incident store. */
export interface DiagnosticsRecord {
  occasion: DiagnosticsOccasion;
  collectedAt: string;
  /** Each chart: where its SVG is, and how the value stands against the alert's threshold. */
  charts: { chart: string; alertname?: string; text: string }[];
  /** Sources that did not answer, each in one line that names it. */
  failures: { source: string; server: string; text: string }[];
  chartsOmitted?: number;
  failuresOmitted?: number;
}

export interface IncidentState {
  id: string;
  title: string;
  description?: string;
  service: string;
  team: string;
  severity: Severity;
  phase: Phase;
  origin: IncidentOrigin;
  openedAt: string;
  alerts: Alert[];
  /** Alerts beyond the record's limit, counted but not kept. */
  alertsOmitted?: number;
  /** Emails refused for failed authentication (only the first few are on the timeline). */
  emailRefusals?: number;
  /** Alerts Alertmanager itself left out of the group's last notification (its max_alerts). */
  alertsTruncated?: number;
  runbooks: { alertname: string; url: string; steps: string[] }[];
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  /** Who holds the incident now: the acknowledger, then Level 3 after a handover. */
  holder?: string;
  /** Position in the paging policy while nobody has acknowledged. */
  escalation: {
    round: number;
    step: number;
    pagedAt: string;
    exhausted: boolean;
    /** Steps in a row that reached nobody (their schedules had gaps): the next is due at once. */
    fellThrough?: number;
    /** Who the steps' schedules put on the pages of this response so far. */
    paged?: string[];
  };
  assessments: Assessment[];
  actions: ActionRecord[];
  notes: { by: string; at: string; text: string; source: string }[];
  communications: Communication[];
  lastStakeholderUpdateAt: string;
  handover?: Handover;
  resolution?: { summary: string; by: string; at: string; automatic: boolean };
  report?: {
    summary: string;
    rootCause: string;
    actionsAndResults: string;
    recommendations: string;
    by: string;
    at: string;
  };
  lessons?: { lessons: string[]; processImprovements: string[]; by: string; at: string };
  training?: { date: string; attendees: string[]; material: string; by: string; at: string };
  followUps: FollowUp[];
  /** Follow-ups a manager required beyond what the incident's severity asks for. */
  requiredFollowUps?: { kind: RequirableFollowUp; by: string; at: string; reason: string }[];
  /** Customer messages drafted for approval (the newest; see workflows/incident/limits.ts). */
  customerMessages?: CustomerMessage[];
  /**
   * Each time alerts fired again after resolution and the incident went back to triggered:
   * what the previous response looked like when it was set aside.
   */
  reopenings?: Reopening[];
  /** How many times the incident was reopened (the record keeps the latest reopenings). */
  reopenedCount?: number;
  /**
   * The newest events (see workflows/incident/limits.ts); the incident store keeps every one, in
   * `timeline.jsonl` beside the record.
   */
  timeline: TimelineEvent[];
  /** Events ever logged; those before the first kept one are in the store only. */
  timelineTotal?: number;
  /** Communications beyond what the record keeps, counted (the outbox has their text). */
  communicationsOmitted?: number;
  /** The record grew past its size limit and long text in it was shortened. */
  shortened?: boolean;
  /**
   * The newest diagnostics collections (see workflows/incident/diagnostics.ts). Absent on incidents
   * that started before diagnostics were collected.
   */
  diagnostics?: DiagnosticsRecord[];
  /** The incident's live Slack messages, and the last event told in the team thread. */
  slack?: { messages: SlackLiveMessage[]; threadSeq: number };
  closedAt?: string;
  links: { temporalUi?: string };
}

export interface Reopening {
  at: string;
  /** Fingerprints of the alerts that fired again. */
  alerts: string[];
  resolution: NonNullable<IncidentState['resolution']>;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  holder?: string;
  /** Who escalated and who accepted; the reason and notes stay in the timeline and the store. */
  handover?: Pick<Handover, 'requestedBy' | 'requestedAt' | 'acceptedBy' | 'acceptedAt'>;
}

/** One live Slack message of the incident (see channels/slack/live.ts). */
export interface SlackLiveMessage {
  /** The channel as configured (a name such as #payments-incidents). */
  channel: string;
  /** The channel id Slack answered; chat.update needs it. */
  channelId: string;
  ts: string;
  level3: boolean;
}

/** What continue-as-new carries besides the visible record. */
export interface CarriedIncident {
  state: IncidentState;
  /** Request id and the message it was used for, oldest first. */
  seenRequests: [string, string][];
  seenAlertKeys: string[];
  /** Notifications queued but not yet delivered. */
  outbox: Notification[];
  lastNudgeAt?: string;
  lastAssessReminderAt?: string;
  lastUpdateReminderAt?: string;
  /** Timeline events the store had not taken yet (it was down). */
  unwrittenEvents?: TimelineEvent[];
}

/**
 * What a step answers: where the incident stands and what the step logged. Compact on
 * purpose (every answer is kept in the workflow's history); the whole record is one `state`
 * query, or GET, away.
 */
export interface StepResult {
  id: string;
  title: string;
  service: string;
  team: string;
  phase: Phase;
  severity: Severity;
  holder?: string;
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  handover?: Pick<Handover, 'requestedBy' | 'requestedAt' | 'meetingAt' | 'acceptedBy' | 'acceptedAt'>;
  resolution?: { by: string; at: string; automatic: boolean };
  followUps: Pick<FollowUp, 'id' | 'kind' | 'title' | 'owner' | 'dueAt' | 'status'>[];
  lastStakeholderUpdateAt: string;
  closedAt?: string;
  /** Events ever logged. */
  timelineTotal: number;
  /** The events this step logged. */
  events: TimelineEvent[];
}
