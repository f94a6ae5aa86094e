/**
 * The incident workflow's public contract: every signal, update and query, with the schema
 * of its argument. The workflow validates with these schemas, and the API imports them to
 * validate requests before they reach Temporal. Wire names are the constant without its
 * kind suffix, so the Temporal UI, the CLI and the code use one word.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { LEVELS, REQUIRABLE_FOLLOW_UPS, SEVERITIES, type TeamMembership } from './model';
import type { IncidentState, StepResult } from './state';

/**
 * A schema built the first time it is used. The SDK evaluates this module afresh for every
 * workflow run it keeps, and one run uses few of these schemas: built at once, all of them
 * cost every incident milliseconds of CPU when it starts and hundreds of kilobytes for as
 * long as the worker keeps it.
 */
function lazy<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}

const text = (max: number) => z.string().trim().min(1).max(max);

/** Every message says who sends it and carries an id that makes a retry harmless. */
const envelope = () => ({
  actor: text(100),
  requestId: text(200),
});

export const URGENCIES = ['low', 'medium', 'high', 'critical'] as const;
export const ACTION_KINDS = ['restart', 'patch', 'config', 'diagnostic', 'other'] as const;
export const AUDIENCES = ['internal', 'external'] as const;
export const NOTE_SOURCES = ['api', 'slack', 'email', 'cli'] as const;

/** True when the YYYY-MM-DD the value starts with is a day of the calendar (not 2026-02-30). */
function isCalendarDay(value: string): boolean {
  const day = value.slice(0, 10);
  const midnight = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(midnight) && new Date(midnight).toISOString().slice(0, 10) === day;
}

/** A day (2026-12-31) or a moment with its offset (2026-12-31T17:00:00Z). */
const isoDate = lazy(() =>
  z
    .string()
    .trim()
    .refine(
      (value) =>
        /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) &&
        !Number.isNaN(Date.parse(value)) &&
        isCalendarDay(value),
      { message: 'write a date as YYYY-MM-DD or an ISO 8601 time with its offset' },
    ),
);

export const acknowledgeSchema = lazy(() => z.strictObject({ ...envelope(), note: text(2000).optional() }));
export const assessSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    severity: z.enum(SEVERITIES),
    urgency: z.enum(URGENCIES),
    impact: text(4000),
    observations: text(10_000),
  }),
);
export const recordActionSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    kind: z.enum(ACTION_KINDS),
    description: text(4000),
    result: text(4000),
  }),
);
export const escalateSchema = lazy(() => z.strictObject({ ...envelope(), reason: text(4000) }));
export const acceptHandoverSchema = lazy(() => z.strictObject({ ...envelope(), notes: text(10_000) }));
export const communicateSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    audience: z.enum(AUDIENCES),
    /** External messages reach customers: the sender must be a manager who approves them. */
    message: text(10_000),
  }),
);
export const resolveSchema = lazy(() => z.strictObject({ ...envelope(), summary: text(10_000) }));
export const submitReportSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    summary: text(20_000),
    rootCause: text(10_000),
    actionsAndResults: text(20_000),
    recommendations: text(10_000),
  }),
);
export const actionItemSchema = lazy(() =>
  z.strictObject({
    title: text(500),
    owner: text(100),
    dueDate: isoDate(),
  }),
);
export const improvementSchema = lazy(() =>
  z.strictObject({
    title: text(2000),
    owner: text(100).optional(),
    dueDate: isoDate().optional(),
  }),
);
export const recordLessonsSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    lessons: z.array(text(2000)).min(1).max(50),
    /**
     * Changes to the support process that the lessons call for. Each becomes a tracked item
     * (owner, due date, reminders) on incidents whose follow-ups are set by severity; a plain
     * text is owned by whoever records the lessons and due by the policy's default.
     */
    processImprovements: z
      .array(z.union([text(2000), improvementSchema()]))
      .max(50)
      .default([]),
    actionItems: z.array(actionItemSchema()).max(50).default([]),
  }),
);
export const completeActionItemSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    itemId: text(100),
    note: text(4000).optional(),
    /** A process improvement names what changed: a link to the updated runbook or procedure. */
    changed: text(2000).optional(),
  }),
);
export const recordTrainingSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    date: isoDate(),
    attendees: z.array(text(100)).min(1).max(300),
    material: text(10_000),
  }),
);
export const waiveFollowUpSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    followUpId: text(100),
    reason: text(4000),
  }),
);

