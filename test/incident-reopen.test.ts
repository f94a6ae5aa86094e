/**
 * Alerts that fire again after the incident was resolved bring it back: it reopens, pages
 * through the escalation policy until someone acknowledges, and its follow-ups wait until it
 * is resolved again. Against the real Temporal server, with timers of a second.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  acknowledgeUpdate,
  alertsFiredSignal,
  alertsResolvedSignal,
  resolveUpdate,
  submitReportUpdate,
  waiveFollowUpUpdate,
} from '../workflows/incident/messages';
import type { Alert } from '../workflows/incident/model';
import { testConfig } from './support/config';
import { alert, by, startIncident, type IncidentHandle } from './support/incidents';
import {
  addressed,
  eventsOf,
  ms,
  refusalOf,
  terminateAll,
  waitForEvents,
  waitForOutbox,
} from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';

let w: TestWorker;
const started: IncidentHandle[] = [];

beforeAll(async () => {
  w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('the test configuration has a team');
      team.escalation = {
        steps: [
          { notify: ['alice'], ackTimeout: '2s' },
          { notify: ['bob'], ackTimeout: '2s' },
        ],
        repeat: 1,
      };
    }),
    'reopen',
  );
});
afterAll(async () => {
  await terminateAll(started);
  await w?.stop();
});

async function open(alerts: Alert[]): Promise<IncidentHandle> {
  const handle = await startIncident(w, { alerts });
  started.push(handle);
  return handle;
}

/** The same alert firing again, as Alertmanager sends it after it cleared: a new start time. */
function again(a: Alert, startsAt: string): Alert {
  return { ...a, startsAt };
}
const cleared = (a: Alert): Alert => ({ ...a, status: 'resolved', endsAt: '2026-11-26T10:01:00Z' });

describe.concurrent('alerts firing again after resolution', () => {
  it('a flapping alert (fire, clear, fire) pages through the whole policy until someone acknowledges', async ({
    expect,
  }) => {
    const latency = alert('HighLatency', 'fp-flap');
    const handle = await open([latency]);
    await handle.signal(alertsResolvedSignal, { alerts: [cleared(latency)] });
    const resolved = await waitForEvents(handle, 'resolved');
    expect(resolved).toMatchObject({ phase: 'post-incident', resolution: { automatic: true } });

    await handle.signal(alertsFiredSignal, { alerts: [again(latency, '2026-11-26T10:02:00Z')] });
    const s = await waitForEvents(handle, 'escalation-exhausted', 1, 30_000);
    expect(s.phase).toBe('triggered');
    expect(s.resolution).toBeUndefined();
    const [reopened] = eventsOf(s, 'reopened');
    expect(reopened).toMatchObject({
      actor: 'baton',
      details: { alerts: ['fp-flap'], escalation: 'resumed', channels: ['#payments-incidents'] },
    });
    // Nobody had acknowledged: paging went on where it stood, to bob and then the managers.
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
    expect(eventsOf(s, 'escalation-exhausted')[0]?.details?.to).toEqual(['dave']);
    // The follow-ups the clearing scheduled (SEV2 asks for all three) wait for the next resolution.
    expect(s.followUps.map((f) => [f.id, f.status])).toEqual([
      ['report', 'suspended'],
      ['lessons', 'suspended'],
      ['training', 'suspended'],
    ]);
    expect(s.reopenings).toMatchObject([{ alerts: ['fp-flap'], resolution: { automatic: true } }]);

    const pages = (
      await waitForOutbox(w, s.id, (o) => o.filter((e) => e.notification.kind === 'page').length >= 4)
    )
      .map(addressed)
      .filter((e) => e.kind === 'page');
    expect(pages.map((p) => [p.subject.replace(/^\[SEV2\] /, '').split(':')[0], p.to])).toEqual([
      ['Incident needs acknowledgement', ['alice']],
      ['Alerts firing again', []],
      ['Incident needs acknowledgement', ['bob']],
      ['Nobody acknowledged', ['dave']],
    ]);
  });

  it('an incident a person resolved reopens, pages from the first step and closes after it is resolved again', async ({
    expect,
  }) => {
    const latency = alert('HighLatency', 'fp-refire');
    const handle = await open([latency]);
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    const first = await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('bob'), summary: 'restarted' }],
    });
    const firstLessonsDue = first.followUps.find((f) => f.id === 'lessons')?.dueAt;
    await handle.executeUpdate(submitReportUpdate, {
      args: [
        {
          ...by('bob'),
          summary: 's',
          rootCause: 'leak',
          actionsAndResults: 'restart',
          recommendations: 'fix',
        },
      ],
    });

    await handle.signal(alertsFiredSignal, { alerts: [again(latency, '2026-11-26T11:00:00Z')] });
    const s = await waitForEvents(handle, 'paged', 3, 30_000);
    expect(s).toMatchObject({ phase: 'triggered' });
    expect(s.acknowledgedBy).toBeUndefined();
    expect(s.holder).toBeUndefined();
    expect(eventsOf(s, 'reopened')[0]?.details).toMatchObject({ escalation: 'restarted', to: ['bob'] });
    // Alice first again (the policy restarted), then bob when she did not acknowledge.
    const paged = eventsOf(s, 'paged');
    expect(paged.map((e) => e.details?.to)).toEqual([['alice'], ['alice'], ['bob']]);
    expect(ms(paged[2]?.at ?? '')).toBeGreaterThanOrEqual(ms(paged[1]?.at ?? '') + 2_000);
    expect(s.reopenings?.[0]).toMatchObject({
      acknowledgedBy: 'bob',
      holder: 'bob',
      resolution: { by: 'bob' },
    });
    // The report is done; lessons and training wait.
    expect(s.followUps.map((f) => [f.id, f.status])).toEqual([
      ['report', 'done'],
      ['lessons', 'suspended'],
      ['training', 'suspended'],
    ]);
    const refused = await refusalOf(
      handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId: 'lessons', reason: 'x' }],
      }),
    );
    expect(refused.message).toMatch(/not resolved yet/);

    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    const again2 = await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('alice'), summary: 'fixed the leak' }],
    });
    expect(again2.phase).toBe('post-incident');
    const lessons = again2.followUps.find((f) => f.id === 'lessons');
    expect(lessons).toMatchObject({ status: 'open', owner: 'alice' });
    // Due again from the second resolution, not from the first.
    expect(ms(lessons?.dueAt ?? '')).toBeGreaterThan(ms(firstLessonsDue ?? ''));
    for (const followUpId of ['lessons', 'training']) {
      await handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId, reason: 'drill' }],
      });
    }
    const final = await handle.result();
    expect(final.phase).toBe('closed');
    expect(
      final.timeline.map((e) => e.kind).filter((k) => ['resolved', 'reopened', 'closed'].includes(k)),
    ).toEqual(['resolved', 'reopened', 'resolved', 'closed']);
  });
});
