/**
 * Retries are harmless: a request id seen before changes nothing and answers with the record,
 * Alertmanager's re-sent alerts add nothing, new alerts join the incident with their
 * runbooks, and a malformed signal is dropped without hurting the workflow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acknowledgeUpdate,
  addNoteSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
  assessUpdate,
  communicateUpdate,
  recordActionUpdate,
  resolveUpdate,
  type AlertsInput,
} from '../workflows/incident/messages';
import type { Alert } from '../workflows/incident/model';
import { testConfig } from './support/config';
import { afterStep, alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { afterSignals, eventsOf, refusalOf, terminateAll, waitForOutbox } from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  w = await startTestWorker(testConfig(), 'idempotency');
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
});

const errors = alert('ErrorRate', 'fp-errors');
const latency = alert('HighLatency', 'fp-latency');

async function open(alerts: Alert[] = []): Promise<IncidentHandle> {
  const handle = await startIncident(w, { alerts });
  started.push(handle);
  return handle;
}

describe('updates sent twice with the same request id', () => {
  it('acknowledge: the retry succeeds with the same record and sends nothing more', async () => {
    const handle = await open();
    const request = by('alice');
    const first = await afterStep(handle, handle.executeUpdate(acknowledgeUpdate, { args: [request] }));
    const again = await afterStep(
      handle,
      handle.executeUpdate(acknowledgeUpdate, { args: [{ ...request }] }),
    );
    expect(again).toEqual(first);
    expect(await state(handle)).toEqual(first);
    expect(eventsOf(first, 'acknowledged')).toHaveLength(1);

    // A different request for the same move is a second acknowledgement, and refused.
    const refusal = await refusalOf(handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] }));
    expect(refusal.type).toBe('InvalidMove');

    // Notifications leave in order: once the assessment's is out, any second
    // acknowledgement notice would have been too.
    await handle.executeUpdate(assessUpdate, {
      args: [{ ...by('alice'), severity: 'SEV3', urgency: 'low', impact: 'few users', observations: 'o' }],
    });
    const sent = await waitForOutbox(w, first.id, (o) =>
      o.some((e) => /Assessed/.test(e.notification.subject)),
    );
    expect(sent.filter((e) => /Acknowledged/.test(e.notification.subject))).toHaveLength(1);
  });

  it('recordAction and communicate: one action and one message, however often they are retried', async () => {
    const handle = await open();
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const action = {
      ...by('alice'),
      kind: 'restart' as const,
      description: 'restarted payments-api',
      result: 'errors continue',
    };
    const answer = await handle.executeUpdate(recordActionUpdate, { args: [action] });
    expect(answer.events.map((e) => e.kind)).toEqual(['action']);
    const retries = await Promise.all(
      [1, 2, 3].map(() => handle.executeUpdate(recordActionUpdate, { args: [{ ...action }] })),
    );
    // A retry answers where the incident stands and logs nothing.
    for (const retry of retries) expect(retry).toEqual({ ...answer, events: [] });
    const first = await state(handle);
    expect(first.actions).toHaveLength(1);
    expect(eventsOf(first, 'action')).toHaveLength(1);

    const message = { ...by('alice'), audience: 'internal' as const, message: 'restart did not help' };
    const sent = await afterStep(handle, handle.executeUpdate(communicateUpdate, { args: [message] }));
    const resent = await afterStep(
      handle,
      handle.executeUpdate(communicateUpdate, { args: [{ ...message }] }),
    );
    expect(resent).toEqual(sent);
    expect(resent.communications).toHaveLength(1);
    expect(resent.timeline).toHaveLength(sent.timeline.length);
  });

  it('resolve: the retry answers with the resolved record instead of a refusal', async () => {
    const handle = await open();
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const request = { ...by('alice'), summary: 'rolled back the deploy' };
    const first = await afterStep(handle, handle.executeUpdate(resolveUpdate, { args: [request] }));
    const again = await afterStep(handle, handle.executeUpdate(resolveUpdate, { args: [{ ...request }] }));
    expect(again).toEqual(first);
    expect(again.followUps).toHaveLength(3);
    expect(eventsOf(again, 'resolved')).toHaveLength(1);
    expect(eventsOf(again, 'follow-ups-scheduled')).toHaveLength(1);
  });
});

describe('alerts from Alertmanager', () => {
  it('adds nothing when a group is re-sent with the same alerts', async () => {
    const handle = await open([errors]);
    const before = await afterSignals(handle);
    await handle.signal(alertsFiredSignal, { alerts: [errors] });
    await handle.signal(alertsFiredSignal, { requestId: 'am-retry', alerts: [{ ...errors }] });
    const after = await afterSignals(handle);
    expect(after.alerts).toEqual(before.alerts);
    // Only the second sentinel note was added.
    expect(after.timeline).toHaveLength(before.timeline.length + 1);
    expect(eventsOf(after, 'alerts-fired')).toHaveLength(0);
  });

  it('adds a new alert to the incident once, with the runbook configured for its name', async () => {
    const handle = await open([errors]);
    const opened = await state(handle);
    expect(opened.runbooks).toEqual([]);

    await handle.signal(alertsFiredSignal, { alerts: [errors, latency] });
    const joined = await afterSignals(handle);
    expect(joined.alerts.map((a) => [a.fingerprint, a.status])).toEqual([
      ['fp-errors', 'firing'],
      ['fp-latency', 'firing'],
    ]);
    const fired = eventsOf(joined, 'alerts-fired');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ actor: 'alertmanager', details: { fingerprints: ['fp-latency'] } });
    expect(fired[0]?.summary).toMatch(/1 alert\(s\) firing: HighLatency/);
    expect(joined.runbooks).toEqual([
      {
        alertname: 'HighLatency',
        url: 'https://runbooks.example.com/high-latency',
        steps: ['check the last deploy'],
      },
    ]);

    // The same alerts again, and a second HighLatency alert: one event, still one runbook.
    await handle.signal(alertsFiredSignal, { alerts: [latency, errors] });
    await handle.signal(alertsFiredSignal, {
      alerts: [alert('HighLatency', 'fp-latency-eu', { region: 'eu' })],
    });
    const later = await afterSignals(handle);
    expect(later.alerts.map((a) => a.fingerprint)).toEqual(['fp-errors', 'fp-latency', 'fp-latency-eu']);
    expect(eventsOf(later, 'alerts-fired').map((e) => e.details)).toEqual([
      { fingerprints: ['fp-latency'] },
      { fingerprints: ['fp-latency-eu'] },
    ]);
    expect(later.runbooks).toHaveLength(1);
    expect(later.phase).toBe('triggered');
  });

  it('records a resolved alert once, however often Alertmanager repeats it', async () => {
    const handle = await open([errors, latency]);
    const resolved = { ...latency, status: 'resolved' as const, endsAt: '2026-11-26T10:30:00Z' };
    await handle.signal(alertsResolvedSignal, { alerts: [resolved] });
    await handle.signal(alertsResolvedSignal, { alerts: [resolved] });
    const s = await afterSignals(handle);
    expect(eventsOf(s, 'alerts-resolved')).toHaveLength(1);
    expect(s.alerts.map((a) => [a.fingerprint, a.status])).toEqual([
      ['fp-errors', 'firing'],
      ['fp-latency', 'resolved'],
    ]);
    // One alert still fires: nothing resolves the incident.
    expect(s.phase).toBe('triggered');
  });
});

describe('notes', () => {
  it('records a note once when it is sent twice with the same request id', async () => {
    const handle = await open();
    const note = { ...by('bob'), text: 'customer ticket #4411 looks related', source: 'slack' as const };
    await handle.signal(addNoteSignal, note);
    await handle.signal(addNoteSignal, { ...note });
    await handle.signal(addNoteSignal, { ...by('bob'), text: note.text, source: 'slack' });
    const s = await afterSignals(handle);
    const notes = s.notes.filter((n) => n.text === note.text);
    // The retry is dropped; the same words under a new request id are a new note.
    expect(notes.map((n) => [n.by, n.source])).toEqual([
      ['bob', 'slack'],
      ['bob', 'slack'],
    ]);
    expect(eventsOf(s, 'note').filter((e) => e.summary === note.text)).toHaveLength(2);
  });
});

describe('malformed signals', () => {
  it('ignores them without failing a workflow task, and goes on working', async () => {
    const handle = await open([errors]);
    const before = await afterSignals(handle);

    const garbage: unknown[] = [
      'not an object',
      {},
      { alerts: [] },
      { alerts: [{ fingerprint: 'fp-x' }] },
      { alerts: [{ ...errors, fingerprint: 'fp-y', status: 'exploded' }] },
      { alerts: [errors], extra: true },
    ];
    for (const payload of garbage) {
      await handle.signal(alertsFiredSignal, payload as AlertsInput);
      await handle.signal(alertsResolvedSignal, payload as AlertsInput);
    }
    await handle.signal('addNote', { actor: 'alice', text: 'no request id' });
    await handle.signal('addNote', { ...by('alice'), text: '' });
    await handle.signal('addNote', 42);

    const after = await afterSignals(handle);
    expect(after.alerts).toEqual(before.alerts);
    expect(after.notes).toHaveLength(before.notes.length + 1);
    expect(after.timeline).toHaveLength(before.timeline.length + 1);

    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(0);

    const acknowledged = await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    expect(acknowledged.phase).toBe('acknowledged');
  });
});
