/**
 * Every duty the workflow keeps time for, against the real Temporal server: paging until
 * someone acknowledges, the assessment reminder, Level 3 acceptance, the escalation nudge,
 * stakeholder update reminders, follow-up reminders and overdue notices, and auto-resolve.
 * Each test shortens only the durations it exercises; the others stay at an hour.
 * The tests wait on timers, so they run concurrently.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BatonConfigInput } from '../config/schema';
import {
  acceptHandoverUpdate,
  acknowledgeUpdate,
  alertsFiredSignal,
  alertsResolvedSignal,
  assessUpdate,
  communicateUpdate,
  confirmTrainingUpdate,
  escalateUpdate,
  recordLessonsUpdate,
  recordTrainingUpdate,
  resolveUpdate,
  waiveFollowUpUpdate,
} from '../workflows/incident/messages';
import type { Alert, Severity } from '../workflows/incident/model';
import { testConfig } from './support/config';
import { afterStep, alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import {
  addressed,
  eventsOf,
  ms,
  pastDeadline,
  terminateAll,
  waitForEvents,
  waitForOutbox,
} from './support/timeline';
import { startTestWorker, type TestWorker } from './support/worker';
import { recordFolderName } from '../activities/documentation';

/**
 * An incident runs by its worker's configuration (the workflow takes its policy from there),
 * so each test's timings get a worker of their own, started once per configuration.
 */
const workers = new Map<string, Promise<TestWorker>>();
const started: IncidentHandle[] = [];

/** Every worker's outbox at once: each incident lives on exactly one of them. */
const w: Pick<TestWorker, 'outbox'> = {
  outbox: (incidentId: string) => [...settled.values()].flatMap((worker) => worker.outbox(incidentId)),
};
const settled = new Map<string, TestWorker>();

async function workerFor(change: (c: BatonConfigInput) => void): Promise<TestWorker> {
  const config = testConfig(change);
  const key = JSON.stringify(config);
  let worker = workers.get(key);
  if (!worker) {
    worker = startTestWorker(config, `timers-${workers.size}`);
    workers.set(key, worker);
    settled.set(key, await worker);
  }
  return worker;
}

beforeAll(async () => {
  await workerFor(() => undefined);
});
afterAll(async () => {
  await terminateAll(started);
  await Promise.all([...workers.values()].map(async (worker) => (await worker).stop()));
});

async function open(
  change: (c: BatonConfigInput) => void,
  options: { severity?: Severity; alerts?: Alert[] } = {},
): Promise<IncidentHandle> {
  const handle = await startIncident(await workerFor(change), options);
  started.push(handle);
  return handle;
}

function paging(steps: [string, string][], repeat: number): (c: BatonConfigInput) => void {
  return (c) => {
    const team = c.teams[0];
    if (!team) throw new Error('the test configuration has a team');
    team.escalation = { steps: steps.map(([id, ackTimeout]) => ({ notify: [id], ackTimeout })), repeat };
  };
}

