/**
 * Paging steps that name an on-call schedule (issue #22), against the real Temporal dev
 * server: who is paged is decided when the step pages, an override made mid-incident
 * changes the next page only, and a gap falls through to the next step at once.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load';
import type { BatonConfigInput } from '../config/schema';
import { scheduleStoreIn } from '../activities/store/schedule-store';
import { incidentWorkflow } from '../workflows/incident/incident';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  addNoteSignal,
  alertsFiredSignal,
  escalateUpdate,
  resolveUpdate,
} from '../workflows/incident/messages';
import type { IncidentState, TimelineEvent } from '../workflows/incident/state';
import { testConfig } from './support/config';
import { onCallNow } from './support/on-call';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
type Steps = BatonConfigInput['teams'][number]['escalation']['steps'];
type Adjust = { overrides?: { member: string; from: string; to: string }[]; timeOff?: typeof awayBoth };
const awayBoth = [
  { member: 'alice', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) },
  { member: 'bob', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) },
];
/** An override that puts `member` on call from a day ago for a week: tests do not depend on the week. */
const pinned = (member: string) => ({
  overrides: [{ member, from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) }],
});

let workers: TestWorker[] = [];
afterEach(async () => {
  for (const w of workers) await w.stop();
  workers = [];
});

async function workerWith(steps: Steps, adjust: Adjust, repeat = 1, taskQueue?: string): Promise<TestWorker> {
  const w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('no team');
      team.escalation = { steps, repeat };
      c.schedules = [
        {
          id: 'payments-l2',
          team: 'payments',
          name: 'Payments L2',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['alice', 'bob'], shift: '1w', handoff: '2026-11-02T09:00' }],
          ...adjust,
        },
      ];
    }),
    'schedule-paging',
    {},
    taskQueue ? { taskQueue } : {},
  );
  workers.push(w);
  return w;
}

const eventsOf = (s: IncidentState, kind: TimelineEvent['kind']): TimelineEvent[] =>
  s.timeline.filter((e) => e.kind === kind);

async function untilEvents(
  handle: IncidentHandle,
  kind: TimelineEvent['kind'],
  count: number,
  timeoutMs = 20_000,
) {
  return eventually(async () => {
    const s = await state(handle);
    return eventsOf(s, kind).length >= count ? s : undefined;
  }, timeoutMs);
}

function pagesTo(w: TestWorker, id: string): string[][] {
  return w
    .outbox(id)
    .filter((e) => e.notification.kind === 'page')
    .map((e) => e.notification.responders.map((r) => r.id));
}

