/**
 * Text from outside (titles, descriptions, alert labels and annotations, notes, reasons,
 * summaries) renders inert wherever Baton writes it: Slack mrkdwn cannot mention anyone or
 * show a link Baton did not make, record.md has exactly the structure Baton writes, and the
 * email's HTML shows the text as text. The same hostile strings go into every field.
 */
import type { WebClient } from '@slack/web-api';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { renderIncidentRecord } from '../../activities/documentation';
import { composeEmail, type Mailer } from '../../channels/email/send';
import { mdBlock, mdInline } from '../../activities/markdown';
import { directMessageBlocks, slackText } from '../../channels/slack/send';
import { fitMrkdwn, incidentBlocks, incidentText, type Block } from '../../channels/slack/blocks';
import { createSlackLiveActivities, threadText } from '../../channels/slack/live';
import { usage } from '../../channels/slack/inbound/commands';
import {
  failed,
  incidentRef,
  listText,
  notFound,
  refused,
  staleClick,
  statusText,
  stepDone,
} from '../../channels/slack/inbound/messages';
import { buildHandoverPackage } from '../../workflows/incident/handover';
import type { Alert, Notification } from '../../workflows/incident/model';
import { addNote } from '../../workflows/incident/notes';
import { notices } from '../../workflows/incident/notices';
import type { ReadyIncident } from '../../workflows/incident/incident-context';
import { plainIncident, take } from './plain-incident';

const INJECTIONS = [
  '<!channel> hi',
  '<!here>',
  '<!subteam^S0TEAM>',
  '<@U0ADMIN>',
  '<#C0SECRET>',
  '<https://evil.example|Click me>',
  '<javascript:alert(1)|Click me>',
  '*bold* _it_ ~s~',
  '```code```',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  'line1\n## Forged heading\n- forged item',
  'line1\r\n# Forged title\r1. forged ordered\n> forged quote\n    indented code\n---\n===',
  '| forged | row |\n|---|---|',
  '[link](javascript:alert(1))',
  '![img](https://evil.example/x.png)',
  '[ref]: javascript:alert(1)',
  '<https://evil.example>',
  'javascript:alert(1)',
  '&amp; &lt;',
  '\\',
];
const HOSTILE = INJECTIONS.join('\n');
const BAD_URLS = ['javascript:alert(1)', 'slack://open?team=T0', 'data:text/html,<script>alert(1)</script>'];
const GOOD_URLS = [
  'https://temporal.example/namespaces/default/workflows/inc-unit',
  'https://runbooks.example.com/good',
  'https://prometheus.example/graph?g0.expr=up&g0.tab=1',
];

function hostileAlert(text: string, fingerprint: string, generatorURL: string): Alert {
  return {
    fingerprint,
    status: 'firing',
    labels: { alertname: text, service: 'payments', instance: text, [text]: text },
    annotations: {
      summary: text,
      description: text,
      runbook_url: 'javascript:alert(1)',
      dashboard: 'slack://open?team=T0',
    },
    startsAt: '2026-11-26T10:00:00Z',
    generatorURL,
  };
}

