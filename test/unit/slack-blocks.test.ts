import { describe, expect, it } from 'vitest';
import { parseButtonValue } from '../../channels/slack/actions';
import {
  allowedSteps,
  escapeMrkdwn,
  incidentBlocks,
  incidentText,
  lastMove,
  mrkdwnLink,
  safeUrl,
  type Block,
} from '../../channels/slack/blocks';
import type { Alert } from '../../workflows/incident/model';
import type { IncidentState } from '../../workflows/incident/state';
import { firing, plainIncident, take } from './plain-incident';

/** Every piece of text in the blocks, as Slack would read it. */
function texts(blocks: Block[]): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') found.push(inner);
        else walk(inner);
      }
    }
  };
  walk(blocks);
  return found;
}

function buttonsOf(blocks: Block[]): { action: string; text: string; value: string; style?: string }[] {
  const actions = blocks.find((b) => b.type === 'actions');
  if (!actions || actions.type !== 'actions') return [];
  return actions.elements.map((e) => {
    if (e.type !== 'button') throw new Error(`not a button: ${e.type}`);
    return {
      action: e.action_id ?? '',
      text: e.text.text,
      value: e.value ?? '',
      ...(e.style ? { style: e.style } : {}),
    };
  });
}

const names = (blocks: Block[]) => buttonsOf(blocks).map((b) => b.text);

function acknowledged() {
  const incident = plainIncident();
  take(incident, 'acknowledge', { actor: 'alice' });
  return incident;
}

function escalatedIncident() {
  const incident = acknowledged();
  take(incident, 'escalate', { actor: 'alice', reason: 'restart did not help' });
  return incident;
}