describe.concurrent('paging until somebody acknowledges', () => {
  it('pages alice, then bob after her ack timeout, then dave after bob’s, then the managers', async ({
    expect,
  }) => {
    const handle = await open(
      paging(
        [
          ['alice', '1s'],
          ['bob', '2s'],
          ['dave', '1s'],
        ],
        1,
      ),
    );
    const s = await waitForEvents(handle, 'escalation-exhausted');

    const paged = eventsOf(s, 'paged');
    expect(paged.map((e) => [e.actor, e.details])).toEqual([
      ['baton', { to: ['alice'], channels: ['#payments-incidents'], round: 1, step: 1 }],
      ['baton', { to: ['bob'], channels: ['#payments-incidents'], round: 1, step: 2 }],
      ['baton', { to: ['dave'], channels: ['#payments-incidents'], round: 1, step: 3 }],
    ]);
    const [alicePaged, bobPaged, davePaged] = paged.map((e) => ms(e.at));
    const [exhausted] = eventsOf(s, 'escalation-exhausted');
    // Each step waits its own ack timeout, measured on the workflow's clock.
    expect(bobPaged).toBeGreaterThanOrEqual(ms(s.openedAt) + 1_000);
    expect(davePaged).toBeGreaterThanOrEqual((bobPaged ?? 0) + 2_000);
    expect(ms(exhausted?.at ?? '')).toBeGreaterThanOrEqual((davePaged ?? 0) + 1_000);
    expect(alicePaged).toBeLessThan(bobPaged ?? 0);
    expect(exhausted).toMatchObject({ actor: 'baton', details: { to: ['dave'] } });
    expect(exhausted?.summary).toMatch(/after 1 round\(s\)/);
    expect(s.phase).toBe('triggered');
    expect(s.escalation).toMatchObject({ exhausted: true, round: 0, step: 2 });

    const pages = (await waitForOutbox(w, s.id, (o) => o.length >= 4)).map(addressed);
    expect(pages.map((p) => [p.kind, p.to, p.channels])).toEqual([
      ['page', ['alice'], ['#payments-incidents']],
      ['page', ['bob'], ['#payments-incidents']],
      ['page', ['dave'], ['#payments-incidents']],
      ['page', ['dave'], ['#payments-incidents']],
    ]);
    expect(pages[3]?.subject).toMatch(/Nobody acknowledged/);

    // One round only: nobody is paged again after the managers, even past alice's timeout.
    const later = await pastDeadline(handle, ms(exhausted?.at ?? '') + 1_000);
    expect(eventsOf(later, 'paged')).toHaveLength(3);
    expect(eventsOf(later, 'escalation-exhausted')).toHaveLength(1);
  });

  it('with repeat 2 starts the second round at alice again before paging the managers', async ({
    expect,
  }) => {
    const handle = await open(
      paging(
        [
          ['alice', '1s'],
          ['bob', '1s'],
          ['dave', '1s'],
        ],
        2,
      ),
    );
    const s = await waitForEvents(handle, 'escalation-exhausted');
    expect(eventsOf(s, 'paged').map((e) => e.details)).toEqual([
      { to: ['alice'], channels: ['#payments-incidents'], round: 1, step: 1 },
      { to: ['bob'], channels: ['#payments-incidents'], round: 1, step: 2 },
      { to: ['dave'], channels: ['#payments-incidents'], round: 1, step: 3 },
      { to: ['alice'], channels: ['#payments-incidents'], round: 2, step: 1 },
      { to: ['bob'], channels: ['#payments-incidents'], round: 2, step: 2 },
      { to: ['dave'], channels: ['#payments-incidents'], round: 2, step: 3 },
    ]);
    expect(eventsOf(s, 'escalation-exhausted')[0]?.summary).toMatch(/after 2 round\(s\)/);

    const pages = (await waitForOutbox(w, s.id, (o) => o.length >= 7)).map(addressed);
    expect(pages.map((p) => p.to)).toEqual([
      ['alice'],
      ['bob'],
      ['dave'],
      ['alice'],
      ['bob'],
      ['dave'],
      ['dave'],
    ]);
    expect(w.outbox(s.id)[3]?.notification.text).toMatch(/round 2 of 2, step 1 of 3/);
    expect(pages[6]?.subject).toMatch(/Nobody acknowledged/);
  });

  it('stops paging once somebody acknowledges', async ({ expect }) => {
    const handle = await open(
      paging(
        [
          ['alice', '1s'],
          ['bob', '2s'],
          ['dave', '1s'],
        ],
        1,
      ),
    );
    const s = await waitForEvents(handle, 'paged', 2);
    const bobPaged = eventsOf(s, 'paged')[1];
    expect(bobPaged?.details).toMatchObject({ to: ['bob'] });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });

    const later = await pastDeadline(handle, ms(bobPaged?.at ?? '') + 2_000);
    expect(eventsOf(later, 'paged')).toHaveLength(2);
    expect(eventsOf(later, 'escalation-exhausted')).toHaveLength(0);
    expect(later).toMatchObject({ phase: 'acknowledged', holder: 'bob' });
    expect(w.outbox(s.id).filter((e) => e.notification.kind === 'page')).toHaveLength(2);
  });
});

