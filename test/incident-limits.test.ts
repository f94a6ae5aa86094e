import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  addNoteSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
  assessUpdate,
  communicateUpdate,
  confirmTrainingUpdate,
  escalateUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  resolveUpdate,
  submitReportUpdate,
} from '../workflows/incident/messages';
import { RECORD_HARD_BYTES } from '../workflows/incident/limits';
import { testConfig } from './support/config';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { afterEverything, refusalOf, terminateAll, waitForEvents } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
const started: IncidentHandle[] = [];
beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'limits');
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
});

describe('names from outside', () => {
  it('does not take "constructor" for a responder', async () => {
    const handle = await startIncident(w);
    started.push(handle);
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'stuck' }] });
    const refusal = await refusalOf(
      handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('constructor'), notes: 'x' }] }),
    );
    expect(refusal.type).toBe('UnknownActor');
    expect((await state(handle)).holder).toBe('alice');
  });

  it('pages as usual for an alert named like an object property', async () => {
    const handle = await startIncident(w, {
      alerts: [alert('toString', 'fp-proto'), alert('constructor', 'fp-proto-2')],
    });
    started.push(handle);
    const s = await waitForEvents(handle, 'paged');
    expect(s.runbooks).toEqual([]);
    expect(s.alerts.map((a) => a.labels.alertname)).toEqual(['toString', 'constructor']);
  });
});