describe('paging a schedule', () => {
  it('an escalation step that names a schedule pages whoever is on call when it pages', async () => {
    const w = await workerWith(
      [
        { notify: ['dave'], ackTimeout: '2s' },
        { notify: ['schedule:payments-l2'], ackTimeout: '1h' },
      ],
      pinned('bob'),
    );
    const handle = await startIncident(w);
    const s = await untilEvents(handle, 'paged', 2);
    const second = eventsOf(s, 'paged')[1];
    expect(second?.summary).toBe('paged Bob Okafor (on call for Payments L2) (round 1 of 1, step 2 of 2)');
    expect(second?.details).toMatchObject({ to: ['bob'], schedules: { bob: 'payments-l2' }, step: 2 });
    const page = await eventually(() =>
      w.outbox(handle.workflowId).find((e) => e.notification.responders.some((r) => r.id === 'bob')),
    );
    expect(page.notification.text).toContain(
      'You are paged as on call for Payments L2 (round 1 of 1, step 2 of 2).',
    );
    expect(pagesTo(w, handle.workflowId)).toEqual([['dave'], ['bob']]);
  });

  it('the first page of a new incident goes to whoever the schedule has on call at its start', async () => {
    const w = await workerWith([{ notify: ['schedule:payments-l2'], ackTimeout: '1h' }], pinned('alice'));
    const handle = await startIncident(w);
    const [paged] = eventsOf(await state(handle), 'paged');
    expect(paged?.summary).toBe('paged Alice Ng (on call for Payments L2) (round 1 of 1, step 1 of 1)');
    expect(paged?.details).toMatchObject({ to: ['alice'], schedules: { alice: 'payments-l2' } });
    await eventually(() => (pagesTo(w, handle.workflowId).length > 0 ? true : undefined));
    expect(pagesTo(w, handle.workflowId)).toEqual([['alice']]);
  });

  it('an override made while the incident is open changes the next page, not the one already sent', async () => {
    const w = await workerWith([{ notify: ['schedule:payments-l2'], ackTimeout: '3s' }], pinned('alice'), 2);
    const handle = await startIncident(w);
    expect(eventsOf(await state(handle), 'paged')[0]?.details?.to).toEqual(['alice']);
    // An operator hands the pager to bob through the schedule store, as the API does.
    await scheduleStoreIn(w.dataDir).addOverride('payments-l2', {
      member: 'bob',
      from: Date.now() - 1000,
      to: Date.now() + DAY,
      by: 'dave',
      at: new Date().toISOString(),
    });
    const s = await untilEvents(handle, 'paged', 2);
    const [first, second] = eventsOf(s, 'paged');
    expect(first?.details?.to).toEqual(['alice']);
    expect(second?.details).toMatchObject({ to: ['bob'], round: 2, schedules: { bob: 'payments-l2' } });
    await eventually(() => (pagesTo(w, handle.workflowId).length >= 2 ? true : undefined));
    expect(pagesTo(w, handle.workflowId)).toEqual([['alice'], ['bob']]);
  });

  it('a step whose schedule has nobody on call falls through to the next step at once, saying why', async () => {
    const w = await workerWith(
      [
        { notify: ['schedule:payments-l2'], ackTimeout: '1h' },
        { notify: ['dave'], ackTimeout: '1h' },
      ],
      { timeOff: awayBoth },
    );
    const handle = await startIncident(w);
    // dave's step has an hour's timeout: a page within seconds is the fall-through, not a timer.
    const s = await untilEvents(handle, 'paged', 1, 10_000);
    const [gap] = eventsOf(s, 'paging-gap');
    expect(gap?.summary).toBe(
      'nobody is on call for Payments L2 (gap: time off); paging the next step (round 1 of 1, step 1 of 2)',
    );
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['dave']]);
    expect(s.escalation).toMatchObject({ step: 1, exhausted: false });
    await eventually(() => (pagesTo(w, handle.workflowId).length > 0 ? true : undefined));
    expect(pagesTo(w, handle.workflowId)).toEqual([['dave']]);
  });

  it('when every step of a round is a gap, the managers are paged instead of looping', async () => {
    const w = await workerWith(
      [{ notify: ['schedule:payments-l2'], ackTimeout: '1h' }],
      { timeOff: awayBoth },
      3,
    );
    const handle = await startIncident(w);
    const s = await untilEvents(handle, 'escalation-exhausted', 1, 10_000);
    expect(eventsOf(s, 'paging-gap')).toHaveLength(1);
    expect(eventsOf(s, 'escalation-exhausted')[0]?.summary).toBe(
      'nobody was on call at any of the 1 step(s) in a row; managers paged',
    );
    expect(s.escalation.exhausted).toBe(true);
    await eventually(() => (pagesTo(w, handle.workflowId).length > 0 ? true : undefined));
    expect(pagesTo(w, handle.workflowId)).toEqual([['dave']]);
  });

  it('a step that mixes a person and a schedule pages both, once each', async () => {
    const w = await workerWith(
      [
        { notify: ['dave'], ackTimeout: '2s' },
        { notify: ['alice', 'schedule:payments-l2', 'bob'], ackTimeout: '1h' },
      ],
      pinned('bob'),
    );
    const handle = await startIncident(w);
    const s = await untilEvents(handle, 'paged', 2);
    const second = eventsOf(s, 'paged')[1];
    expect(second?.summary).toBe(
      'paged Alice Ng, Bob Okafor (on call for Payments L2) (round 1 of 1, step 2 of 2)',
    );
    expect(second?.details).toMatchObject({ to: ['alice', 'bob'], schedules: { bob: 'payments-l2' } });
    const page = await eventually(() => w.outbox(handle.workflowId)[1]);
    expect(page.notification.text).toContain(
      'You are paged (round 1 of 1, step 2 of 2): Alice Ng directly; Bob Okafor as on call for Payments L2.',
    );
  });

  it('schedule:<id>:next pages the one after whoever is on call now', async () => {
    const w = await workerWith([{ notify: ['schedule:payments-l2:next'], ackTimeout: '1h' }], pinned('bob'));
    const handle = await startIncident(w);
    const [paged] = eventsOf(await state(handle), 'paged');
    expect(paged?.summary).toBe('paged Alice Ng (next on call for Payments L2) (round 1 of 1, step 1 of 1)');
    expect(paged?.details?.to).toEqual(['alice']);
  });

  it('a worker that takes over after the schedule was asked pages nobody again', async () => {
    const w = await workerWith(
      [
        { notify: ['dave'], ackTimeout: '2s' },
        { notify: ['schedule:payments-l2'], ackTimeout: '1h' },
      ],
      pinned('bob'),
    );
    const handle = await startIncident(w);
    await untilEvents(handle, 'paged', 2);
    await eventually(() => (pagesTo(w, handle.workflowId).length >= 2 ? true : undefined));
    await w.stop();
    workers = workers.filter((x) => x !== w);
    // The schedule now says alice; the new worker replays the recorded answer (bob) instead of asking again.
    const next = await workerWith(
      [
        { notify: ['dave'], ackTimeout: '2s' },
        { notify: ['schedule:payments-l2'], ackTimeout: '1h' },
      ],
      pinned('alice'),
      1,
      w.taskQueue,
    );
    const taken = next.client.workflow.getHandle<typeof incidentWorkflow>(handle.workflowId);
    await taken.signal(addNoteSignal, { ...by('dave'), text: 'still looking', source: 'api' });
    const s = await untilEvents(taken, 'note', 1);
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([['dave'], ['bob']]);
    expect(pagesTo(w, handle.workflowId)).toEqual([['dave'], ['bob']]);
    expect(pagesTo(next, handle.workflowId)).toEqual([]);
  });
});