describe.concurrent('reminders and nudges while the incident is open', () => {
  it('reminds the holder when the incident is acknowledged but not assessed in time', async ({ expect }) => {
    const handle = await open((c) => {
      c.severities.SEV2.assessWithin = '1s';
    });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });

    const s = await waitForEvents(handle, 'assessment-reminder', 2);
    const reminders = eventsOf(s, 'assessment-reminder');
    expect(reminders.map((e) => [e.actor, e.details])).toEqual([
      ['baton', { to: ['bob'], channels: ['#payments-incidents'] }],
      ['baton', { to: ['bob'], channels: ['#payments-incidents'] }],
    ]);
    // Due within assessWithin of the acknowledgement, then again each period.
    expect(ms(reminders[0]?.at ?? '')).toBeGreaterThanOrEqual(ms(s.acknowledgedAt ?? '') + 1_000);
    expect(ms(reminders[1]?.at ?? '')).toBeGreaterThanOrEqual(ms(reminders[0]?.at ?? '') + 1_000);

    const sent = await waitForOutbox(
      w,
      s.id,
      (o) => o.filter((e) => e.notification.kind === 'reminder').length >= 2,
    );
    const reminder = sent.map(addressed).find((e) => e.kind === 'reminder');
    expect(reminder).toMatchObject({ to: ['bob'], channels: ['#payments-incidents'] });
    expect(reminder?.subject).toMatch(/Assessment due/);

    // The assessment ends the reminders.
    const assessed = await afterStep(
      handle,
      handle.executeUpdate(assessUpdate, {
        args: [
          {
            ...by('bob'),
            severity: 'SEV2',
            urgency: 'high',
            impact: 'slow checkout',
            observations: 'p99 up',
          },
        ],
      }),
    );
    const count = eventsOf(assessed, 'assessment-reminder').length;
    const later = await pastDeadline(handle, ms(eventsOf(assessed, 'assessed')[0]?.at ?? '') + 1_000);
    expect(eventsOf(later, 'assessment-reminder')).toHaveLength(count);
  });

  it('nudges to escalate past the severity’s limit: immediately for SEV1 and SEV2, as advice for SEV3', async ({
    expect,
  }) => {
    const change = (c: BatonConfigInput): void => {
      c.severities.SEV1.nudgeEscalationAfter = '1s';
      c.severities.SEV2.nudgeEscalationAfter = '1s';
      c.severities.SEV3.nudgeEscalationAfter = '1s';
    };
    const handles = await Promise.all(
      (['SEV1', 'SEV2', 'SEV3'] as const).map((severity) => open(change, { severity })),
    );
    const states = await Promise.all(handles.map((h) => waitForEvents(h, 'escalation-nudge')));
    const expected = [
      ['SEV1', true],
      ['SEV2', true],
      ['SEV3', false],
    ] as const;
    expect(states).toHaveLength(expected.length);
    for (const [index, s] of states.entries()) {
      const [severity, immediate] = expected[index] ?? [];
      const [nudge] = eventsOf(s, 'escalation-nudge');
      // Nobody holds it yet: the first step of the paging policy is nudged.
      expect(nudge).toMatchObject({ actor: 'baton', details: { severity, immediate, to: ['alice'] } });
      expect(ms(nudge?.at ?? '')).toBeGreaterThanOrEqual(ms(s.openedAt) + 1_000);
      const sent = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'nudge'));
      const notice = sent.map(addressed).find((e) => e.kind === 'nudge');
      expect(notice).toMatchObject({ to: ['alice'], channels: ['#payments-incidents'] });
      expect(notice?.subject).toMatch(immediate ? /Escalate to Level 3 now/ : /Consider escalating/);
    }
  });

  it('nudges the holder as soon as an assessment raises the severity past its limit', async ({ expect }) => {
    const handle = await open(
      (c) => {
        c.severities.SEV1.nudgeEscalationAfter = '1s';
      },
      { severity: 'SEV4' },
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    const before = await state(handle);
    expect(eventsOf(before, 'escalation-nudge')).toHaveLength(0);
    await handle.executeUpdate(assessUpdate, {
      args: [
        { ...by('bob'), severity: 'SEV1', urgency: 'critical', impact: 'all payments', observations: '5xx' },
      ],
    });
    const s = await waitForEvents(handle, 'escalation-nudge');
    const [nudge] = eventsOf(s, 'escalation-nudge');
    expect(nudge?.details).toEqual({
      to: ['bob'],
      channels: ['#payments-incidents'],
      severity: 'SEV1',
      immediate: true,
    });
    expect(ms(nudge?.at ?? '')).toBeGreaterThanOrEqual(ms(eventsOf(s, 'assessed')[0]?.at ?? ''));
    const sent = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'nudge'));
    expect(sent.map(addressed).find((e) => e.kind === 'nudge')?.to).toEqual(['bob']);
  });

  it('reminds the holder when a stakeholder update is overdue at the severity’s cadence; an internal update resets it', async ({
    expect,
  }) => {
    const handle = await open(
      (c) => {
        c.severities.SEV1.stakeholderUpdateEvery = '2s';
      },
      { severity: 'SEV3' },
    );
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    // SEV3's cadence is an hour; the assessment moves the incident to SEV1's two seconds.
    const assessed = await afterStep(
      handle,
      handle.executeUpdate(assessUpdate, {
        args: [
          {
            ...by('alice'),
            severity: 'SEV1',
            urgency: 'critical',
            impact: 'checkout down',
            observations: 'x',
          },
        ],
      }),
    );
    expect(eventsOf(assessed, 'stakeholder-update-reminder')).toHaveLength(0);

    const s = await waitForEvents(handle, 'stakeholder-update-reminder');
    const [first] = eventsOf(s, 'stakeholder-update-reminder');
    expect(first).toMatchObject({
      actor: 'baton',
      details: { to: ['alice'], channels: ['#payments-incidents'] },
    });
    expect(ms(first?.at ?? '')).toBeGreaterThanOrEqual(ms(s.acknowledgedAt ?? '') + 2_000);
    const sent = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'reminder'));
    const reminder = sent.map(addressed).find((e) => e.kind === 'reminder');
    expect(reminder).toMatchObject({ to: ['alice'], channels: ['#payments-incidents'] });
    expect(reminder?.subject).toMatch(/Stakeholder update due/);

    // Halfway to the next reminder, an internal update restarts the cadence from its time.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const updated = await afterStep(
      handle,
      handle.executeUpdate(communicateUpdate, {
        args: [{ ...by('alice'), audience: 'internal', message: 'failing over to the secondary provider' }],
      }),
    );
    const communicatedAt = ms(updated.lastStakeholderUpdateAt);
    const remindersBefore = eventsOf(updated, 'stakeholder-update-reminder').length;

    const after = await waitForEvents(handle, 'stakeholder-update-reminder', remindersBefore + 1);
    const next = eventsOf(after, 'stakeholder-update-reminder')[remindersBefore];
    expect(ms(next?.at ?? '')).toBeGreaterThanOrEqual(communicatedAt + 2_000);
    const isInternal = (e: ReturnType<typeof addressed>): boolean =>
      e.kind === 'update' && /Incident update/.test(e.subject);
    const internal = (await waitForOutbox(w, s.id, (o) => o.map(addressed).some(isInternal)))
      .map(addressed)
      .find(isInternal);
    expect(internal).toMatchObject({
      to: ['dave'],
      channels: ['#payments-incidents', '#payments-status'],
      emails: ['payments-leads@example.com'],
    });
  });
});

