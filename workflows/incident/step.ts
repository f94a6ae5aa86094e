/**
 * What a step is: the update that carries it, the schema of its input, the rule that may
 * refuse it, and what it does to the incident. Every step is an Update, because the caller
 * (the API, Slack, email) must learn at once whether it was accepted and, if not, why.
 */
import type { UpdateDefinition } from '@temporalio/common';
import type { ZodType } from 'zod';
import type { ReadyIncident } from './incident-context';
import { checkActor, checkMember, checkNotClosed, type Refusal } from './rules';
import type { StepResult } from './state';

/** What every step's input carries: who takes it, and an id that makes a retry harmless. */
export interface Envelope {
  actor: string;
  requestId: string;
}

export interface Step<TInput extends Envelope, TRaw> {
  update: UpdateDefinition<StepResult, [TRaw]>;
  /** Built when the first message of the step arrives (see messages.ts). */
  schema: () => ZodType<TInput, TRaw>;
  /** Why the process, or the actor's role, does not allow the step now; undefined if it does. */
  check(incident: ReadyIncident, input: TInput): Refusal | undefined;
  /**
   * What the step does to the record, and who is told. A promise when the step waits for an
   * activity (who is on call) before it is done; the update answers once it is.
   */
  apply(incident: ReadyIncident, input: TInput): void | Promise<void>;
}

/** Ties an entry's types together; the step tables are lists of these. */
export function step<TInput extends Envelope, TRaw>(definition: Step<TInput, TRaw>): Step<TInput, TRaw> {
  return definition;
}

/**
 * Why the step is refused for this input, if it is: an unknown actor first, then someone
 * not on the incident's team, then a closed incident, then the step's own rule.
 */
export function refusalOf<TInput extends Envelope, TRaw>(
  step: Step<TInput, TRaw>,
  incident: ReadyIncident,
  input: TInput,
): Refusal | undefined {
  return (
    checkActor(incident.policy, input.actor) ??
    checkMember(incident.policy, input.actor) ??
    checkNotClosed(incident.state) ??
    step.check(incident, input)
  );
}