export const requireFollowUpSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    kind: z.enum(REQUIRABLE_FOLLOW_UPS),
    reason: text(4000),
  }),
);
export const confirmTrainingSchema = lazy(() =>
  z.strictObject({ ...envelope(), note: text(2000).optional() }),
);
export const excuseTrainingSchema = lazy(() =>
  z.strictObject({ ...envelope(), member: text(100), reason: text(4000) }),
);
/** The exact text customers will read; the API fills the team's template to draft it. */
export const draftCustomerMessageSchema = lazy(() =>
  z.strictObject({ ...envelope(), message: text(10_000) }),
);
export const approveCustomerMessageSchema = lazy(() => z.strictObject({ ...envelope(), draftId: text(100) }));
export const rejectCustomerMessageSchema = lazy(() =>
  z.strictObject({ ...envelope(), draftId: text(100), reason: text(4000) }),
);

/**
 * Alert labels and annotations are data: every name is kept, `__proto__` and `constructor`
 * included (a plain record schema would drop `__proto__`). The result has only own
 * properties, built without assignment, so no name can reach a prototype.
 */
export const stringMapSchema = lazy(() =>
  z
    .custom<Record<string, string>>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.values(value).every((v) => typeof v === 'string'),
      { message: 'expected an object whose values are strings' },
    )
    .transform((value) => Object.fromEntries(Object.entries(value)) as Record<string, string>),
);

export const alertSchema = lazy(() =>
  z.object({
    fingerprint: text(200),
    status: z.enum(['firing', 'resolved']),
    labels: stringMapSchema(),
    annotations: stringMapSchema().default({}),
    startsAt: z.string(),
    endsAt: z.string().optional(),
    generatorURL: z.string().optional(),
  }),
);
export const alertsSchema = lazy(() =>
  z.strictObject({
    requestId: text(200).optional(),
    alerts: z.array(alertSchema()).min(1).max(1000),
    /** Alerts of the group that Alertmanager left out (its `max_alerts`): its `truncatedAlerts`. */
    truncated: z.number().int().min(0).optional(),
  }),
);
export const addNoteSchema = lazy(() =>
  z.strictObject({
    ...envelope(),
    text: text(20_000),
    source: z.enum(NOTE_SOURCES).default('api'),
  }),
);

/**
 * An email that named this incident and was not acted on because it failed authentication
 * (a spoofed sender, a sender who is not the recipient its reply address was issued to).
 * It changes nothing but the timeline, where the attempt stays on record.
 */
export const emailRefusedSchema = lazy(() =>
  z.strictObject({
    requestId: z.string().min(1).max(200),
    from: text(320),
    reason: text(1_000),
  }),
);

/**
 * Who is on the incident's team now, as the configuration in force says: sent when Baton
 * starts with a configuration whose team differs from the one the incident started with, so
 * that someone removed from the team can no longer act on its open incidents and someone
 * added can. Who is who (names, levels, addresses) comes with it for everyone it names.
 */
export const membershipChangedSchema = lazy(() => {
  const id = z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use a configured id')
    .max(100);
  const responder = z.strictObject({
    id,
    name: text(200),
    level: z.enum(LEVELS),
    email: z.string().max(320).optional(),
    slackUserId: z.string().max(100).optional(),
  });
  return z
    .strictObject({
      team: id,
      members: z.array(id).max(2_000),
      managers: z.array(id).max(2_000),
      responders: z.record(id, responder),
    })
    .refine((m) => [...m.members, ...m.managers].every((r) => Object.hasOwn(m.responders, r)), {
      message: 'every member and manager must be among the responders',
      path: ['responders'],
    });
});

export type AcknowledgeInput = z.input<ReturnType<typeof acknowledgeSchema>>;
export type AssessInput = z.input<ReturnType<typeof assessSchema>>;
export type RecordActionInput = z.input<ReturnType<typeof recordActionSchema>>;
export type EscalateInput = z.input<ReturnType<typeof escalateSchema>>;
export type AcceptHandoverInput = z.input<ReturnType<typeof acceptHandoverSchema>>;
export type CommunicateInput = z.input<ReturnType<typeof communicateSchema>>;
export type ResolveInput = z.input<ReturnType<typeof resolveSchema>>;
export type SubmitReportInput = z.input<ReturnType<typeof submitReportSchema>>;
export type RecordLessonsInput = z.input<ReturnType<typeof recordLessonsSchema>>;
export type CompleteActionItemInput = z.input<ReturnType<typeof completeActionItemSchema>>;
export type RecordTrainingInput = z.input<ReturnType<typeof recordTrainingSchema>>;
export type WaiveFollowUpInput = z.input<ReturnType<typeof waiveFollowUpSchema>>;
export type RequireFollowUpInput = z.input<ReturnType<typeof requireFollowUpSchema>>;
export type ConfirmTrainingInput = z.input<ReturnType<typeof confirmTrainingSchema>>;
export type ExcuseTrainingInput = z.input<ReturnType<typeof excuseTrainingSchema>>;
export type DraftCustomerMessageInput = z.input<ReturnType<typeof draftCustomerMessageSchema>>;
export type ApproveCustomerMessageInput = z.input<ReturnType<typeof approveCustomerMessageSchema>>;
export type RejectCustomerMessageInput = z.input<ReturnType<typeof rejectCustomerMessageSchema>>;
export type AlertsInput = z.input<ReturnType<typeof alertsSchema>>;
export type AddNoteInput = z.input<ReturnType<typeof addNoteSchema>>;
export type EmailRefusedInput = z.input<ReturnType<typeof emailRefusedSchema>>;
export type MembershipChangedInput = z.input<ReturnType<typeof membershipChangedSchema>>;

