/**
 * What a start may ask of the workflow. Anyone with access to the namespace can start an
 * incident (the Temporal CLI, any client), so the workflow checks its input itself, with the
 * same zod schemas the API uses, before it does anything: a bad input fails the incident at
 * once with the field named, never a workflow task that fails forever.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { alertSchema, stringMapSchema } from './messages';
import { SEVERITIES, type IncidentPolicy } from './model';
import type { IncidentInput } from './state';

/** The failure type of a start the workflow refuses. */
export const INVALID_INPUT = 'InvalidIncidentInput';

const line = (max: number) => z.string().trim().min(1).max(max);
const configId = () => z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'use a configured id');

const origin = () =>
  z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('alertmanager'),
      receiver: line(500),
      groupKey: line(10_000),
      groupLabels: stringMapSchema(),
      externalURL: z.string().max(2_000).optional(),
    }),
    z.strictObject({ kind: z.literal('manual'), declaredBy: line(100) }),
  ]);

/** Built when a run checks its input: once per run, and dropped afterwards. */
export const incidentInputSchema = () =>
  z.strictObject({
    title: line(1_000),
    service: line(1_000),
    severity: z.enum(SEVERITIES).optional(),
    description: z.string().max(10_000).optional(),
    origin: origin(),
    alerts: z.array(alertSchema()).max(1_000).optional(),
    team: configId().optional(),
    labels: stringMapSchema().optional(),
    // Compared with the configuration's own policy (policyDifference), not trusted.
    policy: z.record(z.string(), z.unknown()).optional(),
    temporalUiUrl: z.url({ protocol: /^https?$/ }).optional(),
    // Taken only from Baton's own continue-as-new (checked against the run's ancestry).
    carried: z.record(z.string(), z.unknown()).optional(),
  });

function refuse(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: INVALID_INPUT, message, nonRetryable: true });
}

/**
 * The input, checked; throws a non-retryable failure naming every field that is wrong.
 * `continued` says whether this run was started by continue-as-new (the server's word, not
 * the starter's): only then may the input carry an incident's state.
 */
export function checkIncidentInput(input: unknown, continued: boolean): IncidentInput {
  const result = incidentInputSchema().safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${['input', ...i.path].join('.')}: ${i.message}`);
    throw refuse(`the incident cannot start: ${issues.join('; ')}`);
  }
  const checked = input as IncidentInput;
  if (checked.carried && !continued) {
    throw refuse(
      'the incident cannot start: input.carried is the state an incident carries into its next run; only Baton continues an incident as new',
    );
  }
  return checked;
}

/**
 * Where a starter's policy departs from the configuration's, as a field path; undefined
 * when they are the same. Key order does not matter; array order does.
 */
export function policyDifference(given: unknown, configured: IncidentPolicy): string | undefined {
  return difference(given, configured, 'policy');
}

function difference(a: unknown, b: unknown, path: string): string | undefined {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return path;
    if (a.length !== b.length) return path;
    for (let i = 0; i < a.length; i += 1) {
      const found = difference(a[i], b[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of [...keys].sort()) {
      // An absent field and one set to undefined say the same.
      if (left[key] === undefined && right[key] === undefined) continue;
      const found = difference(left[key], right[key], `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  return Object.is(a, b) ? undefined : path;
}

export function policyRefused(path: string, team: string): ApplicationFailure {
  return refuse(
    `the incident cannot start: its policy differs from Baton's configuration for team ${team} at ${path}; leave the policy out and Baton takes it from the configuration`,
  );
}

/**
 * A team the configuration does not have is a bad input, said as one: the failure names
 * the field, like every other refusal of a start.
 */
export function unknownTeamRefused(err: unknown): unknown {
  const failure = err instanceof ApplicationFailure ? err : (err as { cause?: unknown }).cause;
  if (failure instanceof ApplicationFailure && failure.type === 'UnknownTeam') {
    return refuse(`the incident cannot start: input.team: ${failure.message}`);
  }
  return err;
}
