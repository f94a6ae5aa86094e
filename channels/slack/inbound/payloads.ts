/**
 * What Slack sends, as far as Baton reads it. Slack adds fields over time: every object is
 * loose, and only the fields Baton uses are checked. A verified request that does not fit is
 * a 400 naming the field, never an exception.
 */
import { z } from 'zod';
import { HttpError } from '../../../api/errors';

const id = z.string().min(1).max(100);
const user = z.looseObject({ id });

export const blockActionsPayload = z.looseObject({
  type: z.literal('block_actions'),
  user,
  trigger_id: id,
  response_url: z.string().max(1_000).optional(),
  channel: z.looseObject({ id }).optional(),
  container: z.looseObject({ thread_ts: z.string().max(50).optional() }).optional(),
  actions: z
    .array(z.looseObject({ action_id: z.string().max(255), value: z.string().max(2_000).optional() }))
    .min(1),
});
export type BlockActionsPayload = z.infer<typeof blockActionsPayload>;

const stateValue = z.looseObject({
  type: z.string(),
  value: z.string().nullish(),
  selected_option: z.looseObject({ value: z.string() }).nullish(),
});
export type ViewStateValues = Record<string, Record<string, z.infer<typeof stateValue>>>;

export const viewSubmissionPayload = z.looseObject({
  type: z.literal('view_submission'),
  user,
  view: z.looseObject({
    id,
    callback_id: z.string().max(255),
    private_metadata: z.string().max(3_000).optional(),
    state: z.looseObject({ values: z.record(z.string(), z.record(z.string(), stateValue)) }),
  }),
});
export type ViewSubmissionPayload = z.infer<typeof viewSubmissionPayload>;

/** Every payload names its type; those Baton does not take (a closed modal) are answered and ignored. */
export const typed = z.looseObject({ type: z.string() });

export const slashCommand = z.looseObject({
  command: z.string().min(1).max(100),
  text: z.string().max(10_000).default(''),
  user_id: id,
  channel_id: id.optional(),
  response_url: z.string().max(1_000).optional(),
  trigger_id: id,
});
export type SlashCommand = z.infer<typeof slashCommand>;

export const messageEvent = z.looseObject({
  type: z.literal('message'),
  subtype: z.string().optional(),
  bot_id: z.string().optional(),
  app_id: z.string().optional(),
  user: z.string().optional(),
  text: z.string().optional(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  channel: id,
  channel_type: z.string().optional(),
});
export type MessageEvent = z.infer<typeof messageEvent>;

export const urlVerification = z.looseObject({
  type: z.literal('url_verification'),
  challenge: z.string().max(500),
});

export const eventCallback = z.looseObject({
  type: z.literal('event_callback'),
  event_id: id,
  api_app_id: z.string().optional(),
  authorizations: z.array(z.looseObject({ user_id: z.string().optional() })).optional(),
  event: typed,
});
export type EventCallback = z.infer<typeof eventCallback>;

/** Parses with the schema, or answers 400 naming the fields that do not fit. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new HttpError(400, `invalid Slack ${what}: ${issues.join('; ')}`, 'InvalidInput');
}

/** A form-encoded body's fields. */
export function formFields(raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw));
}

export function jsonOr400(raw: string | undefined, what: string): unknown {
  try {
    return JSON.parse(raw ?? '');
  } catch {
    throw new HttpError(400, `invalid Slack ${what}: not JSON`, 'InvalidInput');
  }
}