describe.concurrent('Level 3 acceptance', () => {
  const level3 = (carol: string, erin: string) => (c: BatonConfigInput) => {
    const team = c.teams[0];
    if (!team) throw new Error('the test configuration has a team');
    team.level3 = [
      { notify: ['carol'], acceptTimeout: carol },
      { notify: ['erin'], acceptTimeout: erin },
    ];
  };

  async function escalated(handle: IncidentHandle): Promise<void> {
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(escalateUpdate, {
      args: [{ ...by('alice'), reason: 'restarts did not help' }],
    });
  }

  it('pages carol with the handover package, then erin, then the managers when nobody accepts', async ({
    expect,
  }) => {
    const handle = await open(level3('1s', '1s'));
    await escalated(handle);
    const s = await waitForEvents(handle, 'level3-paged', 2);

    const [pkg] = eventsOf(s, 'handover-package');
    expect(pkg?.details).toMatchObject({ channels: ['#payments-l3'], to: ['carol'] });
    const [toErin, toManagers] = eventsOf(s, 'level3-paged');
    expect(toErin).toMatchObject({ actor: 'baton', details: { to: ['erin'] } });
    expect(toErin?.summary).toMatch(/carol did not accept; paged erin/);
    expect(toManagers).toMatchObject({ actor: 'baton', details: { to: ['dave'] } });
    expect(toManagers?.summary).toMatch(/managers paged/);
    expect(ms(toErin?.at ?? '')).toBeGreaterThanOrEqual(ms(s.handover?.requestedAt ?? '') + 1_000);
    expect(ms(toManagers?.at ?? '')).toBeGreaterThanOrEqual(ms(toErin?.at ?? '') + 1_000);
    expect(s.handover).toMatchObject({ exhausted: true, level3Step: 1 });
    expect(s.phase).toBe('escalated');

    const sent = (
      await waitForOutbox(w, s.id, (o) => o.some((e) => /Nobody from Level 3/.test(e.notification.subject)))
    ).map(addressed);
    const level3Traffic = sent.filter((e) => e.channels.includes('#payments-l3'));
    expect(level3Traffic.map((e) => [e.kind, e.to])).toEqual([
      ['handover', ['carol']],
      ['meeting', ['alice', 'carol']],
      ['page', ['erin']],
      ['page', ['dave']],
    ]);
    expect(w.outbox(s.id).find((e) => e.notification.kind === 'handover')?.notification.text).toMatch(
      /# Handover: .*[\s\S]*restarts did not help/,
    );
  });

  it('stops paging Level 3 once the handover is accepted', async ({ expect }) => {
    const handle = await open(level3('1s', '2s'));
    await escalated(handle);
    const s = await waitForEvents(handle, 'level3-paged');
    expect(eventsOf(s, 'level3-paged')[0]?.details).toEqual({ to: ['erin'], channels: ['#payments-l3'] });

    const accepted = await afterStep(
      handle,
      handle.executeUpdate(acceptHandoverUpdate, {
        args: [{ ...by('carol'), notes: 'back from lunch, taking it' }],
      }),
    );
    expect(accepted).toMatchObject({ phase: 'collaborating', holder: 'carol' });
    expect(accepted.handover).toMatchObject({ acceptedBy: 'carol', exhausted: false });

    const later = await pastDeadline(handle, ms(accepted.handover?.level3PagedAt ?? '') + 2_000);
    expect(eventsOf(later, 'level3-paged')).toHaveLength(1);
    expect(w.outbox(s.id).some((e) => /Nobody from Level 3/.test(e.notification.subject))).toBe(false);
  });
});

