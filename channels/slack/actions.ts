/**
 * The contract between the Slack messages Baton renders (channels/slack/blocks.ts) and the
 * Slack requests it takes back (channels/slack/inbound/routes.ts): the action ids of the buttons, what a
 * button carries, and what a modal carries from the click to its submission.
 *
 * A button's `value` names the incident and the phase it was in when the message was
 * rendered, so a click on an outdated message is recognised and changes nothing. A modal's
 * `callback_id` is the button's action id; its `private_metadata` adds where to answer.
 * Everything that comes back from Slack is parsed here with zod: a malformed value is a
 * refusal with a reason, never an exception.
 */
import { z } from 'zod';
import { PHASES, type Phase } from '../../workflows/incident/model';

/** The steps a Slack button can start, by their workflow update's name. */
export const SLACK_STEPS = [
  'acknowledge',
  'assess',
  'recordAction',
  'escalate',
  'acceptHandover',
  'resolve',
] as const;
export type SlackStep = (typeof SLACK_STEPS)[number];

/** `baton:<step>`: the button's action_id and the modal's callback_id. */
export type SlackActionId = `baton:${SlackStep}`;

export function actionIdOf(step: SlackStep): SlackActionId {
  return `baton:${step}`;
}

/** The step an action id (or callback id) names, if it is one of Baton's. */
export function stepOfActionId(actionId: string): SlackStep | undefined {
  const name = actionId.startsWith('baton:') ? actionId.slice('baton:'.length) : undefined;
  return SLACK_STEPS.find((step) => step === name);
}

/** Steps that need more than a click: they open a modal and the submission takes the step. */
export const MODAL_STEPS = [
  'assess',
  'recordAction',
  'escalate',
  'resolve',
] as const satisfies readonly SlackStep[];
export type ModalStep = (typeof MODAL_STEPS)[number];

export function opensModal(step: SlackStep): step is ModalStep {
  return (MODAL_STEPS as readonly SlackStep[]).includes(step);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

// Slack's own limits: a button value holds 2,000 characters, private_metadata 3,000.
const BUTTON_VALUE_MAX = 2_000;
const PRIVATE_METADATA_MAX = 3_000;

const incidentId = z.string().min(1).max(200);
const phase = z.enum(PHASES);
const httpUrl = z
  .string()
  .max(1_000)
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), { message: 'not an http(s) URL' });

/**
 * What a button was offered for: the incident, its phase, and which response it was in (the
 * number of times it had been reopened), so that a click on a message from before a change,
 * or before a reopening, changes nothing.
 */
export const buttonValueSchema = z.strictObject({
  incident: incidentId,
  phase,
  response: z.number().int().min(0).max(1_000_000).optional(),
});
export interface ButtonValue {
  incident: string;
  phase: Phase;
  response?: number;
}

/** Where Baton answers the person who opened a modal, once they submit it. */
export const answerToSchema = z.strictObject({
  /** The Slack user who clicked. */
  user: z.string().min(1).max(50),
  /** The conversation the click came from (for chat.postEphemeral). */
  channel: z.string().min(1).max(50).optional(),
  /** The clicked message's thread, so an ephemeral answer lands beside it. */
  threadTs: z.string().min(1).max(50).optional(),
  /** The click's response_url: answers the clicker in place, valid for 30 minutes. */
  responseUrl: httpUrl.optional(),
});
export type AnswerTo = z.infer<typeof answerToSchema>;

export const modalMetadataSchema = z.strictObject({
  incident: incidentId,
  phase,
  answer: answerToSchema,
});
export type ModalMetadata = z.infer<typeof modalMetadataSchema>;

function fromJson<T>(raw: unknown, schema: z.ZodType<T>, what: string): Parsed<T> {
  if (typeof raw !== 'string') return { ok: false, reason: `the ${what} is missing` };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: `the ${what} is not JSON` };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
    return { ok: false, reason: `the ${what} is not one Baton made (${issues.join('; ')})` };
  }
  return { ok: true, value: result.data };
}

/** A button's value: the incident and the phase the message showed. */
export function buttonValue(value: ButtonValue): string {
  const json = JSON.stringify(buttonValueSchema.parse(value));
  if (json.length > BUTTON_VALUE_MAX) throw new Error('button value longer than Slack allows');
  return json;
}

export function parseButtonValue(raw: unknown): Parsed<ButtonValue> {
  return fromJson(raw, buttonValueSchema, 'button value');
}

/** A modal's private_metadata: the incident, the phase when clicked, where to answer. */
export function modalMetadata(value: ModalMetadata): string {
  let parsed = modalMetadataSchema.parse(value);
  let json = JSON.stringify(parsed);
  if (json.length > PRIVATE_METADATA_MAX) {
    // A response_url is a convenience: without it the answer goes by chat.postEphemeral.
    const answer = { ...parsed.answer };
    delete answer.responseUrl;
    parsed = { ...parsed, answer };
    json = JSON.stringify(parsed);
  }
  if (json.length > PRIVATE_METADATA_MAX) throw new Error('modal metadata longer than Slack allows');
  return json;
}

export function parseModalMetadata(raw: unknown): Parsed<ModalMetadata> {
  return fromJson(raw, modalMetadataSchema, 'modal metadata');
}
