import { describe, expect, it } from 'vitest';
import {
  actionIdOf,
  buttonValue,
  modalMetadata,
  opensModal,
  parseButtonValue,
  parseModalMetadata,
  SLACK_STEPS,
  stepOfActionId,
} from '../../channels/slack/actions';

describe('the Slack action contract', () => {
  it('names every button baton:<step> and reads the step back from it', () => {
    expect(SLACK_STEPS.map(actionIdOf)).toEqual([
      'baton:acknowledge',
      'baton:assess',
      'baton:recordAction',
      'baton:escalate',
      'baton:acceptHandover',
      'baton:resolve',
    ]);
    for (const step of SLACK_STEPS) expect(stepOfActionId(actionIdOf(step))).toBe(step);
    for (const other of [
      'acknowledge',
      'other:acknowledge',
      'baton:constructor',
      'baton:__proto__',
      'baton:',
      '',
    ]) {
      expect(stepOfActionId(other)).toBeUndefined();
    }
  });

  it('opens a form for the steps that need words, and acts at once for the others', () => {
    expect(SLACK_STEPS.filter(opensModal)).toEqual(['assess', 'recordAction', 'escalate', 'resolve']);
  });

  it('carries the incident and its phase in a button value, and reads it back', () => {
    const value = buttonValue({ incident: 'alertgroup-abc', phase: 'escalated' });
    expect(JSON.parse(value)).toEqual({ incident: 'alertgroup-abc', phase: 'escalated' });
    expect(parseButtonValue(value)).toEqual({
      ok: true,
      value: { incident: 'alertgroup-abc', phase: 'escalated' },
    });
  });

  it('refuses a malformed button value with a reason, whatever it holds', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /^the button value is missing$/],
      [42, /^the button value is missing$/],
      ['not json', /^the button value is not JSON$/],
      ['{"incident":"x","phase":"sleeping"}', /^the button value is not one Baton made \(phase: /],
      ['{"incident":"x"}', /^the button value is not one Baton made \(phase: /],
      ['{"incident":"","phase":"triggered"}', /incident: /],
      ['{"incident":"x","phase":"triggered","admin":true}', /not one Baton made/],
      ['{"__proto__":{"phase":"triggered"},"incident":"x"}', /not one Baton made/],
      ['[1,2]', /not one Baton made/],
      ['null', /not one Baton made/],
    ];
    for (const [raw, reason] of cases) {
      const parsed = parseButtonValue(raw);
      expect(parsed.ok, String(raw)).toBe(false);
      if (!parsed.ok) expect(parsed.reason, String(raw)).toMatch(reason);
    }
  });

  it('carries the incident, the phase and where to answer through a modal', () => {
    const metadata = {
      incident: 'incident-1',
      phase: 'acknowledged' as const,
      answer: {
        user: 'U01ALICE',
        channel: 'C0PAY',
        threadTs: '1.2',
        responseUrl: 'https://hooks.slack.com/actions/T/1/x',
      },
    };
    expect(parseModalMetadata(modalMetadata(metadata))).toEqual({ ok: true, value: metadata });
    const notHttp = JSON.stringify({
      ...metadata,
      answer: { user: 'U1', responseUrl: 'javascript:alert(1)' },
    });
    const refused = parseModalMetadata(notHttp);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/answer\.responseUrl: not an http\(s\) URL/);
    expect(parseModalMetadata('{')).toEqual({ ok: false, reason: 'the modal metadata is not JSON' });
  });
});
