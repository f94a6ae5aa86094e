/**
 * The baseline: the least a workflow can do for an alert. Started by signal-with-start, it
 * runs one activity that appends one line to a file, then waits on a timer as an incident
 * waits for its acknowledgement, answering an update and a query meanwhile. Bundled apart
 * from Baton's workflows and run by a second Worker in the same process.
 */
import {
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createMinimalActivities } from './minimal-activities';

export interface MinimalInput {
  title: string;
}
export interface PingInput {
  requestId: string;
}
export interface TouchInput {
  requestId: string;
}
export interface MinimalCounts {
  signals: number;
  updates: number;
}

export const pingSignal = defineSignal<[PingInput]>('ping');
export const touchUpdate = defineUpdate<number, [TouchInput]>('touch');
export const countsQuery = defineQuery<MinimalCounts>('counts');

const { appendMinimalLine } = proxyActivities<ReturnType<typeof createMinimalActivities>>({
  startToCloseTimeout: '10s',
});

export async function minimalWorkflow(_input: MinimalInput): Promise<void> {
  const counts: MinimalCounts = { signals: 0, updates: 0 };
  setHandler(pingSignal, () => {
    counts.signals += 1;
  });
  setHandler(touchUpdate, () => {
    counts.updates += 1;
    return counts.updates;
  });
  setHandler(countsQuery, () => counts);
  await appendMinimalLine(workflowInfo().workflowId);
  await sleep('1h');
}
