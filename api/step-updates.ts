/**
 * The steps people take from Slack and from email, by name, each with the workflow update
 * that carries it: one table, so that every channel takes a step through the same update
 * (and so the same rules) as the HTTP API.
 */
import type { UpdateDefinition } from '@temporalio/common';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  assessUpdate,
  confirmTrainingUpdate,
  escalateUpdate,
  recordActionUpdate,
  resolveUpdate,
} from '../workflows/incident/messages';
import type { StepResult } from '../workflows/incident/state';

/** A step's argument as a channel builds it; the workflow checks it with the step's schema. */
export type StepArg = Record<string, unknown> & { actor: string; requestId: string };

/** Forgets an update's argument type: the workflow checks every argument with the step's schema. */
function loose<T>(update: UpdateDefinition<StepResult, [T]>): UpdateDefinition<StepResult, [StepArg]> {
  return update as unknown as UpdateDefinition<StepResult, [StepArg]>;
}

export const STEP_UPDATES = {
  acknowledge: loose(acknowledgeUpdate),
  assess: loose(assessUpdate),
  recordAction: loose(recordActionUpdate),
  escalate: loose(escalateUpdate),
  acceptHandover: loose(acceptHandoverUpdate),
  resolve: loose(resolveUpdate),
  // Slack's `/incident trained` and an email reply `trained`: the member confirms for themselves.
  confirmTraining: loose(confirmTrainingUpdate),
};

/** A step a channel can take by name. */
export type StepName = keyof typeof STEP_UPDATES;
