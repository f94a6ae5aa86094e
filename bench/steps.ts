/**
 * Steps: people acting on open incidents through the HTTP API, one request at a time, against
 * the bare Temporal round trips they are made of, on the minimal workflow.
 */
import { randomUUID } from 'node:crypto';
import { settle, type Bench } from './harness';
import { countsQuery, pingSignal, touchUpdate } from './minimal-workflow';
import { summarize, type Summary } from './stats';

export interface Timed {
  ms: number;
  ok: boolean;
}

export interface TimedSummary extends Summary {
  failed: number;
}

export function summarizeTimed(results: readonly Timed[]): TimedSummary {
  return { ...summarize(results.map((r) => r.ms)), failed: results.filter((r) => !r.ok).length };
}

/** One request to Baton's API as a responder; ok when it answered 2xx. */
export async function callApi(
  bench: Bench,
  who: string,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
): Promise<Timed> {
  const started = performance.now();
  try {
    const response = await fetch(`${bench.apiUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${bench.tokens[who] ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await response.arrayBuffer();
    return { ms: performance.now() - started, ok: response.ok };
  } catch {
    return { ms: performance.now() - started, ok: false };
  }
}

async function timed(run: () => Promise<unknown>): Promise<Timed> {
  const started = performance.now();
  try {
    await run();
    return { ms: performance.now() - started, ok: true };
  } catch {
    return { ms: performance.now() - started, ok: false };
  }
}

export const bareUpdate = (bench: Bench, workflowId: string): Promise<Timed> =>
  timed(() =>
    bench.client.workflow
      .getHandle(workflowId)
      .executeUpdate(touchUpdate, { args: [{ requestId: randomUUID() }] }),
  );

export const bareQuery = (bench: Bench, workflowId: string): Promise<Timed> =>
  timed(() => bench.client.workflow.getHandle(workflowId).query(countsQuery));

export const bareSignal = (bench: Bench, workflowId: string): Promise<Timed> =>
  timed(() => bench.client.workflow.getHandle(workflowId).signal(pingSignal, { requestId: randomUUID() }));

export const getIncident = (bench: Bench, id: string): Promise<Timed> =>
  callApi(bench, 'alice', 'GET', `/api/v1/incidents/${encodeURIComponent(id)}`);

export const acknowledge = (bench: Bench, id: string): Promise<Timed> =>
  callApi(bench, 'alice', 'POST', `/api/v1/incidents/${encodeURIComponent(id)}/acknowledge`, {});

async function each(ids: readonly string[], run: (id: string) => Promise<Timed>): Promise<TimedSummary> {
  const results: Timed[] = [];
  for (const id of ids) results.push(await run(id));
  return summarizeTimed(results);
}

export interface StepsResult {
  incidents: number;
  /** POST …/acknowledge: an update, then the record read back with a query. */
  acknowledge: TimedSummary;
  /** POST …/assessment, on the acknowledged incident. */
  assessment: TimedSummary;
  /** POST …/notes: a signal (202), nothing waited for. */
  note: TimedSummary;
  /** GET …/:id: a query. */
  get: TimedSummary;
  baseline: {
    update: TimedSummary;
    /** What the API does for a step: the update, then a query. */
    updateThenQuery: TimedSummary;
    query: TimedSummary;
    signal: TimedSummary;
  };
}

export async function runSteps(
  bench: Bench,
  incidents: readonly string[],
  minimal: readonly string[],
): Promise<StepsResult> {
  const update = await each(minimal, (id) => bareUpdate(bench, id));
  const updateThenQuery = await each(minimal, async (id) => {
    const started = performance.now();
    const first = await bareUpdate(bench, id);
    const second = await bareQuery(bench, id);
    return { ms: performance.now() - started, ok: first.ok && second.ok };
  });
  const query = await each(minimal, (id) => bareQuery(bench, id));
  const signal = await each(minimal, (id) => bareSignal(bench, id));

  // Each kind of step after the previous one's notifications and record writes are done.
  await settle(bench);
  const acknowledged = await each(incidents, (id) => acknowledge(bench, id));
  await settle(bench);
  const assessment = await each(incidents, (id) =>
    callApi(bench, 'alice', 'POST', `/api/v1/incidents/${encodeURIComponent(id)}/assessment`, {
      severity: 'SEV2',
      urgency: 'high',
      impact: 'checkout fails for a third of the customers',
      observations: 'the primary database refuses connections since 10:02',
    }),
  );
  await settle(bench);
  const note = await each(incidents, (id) =>
    callApi(bench, 'alice', 'POST', `/api/v1/incidents/${encodeURIComponent(id)}/notes`, {
      text: 'failover to the replica started',
    }),
  );
  const get = await each(incidents, (id) => getIncident(bench, id));
  return {
    incidents: incidents.length,
    acknowledge: acknowledged,
    assessment,
    note,
    get,
    baseline: { update, updateThenQuery, query, signal },
  };
}
