/**
 * The documents beside the record: the report drafted at resolution and completed by the
 * final report, one handover per escalation with its charts, the lessons with improvements
 * and attendance, the communications log with its approvals; and the activity that writes
 * them, retried, writing the same.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDocumentationActivities, renderIncidentRecord } from '../../activities/documentation';
import { renderCommunications } from '../../activities/documents/communications';
import { chartLink, renderHandover } from '../../activities/documents/handover';
import { renderLessons } from '../../activities/documents/lessons';
import { loadReportTemplate, renderReport } from '../../activities/documents/report';
import { LocalFolderStore } from '../../activities/store/incident-store';
import { recordHtml } from '../../api/record-html';
import { configSchema } from '../../config/schema';
import { testConfigInput } from '../support/config';
import type { IncidentState, TimelineEvent } from '../../workflows/incident/state';

const OPENED = '2026-11-26T10:00:00.000Z';

/** A SEV2 that was acknowledged, escalated to Level 3, resolved and followed up. */
function incident(overrides: Partial<IncidentState> = {}): IncidentState {
  return {
    id: 'inc-42',
    title: 'Payments API error rate above 5%',
    service: 'payments',
    team: 'payments',
    severity: 'SEV2',
    phase: 'post-incident',
    origin: { kind: 'manual', declaredBy: 'alice' },
    openedAt: OPENED,
    alerts: [
      {
        fingerprint: 'fp-1',
        status: 'resolved',
        labels: { alertname: 'HighErrorRate', service: 'payments' },
        annotations: { summary: 'error ratio above 5%' },
        startsAt: '2026-11-26T09:58:00.000Z',
      },
    ],
    runbooks: [],
    acknowledgedBy: 'alice',
    acknowledgedAt: '2026-11-26T10:04:10.000Z',
    holder: 'lena',
    escalation: { round: 1, step: 0, pagedAt: OPENED, exhausted: false },
    assessments: [
      {
        severity: 'SEV2',
        urgency: 'high',
        impact: 'card payments fail for 8% of customers',
        observations: 'errors since the 09:55 deploy',
        by: 'alice',
        at: '2026-11-26T10:06:00.000Z',
      },
    ],
    actions: [
      {
        id: 'a1',
        kind: 'rollback',
        description: 'rolled back deploy 1234',
        result: 'errors down to 1%',
        by: 'bob',
        at: '2026-11-26T10:20:00.000Z',
        phase: 'mitigating',
      },
    ],
    notes: [],
    communications: [
      {
        audience: 'internal',
        message: 'Payments degraded, rollback under way',
        by: 'alice',
        at: '2026-11-26T10:10:00.000Z',
      },
      {
        audience: 'external',
        message: 'Some card payments fail; we are on it.',
        by: 'carol',
        approvedBy: 'mona',
        draftId: 'cm-1',
        at: '2026-11-26T10:15:00.000Z',
      },
      {
        audience: 'external',
        message: 'Payments work again.',
        by: 'mona',
        selfApproved: true,
        at: '2026-11-26T11:05:00.000Z',
      },
    ],
    customerMessages: [
      {
        id: 'cm-1',
        message: 'Some card payments fail; we are on it.',
        draftedBy: 'carol',
        draftedAt: '2026-11-26T10:12:00.000Z',
        status: 'approved',
        decidedBy: 'mona',
        decidedAt: '2026-11-26T10:14:00.000Z',
      },
      {
        id: 'cm-2',
        message: 'All fixed, sorry!',
        draftedBy: 'carol',
        draftedAt: '2026-11-26T10:30:00.000Z',
        status: 'rejected',
        decidedBy: 'mona',
        decidedAt: '2026-11-26T10:31:00.000Z',
        reason: 'not fixed yet',
      },
    ],
    lastStakeholderUpdateAt: '2026-11-26T11:05:00.000Z',
    handover: {
      reason: 'rollback did not clear it',
      requestedBy: 'alice',
      requestedAt: '2026-11-26T10:25:00.000Z',
      level3Step: 0,
      level3PagedAt: '2026-11-26T10:25:00.000Z',
      exhausted: false,
      meetingAt: '2026-11-26T10:35:00.000Z',
      acceptedBy: 'lena',
      acceptedAt: '2026-11-26T10:36:00.000Z',
      notes: 'taking over; DB pool exhausted',
    },
    diagnostics: [
      {
        occasion: 'escalated',
        collectedAt: '2026-11-26T10:25:05.000Z',
        charts: [
          {
            chart:
              '/data/incidents/inc-42-20261126T100000Z/diagnostics/20261126T102505Z-escalated/metrics-1-HighErrorRate.svg',
            alertname: 'HighErrorRate',
            text: 'current value 0.08 at 10:25:00 UTC (fires when > 0.05)',
          },
        ],
        failures: [],
      },
    ],
    resolution: {
      summary: 'Raised the DB pool size;\nerrors back to 0.1%.',
      by: 'lena',
      at: '2026-11-26T11:00:00.000Z',
      automatic: false,
    },
    followUps: [],
    timeline: [],
    links: {},
    ...overrides,
  };
}