describe.concurrent('post-incident follow-ups', () => {
  it('reminds before the due time, tells the owner and dave when overdue, settles on a waiver and closes', async ({
    expect,
  }) => {
    const handle = await open((c) => {
      c.followUps = {
        reportDue: '3s',
        lessonsDue: '3s',
        trainingDue: '3s',
        remindBefore: '1s',
        overdueNotify: ['dave'],
      };
    });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('bob')] });
    const resolved = await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('bob'), summary: 'rolled back the deploy' }],
    });
    expect(resolved.phase).toBe('post-incident');
    expect(resolved.followUps.map((f) => [f.id, f.owner, f.status])).toEqual([
      ['report', 'bob', 'open'],
      ['lessons', 'bob', 'open'],
      ['training', 'dave', 'open'],
    ]);
    const report = resolved.followUps[0];

    const s = await waitForEvents(handle, 'follow-up-overdue', 3);
    const reminder = eventsOf(s, 'follow-up-reminder').find((e) => e.details?.followUpId === 'report');
    expect(reminder).toMatchObject({ actor: 'baton', details: { followUpId: 'report', to: ['bob'] } });
    // remindBefore (1s) ahead of the due time (3s after resolution).
    expect(ms(reminder?.at ?? '')).toBeGreaterThanOrEqual(ms(report?.dueAt ?? '') - 1_000);
    const overdue = eventsOf(s, 'follow-up-overdue').find((e) => e.details?.followUpId === 'report');
    expect(overdue).toMatchObject({ actor: 'baton', details: { followUpId: 'report', to: ['bob', 'dave'] } });
    expect(ms(overdue?.at ?? '')).toBeGreaterThanOrEqual(ms(report?.dueAt ?? ''));
    expect(ms(overdue?.at ?? '')).toBeGreaterThan(ms(reminder?.at ?? ''));

    const sent = (
      await waitForOutbox(w, s.id, (o) =>
        o.some((e) => e.notification.kind === 'overdue' && /Final report/.test(e.notification.subject)),
      )
    ).map(addressed);
    expect(sent.find((e) => e.kind === 'reminder' && /Due soon: Final report/.test(e.subject))).toMatchObject(
      {
        to: ['bob'],
      },
    );
    expect(sent.find((e) => e.kind === 'overdue' && /Overdue: Final report/.test(e.subject))).toMatchObject({
      to: ['bob', 'dave'],
      channels: ['#payments-incidents'],
    });

    // A manager waives the report: its overdue notices stop while the others' continue.
    const waived = await afterStep(
      handle,
      handle.executeUpdate(waiveFollowUpUpdate, {
        args: [{ ...by('dave'), followUpId: 'report', reason: 'covered by the quarterly review' }],
      }),
    );
    expect(waived.followUps[0]).toMatchObject({ status: 'waived', waiver: { by: 'dave' } });
    const waivedAt = ms(eventsOf(waived, 'follow-up-waived')[0]?.at ?? '');
    expect(waived.phase).toBe('post-incident');
    const later = await pastDeadline(handle, waivedAt + 1_000, 1_500);
    const overdueAfterWaiver = eventsOf(later, 'follow-up-overdue').filter((e) => ms(e.at) > waivedAt);
    expect(overdueAfterWaiver.some((e) => e.details?.followUpId === 'lessons')).toBe(true);
    expect(overdueAfterWaiver.some((e) => e.details?.followUpId === 'report')).toBe(false);

    await handle.executeUpdate(recordLessonsUpdate, {
      args: [{ ...by('bob'), lessons: ['canary deploys'] }],
    });
    await handle.executeUpdate(recordTrainingUpdate, {
      args: [{ ...by('dave'), date: '2026-12-01', attendees: ['alice', 'bob'], material: 'rollback drill' }],
    });
    // Training overdue reaches everyone not yet trained, by name.
    const trainingOverdue = eventsOf(later, 'follow-up-overdue').find(
      (e) => e.details?.followUpId === 'training',
    );
    expect(trainingOverdue?.details?.to).toEqual(['dave', 'alice', 'bob', 'carol', 'erin']);
    for (const member of ['alice', 'bob', 'carol', 'erin', 'dave']) {
      await handle.executeUpdate(confirmTrainingUpdate, { args: [by(member)] });
    }

    const final = await handle.result();
    expect(final.phase).toBe('closed');
    expect(final.closedAt).toBeDefined();
    expect(final.followUps.map((f) => [f.id, f.status])).toEqual([
      ['report', 'waived'],
      ['lessons', 'done'],
      ['training', 'done'],
    ]);
    expect(final.timeline.at(-1)).toMatchObject({ kind: 'closed', actor: 'baton' });
    const closed = w
      .outbox(s.id)
      .map(addressed)
      .find((e) => e.kind === 'closed');
    expect(closed).toMatchObject({ to: ['dave'], channels: ['#payments-incidents'] });
  });
});

