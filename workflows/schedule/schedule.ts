/**
 * One long-running workflow per on-call schedule: it tells the person going on call before
 * their shift and when it starts (with the incidents they inherit), the person going off call
 * what they hand over, and the team's managers about a gap as soon as it is known and again a
 * day before it starts. Its timers are durable and every notice it sent is in its state, so
 * a worker restart neither loses nor repeats one. It continues as new now and then, carrying
 * what it sent, so its history stays short.
 *
 * Who is on call lives outside the workflow (configuration, stored overrides and time off):
 * an activity reads it each time the workflow wakes, and the answer is in the history, so a
 * replay decides the same.
 */
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createScheduleNoticeActivities } from '../../activities/schedule-notices';
import { scheduleChangedSignal, scheduleNoticesQuery, type ScheduleNoticesState } from './messages';
import { keysToKeep, planNotices } from './plan';

type Activities = ReturnType<typeof createScheduleNoticeActivities>;

const { scheduleOutlook } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
// The activity retries each target itself and keeps their answers in the delivery ledger
// under the notice's id: an attempt after a worker died mid-send sends only what is left.
const { sendScheduleNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '5s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

export interface ScheduleWorkflowInput {
  scheduleId: string;
  /** When the schedule's workflow first started: handoffs before it are not told. */
  since?: number;
  /** Notices sent, key → the time after which it can no longer be due; carried across continue-as-new. */
  sent?: [string, number][];
  failures?: ScheduleNoticesState['failures'];
}

/** Rounds of looking before the workflow continues as new; four a day at least, so about a month. */
const ROUNDS_PER_RUN = 120;
const KEPT_FAILURES = 20;

export async function scheduleWorkflow(input: ScheduleWorkflowInput): Promise<void> {
  const { scheduleId } = input;
  if (typeof scheduleId !== 'string' || scheduleId === '') {
    throw ApplicationFailure.nonRetryable('scheduleWorkflow needs a scheduleId', 'BadInput');
  }
  const since = input.since ?? Date.now();
  let sent = new Map<string, number>(input.sent ?? []);
  const failures = [...(input.failures ?? [])];
  let nextLookAt: number | undefined;
  let changed = false;

  setHandler(scheduleChangedSignal, () => {
    changed = true;
  });
  setHandler(scheduleNoticesQuery, () => ({
    scheduleId,
    sent: [...sent.keys()],
    ...(nextLookAt !== undefined ? { nextLookAt: new Date(nextLookAt).toISOString() } : {}),
    failures,
  }));

  for (let round = 0; round < ROUNDS_PER_RUN; round += 1) {
    nextLookAt = undefined;
    changed = false;
    const outlook = await scheduleOutlook({ scheduleId, at: Date.now() });
    if (!outlook.found) return;
    const plan = planNotices(outlook, Date.now(), new Set(sent.keys()), since);
    for (const notice of plan.due) {
      try {
        await sendScheduleNotice({ id: uuid4(), scheduleId, notice });
      } catch (err) {
        // A notice that cannot go is not tried forever: it is remembered as failed, and the
        // next ones still go.
        failures.push({ key: notice.key, error: (err as Error).message, at: new Date().toISOString() });
        failures.splice(0, Math.max(0, failures.length - KEPT_FAILURES));
      }
      sent.set(notice.key, notice.until);
    }
    for (const c of plan.covered) sent.set(c.key, c.until);
    sent = keysToKeep(sent, Date.now());
    nextLookAt = plan.wakeAt;
    // Woken early by a change; otherwise at the next notice or the next refresh.
    await condition(() => changed, Math.max(1_000, plan.wakeAt - Date.now()));
    if (workflowInfo().continueAsNewSuggested) break;
  }
  await continueAsNew<typeof scheduleWorkflow>({ scheduleId, since, sent: [...sent], failures });
}
