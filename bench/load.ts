/**
 * What the phases share: Alertmanager's webhook payloads and senders, the baseline's
 * signal-with-start, a pool of concurrent senders, and the watch on the files where pages
 * (Baton's outbox) and the baseline's lines land, read by the time each entry carries.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tsToMs } from '@temporalio/common/lib/time';
import type { OutboxEntry } from '../activities/outbox';
import { alertGroupWorkflowId } from '../api/incidents';
import { safeName } from '../activities/files';
import type { Bench } from './harness';
import { MINIMAL_TASK_QUEUE, sleep } from './harness';
import { minimalLineFile } from './minimal-activities';
import { minimalWorkflow, pingSignal } from './minimal-workflow';
import { summarize, type Summary } from './stats';

/** Runs `work` over the items with `concurrency` senders, each taking the next item when done. */
export async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, sender));
}

function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 16);
}

/**
 * One alert group as Alertmanager 0.25 posts it (webhook payload version 4): a database down
 * takes a service with it, two of its instances firing, grouped by alertname and service.
 */
export function alertGroupPayload(receiver: string, index: number, startsAt: string) {
  const alertname = 'DatabaseUnreachable';
  const service = `svc-${String(index).padStart(4, '0')}`;
  const groupLabels = { alertname, service };
  const commonLabels = { ...groupLabels, severity: 'critical', cluster: 'bench' };
  const alerts = ['a', 'b'].map((pod) => {
    const instance = `${service}-${pod}:9100`;
    return {
      status: 'firing' as const,
      labels: { ...commonLabels, instance },
      annotations: { summary: `${service} cannot reach its database`, description: `instance ${instance}` },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.bench:9090/graph?g0.expr=up%7Bservice%3D%22${service}%22%7D`,
      fingerprint: fingerprint(receiver, service, instance),
    };
  });
  return {
    version: '4',
    groupKey: `{}:{alertname="${alertname}", service="${service}"}`,
    truncatedAlerts: 0,
    status: 'firing' as const,
    receiver,
    groupLabels,
    commonLabels,
    commonAnnotations: { summary: `${service} cannot reach its database` },
    externalURL: 'http://alertmanager.bench:9093',
    alerts,
  };
}

export interface Sent {
  /** performance.now()-free wall time (ms since the epoch) the request left, to compare with file and history times. */
  sentAt: number;
  answeredAt: number;
  status: number;
  /** The incident the answer named (webhook) or the workflow id (baseline). */
  id?: string;
  attempts: number;
}

/**
 * Posts one alert group to Baton's webhook. Alertmanager retries a failed notification;
 * so does this, three times with a second between, and the attempts are counted.
 */
export async function postAlertGroup(bench: Bench, body: unknown): Promise<Sent> {
  const sentAt = Date.now();
  const text = JSON.stringify(body);
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let status: number;
    let id: string | undefined;
    try {
      const response = await fetch(`${bench.apiUrl}/webhooks/alertmanager`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bench.webhookToken}`,
          'content-type': 'application/json',
          'user-agent': 'Alertmanager/0.25.0',
        },
        body: text,
      });
      status = response.status;
      const answer = (await response.json()) as { incidents?: string[] };
      id = answer.incidents?.[0];
    } catch {
      status = 0;
    }
    if (status === 202 || attempts >= 4 || (status >= 400 && status < 500)) {
      return { sentAt, answeredAt: Date.now(), status, ...(id ? { id } : {}), attempts };
    }
    await sleep(1_000);
  }
}

/** The baseline's webhook: one signal-with-start of the minimal workflow, straight from a client. */
export async function signalWithStartMinimal(bench: Bench, workflowId: string): Promise<Sent> {
  const sentAt = Date.now();
  let status = 202;
  try {
    await bench.client.workflow.signalWithStart(minimalWorkflow, {
      taskQueue: MINIMAL_TASK_QUEUE,
      workflowId,
      args: [{ title: workflowId }],
      signal: pingSignal,
      signalArgs: [{ requestId: randomUUID() }],
    });
  } catch {
    status = 0;
  }
  return { sentAt, answeredAt: Date.now(), status, id: workflowId, attempts: 1 };
}

export type Written = Map<string, { firstAt: number; count: number }>;

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The pages in an incident's outbox file: each one's time, in order. */
export async function pagesOf(bench: Bench, incidentId: string): Promise<number[]> {
  const lines = await readLines(path.join(bench.outboxDir, `${safeName(incidentId)}.jsonl`));
  return lines.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as OutboxEntry;
      return entry.notification.kind === 'page' ? [Date.parse(entry.at)] : [];
    } catch {
      return [];
    }
  });
}