/** An incident that went through every step, with `text` in every field people and alerts fill. */
function hostileIncident(text: string): ReadyIncident {
  const incident = plainIncident({
    input: {
      title: text,
      description: text,
      alerts: [
        hostileAlert(text, 'fp-bad', 'javascript:alert(1)'),
        hostileAlert(text, 'fp-data', 'data:text/html,<script>alert(1)</script>'),
        { ...hostileAlert('GoodAlert', 'fp-good', GOOD_URLS[2] ?? ''), annotations: { summary: text } },
      ],
      temporalUiUrl: GOOD_URLS[0],
    },
  });
  incident.state.runbooks.push(
    { alertname: text, url: 'javascript:alert(1)', steps: [text] },
    { alertname: text, url: 'slack://open?team=T0', steps: [] },
    { alertname: 'Good', url: GOOD_URLS[1] ?? '', steps: [] },
  );
  const steps: [string, Record<string, unknown>][] = [
    ['acknowledge', { actor: 'alice', note: text }],
    ['assess', { actor: 'alice', severity: 'SEV2', urgency: 'high', impact: text, observations: text }],
    ['recordAction', { actor: 'alice', kind: 'restart', description: text, result: text }],
    ['communicate', { actor: 'alice', audience: 'internal', message: text }],
    ['escalate', { actor: 'alice', reason: text }],
    ['acceptHandover', { actor: 'carol', notes: text }],
    ['resolve', { actor: 'carol', summary: text }],
    [
      'submitReport',
      { actor: 'carol', summary: text, rootCause: text, actionsAndResults: text, recommendations: text },
    ],
    [
      'recordLessons',
      {
        actor: 'carol',
        lessons: [text, text],
        processImprovements: [text],
        actionItems: [{ title: text.slice(0, 500), owner: 'alice', dueDate: '2026-12-20' }],
      },
    ],
    [
      'recordTraining',
      { actor: 'dave', date: '2026-12-01', attendees: ['alice', text.slice(0, 100)], material: text },
    ],
  ];
  for (const [name, input] of steps) expect(take(incident, name, input), name).toBeUndefined();
  expect(addNote(incident, { actor: 'bob', text, requestId: 'note-1', source: 'slack' })).toBeUndefined();
  const item = incident.state.followUps.find((f) => f.kind === 'action-item');
  expect(
    take(incident, 'waiveFollowUp', { actor: 'dave', followUpId: item?.id, reason: text }),
  ).toBeUndefined();
  return incident;
}

/** Every text object of the blocks, by type. */
function textsOf(blocks: Block[]): { mrkdwn: string[]; plain: string[] } {
  const found = { mrkdwn: [] as string[], plain: [] as string[] };
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const { type, text } = value as { type?: unknown; text?: unknown };
      if (type === 'mrkdwn' && typeof text === 'string') found.mrkdwn.push(text);
      else if (type === 'plain_text' && typeof text === 'string') found.plain.push(text);
      else Object.values(value).forEach(walk);
    }
  };
  walk(blocks);
  return found;
}

const SLACK_DATE = /^<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>$/;
const BATON_MENTIONS = new Set(['<@U01ALICE>', '<@U01BOB>', '<@U01CAROL>', '<@U01ERIN>', '<@U01DAVE>']);

/**
 * The mrkdwn holds only Baton's own angle-bracket sequences (its dates, its mentions of
 * configured people, its links to the URLs it was given as http(s)), every `&` starts one of
 * the three escapes, and nothing the hostile text carried survives as markup.
 */
function expectInertMrkdwn(mrkdwn: string, where: string): void {
  for (const [token] of mrkdwn.matchAll(/<[^>]*>?/g)) {
    const link = /^<(https?:\/\/[^|<>\s]+)\|[^<>]*>$/.exec(token);
    const url = link?.[1]?.replace(/&amp;/g, '&') ?? '';
    const ours = SLACK_DATE.test(token) || BATON_MENTIONS.has(token) || GOOD_URLS.includes(url);
    expect(ours, `${where}: ${token}`).toBe(true);
  }
  expect(mrkdwn, where).not.toMatch(/&(?!amp;|lt;|gt;)/);
  for (const bad of [
    '<!channel',
    '<!here',
    '<!subteam',
    '<@U0ADMIN',
    '<#C',
    '<https://evil',
    '<javascript:',
    '<slack:',
    '<data:',
  ]) {
    expect(mrkdwn, where).not.toContain(bad);
  }
}

