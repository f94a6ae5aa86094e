/** What people read: the notices' recipients and words, the handover package and the record. */
import { describe, expect, it } from 'vitest';
import { renderIncidentRecord } from '../../activities/documentation';
import { buildHandoverPackage } from '../../workflows/incident/handover';
import { notices } from '../../workflows/incident/notices';
import { firing, plainIncident, take } from './plain-incident';

describe('notices', () => {
  it('pages the targets by name in the team channel, with the incident and runbook links', () => {
    const incident = plainIncident({
      input: {
        alerts: [{ ...firing('HighLatency', 'fp-1'), generatorURL: 'http://prom/graph' }],
        temporalUiUrl: 'http://ui/inc',
      },
    });
    incident.state.runbooks.push({
      alertname: 'HighLatency',
      url: 'https://runbooks/hl',
      steps: ['check the deploy'],
    });
    const page = notices.page(incident.state, incident.policy, ['bob'], 'round 1 of 1, step 2 of 3');
    expect(page).toMatchObject({
      kind: 'page',
      subject: '[SEV2] Incident needs acknowledgement: Payments API error rate above 5%',
      slackChannels: ['#payments-incidents'],
      emails: [],
    });
    expect(page.responders.map((r) => [r.id, r.email])).toEqual([['bob', 'bob@example.com']]);
    expect(page.text).toContain('You are paged (round 1 of 1, step 2 of 3)');
    expect(page.text).toContain('Runbook HighLatency: check the deploy');
    expect(page.links).toEqual([
      { label: 'Incident in Temporal', url: 'http://ui/inc' },
      { label: 'Runbook: HighLatency', url: 'https://runbooks/hl' },
      { label: 'Graph: HighLatency', url: 'http://prom/graph' },
    ]);
  });

  it('tells managers and stakeholders about major incidents only', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'assess', {
      actor: 'alice',
      severity: 'SEV3',
      urgency: 'low',
      impact: 'i',
      observations: 'o',
    });
    const minor = notices.assessed(incident.state, incident.policy);
    expect([minor.responders, minor.slackChannels, minor.emails]).toEqual([[], ['#payments-incidents'], []]);
    take(incident, 'assess', {
      actor: 'alice',
      severity: 'SEV1',
      urgency: 'high',
      impact: 'i',
      observations: 'o',
    });
    const major = notices.assessed(incident.state, incident.policy);
    expect(major.responders.map((r) => r.id)).toEqual(['dave']);
    expect(major.emails).toEqual(['payments-leads@example.com']);
  });

  it('drops unknown and repeated ids from the recipients', () => {
    const incident = plainIncident();
    const page = notices.page(incident.state, incident.policy, ['alice', 'constructor', 'alice'], 'x');
    expect(page.responders.map((r) => r.id)).toEqual(['alice']);
  });
});

describe('the handover package', () => {
  it('gives Level 3 the assessment, alerts, actions, notes, links and timeline in one document', () => {
    const incident = plainIncident({ input: { alerts: [firing('HighLatency', 'fp-1')] } });
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'assess', {
      actor: 'alice',
      severity: 'SEV1',
      urgency: 'critical',
      impact: 'checkout down',
      observations: 'p99 4s',
    });
    take(incident, 'recordAction', {
      actor: 'alice',
      kind: 'restart',
      description: 'restarted pods',
      result: 'no change',
    });
    incident.state.notes.push({
      by: 'bob',
      at: '2026-11-26T10:05:00.000Z',
      text: 'EU only',
      source: 'slack',
    });
    take(incident, 'escalate', { actor: 'alice', reason: 'restart did not help' });
    const pkg = buildHandoverPackage(incident.state);
    const sections = pkg.split('\n').filter((line) => line.startsWith('## '));
    expect(sections).toEqual([
      '## Assessment',
      '## Alerts',
      '## Actions taken and results',
      '## Notes',
      '## Logs, metrics and links',
      '## Timeline',
    ]);
    expect(pkg).toContain('Escalated by alice: restart did not help');
    expect(pkg).toContain('Impact: checkout down');
    expect(pkg).toContain(
      '- HighLatency [firing] since 2026-11-26T10:00:00Z alertname=HighLatency service=payments — HighLatency is firing',
    );
    expect(pkg).toMatch(/alice restart: restarted pods → no change/);
    expect(pkg).toContain('bob (slack): EU only');
  });

  it('says (none) for what was not collected', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'escalate', { actor: 'alice', reason: 'unknown territory' });
    expect(buildHandoverPackage(incident.state)).toMatch(/## Assessment\n\(none\)\n\n## Alerts\n\(none\)/);
  });
});

describe('the incident record', () => {
  it('renders the whole life of a closed incident for a person to read', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'resolve', { actor: 'alice', summary: 'rolled back the deploy' });
    take(incident, 'submitReport', {
      actor: 'alice',
      summary: 'checkout failed for 20 minutes',
      rootCause: 'a bad deploy',
      actionsAndResults: 'rollback, fixed',
      recommendations: 'canary deploys',
    });
    take(incident, 'waiveFollowUp', { actor: 'dave', followUpId: 'lessons', reason: 'same as INC-1' });
    const md = renderIncidentRecord(incident.state);
    expect(md).toMatch(/^# Payments API error rate above 5%\n/);
    expect(md).toContain('| Phase | post-incident |');
    expect(md).toContain('| Acknowledged | alice at ');
    expect(md).toContain('## Resolution\nrolled back the deploy');
    expect(md).toContain('### Root cause\na bad deploy');
    expect(md).toContain('| lessons | Lessons learned and process improvements | alice |');
    expect(md).toContain('waived by dave: same as INC-1');
    expect(md).toMatch(/\*\*report-submitted\*\* alice: final report submitted; root cause: a bad deploy/);
    expect(md.split('\n').filter((l) => l.startsWith('- ') && l.includes('**'))).toHaveLength(
      incident.state.timeline.length,
    );
  });
});