/** The lines the baseline's activity wrote for a workflow: each one's time. */
export async function minimalLinesOf(bench: Bench, workflowId: string): Promise<number[]> {
  const lines = await readLines(minimalLineFile(bench.minimalDir, workflowId));
  return lines.flatMap((line) => {
    try {
      return [Date.parse((JSON.parse(line) as { at: string }).at)];
    } catch {
      return [];
    }
  });
}

async function readEntries(
  ids: readonly string[],
  entriesOf: (id: string) => Promise<number[]>,
  found: Written,
): Promise<string[]> {
  const missing: string[] = [];
  // In slices, so that thousands of files are not all open at once.
  for (let i = 0; i < ids.length; i += 200) {
    const slice = ids.slice(i, i + 200);
    const entries = await Promise.all(slice.map(entriesOf));
    slice.forEach((id, index) => {
      const times = entries[index] ?? [];
      if (times.length > 0) found.set(id, { firstAt: Math.min(...times), count: times.length });
      else missing.push(id);
    });
  }
  return missing;
}

/**
 * Waits until every id has its first entry (a page, or the baseline's line), polling the
 * files of those still missing; returns what was found by then (some may be missing).
 */
export async function waitForFirstEntries(
  ids: readonly string[],
  entriesOf: (id: string) => Promise<number[]>,
  timeoutMs: number,
  pollMs = 50,
  /** Why waiting is pointless (the worker died), if it is. */
  hopeless: () => string | undefined = () => undefined,
): Promise<Written> {
  const found: Written = new Map();
  const deadline = Date.now() + timeoutMs;
  let missing = [...new Set(ids)];
  for (;;) {
    missing = await readEntries(missing, entriesOf, found);
    if (missing.length === 0 || Date.now() >= deadline) return found;
    const reason = hopeless();
    if (reason) throw new Error(reason);
    await sleep(pollMs);
  }
}

/** Every id's entries as they are now (after the run settled): exactly one page per incident is the goal. */
export async function countEntries(
  ids: readonly string[],
  entriesOf: (id: string) => Promise<number[]>,
): Promise<Written> {
  const found: Written = new Map();
  await readEntries([...new Set(ids)], entriesOf, found);
  return found;
}

/** When an execution reached each stage on the way to its first page, read from its history. */
export interface Stages {
  started?: number;
  firstTaskCompleted?: number;
  /** The activity that carried the page (Baton) or the minimal activity (baseline). */
  activityScheduled?: number;
  activityStarted?: number;
  /** Baton only: the activity that reads the team's policy before anything is sent. */
  policyCompleted?: number;
  workflowTasks: number;
  activitiesBeforePage: number;
}

/** Reads the history of one execution and times its way to the named activity. */
export async function stagesOf(
  bench: Bench,
  workflowId: string,
  activities: readonly string[],
): Promise<Stages> {
  const history = await bench.client.workflow.getHandle(workflowId).fetchHistory();
  const stages: Stages = { workflowTasks: 0, activitiesBeforePage: 0 };
  let scheduledId: string | undefined;
  let policyScheduled: string | undefined;
  for (const event of history.events ?? []) {
    const at = tsToMs(event.eventTime);
    if (event.workflowExecutionStartedEventAttributes) stages.started ??= at;
    if (event.workflowTaskCompletedEventAttributes) {
      stages.firstTaskCompleted ??= at;
      if (stages.activityStarted === undefined) stages.workflowTasks += 1;
    }
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const name = scheduled.activityType?.name;
      if (name && activities.includes(name) && scheduledId === undefined) {
        scheduledId = String(event.eventId);
        stages.activityScheduled = at;
      } else if (scheduledId === undefined) {
        stages.activitiesBeforePage += 1;
        if (name === 'resolveIncidentPolicy') policyScheduled = String(event.eventId);
      }
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduledId !== undefined && String(started.scheduledEventId) === scheduledId) {
      stages.activityStarted ??= at;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (
      completed &&
      policyScheduled !== undefined &&
      String(completed.scheduledEventId) === policyScheduled
    ) {
      stages.policyCompleted ??= at;
    }
  }
  return stages;
}

/** `count` items spread evenly over `items` (first and last included). */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from(
    { length: count },
    (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))] as T,
  );
}