describe('an incident that grows large', () => {
  it('refuses more free text at its size limit, and can still be resolved', async () => {
    const handle = await startIncident(w);
    started.push(handle);
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const text = 'x'.repeat(19_000);
    for (let i = 0; i < 30; i += 1) {
      await handle.signal(addNoteSignal, { ...by('bob'), text: `${i} ${text}` });
    }
    // Notes past the limit are dropped; the record stays under Temporal's payload limits.
    const s = await afterEverything(handle);
    expect(s.notes.length).toBeGreaterThanOrEqual(8);
    expect(s.notes.filter((n) => n.text.length > 100).length).toBeLessThan(30);
    expect(bytes(s)).toBeLessThan(RECORD_HARD_BYTES + 20_000);
    expect(s.timeline.filter((e) => e.kind === 'note').every((e) => e.summary.length <= 200)).toBe(true);

    const refusal = await refusalOf(
      handle.executeUpdate(assessUpdate, {
        args: [{ ...by('alice'), severity: 'SEV2', urgency: 'high', impact: 'i', observations: 'o' }],
      }),
    );
    expect(refusal.type).toBe('InvalidMove');
    expect(refusal.message).toMatch(/size limit/);

    const resolved = await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('alice'), summary: 'fixed' }],
    });
    expect(resolved.phase).toBe('post-incident');
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  it('keeps every payload under 512 kB past every limit, and still pages, resolves and closes', async () => {
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-big-0')] });
    started.push(handle);
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    // Multi-byte text: three bytes a character, so the limit is reached in a third of the characters.
    const cjk = (n: number): string => '障'.repeat(n);
    for (let i = 0; i < 30; i += 1) {
      await handle.signal(addNoteSignal, { ...by('bob'), text: `${i} ${cjk(6_000)}` });
    }
    // 100,000 alert notifications: 1,000 signals of 100 alerts, firing and clearing in turn.
    for (let round = 0; round < 500; round += 1) {
      const group = Array.from({ length: 100 }, (_, i) => ({
        ...alert(`Flap${i}`, `fp-flap-${round % 50}-${i}`),
        startsAt: new Date(Date.UTC(2026, 10, 26, 10, 0, round)).toISOString(),
      }));
      await handle.signal(alertsFiredSignal, { alerts: group });
      await handle.signal(alertsResolvedSignal, {
        alerts: group.map((a) => ({ ...a, status: 'resolved' as const })),
      });
      // Every 50 signals (about 1.3 MB), wait until the incident has taken them in, as it
      // would between Alertmanager's notifications: a refused update is answered after the
      // signals sent before it. A faster flood has the server fail the task in flight to
      // flush its buffer of new events (2 MB); the worker then replays the whole history,
      // which on a starved machine outlasts the task timeout, again and again.
      if (round % 25 === 24)
        await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] }));
    }
    // A thousand signals of a hundred alerts each: on a busy machine (the whole suite, two
    // files at a time on two cores) working through them takes minutes, not seconds.
    const full = await afterEverything(handle, 240_000);
    expect(full.alertsOmitted ?? 0).toBeGreaterThan(0);
    expect(full.alerts.length).toBeLessThanOrEqual(500);

    // Steps that may not be refused still go through, at their largest, in multi-byte text.
    await handle.executeUpdate(communicateUpdate, {
      args: [{ ...by('dave'), audience: 'external', message: cjk(10_000) }],
    });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: cjk(10_000) }] });
    // A re-fire at the limit reopens the incident and pages from the first step.
    await handle.signal(alertsFiredSignal, {
      alerts: [{ ...alert('HighLatency', 'fp-big-0'), startsAt: '2026-11-27T00:00:00Z' }],
    });
    const reopened = await waitForEvents(handle, 'reopened');
    expect(reopened.timeline.filter((e) => e.kind === 'paged').at(-1)?.details?.to).toEqual(['alice']);
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: cjk(10_000) }] });
    await handle.executeUpdate(submitReportUpdate, {
      args: [
        {
          ...by('alice'),
          summary: cjk(20_000),
          rootCause: cjk(10_000),
          actionsAndResults: cjk(20_000),
          recommendations: cjk(10_000),
        },
      ],
    });
    await handle.executeUpdate(recordLessonsUpdate, {
      args: [{ ...by('alice'), lessons: Array.from({ length: 50 }, () => cjk(2_000)) }],
    });
    await handle.executeUpdate(recordTrainingUpdate, {
      args: [{ ...by('dave'), date: '2026-12-01', attendees: ['alice', 'bob'], material: cjk(10_000) }],
    });
    // Every member confirms, even with the record full: training is never refused for room.
    for (const member of ['alice', 'bob', 'carol', 'erin', 'dave']) {
      await handle.executeUpdate(confirmTrainingUpdate, { args: [{ ...by(member), note: cjk(2_000) }] });
    }
    const final = await handle.result();
    expect(final.phase).toBe('closed');
    expect(final.shortened).toBe(true);
    expect(final.timelineTotal ?? 0).toBeGreaterThan(1_000);

    // Every payload of every run: inputs, update answers, activity inputs, results.
    const largest: { bytes: number; event: string }[] = [];
    for await (const execution of w.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
      largest.push(await largestPayloadOfRun(handle.workflowId, execution.runId));
    }
    expect(largest.length).toBeGreaterThan(1);
    const top = largest.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    expect(top.bytes).toBeGreaterThan(100_000);
    console.info(`largest payload of ${largest.length} runs: ${top.bytes} bytes (${top.event})`);
    expect(top.bytes, `largest payload: ${top.event}`).toBeLessThan(512_000);
  }, 600_000);
});

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/** The largest payload of one run; the connection takes pages larger than gRPC's default 4 MB. */
async function largestPayloadOfRun(
  workflowId: string,
  runId: string,
): Promise<{ bytes: number; event: string }> {
  const connection = await Connection.connect({
    address: inject('temporalAddress'),
    channelArgs: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
  });
  try {
    let largest = { bytes: 0, event: '' };
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId, runId },
        maximumPageSize: 100,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      for (const event of page.history?.events ?? []) {
        const bytes = largestPayload(event);
        if (bytes > largest.bytes)
          largest = { bytes, event: `${String(event.eventType)} #${String(event.eventId)}` };
      }
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    return largest;
  } finally {
    await connection.close();
  }
}

/** The largest payload anywhere in a history: every `data` of every payload, in bytes. */
function largestPayload(value: unknown): number {
  if (value instanceof Uint8Array) return 0;
  if (Array.isArray(value)) return Math.max(0, ...value.map(largestPayload));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const own = record.metadata && record.data instanceof Uint8Array ? record.data.length : 0;
    return Math.max(own, ...Object.values(record).map(largestPayload));
  }
  return 0;
}