describe('the incident message', () => {
  it('shows the title, severity, service, phase and holder', () => {
    const { state, policy } = acknowledged();
    const blocks = incidentBlocks(state, { responders: policy.responders });
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Payments API error rate above 5%', emoji: false },
    });
    expect(blocks[1]).toEqual({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Severity*\nSEV2' },
        { type: 'mrkdwn', text: '*Service*\npayments' },
        { type: 'mrkdwn', text: '*Phase*\nAcknowledged' },
        { type: 'mrkdwn', text: '*Holder*\nAlice Ng' },
      ],
    });
  });

  it('offers only the moves the process allows in each phase', () => {
    const triggered = plainIncident();
    expect(names(incidentBlocks(triggered.state))).toEqual(['Acknowledge', 'Resolve']);
    expect(names(incidentBlocks(triggered.state, { level3: true }))).toEqual(['Resolve']);

    const ack = acknowledged();
    expect(names(incidentBlocks(ack.state))).toEqual([
      'Assess',
      'Record an action',
      'Escalate to Level 3',
      'Resolve',
    ]);

    const escalated = escalatedIncident();
    expect(names(incidentBlocks(escalated.state))).toEqual(['Assess', 'Record an action', 'Resolve']);
    expect(names(incidentBlocks(escalated.state, { level3: true }))).toEqual([
      'Accept handover',
      'Record an action',
      'Resolve',
    ]);

    take(escalated, 'acceptHandover', { actor: 'carol', notes: 'mine' });
    expect(escalated.state.phase).toBe('collaborating');
    expect(names(incidentBlocks(escalated.state, { level3: true }))).toEqual(['Record an action', 'Resolve']);

    take(escalated, 'resolve', { actor: 'carol', summary: 'failed over' });
    expect(escalated.state.phase).toBe('post-incident');
    expect(incidentBlocks(escalated.state).some((b) => b.type === 'actions')).toBe(false);
    expect(incidentBlocks(escalated.state, { level3: true }).some((b) => b.type === 'actions')).toBe(false);
  });

  it('never offers Accept handover on the team channel message', () => {
    const { state } = escalatedIncident();
    expect(allowedSteps(state, true)).toContain('acceptHandover');
    expect(allowedSteps(state, false)).not.toContain('acceptHandover');
  });

  it('puts the incident and the phase it shows in every button, with Baton’s action ids', () => {
    const { state } = plainIncident();
    const buttons = buttonsOf(incidentBlocks(state));
    expect(buttons.map((b) => b.action)).toEqual(['baton:acknowledge', 'baton:resolve']);
    expect(buttons[0]?.style).toBe('primary');
    for (const button of buttons) {
      expect(parseButtonValue(button.value)).toEqual({
        ok: true,
        value: { incident: 'inc-unit', phase: 'triggered', response: 0 },
      });
    }
  });

  it('lists the firing alerts with their summaries and the labels that matter, not the resolved ones', () => {
    const { state } = plainIncident();
    const alerts: Alert[] = [
      {
        ...firing('HighLatency', 'fp-1'),
        labels: {
          alertname: 'HighLatency',
          service: 'payments',
          instance: 'api-1',
          zz_team: 'x',
          severity: 'critical',
        },
      },
      { ...firing('DiskFull', 'fp-2'), status: 'resolved' },
    ];
    state.alerts = alerts;
    const text = texts(incidentBlocks(state)).join('\n');
    expect(text).toContain('*Firing alerts* (1)');
    expect(text).toContain('• *HighLatency* HighLatency is firing');
    expect(text).toContain('`severity=critical` `service=payments` `instance=api-1` `zz_team=x`');
    expect(text).not.toContain('DiskFull');
  });

  it('escapes alert and people text, so nobody can mention @channel or disguise a link', () => {
    const { state } = acknowledged();
    state.alerts = [
      {
        ...firing('Evil <!channel>', 'fp-1'),
        labels: { alertname: 'Evil <!channel>', service: 'a&b' },
        annotations: { summary: '<!here> click <http://evil.example|google.com> & <@U01ALICE>' },
      },
    ];
    state.assessments.push({
      severity: 'SEV1',
      urgency: 'high',
      impact: '<!everyone> down',
      observations: 'x',
      by: 'alice',
      at: '2026-11-26T10:05:00Z',
    });
    const all = texts(incidentBlocks(state)).join('\n');
    expect(all).toContain(
      '&lt;!here&gt; click &lt;http://evil.example|google.com&gt; &amp; &lt;@U01ALICE&gt;',
    );
    expect(all).toContain('*Evil &lt;!channel&gt;*');
    expect(all).toContain('&lt;!everyone&gt; down');
    expect(all).toContain('`service=a&amp;b`');
    for (const forbidden of ['<!here>', '<!channel>', '<!everyone>', '<http://evil', '<@U01ALICE>']) {
      expect(all).not.toContain(forbidden);
    }
  });

  it('links runbooks, the alerts’ sources, dashboards and runbooks, and the Temporal UI: http(s) only, once each', () => {
    const { state } = plainIncident();
    state.runbooks = [
      { alertname: 'HighLatency', url: 'https://runbooks.example.com/high-latency', steps: [] },
    ];
    state.alerts = [
      {
        ...firing('HighLatency', 'fp-1'),
        generatorURL: 'http://prometheus.example/graph?g0.expr=up|x>1',
        annotations: {
          summary: 'slow',
          dashboard_url: 'https://grafana.example/d/abc',
          runbook_url: 'https://runbooks.example.com/high-latency',
          evil_dashboard: 'javascript:alert(1)',
        },
      },
      { ...firing('Other', 'fp-2'), generatorURL: 'file:///etc/passwd' },
    ];
    const links = texts(
      incidentBlocks(state, { uiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/inc-unit' }),
    )
      .join('\n')
      .match(/<[^>]+>/g);
    expect(links).toEqual([
      '<https://runbooks.example.com/high-latency|Runbook: HighLatency>',
      '<https://grafana.example/d/abc|Dashboard: HighLatency>',
      '<http://prometheus.example/graph?g0.expr=up%7Cx%3E1|Source: HighLatency>',
      '<http://127.0.0.1:8233/namespaces/default/workflows/inc-unit|Temporal UI>',
    ]);
  });

  it('says who did the last thing, not what Baton did about it', () => {
    const incident = acknowledged();
    const blocks = incidentBlocks(incident.state, { responders: incident.policy.responders });
    const context = blocks[blocks.length - 1];
    expect(context?.type).toBe('context');
    expect(texts([context as Block])[0]).toMatch(
      /^Alice Ng acknowledged and holds the incident · <!date\^\d+\^/,
    );
    take(incident, 'escalate', { actor: 'alice', reason: 'stuck' });
    // Escalating also logs the package and the meeting (Baton's doing); the escalation is the move.
    expect(lastMove(incident.state)?.kind).toBe('escalated');
  });

  it('shows the handover first on the Level 3 message, with the meeting time', () => {
    const incident = escalatedIncident();
    const options = { responders: incident.policy.responders, uiUrl: 'http://ui.example/inc-unit' };
    const firstText = (blocks: Block[]) => blocks.map((b) => texts([b])[0] ?? '');
    const level3 = firstText(incidentBlocks(incident.state, { ...options, level3: true }));
    const team = firstText(incidentBlocks(incident.state, options));
    expect(level3[2]).toMatch(
      /^\*Escalated to Level 3\* by Alice Ng <!date\^\d+\^[^>]+>: restart did not help\n\*Handover meeting\* <!date\^\d+\^[^>]+>; waiting for Level 3 to accept$/,
    );
    expect(level3[3]).toBe('<http://ui.example/inc-unit|Temporal UI>');
    expect(team[2]).toBe('<http://ui.example/inc-unit|Temporal UI>');
    expect(team[3]).toBe(level3[2]);
  });

  it('keeps hundreds of alerts within Slack’s limits and says how many are not shown', () => {
    const { state } = plainIncident();
    state.alerts = Array.from({ length: 600 }, (_, i) => ({
      ...firing(`Alert${i}`, `fp-${i}`),
      annotations: { summary: 'x'.repeat(1_000) },
    }));
    state.alertsOmitted = 25;
    const blocks = incidentBlocks(state, { maxAlerts: 50 });
    expect(blocks.length).toBeLessThanOrEqual(50);
    const section = texts(blocks).find((t) => t.startsWith('*Firing alerts*')) ?? '';
    expect(section.length).toBeLessThanOrEqual(3_000);
    expect(section).toMatch(/^\*Firing alerts\* \(625\)/);
    const shown = (section.match(/^• /gm) ?? []).length;
    expect(section).toMatch(new RegExp(`…and ${625 - shown} more$`));
    for (const block of blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3_000);
    }
  });

  it('gives a plain-text fallback, escaped', () => {
    const { state } = plainIncident({ input: { title: 'Checkout <!channel> & co' } });
    expect(incidentText(state)).toBe(
      '[SEV2] Checkout &lt;!channel&gt; &amp; co (Triggered: waiting for acknowledgement)',
    );
  });
});

