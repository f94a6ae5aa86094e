/**
 * The incident as data: what the workflow keeps, what the `state` query returns and what
 * the API serves. Pure types and constants only; both sides of the wire import this module.
 */

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What a severity (or a manager) may require of a resolved incident. */
export const REQUIRABLE_FOLLOW_UPS = ['report', 'lessons', 'training'] as const;
export type RequirableFollowUp = (typeof REQUIRABLE_FOLLOW_UPS)[number];

export const LEVELS = ['L2', 'L3', 'manager'] as const;
export type Level = (typeof LEVELS)[number];

export const PHASES = [
  'triggered',
  'acknowledged',
  'assessed',
  'mitigating',
  'escalated',
  'collaborating',
  'post-incident',
  'closed',
] as const;
/** Where the incident stands in its process; published as the IncidentStatus search attribute. */
export type Phase = (typeof PHASES)[number];

export const AUTO_RESOLVE_POLICIES = ['never', 'unacknowledged-only', 'always'] as const;
export type AutoResolvePolicy = (typeof AUTO_RESOLVE_POLICIES)[number];

/** A responder as the incident knows them: enough to decide who may do what, and to address them. */
export interface ResponderSnapshot {
  id: string;
  name: string;
  level: Level;
  email?: string;
  slackUserId?: string;
}

export interface EscalationStep {
  notify: string[];
  ackTimeoutMs: number;
}

export interface Level3Step {
  notify: string[];
  acceptTimeoutMs: number;
}

export interface SeverityPolicy {
  assessWithinMs: number;
  stakeholderUpdateEveryMs: number;
  nudgeEscalationAfterMs: number;
}

export interface FollowUpPolicy {
  reportDueMs: number;
  lessonsDueMs: number;
  trainingDueMs: number;
  /**
   * Which follow-ups a resolved incident of each severity needs. Absent in incidents that
   * started before it was configurable: they keep report, lessons and training for every
   * severity, one training record for everyone, and process improvements as plain text.
   */
  bySeverity?: Record<Severity, RequirableFollowUp[]>;
  /**
   * Who must be trained after an incident: the team's members and managers. Training is done
   * when each has confirmed or been excused. Absent before attendance was kept.
   */
  trainees?: string[];
  /** When a process improvement is due when the lessons name no date. */
  improvementDueMs?: number;
  remindBeforeMs: number;
  overdueNotify: string[];
}

export type StakeholderTarget = { slack: string } | { email: string };

export interface Runbook {
  url: string;
  steps: string[];
}

/**
 * Everything an incident needs to know about how it must be run, resolved from
 * configuration when the incident starts so that a configuration change later does not
 * alter the rules of an incident already under way.
 */
export interface IncidentPolicy {
  team: {
    id: string;
    name: string;
    channel: string;
    level3Channel: string;
  };
  escalation: { steps: EscalationStep[]; repeat: number };
  level3: Level3Step[];
  managers: string[];
  /**
   * Who belongs to the team: only they (and its managers) see and act on the incident, and
   * follow-ups go by role (workflows/incident/rules.ts). Absent in incidents that started before
   * teams were enforced: they keep the rules they started with.
   */
  members?: string[];
  responders: Record<string, ResponderSnapshot>;
  severities: Record<Severity, SeverityPolicy>;
  followUps: FollowUpPolicy;
  autoResolve: AutoResolvePolicy;
  stakeholders: {
    internal: StakeholderTarget[];
    external: { email: string[]; approvers: string[] };
  };
  runbooks: Record<string, Runbook>;
}

/** Who an incident counts as its team, and who they are: what a membership change replaces. */
export interface TeamMembership {
  team: string;
  members: string[];
  managers: string[];
  /** Everyone among the members and managers. */
  responders: Record<string, ResponderSnapshot>;
}

/**
 * Lookups by names that come from outside (actors, alert names) must not reach
 * Object.prototype: "constructor" is neither a responder nor a runbook.
 */
export function responderOf(policy: IncidentPolicy, id: string): ResponderSnapshot | undefined {
  return Object.hasOwn(policy.responders, id) ? policy.responders[id] : undefined;
}

export function runbookOf(policy: IncidentPolicy, alertname: string): Runbook | undefined {
  return Object.hasOwn(policy.runbooks, alertname) ? policy.runbooks[alertname] : undefined;
}

export interface Alert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/** One message to people, through whichever channels Baton has. */
export interface Notification {
  /**
   * Unique per notification (the workflow's uuid4): the delivery ledger records each
   * target's answer under it, so a retried delivery skips the targets already answered.
   * Absent only on notifications queued before Baton gave them ids.
   */
  id?: string;
  incidentId: string;
  kind:
    | 'page'
    /** A page reached none of its targets; the managers are told. */
    | 'page-failed'
    | 'reminder'
    | 'nudge'
    | 'update'
    | 'handover'
    | 'meeting'
    | 'overdue'
    | 'external'
    | 'resolved'
    | 'closed'
    /** An on-call schedule's notice (a handoff, a gap): `incidentId` is `schedule:<id>`, no incident. */
    | 'schedule';
  subject: string;
  text: string;
  /** People addressed directly (Slack direct message, email). */
  responders: ResponderSnapshot[];
  slackChannels: string[];
  /**
   * Channels where the incident's live message tells this already (its thread is the
   * timeline): a worker that keeps live messages posts nothing there.
   */
  liveChannels?: string[];
  emails: string[];
  links: { label: string; url: string }[];
  /**
   * The moves the people addressed directly can take from the message (a page's
   * Acknowledge): buttons on their Slack direct messages, carrying the phase they were
   * offered in, so a late click on a changed incident changes nothing.
   */
  actions?: {
    phase: Phase;
    response: number;
    steps: ('acknowledge' | 'escalate' | 'acceptHandover' | 'resolve')[];
  };
  /**
   * The handover meeting this notice calls (kind 'meeting'): emails carry it as a calendar
   * invitation, its organizer the Level 2 holder.
   */
  meeting?: { at: string; minutes: number; organizer?: ResponderSnapshot; uid: string };
  /**
   * Diagnostics charts emails attach, by their path in the incident store; a worker that
   * does not have the file sends the email without it (the text names every path).
   */
  attachments?: { filename: string; path: string }[];
}

/** What the notify activity answers. A channel is named as channels/ids.ts names it ('slack', 'email'). */
export interface DeliveryReport {
  delivered: { channel: string; target: string }[];
  /** Targets that failed for good: a permanent error, or transient ones past the retries. */
  failed: { channel: string; target: string; error: string }[];
  /** Targets no channel is configured for; written to the outbox instead. */
  undelivered: string[];
}