/** What every Slack message Baton builds for the incident says, as mrkdwn. */
function slackMrkdwn(incident: ReadyIncident): Record<string, string> {
  const { state, policy } = incident;
  const out: Record<string, string> = {};
  for (const level3 of [false, true]) {
    const blocks = incidentBlocks(state, { responders: policy.responders, level3 });
    textsOf(blocks).mrkdwn.forEach((t, i) => (out[`blocks${level3 ? ' (level 3)' : ''} ${i}`] = t));
  }
  out.incidentText = incidentText(state);
  const page = notices.page(state, policy, ['alice'], 'round 1 of 1');
  const sent: Notification[] = [
    page,
    notices.handoverPackage(state, policy, buildHandoverPackage(state), ['carol']),
    notices.handoverAccepted(state, policy),
    notices.resolved(state, policy),
  ];
  sent.forEach((notification, n) => {
    out[`slackText ${n} (${notification.kind})`] = slackText(notification);
    const dm = directMessageBlocks(notification);
    if (dm) textsOf(dm).mrkdwn.forEach((t, i) => (out[`dm ${n} (${notification.kind}) ${i}`] = t));
  });
  out.thread = threadText(state.timeline, policy.responders);
  out.stepDone = stepDone('resolve', state);
  out.refused = refused(HOSTILE);
  out.failed = failed({ status: 504, reason: HOSTILE });
  out.notFound = notFound(HOSTILE);
  out.staleClick = staleClick(state, 'triggered', policy.responders) ?? '';
  out.statusText = statusText(state, policy.responders);
  // The usage text's own `<id>` placeholders are Baton's: only the command's name is checked.
  out.usage = usage(HOSTILE).split('\n')[0] ?? '';
  out.listText = listText(
    [
      {
        id: state.id,
        runId: 'r',
        title: state.title,
        status: HOSTILE,
        severity: HOSTILE,
        service: HOSTILE,
        team: HOSTILE,
        assignee: HOSTILE,
        startedAt: state.openedAt,
      },
    ],
    [HOSTILE],
  );
  return out;
}

