import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  addNoteSignal,
  assessUpdate,
  escalateUpdate,
  resolveUpdate,
} from '../workflows/messages';
import { testConfig } from './support/config';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { refusalOf, terminateAll, waitForEvents } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

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
    for (let i = 0; i < 40; i += 1) {
      await handle.signal(addNoteSignal, { ...by('bob'), text: `${i} ${text}` });
    }
    // Notes past the limit are dropped; the record stays far under Temporal's payload limits.
    const s = await eventually(async () => {
      const current = await state(handle);
      return current.notes.length >= 25 ? current : undefined;
    });
    expect(s.notes.length).toBeLessThan(40);
    expect(JSON.stringify(s).length).toBeLessThan(560_000);
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
});