/** One side of a comparison: Baton through its webhook, or the baseline through its client. */
export interface Side {
  name: 'baton' | 'baseline';
  /** Sends alert group `index`; a second call with the same index is a re-send of the same group. */
  send: (index: number) => Promise<Sent>;
  /** The id the group's workflow has, known before any answer. */
  idOf: (index: number) => string;
  entriesOf: (id: string) => Promise<number[]>;
  /** The activities whose run may write the entry (the first one scheduled is timed). */
  activities: readonly string[];
  workflowType: string;
}

/** Baton: alert groups of one receiver through POST /webhooks/alertmanager; entries are outbox pages. */
export function batonSide(bench: Bench, receiver: string): Side {
  const startsAt = new Date().toISOString();
  return {
    name: 'baton',
    send: (index) => postAlertGroup(bench, alertGroupPayload(receiver, index, startsAt)),
    idOf: (index) => alertGroupWorkflowId(receiver, alertGroupPayload(receiver, index, startsAt).groupKey),
    entriesOf: (id) => pagesOf(bench, id),
    // A new incident's first page goes out with its policy (pageFirst); older paths used notify.
    activities: ['pageFirst', 'notify'],
    workflowType: 'incidentWorkflow',
  };
}

/** The baseline: signal-with-start of the minimal workflow; entries are its activity's lines. */
export function minimalSide(bench: Bench, prefix: string): Side {
  return {
    name: 'baseline',
    send: (index) => signalWithStartMinimal(bench, `${prefix}-${index}`),
    idOf: (index) => `${prefix}-${index}`,
    entriesOf: (id) => minimalLinesOf(bench, id),
    activities: ['appendMinimalLine'],
    workflowType: 'minimalWorkflow',
  };
}

/** Executions of a workflow type, as the server's visibility counts them. */
export async function countExecutions(bench: Bench, workflowType: string): Promise<number> {
  const { count } = await bench.client.workflow.count(`WorkflowType = '${workflowType}'`);
  return count;
}

export const STAGES = [
  'webhookAnswered',
  'workflowStarted',
  'firstWorkflowTaskCompleted',
  'policyActivityCompleted',
  'pageActivityScheduled',
  'pageActivityStarted',
  'pageWritten',
] as const;
export type Stage = (typeof STAGES)[number];

export interface Breakdown {
  /** How many executions the breakdown read (a sample). */
  sampled: number;
  /** Milliseconds from the alert's first send to each stage, p50/p99 over the sample. */
  sinceAlert: Partial<Record<Stage, Summary>>;
  /** Workflow tasks completed before the page activity started (p50 over the sample). */
  workflowTasksBeforePage: number;
  /** Activities scheduled before the page activity (p50 over the sample). */
  activitiesBeforePage: number;
}

/** Where the time went, read from the histories of a sample of executions. */
export async function breakdownOf(
  bench: Bench,
  side: Side,
  samples: { id: string; sentAt: number; answeredAt: number; writtenAt?: number }[],
): Promise<Breakdown> {
  const since: Record<Stage, number[]> = Object.fromEntries(STAGES.map((s) => [s, []])) as unknown as Record<
    Stage,
    number[]
  >;
  const tasks: number[] = [];
  const activities: number[] = [];
  for (const sample of samples) {
    const stages = await stagesOf(bench, sample.id, side.activities);
    const add = (stage: Stage, at: number | undefined): void => {
      if (at !== undefined && Number.isFinite(at)) since[stage].push(at - sample.sentAt);
    };
    add('webhookAnswered', sample.answeredAt);
    add('workflowStarted', stages.started);
    add('firstWorkflowTaskCompleted', stages.firstTaskCompleted);
    add('policyActivityCompleted', stages.policyCompleted);
    add('pageActivityScheduled', stages.activityScheduled);
    add('pageActivityStarted', stages.activityStarted);
    add('pageWritten', sample.writtenAt);
    tasks.push(stages.workflowTasks);
    activities.push(stages.activitiesBeforePage);
  }
  const sinceAlert: Breakdown['sinceAlert'] = {};
  for (const stage of STAGES) if (since[stage].length > 0) sinceAlert[stage] = summarize(since[stage]);
  return {
    sampled: samples.length,
    sinceAlert,
    workflowTasksBeforePage: summarize(tasks).p50,
    activitiesBeforePage: summarize(activities).p50,
  };
}