describe('Slack: text from people and alerts', () => {
  it.each(INJECTIONS.map((s) => [JSON.stringify(s), s]))(
    '%s mentions nobody and links nothing in any message, thread line or answer',
    (_name, text) => {
      const incident = hostileIncident(text);
      const all = slackMrkdwn(incident);
      expect(Object.keys(all).length).toBeGreaterThan(20);
      for (const [where, mrkdwn] of Object.entries(all)) expectInertMrkdwn(mrkdwn, where);
    },
  );

  it('still links what Baton links, and only over http(s)', () => {
    const { state, policy } = hostileIncident(HOSTILE);
    const blocks = incidentBlocks(state, { responders: policy.responders });
    const mrkdwn = textsOf(blocks).mrkdwn.join('\n');
    const links = [...mrkdwn.matchAll(/<(https?:[^|>]+)\|([^>]*)>/g)];
    expect(links.map((m) => m[1])).toEqual([
      GOOD_URLS[1],
      'https://prometheus.example/graph?g0.expr=up&amp;g0.tab=1',
      GOOD_URLS[0],
    ]);
    const text = slackText(notices.page(state, policy, ['alice'], 'round 1 of 1'));
    const linked = [...text.matchAll(/<([^|>]+)\|/g)].map((m) => m[1]);
    expect(linked).toEqual([GOOD_URLS[0], GOOD_URLS[1], GOOD_URLS[2]?.replace(/&/g, '&amp;')]);
    for (const bad of BAD_URLS) expect(mrkdwn + text).not.toContain(`<${bad}`);
  });

  it('keeps each timeline event on one line of the thread, and each alert on one bullet', () => {
    const { state, policy } = hostileIncident('line1\n## Forged heading\n- forged item');
    const thread = threadText(state.timeline, policy.responders);
    expect(thread.split('\n')).toHaveLength(state.timeline.length);
    expect(thread).toContain('\nBob Okafor: line1 ⏎ ## Forged heading ⏎ - forged item\n');
    const alerts = textsOf(incidentBlocks(state)).mrkdwn.find((t) => t.startsWith('*Firing alerts*')) ?? '';
    expect(alerts.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(3);
  });

  it('keeps plain_text within Slack limits and every text within its block', () => {
    // As long as the steps take (1,950 characters), and five times as long once escaped.
    const long = `${'&<>'.repeat(600)}\n${'x'.repeat(149)}`;
    const { state, policy } = hostileIncident(long);
    for (const level3 of [false, true]) {
      const blocks = incidentBlocks(state, { responders: policy.responders, level3 });
      const { plain } = textsOf(blocks);
      for (const p of plain) expect(p.length).toBeGreaterThan(0);
      for (const p of plain) expect(p.length).toBeLessThanOrEqual(150);
      for (const block of blocks) {
        if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3_000);
        if (block.type === 'section' && block.fields) {
          for (const f of block.fields) expect(f.text.length).toBeLessThanOrEqual(2_000);
        }
        if (block.type === 'context') {
          for (const e of block.elements) if ('text' in e) expect(e.text.length).toBeLessThanOrEqual(3_000);
        }
      }
      for (const m of textsOf(blocks).mrkdwn) expectInertMrkdwn(m, 'long');
    }
    const handover = notices.handoverPackage(state, policy, buildHandoverPackage(state), ['carol']);
    const dm = directMessageBlocks(handover) ?? [];
    expect(textsOf(dm).mrkdwn[0]?.length).toBeLessThanOrEqual(3_000);
    expect(slackText(handover).length).toBeLessThanOrEqual(40_000);
    expect(threadText(state.timeline, policy.responders).length).toBeLessThanOrEqual(40_000);
  });

  it('never cuts an escape in half', () => {
    for (let max = 2; max < 12; max += 1) {
      const cut = fitMrkdwn('a<b&c>d'.repeat(3), max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(fitMrkdwn('😀😀', 3)).toBe('😀…');
  });

  it('posts the live message and its thread without a mention from text, and mentions only real user ids', async () => {
    const { state, policy } = hostileIncident(HOSTILE);
    state.timeline.push({
      seq: 1_000,
      at: '2026-11-26T11:00:00Z',
      actor: 'baton',
      kind: 'paged',
      summary: 'paged',
      details: { to: ['alice', 'mallory'] },
    });
    const posted: { text?: string; blocks?: Block[] }[] = [];
    const slack = {
      chat: {
        postMessage: (args: { text?: string; blocks?: Block[] }) => {
          posted.push(args);
          return Promise.resolve({ ok: true, channel: 'C0TEAM', ts: `${posted.length}.0` });
        },
        update: () => Promise.resolve({ ok: true }),
      },
    } as unknown as WebClient;
    const live = createSlackLiveActivities({ slack, log: () => undefined });
    const result = await live.syncSlackMessages({
      record: state,
      channels: [{ channel: '#payments-incidents', level3: false }],
      messages: [],
      threadSeq: 0,
      responders: {
        ...policy.responders,
        mallory: { name: '<!channel>', slackUserId: 'U0X> <!channel' },
      },
    });
    expect(result.failed).toEqual([]);
    expect(posted).toHaveLength(2);
    expect(posted[0]?.text).toMatch(/^<@U01ALICE> \[SEV2\] /);
    for (const message of posted) {
      expectInertMrkdwn(message.text ?? '', 'posted text');
      for (const m of textsOf(message.blocks ?? []).mrkdwn) expectInertMrkdwn(m, 'posted blocks');
    }
  });
});

describe('record.md: text from people and alerts', () => {
  const HEADINGS = [
    '## Assessment',
    '## Actions and results',
    '## Escalation and handover',
    '## Resolution',
    '## Final report',
    '### Summary',
    '### Root cause',
    '### Actions taken and results',
    '### Recommendations',
    '## Lessons learned',
    '## Process improvements',
    '## Training',
    '## Follow-ups',
    '## Communications',
    '## Timeline',
  ];

  it.each(INJECTIONS.map((s) => [JSON.stringify(s), s]).concat([['all of them', HOSTILE]]))(
    '%s adds no heading, list item, table row, link or HTML',
    (_name, text) => {
      const { state } = hostileIncident(text);
      const md = renderIncidentRecord(state);
      const lines = md.split('\n');
      const headings = lines.filter((l) => /^ {0,3}#{1,6}(\s|$)/.test(l));
      expect(headings.slice(1)).toEqual(HEADINGS);
      expect(headings[0]).toMatch(/^# /);
      const items = lines.filter((l) => /^ {0,3}([-+*]|\d{1,9}[.)])(\s|$)/.test(l));
      const timeline = items.filter((l) => /^- \S+ \*\*[a-z-]+\*\* /.test(l));
      expect(timeline).toHaveLength(state.timeline.length);
      expect(items).toHaveLength(
        state.timeline.length +
          state.actions.length +
          (state.lessons?.lessons.length ?? 0) +
          (state.lessons?.processImprovements.length ?? 0) +
          state.communications.length,
      );
      const rows = lines.filter((l) => l.startsWith('|'));
      expect(rows).toHaveLength(12 + 2 + state.followUps.length);
      const cells = (row: string): number => row.split(/(?<!\\)\|/).length - 2;
      for (const row of rows.slice(0, 12)) expect(cells(row), row).toBe(2);
      for (const row of rows.slice(12)) expect(cells(row), row).toBe(5);
      // Nothing else opens a block: no quote, fence, indented code, setext underline or break.
      for (const line of lines) {
        expect(line).not.toMatch(/^( {4}|\t| {0,3}(>|```|~~~|[-=_*]{3,}\s*$|<))/);
      }
      // No HTML and no link: no `<` at all, every `[` and backtick escaped.
      expect(md).not.toContain('<');
      expect(md).not.toMatch(/(?<!\\)[[\]`]/);
      expect(md).not.toMatch(/(?<!\\)\]\(/);
      expect(md).not.toMatch(/&(?!amp;|lt;|gt;)/);
    },
  );

  it('shows the text as it was written, on one line where Baton writes one line', () => {
    expect(mdInline('line1\n## Forged heading\n- forged item')).toBe(
      'line1 ⏎ \\#\\# Forged heading ⏎ - forged item',
    );
    expect(mdInline('- x')).toBe('\\- x');
    expect(mdInline('1. x')).toBe('1\\. x');
    expect(mdInline('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(mdInline('[link](javascript:alert(1))')).toBe('\\[link\\](javascript:alert(1))');
    expect(mdInline('&amp; | `a` $x$')).toBe('&amp;amp; \\| \\`a\\` \\$x\\$');
    expect(mdBlock('a\n  - b\n\n\n## c\\')).toBe('a\\\n\u00a0\u00a0- b\n\n\\#\\# c\\\\');
    expect(mdBlock(' \n ')).toBe('(none)');
  });
});

describe('email: text from people and alerts', () => {
  const mailer: Mailer = {
    transport: nodemailer.createTransport({ streamTransport: true, buffer: true }),
    from: 'Baton <baton@example.com>',
  };

  it('renders a hostile title, notes, summaries and alert annotations inert, and links only http(s)', () => {
    const { state, policy } = hostileIncident(HOSTILE);
    const sent = [
      notices.page(state, policy, ['alice'], 'round 1 of 1'),
      notices.handoverPackage(state, policy, buildHandoverPackage(state), ['carol']),
      notices.handoverAccepted(state, policy),
      notices.resolved(state, policy),
    ];
    // The package carries the alerts' annotations, the acceptance its notes.
    expect(sent[1]?.text).toContain('— <!channel> hi');
    expect(sent[2]?.text).toContain('Notes: <!channel> hi');
    for (const notification of sent) {
      const html = composeEmail(mailer, 'alice@example.com', notification).html ?? '';
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).not.toMatch(/<(script|img|iframe|svg)/i);
      expect(html).not.toMatch(/\sonerror\s*=/i);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).toContain('&lt;!channel&gt; hi');
      const hrefs = [...html.matchAll(/href\s*=\s*(['"])(.*?)\1/gi)].map((m) => m[2] ?? '');
      expect(hrefs.length).toBeGreaterThan(0);
      for (const href of hrefs) expect(href).toMatch(/^https?:\/\//);
      expect(html).not.toMatch(/<a[^>]*>[^<]*(?:Click me|img)/i);
    }
  });
});

describe('the Slack reference to an incident', () => {
  it('is one line whatever the title', () => {
    expect(incidentRef({ id: 'inc-1', title: 'a\n• `inc-2` SEV1 *forged*' })).toBe(
      '*a ⏎ • `inc-2` SEV1 *forged** (`inc-1`)',
    );
  });
});
