/**
 * Request and response schemas of the HTTP API. Step bodies are the workflow's own message
 * schemas without the envelope: the actor is the token's owner and the request id comes from
 * the Idempotency-Key header.
 */
import { z } from 'zod';
import {
  acceptHandoverSchema,
  acknowledgeSchema,
  addNoteSchema,
  assessSchema,
  communicateSchema,
  completeActionItemSchema,
  confirmTrainingSchema,
  excuseTrainingSchema,
  rejectCustomerMessageSchema,
  requireFollowUpSchema,
  escalateSchema,
  recordActionSchema,
  recordLessonsSchema,
  recordTrainingSchema,
  resolveSchema,
  submitReportSchema,
  waiveFollowUpSchema,
} from '../workflows/incident/messages';
import { PHASES, SEVERITIES } from '../workflows/incident/model';

const withoutEnvelope = { actor: true, requestId: true } as const;

export const bodies = {
  acknowledge: acknowledgeSchema().omit(withoutEnvelope),
  assessment: assessSchema().omit(withoutEnvelope),
  action: recordActionSchema().omit(withoutEnvelope),
  escalate: escalateSchema().omit(withoutEnvelope),
  handover: acceptHandoverSchema().omit(withoutEnvelope),
  note: addNoteSchema().omit({ ...withoutEnvelope, source: true }),
  communication: communicateSchema().omit(withoutEnvelope),
  resolve: resolveSchema().omit(withoutEnvelope),
  report: submitReportSchema().omit(withoutEnvelope),
  lessons: recordLessonsSchema().omit(withoutEnvelope),
  completeActionItem: completeActionItemSchema().omit({ ...withoutEnvelope, itemId: true }),
  training: recordTrainingSchema().omit(withoutEnvelope),
  waiver: waiveFollowUpSchema().omit(withoutEnvelope),
  requireFollowUp: requireFollowUpSchema().omit(withoutEnvelope),
  confirmTraining: confirmTrainingSchema().omit(withoutEnvelope),
  excuseTraining: excuseTrainingSchema().omit(withoutEnvelope),
  rejectCustomerMessage: rejectCustomerMessageSchema().omit({ ...withoutEnvelope, draftId: true }),
};

const noticeText = (max: number) => z.string().trim().min(1).max(max);

/**
 * A customer message: the exact text, or what the team's notice template asks for (what is
 * affected, since when, what to expect, when the next update comes). Never both.
 */
export const customerMessageBody = z.union([
  z.strictObject({ message: noticeText(10_000) }),
  z.strictObject({
    affected: noticeText(2000),
    since: noticeText(100).optional().describe('Defaults to when the incident opened'),
    expectation: noticeText(2000),
    nextUpdate: noticeText(200),
  }),
]);

export const customerMessageParams = z.strictObject({
  id: z.string().min(1).max(200),
  draftId: z.string().min(1).max(100),
});

export const declareIncidentBody = z.strictObject({
  title: z.string().trim().min(1).max(300),
  service: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
  severity: z.enum(SEVERITIES).optional(),
  description: z.string().trim().min(1).max(10_000).optional(),
  team: z.string().trim().min(1).max(100).optional(),
});

/** Filter values end up in a visibility query: only plain words are allowed. */
const plainWord = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only');

export const listQuery = z.strictObject({
  status: z.enum(PHASES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  service: plainWord.optional(),
  team: plainWord.optional(),
  assignee: plainWord.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /**
   * `archived` adds incidents whose workflow Temporal no longer has, read from the store,
   * after the others; `archived-only` lists those alone (reachable however many others there are).
   */
  include: z.enum(['archived', 'archived-only']).optional(),
});

export const incidentParams = z.strictObject({
  id: z.string().min(1).max(200),
});
export const actionItemParams = z.strictObject({
  id: z.string().min(1).max(200),
  itemId: z.string().min(1).max(100),
});

export const errorResponse = z
  .object({
    error: z.string(),
    code: z.string().optional(),
    requestId: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('What went wrong');

/** The incident record as the `state` query returns it (fields beyond these pass through). */
export const incidentState = z
  .looseObject({
    id: z.string(),
    title: z.string(),
    phase: z.enum(PHASES),
    severity: z.enum(SEVERITIES),
    service: z.string(),
    team: z.string(),
    holder: z.string().optional(),
    acknowledgedBy: z.string().optional(),
    openedAt: z.string(),
    timeline: z.array(
      z.looseObject({ at: z.string(), actor: z.string(), kind: z.string(), summary: z.string() }),
    ),
    followUps: z.array(
      z.looseObject({
        id: z.string(),
        kind: z.string(),
        owner: z.string(),
        dueAt: z.string(),
        status: z.string(),
      }),
    ),
  })
  .describe('An incident: its phase, people, alerts, timeline and follow-ups');

export const incidentSummary = z.object({
  id: z.string(),
  runId: z.string(),
  title: z.string(),
  status: z.string(),
  severity: z.string(),
  service: z.string(),
  team: z.string(),
  assignee: z.string(),
  startedAt: z.string(),
  closedAt: z.string().optional(),
  archived: z.boolean().optional(),
});

export const stepResponses = {
  200: incidentState,
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
  503: errorResponse,
  504: errorResponse,
};