const EVENTS: TimelineEvent[] = [
  { seq: 1, at: OPENED, actor: 'alice', kind: 'triggered', summary: 'declared' },
  {
    seq: 2,
    at: '2026-11-26T10:04:10.000Z',
    actor: 'alice',
    kind: 'acknowledged',
    summary: 'alice acknowledged',
  },
  { seq: 3, at: '2026-11-26T10:25:00.000Z', actor: 'alice', kind: 'escalated', summary: 'to Level 3' },
  { seq: 4, at: '2026-11-26T11:00:00.000Z', actor: 'lena', kind: 'resolved', summary: 'resolved' },
];

const REPORT = {
  summary: 'A deploy shrank the DB pool.',
  rootCause: 'Config change 1234 set the pool to 5.',
  actionsAndResults: 'Rolled back, then raised the pool.',
  recommendations: 'Lint pool sizes in CI.',
  by: 'lena',
  at: '2026-11-27T09:00:00.000Z',
};

describe('the final report', () => {
  it('is not written before the incident is resolved', () => {
    expect(renderReport(incident({ resolution: undefined }), EVENTS)).toBeUndefined();
  });

  it('drafts itself at resolution with the summary, times, actions, people and timeline', () => {
    const report = renderReport(incident(), EVENTS);
    const md = report?.content ?? '';
    expect(report?.name).toBe('report.md');
    expect(md).toContain('# Incident report: Payments API error rate above 5%');
    expect(md).toContain('**Draft**');
    expect(md).toContain('Raised the DB pool size;\\\nerrors back to 0.1%.');
    expect(md).toContain('- Time to acknowledge: 4m 10s (2026-11-26T10:04:10.000Z)');
    expect(md).toContain('- Time to escalate: 25m (2026-11-26T10:25:00.000Z)');
    expect(md).toContain('- Time to resolve: 1h (2026-11-26T11:00:00.000Z)');
    expect(md).toContain(
      '- 2026-11-26T10:20:00.000Z bob rollback: rolled back deploy 1234 → errors down to 1%',
    );
    expect(md).toMatch(/## Root cause\n\n\(completed when the final report is submitted\)/);
    expect(md).toMatch(/## Recommendations\n\n\(completed when the final report is submitted\)/);
    expect(md).toContain('- alice: acknowledged, assessed, escalated, communicated');
    expect(md).toContain('- lena: accepted the handover, holds the incident, resolved');
    expect(md).toContain('- mona: communicated, approved communications');
    expect(md).toContain('- 2026-11-26T10:25:00.000Z **escalated** alice: to Level 3');
    expect(md).not.toContain('earlier event');
  });

  it('says what is missing and how many events it left out', () => {
    const md =
      renderReport(
        incident({ acknowledgedBy: undefined, acknowledgedAt: undefined, handover: undefined }),
        EVENTS.slice(2),
      )?.content ?? '';
    expect(md).toContain('- Time to acknowledge: not acknowledged');
    expect(md).toContain('- Time to escalate: not escalated');
    expect(md).toContain('(2 earlier event(s) left out: the whole timeline is in timeline.jsonl)');
  });

  it('counts times from the last reopening', () => {
    const md =
      renderReport(
        incident({
          handover: undefined,
          acknowledgedAt: '2026-11-26T12:01:00.000Z',
          resolution: { summary: 'again', by: 'alice', at: '2026-11-26T12:30:00.000Z', automatic: false },
          reopenings: [
            {
              at: '2026-11-26T12:00:00.000Z',
              alerts: ['fp-1'],
              resolution: { summary: 'first', by: 'lena', at: '2026-11-26T11:00:00.000Z', automatic: false },
            },
          ],
        }),
        EVENTS,
      )?.content ?? '';
    expect(md).toContain('- Time to acknowledge: 1m (2026-11-26T12:01:00.000Z)');
    expect(md).toContain('- Time to resolve: 30m (2026-11-26T12:30:00.000Z)');
    expect(md).toContain('| Response started | 2026-11-26T12:00:00.000Z (reopened) |');
  });

  it('is completed by the submitted report, keeping the drafted facts', () => {
    const md = renderReport(incident({ report: REPORT }), EVENTS)?.content ?? '';
    expect(md).not.toContain('**Draft**');
    expect(md).toContain('**Final report**, submitted by lena at 2026-11-27T09:00:00.000Z.');
    expect(md).toMatch(/## Summary\n\nA deploy shrank the DB pool\./);
    expect(md).toMatch(/## Root cause\n\nConfig change 1234 set the pool to 5\./);
    expect(md).toMatch(
      /## Actions taken and results\n\nRolled back, then raised the pool\.\n\n- 2026-11-26T10:20:00/,
    );
    expect(md).toMatch(/## Recommendations\n\nLint pool sizes in CI\./);
    expect(md).toContain('- Time to resolve: 1h');
    expect(md).toContain(
      '- lena: accepted the handover, holds the incident, resolved, wrote the final report',
    );
    expect(md).toContain('**resolved** lena: resolved');
  });

  it("uses a team's template, and falls back to the built-in one when it fails", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-report-'));
    const good = path.join(dir, 'good.md.hbs');
    writeFileSync(good, '# {{title}}\nRoot cause: {{#if draft}}pending{{else}}{{rootCause}}{{/if}}\n');
    expect(renderReport(incident({ report: REPORT }), EVENTS, loadReportTemplate(good))?.content).toBe(
      '# Payments API error rate above 5%\nRoot cause: Config change 1234 set the pool to 5.\n',
    );

    const broken = path.join(dir, 'broken.md.hbs');
    writeFileSync(broken, '# {{#if title}}unclosed\n');
    expect(() => loadReportTemplate(broken)).toThrow(/report template .*broken\.md\.hbs cannot be used/);
    expect(() => loadReportTemplate(path.join(dir, 'missing.hbs'))).toThrow(/missing\.hbs cannot be used/);

    // Compiles and renders the sample, but fails on a real incident.
    const failing = {
      file: path.join(dir, 'failing.md.hbs'),
      render: () => {
        throw new Error('helper "pool" missing');
      },
    };
    const report = renderReport(incident(), EVENTS, failing);
    expect(report?.content).toContain('# Incident report: Payments API error rate above 5%');
    expect(report?.content).toContain('failing.md.hbs failed: helper "pool" missing');
    expect(report?.templateError).toContain('helper "pool" missing');
  });
});

describe('the handover documents', () => {
  it('writes the package, the acceptance and the charts as images beside it', () => {
    const doc = renderHandover(incident());
    expect(doc?.name).toBe('handover-1.md');
    const md = doc?.content ?? '';
    expect(md).toContain('# Handover: Payments API error rate above 5%');
    expect(md).toContain('Escalated by alice: rollback did not clear it');
    expect(md).toContain(
      '- 2026-11-26T10:20:00.000Z bob rollback: rolled back deploy 1234 → errors down to 1%',
    );
    expect(md).toContain('Accepted by lena at 2026-11-26T10:36:00.000Z: taking over; DB pool exhausted');
    expect(md).toContain(
      '![HighErrorRate (escalated, 2026-11-26T10:25:05.000Z)](diagnostics/20261126T102505Z-escalated/metrics-1-HighErrorRate.svg)',
    );
    expect(md).toContain('current value 0.08 at 10:25:00 UTC (fires when > 0.05)'.replace('>', '&gt;'));
    const html = recordHtml(md, 'x');
    expect(html).toContain(
      '<img src="diagnostics/20261126T102505Z-escalated/metrics-1-HighErrorRate.svg" alt="HighErrorRate (escalated, 2026-11-26T10:25:05.000Z)">',
    );
  });

  it('keeps the package as it stood at the escalation, however late the file is written', () => {
    const base = incident();
    const requestedAt = base.handover?.requestedAt ?? '';
    const later = {
      id: 'a9',
      kind: 'config',
      description: 'raised the pool after the handover',
      result: 'fixed',
      by: 'lena',
      at: '2026-11-26T11:00:00.000Z',
      phase: 'collaborating' as const,
    };
    const md = renderHandover({ ...base, actions: [...base.actions, later] })?.content ?? '';
    expect(later.at > requestedAt).toBe(true);
    expect(md).toContain('rolled back deploy 1234');
    expect(md).not.toContain('raised the pool after the handover');
  });

  it('numbers each escalation, and writes none without a current handover', () => {
    const reopened = incident({
      reopenings: [
        {
          at: '2026-11-26T12:00:00.000Z',
          alerts: ['fp-1'],
          resolution: { summary: 'first', by: 'lena', at: '2026-11-26T11:00:00.000Z', automatic: false },
          handover: { requestedBy: 'alice', requestedAt: '2026-11-26T10:25:00.000Z', acceptedBy: 'lena' },
        },
      ],
      handover: {
        ...incident().handover!,
        requestedAt: '2026-11-26T12:20:00.000Z',
        acceptedBy: undefined,
        acceptedAt: undefined,
      },
    });
    const doc = renderHandover(reopened);
    expect(doc?.name).toBe('handover-2.md');
    expect(doc?.content).toContain('Not accepted yet (escalated by alice at 2026-11-26T12:20:00.000Z');
    // The first escalation's charts belong to handover-1.md.
    expect(doc?.content).not.toContain('![');
    expect(renderHandover(incident({ handover: undefined }))).toBeUndefined();
  });

  it('links only chart files inside the incident folder', () => {
    expect(chartLink('/d/incidents/x/diagnostics/20260101T000000Z-opened/m-1.svg')).toBe(
      'diagnostics/20260101T000000Z-opened/m-1.svg',
    );
    expect(chartLink('diagnostics/../../etc/x.svg')).toBeUndefined();
    expect(chartLink('/d/diagnostics/a/x.svg) ![y](http://evil/x.svg')).toBeUndefined();
    expect(chartLink('/d/diagnostics/a/x.png')).toBeUndefined();
  });
});

describe('the lessons', () => {
  const followedUp = incident({
    lessons: {
      lessons: ['Pool sizes are not reviewed'],
      processImprovements: ['Review pool sizes in change review'],
      by: 'lena',
      at: '2026-11-28T09:00:00.000Z',
    },
    followUps: [
      {
        id: 'f-imp',
        kind: 'improvement',
        title: 'Add pool size to the change checklist',
        owner: 'mona',
        dueAt: '2026-12-10T00:00:00.000Z',
        status: 'done',
        doneBy: 'mona',
        doneAt: '2026-12-01T10:00:00.000Z',
        changed: 'https://wiki/runbooks/change-checklist',
      },
      {
        id: 'f-act',
        kind: 'action-item',
        title: 'CI lint for pool sizes',
        owner: 'bob',
        dueAt: '2026-12-15T00:00:00.000Z',
        status: 'open',
      },
      {
        id: 'f-waived',
        kind: 'action-item',
        title: 'Load test',
        owner: 'bob',
        dueAt: '2026-12-15T00:00:00.000Z',
        status: 'waived',
        waiver: { by: 'mona', reason: 'covered by the CI lint', at: '2026-12-02T00:00:00.000Z' },
      },
      {
        id: 'f-train',
        kind: 'training',
        title: 'Train the team on the pool runbook',
        owner: 'lena',
        dueAt: '2026-12-20T00:00:00.000Z',
        status: 'open',
        attendance: [
          { member: 'alice', status: 'confirmed', at: '2026-12-03T10:00:00.000Z' },
          {
            member: 'bob',
            status: 'excused',
            at: '2026-12-03T11:00:00.000Z',
            excusedBy: 'mona',
            reason: 'on parental leave',
          },
          { member: 'carol', status: 'pending' },
        ],
      },
    ],
    training: {
      date: '2026-12-03',
      attendees: ['alice'],
      material: 'Runbook walkthrough',
      by: 'lena',
      at: '2026-12-03T12:00:00.000Z',
    },
  });

  it('writes nothing before lessons are recorded', () => {
    expect(renderLessons(incident())).toBeUndefined();
  });

  it('lists the lessons, improvements and what changed, action items, waivers and attendance', () => {
    const md = renderLessons(followedUp)?.content ?? '';
    expect(md).toContain('Recorded by lena at 2026-11-28T09:00:00.000Z.');
    expect(md).toContain('- Pool sizes are not reviewed');
    // Tracked improvements are the table's rows, not a list beside it.
    expect(md).not.toContain('- Review pool sizes in change review');
    // From before improvements were tracked, the lessons' text is the list.
    const untracked = renderLessons({
      ...followedUp,
      followUps: followedUp.followUps.filter((f) => f.kind !== 'improvement'),
    })?.content;
    expect(untracked).toContain('## Process improvements\n\n- Review pool sizes in change review');
    expect(md).toContain(
      '| f-imp | Add pool size to the change checklist | mona | 2026-12-10T00:00:00.000Z | done by mona at 2026-12-01T10:00:00.000Z | https://wiki/runbooks/change-checklist |',
    );
    expect(md).toContain('| f-act | CI lint for pool sizes | bob | 2026-12-15T00:00:00.000Z | open |');
    expect(md).toContain(
      '- Load test (action-item): waived by mona at 2026-12-02T00:00:00.000Z: covered by the CI lint',
    );
    expect(md).toContain('| alice | confirmed | 2026-12-03T10:00:00.000Z |  |  |');
    expect(md).toContain('| bob | excused | 2026-12-03T11:00:00.000Z | mona | on parental leave |');
    expect(md).toContain('| carol | pending |  |  |  |');
    expect(md).toContain('Pending: carol');
    expect(md).toContain(
      'Session on 2026-12-03, recorded by lena at 2026-12-03T12:00:00.000Z, attended by alice.',
    );
  });

  it("shows the training's attendance in the record too", () => {
    const md = renderIncidentRecord(followedUp);
    expect(md).toMatch(/## Training\n2026-12-03, attended by alice/);
    expect(md).toContain(
      [
        'Attendance for Train the team on the pool runbook:',
        'Confirmed: alice at 2026-12-03T10:00:00.000Z',
        'Excused: bob by mona at 2026-12-03T11:00:00.000Z (on parental leave)',
        'Pending: carol',
      ].join('\\\n'),
    );
  });
});

describe('the communications log', () => {
  it('says who told whom what, who approved it, and what became of each draft', () => {
    const md = renderCommunications(incident())?.content ?? '';
    expect(md).toContain(
      '- 2026-11-26T10:10:00.000Z **internal (team and stakeholders)** from alice (no approval needed): Payments degraded, rollback under way',
    );
    expect(md).toContain(
      '- 2026-11-26T10:15:00.000Z **external (customers)** from carol (approved by mona, from draft cm-1): Some card payments fail; we are on it.',
    );
    expect(md).toContain('**external (customers)** from mona (self-approved by mona): Payments work again.');
    expect(md).toContain('### Draft cm-1: approved by mona at 2026-11-26T10:14:00.000Z');
    expect(md).toContain('### Draft cm-2: rejected by mona at 2026-11-26T10:31:00.000Z: not fixed yet');
    expect(md).toMatch(/Drafted by carol at 2026-11-26T10:30:00.000Z\.\n\nAll fixed, sorry!/);
  });

  it('is not written while nothing was communicated', () => {
    expect(renderCommunications(incident({ communications: [], customerMessages: [] }))).toBeUndefined();
  });
});

describe('hostile text', () => {
  const HOSTILE =
    '<script>alert(1)</script> **bold** [x](javascript:1) ![i](http://evil/x.png)\n# heading\n| a | b |';
  const hostile = incident({
    title: HOSTILE,
    actions: [{ ...incident().actions[0]!, description: HOSTILE, result: HOSTILE }],
    communications: [
      { audience: 'external', message: HOSTILE, by: '<b>mallory</b>', approvedBy: '[m](x)', at: OPENED },
    ],
    customerMessages: [
      {
        id: '](x)',
        message: HOSTILE,
        draftedBy: '*m*',
        draftedAt: OPENED,
        status: 'rejected',
        reason: HOSTILE,
      },
    ],
    handover: { ...incident().handover!, reason: HOSTILE, notes: HOSTILE },
    alerts: [
      {
        ...incident().alerts[0]!,
        labels: { alertname: HOSTILE, [HOSTILE]: 'v' },
        annotations: { summary: HOSTILE },
      },
    ],
    diagnostics: [
      {
        occasion: 'escalated',
        collectedAt: '2026-11-26T10:25:05.000Z',
        charts: [
          { chart: 'diagnostics/c/x.svg', alertname: `${HOSTILE}](http://evil/y.svg)`, text: HOSTILE },
        ],
        failures: [],
      },
    ],
    resolution: { summary: HOSTILE, by: HOSTILE, at: '2026-11-26T11:00:00.000Z', automatic: false },
    lessons: { lessons: [HOSTILE], processImprovements: [HOSTILE], by: HOSTILE, at: OPENED },
    report: { ...REPORT, rootCause: HOSTILE, recommendations: HOSTILE },
  });

  it('stays words in every document and in their HTML', () => {
    const documents = [
      renderReport(hostile, [{ seq: 1, at: OPENED, actor: HOSTILE, kind: 'note', summary: HOSTILE }]),
      renderHandover(hostile),
      renderLessons(hostile),
      renderCommunications(hostile),
    ];
    for (const doc of documents) {
      const md = doc?.content ?? '';
      expect(md, doc?.name).not.toContain('<script>');
      expect(md, doc?.name).not.toMatch(/(^|[^\\])\[x\]/);
      expect(md, doc?.name).not.toMatch(/^# heading/m);
      expect(md, doc?.name).not.toMatch(/^\| a \|/m);
      expect(md, doc?.name).not.toMatch(/(^|[^\\])\*\*bold/);
      // The only image is the chart Baton links, with the hostile alert name as escaped alt text.
      expect(md.match(/(^|[^\\])!\[/gm) ?? [], doc?.name).toHaveLength(doc?.name === 'handover-1.md' ? 1 : 0);
      const html = recordHtml(md, HOSTILE);
      expect(html, doc?.name).not.toMatch(/<(script|a|b)[ >]/);
      expect(html.match(/<img /g) ?? [], doc?.name).toHaveLength(doc?.name === 'handover-1.md' ? 1 : 0);
      expect(html, doc?.name).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    expect(recordHtml(renderHandover(hostile)?.content ?? '', 'x')).toContain(
      '<img src="diagnostics/c/x.svg" alt="',
    );
  });
});

describe('writeIncidentRecord', () => {
  it('writes the documents beside the record, and a retry duplicates nothing and rewrites them the same', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'baton-docs-'));
    const store = new LocalFolderStore(root);
    const activities = createDocumentationActivities({ dir: root, store });
    const write = (input: Parameters<typeof activities.writeIncidentRecord>[0]) =>
      activities.writeIncidentRecord(input);
    const record = incident({ report: REPORT });
    const folder = await write({ record, events: EVENTS });
    const names = readdirSync(folder).sort();
    expect(names).toEqual([
      'communications.md',
      'handover-1.md',
      'record.json',
      'record.md',
      'report.md',
      'timeline.jsonl',
    ]);
    const before = Object.fromEntries(names.map((n) => [n, readFileSync(path.join(folder, n), 'utf8')]));
    expect(before['report.md']).toContain('- 2026-11-26T11:00:00.000Z **resolved** lena: resolved');

    await write({ record, events: EVENTS });
    const after = Object.fromEntries(names.map((n) => [n, readFileSync(path.join(folder, n), 'utf8')]));
    expect(after).toEqual(before);
    expect(readdirSync(folder).sort()).toEqual(names);
    expect(after['timeline.jsonl']?.trim().split('\n')).toHaveLength(EVENTS.length);
  });
});

describe('the local folder store', () => {
  it('takes plain names only', async () => {
    const store = new LocalFolderStore(mkdtempSync(path.join(os.tmpdir(), 'baton-store-')));
    await store.write('inc-1', 'diagnostics/c/x.svg', '<svg/>');
    expect((await store.read('inc-1', 'diagnostics/c/x.svg'))?.toString()).toBe('<svg/>');
    for (const name of ['../x', 'a/../../x', '/etc/passwd', '.hidden', 'a//b', '']) {
      await expect(store.write('inc-1', name, 'x'), name).rejects.toThrow(/not a plain name/);
      expect(await store.read('inc-1', name), name).toBeUndefined();
    }
    await expect(store.write('..', 'x', 'x')).rejects.toThrow(/not a plain name/);
    expect((await store.files('inc-1')).map((f) => f.name)).toEqual(['diagnostics/c/x.svg']);
    expect(await store.incidents()).toEqual(['inc-1']);
  });
});

describe('the documents configuration', () => {
  it("names a team's report template, or none", () => {
    expect(configSchema.parse(testConfigInput()).documents).toEqual({});
    const documents = (value: unknown) => configSchema.safeParse({ ...testConfigInput(), documents: value });
    expect(documents({ reportTemplate: 'ops/report.md.hbs' }).data?.documents).toEqual({
      reportTemplate: 'ops/report.md.hbs',
    });
    expect(documents({ reportTemplate: '' }).success).toBe(false);
    expect(documents({ template: 'x' }).success).toBe(false);
  });
});