describe('escaping and links', () => {
  it('escapes exactly the three characters Slack gives meaning to', () => {
    expect(escapeMrkdwn('a & b < c > d *e* _f_')).toBe('a &amp; b &lt; c &gt; d *e* _f_');
    expect(escapeMrkdwn('&amp;')).toBe('&amp;amp;');
  });

  it('links only http(s) URLs, and never lets a URL or label break out of the link', () => {
    expect(safeUrl('javascript:alert(1)')).toBeUndefined();
    expect(safeUrl('ftp://x.example/a')).toBeUndefined();
    expect(safeUrl('not a url')).toBeUndefined();
    expect(safeUrl(undefined)).toBeUndefined();
    expect(safeUrl('https://x.example/a|b>c')).toBe('https://x.example/a%7Cb%3Ec');
    expect(mrkdwnLink('https://x.example/', 'Dash <!channel>|x')).toBe(
      '<https://x.example/|Dash &lt;!channel&gt;|x>',
    );
    expect(mrkdwnLink('javascript:alert(1)', 'click')).toBe('click');
  });
});

describe('the record shapes it reads', () => {
  it('renders a closed incident without buttons', () => {
    const { state } = plainIncident();
    const closed: IncidentState = { ...state, phase: 'closed', closedAt: '2026-11-30T00:00:00Z' };
    expect(allowedSteps(closed)).toEqual([]);
    expect(incidentBlocks(closed).some((b) => b.type === 'actions')).toBe(false);
  });
});
