import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { OutboxEntry } from '../../activities/outbox';
import { acknowledgeUpdate, addNoteSignal } from '../../workflows/incident/messages';
import type { TimelineEvent, TimelineKind, IncidentState } from '../../workflows/incident/state';
import { by, state, type IncidentHandle } from './incidents';
import { eventually, type TestWorker } from './worker';

/** The timeline events of one kind, in order. */
export function eventsOf(s: IncidentState, kind: TimelineKind): TimelineEvent[] {
  return s.timeline.filter((e) => e.kind === kind);
}

export const ms = (iso: string): number => Date.parse(iso);

/** Polls the `state` query until at least `count` events of `kind` are on the timeline. */
export function waitForEvents(
  handle: IncidentHandle,
  kind: TimelineKind,
  count = 1,
  timeoutMs = 30_000,
): Promise<IncidentState> {
  return eventually(async () => {
    const s = await state(handle);
    return eventsOf(s, kind).length >= count ? s : undefined;
  }, timeoutMs);
}

/** Polls the outbox until `check` accepts it; returns the entries. */
export function waitForOutbox(
  w: Pick<TestWorker, 'outbox'>,
  incidentId: string,
  check: (entries: OutboxEntry[]) => boolean,
  timeoutMs = 30_000,
): Promise<OutboxEntry[]> {
  return eventually(() => {
    const entries = w.outbox(incidentId);
    return check(entries) ? entries : undefined;
  }, timeoutMs);
}

/** What one outbox entry addressed: responder ids and Slack channels, with its kind and subject. */
export function addressed(entry: OutboxEntry): {
  kind: string;
  subject: string;
  to: string[];
  channels: string[];
  emails: string[];
} {
  return {
    kind: entry.notification.kind,
    subject: entry.notification.subject,
    to: entry.notification.responders.map((r) => r.id),
    channels: entry.notification.slackChannels,
    emails: entry.notification.emails,
  };
}

let sentinels = 0;
/**
 * Signals are processed in the order they arrive: a note sent after other signals, once it
 * shows on the timeline, proves the workflow has handled everything sent before it.
 */
export async function afterSignals(handle: IncidentHandle, actor = 'alice'): Promise<IncidentState> {
  sentinels += 1;
  const text = `sentinel ${sentinels}`;
  await handle.signal(addNoteSignal, { ...by(actor), text });
  return eventually(async () => {
    const s = await state(handle);
    return s.notes.some((n) => n.text === text) ? s : undefined;
  });
}

/**
 * The record once the workflow has handled every signal sent before: an update is handled
 * after the signals that reached the workflow before it, so one that is always refused (an
 * unknown actor) is a barrier that leaves no trace. Works when the record is full and notes
 * are dropped.
 */
export async function afterEverything(handle: IncidentHandle, withinMs = 60_000): Promise<IncidentState> {
  await eventually(async () => {
    const outcome = await handle.executeUpdate(acknowledgeUpdate, { args: [by('nobody-at-all')] }).then(
      () => 'accepted',
      (err: unknown) => err,
    );
    if (outcome === 'accepted') throw new Error('the barrier update was accepted');
    return outcome instanceof WorkflowUpdateFailedError ? true : undefined;
  }, withinMs);
  return eventually(() => state(handle), withinMs);
}

/**
 * Waits until a workflow timer due at `deadlineMs` would certainly have fired, then returns
 * the record after a sentinel note: anything that timer did would be on the timeline by then.
 */
export async function pastDeadline(
  handle: IncidentHandle,
  deadlineMs: number,
  marginMs = 1_000,
): Promise<IncidentState> {
  const wait = deadlineMs + marginMs - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return afterSignals(handle);
}

/** The refusal an update was rejected with; throws when the update was not refused. */
export async function refusalOf(update: Promise<unknown>): Promise<ApplicationFailure> {
  const outcome = await update.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (outcome === undefined) throw new Error('expected the update to be refused, but it was accepted');
  if (!(outcome instanceof WorkflowUpdateFailedError)) {
    throw new Error('expected WorkflowUpdateFailedError', { cause: outcome });
  }
  if (!(outcome.cause instanceof ApplicationFailure)) {
    throw new Error(`expected an ApplicationFailure cause, got ${String(outcome.cause)}`);
  }
  return outcome.cause;
}

/** Terminates what a test left running, so its timers stop firing on the shared worker. */
export async function terminateAll(handles: IncidentHandle[]): Promise<void> {
  await Promise.all(
    handles.splice(0).map((h) =>
      h.terminate('test finished').catch(() => {
        // Already completed.
      }),
    ),
  );
}
