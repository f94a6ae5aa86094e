/**
 * The schedule workflow's public contract. `scheduleChanged` wakes it to look at the schedule
 * again (an override or time off was added or removed); `scheduleNotices` answers what it has
 * told so far and when it looks next, for operators and tests.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const scheduleChangedSignal = defineSignal('scheduleChanged');

export interface ScheduleNoticesState {
  scheduleId: string;
  /** Keys of the notices sent and still remembered (see plan.ts), oldest first. */
  sent: string[];
  /** When the workflow looks at the schedule next, ISO; absent while it works. */
  nextLookAt?: string;
  /** Notices that could not be sent, newest last (at most 20). */
  failures: { key: string; error: string; at: string }[];
}

export const scheduleNoticesQuery = defineQuery<ScheduleNoticesState>('scheduleNotices');

/** Where the schedule's workflow runs: one per schedule and task queue. */
export function scheduleWorkflowId(taskQueue: string, scheduleId: string): string {
  return `schedule/${taskQueue}/${scheduleId}`;
}