type Level3 = BatonConfigInput['teams'][number]['level3'];

/** Level 2 is alice, Level 3 the `payments-l3` schedule of carol and erin as `level3` names it. */
async function level3WorkerWith(
  level3: Level3,
  adjust: Adjust,
  change?: (c: BatonConfigInput) => void,
): Promise<TestWorker> {
  const w = await startTestWorker(
    testConfig((c) => {
      const team = c.teams[0];
      if (!team) throw new Error('no team');
      team.level3 = level3;
      c.schedules = [
        {
          id: 'payments-l3',
          team: 'payments',
          name: 'Payments L3',
          timezone: 'Europe/Berlin',
          layers: [{ members: ['carol', 'erin'], shift: '1w', handoff: '2026-11-02T09:00' }],
          ...adjust,
        },
      ];
      change?.(c);
    }),
    'schedule-level3',
  );
  workers.push(w);
  return w;
}

async function escalated(w: TestWorker): Promise<IncidentHandle> {
  const handle = await startIncident(w);
  await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
  await handle.executeUpdate(escalateUpdate, {
    args: [{ ...by('alice'), reason: 'the restart did not help' }],
  });
  return handle;
}

describe('a first Level 3 step that names a schedule', () => {
  it('hands over to whoever the Level 3 schedule has on call when the incident escalates', async () => {
    const w = await level3WorkerWith(
      [
        { notify: ['schedule:payments-l3'], acceptTimeout: '1h' },
        { notify: ['dave'], acceptTimeout: '1h' },
      ],
      { overrides: [{ member: 'erin', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) }] },
    );
    const handle = await escalated(w);
    // The update answers once Level 3 is paged: the package is on the record already.
    const s = await state(handle);
    const [pkg] = eventsOf(s, 'handover-package');
    expect(pkg?.summary).toBe(
      'handover package sent to #payments-l3 and Erin Park (on call for Payments L3)',
    );
    expect(pkg?.details).toMatchObject({ to: ['erin'], schedules: { erin: 'payments-l3' } });
    expect(eventsOf(s, 'handover-meeting')[0]?.details?.to).toEqual(['alice', 'erin']);
    expect(s.handover).toMatchObject({ level3Step: 0, reached: ['erin'], paged: ['erin'] });
    expect(eventsOf(s, 'paging-gap')).toEqual([]);
    const sent = await eventually(() =>
      w.outbox(handle.workflowId).find((e) => e.notification.kind === 'handover'),
    );
    expect(sent.notification.responders.map((r) => r.id)).toEqual(['erin']);
    expect(sent.notification.text).toContain(
      'You are paged as on call for Payments L3 to accept the handover.',
    );
    // erin, whom the schedule paged, may accept; the handover is hers.
    await handle.executeUpdate(acceptHandoverUpdate, { args: [{ ...by('erin'), notes: 'mine' }] });
    expect((await state(handle)).holder).toBe('erin');
  });

  it('falls through to the next Level 3 step at once when the schedule has nobody on call', async () => {
    const away = [
      { member: 'carol', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) },
      { member: 'erin', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) },
    ];
    const w = await level3WorkerWith(
      [
        { notify: ['schedule:payments-l3'], acceptTimeout: '1h' },
        { notify: ['dave'], acceptTimeout: '1h' },
      ],
      { timeOff: away },
    );
    const handle = await escalated(w);
    // The first step's hour has not passed: a page to dave within seconds is the fall-through.
    const s = await untilEvents(handle, 'level3-paged', 1, 10_000);
    expect(eventsOf(s, 'paging-gap')[0]?.summary).toBe(
      'nobody is on call for Payments L3 (gap: time off); paging the next Level 3 step',
    );
    const [toDave] = eventsOf(s, 'level3-paged');
    expect(toDave?.summary).toBe('nobody was on call at the previous Level 3 step; paged dave');
    expect(toDave?.details?.to).toEqual(['dave']);
    expect(s.handover).toMatchObject({ level3Step: 1, exhausted: false });
    // dave was paged: the next page waits for his accept timeout, it does not follow at once.
    expect(s.handover?.fellThrough).toBeUndefined();
  });

  it('nudges whoever the first step’s schedule has on call while nobody holds the incident', async () => {
    const w = await level3WorkerWith(
      [{ notify: ['carol'], acceptTimeout: '1h' }],
      { overrides: [{ member: 'erin', from: iso(Date.now() - DAY), to: iso(Date.now() + 7 * DAY) }] },
      (c) => {
        c.teams[0]!.escalation = {
          steps: [{ notify: ['schedule:payments-l3'], ackTimeout: '1h' }],
          repeat: 1,
        };
        c.severities.SEV2.nudgeEscalationAfter = '2s';
      },
    );
    const handle = await startIncident(w);
    await untilEvents(handle, 'escalation-nudge', 1, 10_000);
    const nudge = await eventually(() =>
      w.outbox(handle.workflowId).find((e) => e.notification.kind === 'nudge'),
    );
    expect(nudge.notification.responders.map((r) => r.id)).toEqual(['erin']);
  });
});