// Updates: the caller needs to know whether the step was accepted, and why not. Each
// answers a compact summary; the whole record is the `state` query.
export const acknowledgeUpdate = defineUpdate<StepResult, [AcknowledgeInput]>('acknowledge');
export const assessUpdate = defineUpdate<StepResult, [AssessInput]>('assess');
export const recordActionUpdate = defineUpdate<StepResult, [RecordActionInput]>('recordAction');
export const escalateUpdate = defineUpdate<StepResult, [EscalateInput]>('escalate');
export const acceptHandoverUpdate = defineUpdate<StepResult, [AcceptHandoverInput]>('acceptHandover');
export const communicateUpdate = defineUpdate<StepResult, [CommunicateInput]>('communicate');
export const resolveUpdate = defineUpdate<StepResult, [ResolveInput]>('resolve');
export const submitReportUpdate = defineUpdate<StepResult, [SubmitReportInput]>('submitReport');
export const recordLessonsUpdate = defineUpdate<StepResult, [RecordLessonsInput]>('recordLessons');
export const completeActionItemUpdate = defineUpdate<StepResult, [CompleteActionItemInput]>(
  'completeActionItem',
);
export const recordTrainingUpdate = defineUpdate<StepResult, [RecordTrainingInput]>('recordTraining');
export const waiveFollowUpUpdate = defineUpdate<StepResult, [WaiveFollowUpInput]>('waiveFollowUp');
export const requireFollowUpUpdate = defineUpdate<StepResult, [RequireFollowUpInput]>('requireFollowUp');
export const confirmTrainingUpdate = defineUpdate<StepResult, [ConfirmTrainingInput]>('confirmTraining');
export const excuseTrainingUpdate = defineUpdate<StepResult, [ExcuseTrainingInput]>('excuseTraining');
export const draftCustomerMessageUpdate = defineUpdate<StepResult, [DraftCustomerMessageInput]>(
  'draftCustomerMessage',
);
export const approveCustomerMessageUpdate = defineUpdate<StepResult, [ApproveCustomerMessageInput]>(
  'approveCustomerMessage',
);
export const rejectCustomerMessageUpdate = defineUpdate<StepResult, [RejectCustomerMessageInput]>(
  'rejectCustomerMessage',
);

// Signals: Alertmanager and chat replies fire and forget; nothing they send can be refused
// in a way the sender could act on.
export const alertsFiredSignal = defineSignal<[AlertsInput]>('alertsFired');
export const alertsResolvedSignal = defineSignal<[AlertsInput]>('alertsResolved');
export const addNoteSignal = defineSignal<[AddNoteInput]>('addNote');
export const emailRefusedSignal = defineSignal<[EmailRefusedInput]>('emailRefused');
// Sent by Baton itself when its configuration changed who is on the team.
export const membershipChangedSignal = defineSignal<[MembershipChangedInput]>('membershipChanged');

export const stateQuery = defineQuery<IncidentState>('state');
/** Who the incident counts as its team; undefined while its policy is not known, or for an incident that predates teams. */
export const membershipQuery = defineQuery<TeamMembership | undefined>('membership');

/** Failure types a refused update carries, so the API can answer 409, 403 or 400. */
export const RefusalType = {
  invalidMove: 'InvalidMove',
  notPermitted: 'NotPermitted',
  unknownActor: 'UnknownActor',
  invalidInput: 'InvalidInput',
  /** The actor is not on the incident's team: the API answers 404, as for no incident at all. */
  notMember: 'NotMember',
} as const;
export type RefusalType = (typeof RefusalType)[keyof typeof RefusalType];