describe.concurrent('alerts clearing', () => {
  const firing = (): Alert[] => [alert('HighLatency', 'fp-latency'), alert('ErrorRate', 'fp-errors')];
  const cleared = (alerts: Alert[]): Alert[] =>
    alerts.map((a) => ({ ...a, status: 'resolved', endsAt: '2026-11-26T10:20:00Z' }));

  it('resolves an unacknowledged incident automatically when all its alerts resolve', async ({ expect }) => {
    const alerts = firing();
    const handle = await open(() => undefined, { alerts });
    await handle.signal(alertsResolvedSignal, { alerts: cleared(alerts.slice(0, 1)) });
    const partly = await waitForEvents(handle, 'alerts-resolved');
    expect(partly.phase).toBe('triggered');
    expect(partly.resolution).toBeUndefined();

    await handle.signal(alertsResolvedSignal, { alerts: cleared(alerts.slice(1)) });
    const s = await waitForEvents(handle, 'resolved');
    expect(s.resolution).toMatchObject({ automatic: true, by: 'baton' });
    expect(s.phase).toBe('post-incident');
    // SEV2 asks for every follow-up, even of an incident that cleared by itself.
    expect(s.followUps.map((f) => f.kind)).toEqual(['report', 'lessons', 'training']);
    expect(eventsOf(s, 'alerts-resolved').map((e) => e.details)).toEqual([
      { fingerprints: ['fp-latency'] },
      { fingerprints: ['fp-errors'] },
    ]);
    expect(eventsOf(s, 'resolved')[0]).toMatchObject({ actor: 'baton', details: { automatic: true } });
    const sent = await waitForOutbox(w, s.id, (o) => o.some((e) => e.notification.kind === 'resolved'));
    expect(sent.find((e) => e.notification.kind === 'resolved')?.notification.text).toMatch(
      /Resolved automatically/,
    );
  });

  it('closes a SEV4 blip that cleared before anyone acknowledged it with its drafted report alone, after a quiet period', async ({
    expect,
  }) => {
    const alerts = firing();
    const handle = await open(
      paging(
        [
          ['alice', '2s'],
          ['bob', '1h'],
        ],
        1,
      ),
      { alerts, severity: 'SEV4' },
    );
    await handle.signal(alertsResolvedSignal, { alerts: cleared(alerts) });
    const final = await handle.result();
    expect(final.phase).toBe('closed');
    expect(final.followUps).toEqual([]);
    expect(eventsOf(final, 'follow-ups-scheduled')[0]?.summary).toBe(
      'no follow-ups: it cleared before anyone acknowledged it, and the drafted report is all SEV4 asks for',
    );
    // It stayed resolved as long as alice had to acknowledge: a re-fire then would have reopened it.
    const resolvedAt = ms(eventsOf(final, 'resolved')[0]?.at ?? '');
    expect(ms(final.closedAt ?? '')).toBeGreaterThanOrEqual(resolvedAt + 2_000);
    const worker = await workerFor(
      paging(
        [
          ['alice', '2s'],
          ['bob', '1h'],
        ],
        1,
      ),
    );
    const report = readFileSync(
      path.join(worker.dataDir, 'incidents', recordFolderName(final), 'report.md'),
      'utf8',
    );
    expect(report).toContain('**Draft**');
    expect(report).toContain('| Resolved | automatically at');
    expect(report).toContain('HighLatency');
  });

  it('reopens a blip whose alerts fire again within the quiet period, paging where it stood', async ({
    expect,
  }) => {
    const alerts = firing();
    const handle = await open(
      paging(
        [
          ['alice', '3s'],
          ['bob', '1h'],
        ],
        1,
      ),
      { alerts, severity: 'SEV4' },
    );
    await handle.signal(alertsResolvedSignal, { alerts: cleared(alerts) });
    await waitForEvents(handle, 'resolved');
    await handle.signal(alertsFiredSignal, {
      alerts: alerts.slice(0, 1).map((a) => ({ ...a, startsAt: '2026-11-26T10:30:00Z' })),
    });
    const s = await waitForEvents(handle, 'reopened');
    expect(s.phase).toBe('triggered');
    expect(eventsOf(s, 'reopened')[0]?.details).toMatchObject({ escalation: 'resumed' });
    // Nobody acknowledges: paging goes on to bob, as a flap should.
    const paged = await waitForEvents(handle, 'paged', 2);
    expect(eventsOf(paged, 'paged').map((e) => e.details?.to)).toEqual([['alice'], ['bob']]);
  });

  it('does not resolve an acknowledged incident when its alerts resolve', async ({ expect }) => {
    const alerts = firing();
    const handle = await open(() => undefined, { alerts });
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.signal(alertsResolvedSignal, { alerts: cleared(alerts) });
    const s = await waitForEvents(handle, 'alerts-resolved');
    expect(s.alerts.every((a) => a.status === 'resolved')).toBe(true);
    const settled = await pastDeadline(handle, Date.now(), 0);
    expect(settled.phase).toBe('acknowledged');
    expect(settled.resolution).toBeUndefined();
    expect(eventsOf(settled, 'resolved')).toHaveLength(0);
    expect(settled.followUps).toHaveLength(0);
  });
});
