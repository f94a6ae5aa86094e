/**
 * The forms behind the buttons that need more than a click: Assess, Record an action,
 * Escalate (the reason) and Resolve (the summary). The form's fields are the step's own
 * body (api/schemas.ts), so a submission is checked by the same schema as the HTTP API, and a
 * field that does not fit is shown under that field in the form.
 */
import type { types as slack } from '@slack/bolt';
import type { z } from 'zod';
import { actionIdOf, type ModalStep } from '../actions';
import { escapeMrkdwn, phaseLabel } from '../blocks';
import { ACTION_KINDS, URGENCIES } from '../../../workflows/incident/messages';
import { SEVERITIES } from '../../../workflows/incident/model';
import type { IncidentState } from '../../../workflows/incident/state';
import { bodies } from '../../../api/schemas';
import type { ViewStateValues } from './payloads';

// Slack's plain_text_input holds at most 3,000 characters.
const INPUT_MAX = 3_000;

type Field =
  | { name: string; label: string; kind: 'text'; multiline: boolean; max: number; placeholder?: string }
  | {
      name: string;
      label: string;
      kind: 'select';
      options: readonly string[];
      initial?: (s: IncidentState) => string;
    };

interface Form {
  title: string;
  submit: string;
  fields: Field[];
  body: z.ZodType<object>;
}

const FORMS: Record<ModalStep, Form> = {
  assess: {
    title: 'Assess the incident',
    submit: 'Assess',
    body: bodies.assessment,
    fields: [
      {
        name: 'severity',
        label: 'Severity',
        kind: 'select',
        options: SEVERITIES,
        initial: (s) => s.severity,
      },
      { name: 'urgency', label: 'Urgency', kind: 'select', options: URGENCIES },
      {
        name: 'impact',
        label: 'Impact',
        kind: 'text',
        multiline: true,
        max: 4_000,
        placeholder: 'Who or what is affected',
      },
      { name: 'observations', label: 'Observations', kind: 'text', multiline: true, max: 10_000 },
    ],
  },
  recordAction: {
    title: 'Record an action',
    submit: 'Record',
    body: bodies.action,
    fields: [
      { name: 'kind', label: 'Kind', kind: 'select', options: ACTION_KINDS },
      { name: 'description', label: 'What was done', kind: 'text', multiline: true, max: 4_000 },
      { name: 'result', label: 'Result', kind: 'text', multiline: true, max: 4_000 },
    ],
  },
  escalate: {
    title: 'Escalate to Level 3',
    submit: 'Escalate',
    body: bodies.escalate,
    fields: [{ name: 'reason', label: 'Why Level 3 is needed', kind: 'text', multiline: true, max: 4_000 }],
  },
  resolve: {
    title: 'Resolve the incident',
    submit: 'Resolve',
    body: bodies.resolve,
    fields: [
      { name: 'summary', label: 'Summary of the resolution', kind: 'text', multiline: true, max: 10_000 },
    ],
  },
};

const plain = (text: string): slack.PlainTextElement => ({ type: 'plain_text', text });
const option = (value: string): slack.PlainTextOption => ({ text: plain(value), value });

function input(field: Field, state: IncidentState): slack.InputBlock {
  if (field.kind === 'select') {
    const initial = field.initial?.(state);
    return {
      type: 'input',
      block_id: field.name,
      label: plain(field.label),
      element: {
        type: 'static_select',
        action_id: field.name,
        options: field.options.map(option),
        ...(initial && field.options.includes(initial) ? { initial_option: option(initial) } : {}),
      },
    };
  }
  return {
    type: 'input',
    block_id: field.name,
    label: plain(field.label),
    element: {
      type: 'plain_text_input',
      action_id: field.name,
      multiline: field.multiline,
      max_length: Math.min(field.max, INPUT_MAX),
      ...(field.placeholder ? { placeholder: plain(field.placeholder) } : {}),
    },
  };
}

/** The modal views.open shows for the step; `metadata` is modalMetadata(...) from slack-actions. */
export function modalView(step: ModalStep, state: IncidentState, metadata: string): slack.ModalView {
  const form = FORMS[step];
  return {
    type: 'modal',
    callback_id: actionIdOf(step),
    private_metadata: metadata,
    title: plain(form.title),
    submit: plain(form.submit),
    close: plain('Cancel'),
    blocks: [
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `*${escapeMrkdwn(state.title)}* (\`${escapeMrkdwn(state.id)}\`): ${phaseLabel(state.phase)}`,
          },
        ],
      },
      ...form.fields.map((field) => input(field, state)),
    ],
  };
}

/** The block a form-wide error is shown under. */
export function firstField(step: ModalStep): string {
  return FORMS[step].fields[0]?.name ?? 'form';
}

export type Submission =
  { ok: true; body: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/** The submitted fields as the step's body, or Slack's per-field errors. */
export function submissionOf(step: ModalStep, values: ViewStateValues): Submission {
  const form = FORMS[step];
  const raw: Record<string, string> = {};
  for (const field of form.fields) {
    const entry = values[field.name]?.[field.name];
    const value = field.kind === 'select' ? entry?.selected_option?.value : entry?.value;
    if (typeof value === 'string') raw[field.name] = value;
  }
  const result = form.body.safeParse(raw);
  if (result.success) return { ok: true, body: result.data as Record<string, unknown> };
  const errors: Record<string, string> = {};
  const first = form.fields[0]?.name ?? 'form';
  for (const issue of result.error.issues) {
    const name = typeof issue.path[0] === 'string' ? issue.path[0] : first;
    const block = form.fields.some((f) => f.name === name) ? name : first;
    errors[block] ??= raw[name] === undefined ? 'Fill this in.' : issue.message;
  }
  return { ok: false, errors };
}