describe('a reopened incident whose first step names a schedule', () => {
  it('pages whoever is on call when the alerts fire again, as the first page did', async () => {
    const w = await workerWith([{ notify: ['schedule:payments-l2'], ackTimeout: '1h' }], pinned('alice'));
    const handle = await startIncident(w, { alerts: [alert('HighLatency', 'fp-reopen-1')] });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'restarted' }] });
    await handle.signal(alertsFiredSignal, {
      alerts: [{ ...alert('HighLatency', 'fp-reopen-1'), startsAt: new Date().toISOString() }],
    });
    const s = await untilEvents(handle, 'paged', 2);
    expect(eventsOf(s, 'reopened')).toHaveLength(1);
    expect(eventsOf(s, 'paged')[1]?.summary).toBe(
      'paged Alice Ng (on call for Payments L2) (round 1 of 1, step 1 of 1)',
    );
    // The reopening tells the previous holder; the page after it goes to whoever is on call.
    const onCallPages = () =>
      w
        .outbox(handle.workflowId)
        .filter(
          (e) => e.notification.kind === 'page' && e.notification.text.includes('You are paged as on call'),
        )
        .map((e) => e.notification.responders.map((r) => r.id));
    await eventually(() => (onCallPages().length >= 2 ? true : undefined));
    expect(onCallPages()).toEqual([['alice'], ['alice']]);
  });
});

describe('the demo configuration', () => {
  it('pages this week’s member first, and after an override the next page of the open incident goes to the other', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-demo-schedule-'));
    const file = path.join(dir, 'baton.yaml');
    // The demo's timeouts, shortened so that round 2 comes within seconds.
    writeFileSync(
      file,
      readFileSync(path.join('config', 'baton.yaml'), 'utf8').replace(/ackTimeout: \d+m/g, 'ackTimeout: 2s'),
    );
    const config = loadConfigFile(file);
    const week = onCallNow(config);
    expect(['alice', 'bob']).toContain(week);
    const other = week === 'alice' ? 'bob' : 'alice';
    const w = await startTestWorker(config, 'demo-schedule');
    workers.push(w);
    const handle = await startIncident(w);
    const [first] = eventsOf(await state(handle), 'paged');
    expect(first?.details).toMatchObject({ to: [week], schedules: { [week as string]: 'payments-l2' } });
    expect(first?.summary).toContain('(on call for Payments Level 2)');
    await scheduleStoreIn(w.dataDir).addOverride('payments-l2', {
      member: other,
      from: Date.now() - 1000,
      to: Date.now() + DAY,
      by: 'dave',
      at: new Date().toISOString(),
    });
    // Steps: the schedule, bob, dave; then round 2 begins with the schedule again.
    const s = await untilEvents(handle, 'paged', 4, 30_000);
    expect(eventsOf(s, 'paged').map((e) => e.details?.to)).toEqual([[week], ['bob'], ['dave'], [other]]);
  }, 40_000);
});
