import { describe, expect, it } from 'vitest';
import { SendTimeout } from '../../activities/delivery-errors';
import { noticeActivity, noticeCard } from '../../channels/teams/card';
import {
  classifyTeamsError,
  TeamsConversationUnreadable,
  TeamsNotInstalled,
} from '../../channels/teams/errors';
import { teamsOutbound } from '../../channels/teams/outbound';
import { TeamsConversations } from '../../channels/teams/conversations';
import { BotTokenError } from '../../channels/teams/token';
import type { Notification } from '../../workflows/incident/model';

const notice = (over: Partial<Notification> = {}): Notification => ({
  incidentId: 'inc-1',
  kind: 'page',
  subject: 'SEV2 payments: error rate above 5%',
  text: 'Paged: alice. [click me](https://evil.example) **bold** <at>everyone</at>',
  responders: [
    { id: 'alice', name: 'Alice Ng', level: 'L2' },
    { id: 'bob', name: 'Bob Okafor', level: 'L2' },
  ],
  slackChannels: [],
  emails: [],
  links: [
    { label: 'Runbook', url: 'https://runbooks.example.com/payments' },
    { label: 'Sneaky', url: 'javascript:alert(1)' },
  ],
  actions: { phase: 'triggered', response: 0, steps: ['acknowledge'] },
  ...over,
});

describe('a notice as a Teams card', () => {
  it('shows its words as plain text runs, and only web links', () => {
    const card = noticeCard(
      notice({
        links: [...notice().links, { label: 'Huge', url: `https://x.example/${'a'.repeat(5_000)}` }],
      }),
    ) as {
      body: { inlines: { type: string; text: string }[] }[];
      actions: Record<string, unknown>[];
    };
    expect(card.body.flatMap((b) => b.inlines.map((i) => i.type))).toEqual(['TextRun', 'TextRun']);
    expect(card.body[1]?.inlines[0]?.text).toContain('[click me](https://evil.example)');
    // No buttons for moves until the endpoint acts on them; no javascript: and no giant links.
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Runbook', url: 'https://runbooks.example.com/payments' },
    ]);
  });

  it('stays inside a Teams message in any script, even a text of line breaks', () => {
    for (const text of ['障'.repeat(30_000), '\n'.repeat(60_000), '😀'.repeat(20_000)]) {
      const activity = noticeActivity(notice({ subject: '障'.repeat(1_000), text }));
      expect(Buffer.byteLength(JSON.stringify(activity))).toBeLessThan(28_000);
    }
  });

  it('cuts long text, and carries the subject as the summary', () => {
    const activity = noticeActivity(notice({ text: 'x'.repeat(50_000) }));
    expect(activity.summary).toBe('SEV2 payments: error rate above 5%');
    expect(Buffer.byteLength(JSON.stringify(activity))).toBeLessThan(12_000);
  });

  it('reaches the people the notice addresses who have a Teams id, once each', () => {
    const channel = teamsOutbound({
      people: new Map([['alice', 'aad-alice']]),
      conversations: new TeamsConversations('/nonexistent'),
    });
    const twice = notice({
      responders: [...notice().responders, { id: 'alice', name: 'Alice Ng', level: 'L2' }],
    });
    expect(channel.targets(twice)).toEqual(['aad-alice']);
    // Without the bot's secret there is nothing to send with: the targets are reported undelivered.
    expect(channel.send).toBeUndefined();
  });
});

describe('what a failed Teams send means', () => {
  const answered = (status: number, headers: Record<string, string> = {}) => ({
    isAxiosError: true,
    message: `Request failed with status code ${status}`,
    response: { status, headers },
  });

  it('tries again after throttling, outages and silence; not after a refusal', () => {
    expect(classifyTeamsError(answered(429, { 'retry-after': '7' }))).toEqual({
      retry: true,
      reason: 'rate limited (HTTP 429)',
      retryAfterMs: 7_000,
    });
    expect(classifyTeamsError(answered(429))).toEqual({ retry: true, reason: 'rate limited (HTTP 429)' });
    expect(classifyTeamsError(answered(503))).toEqual({ retry: true, reason: 'HTTP 503' });
    expect(classifyTeamsError(answered(403))).toEqual({ retry: false, reason: 'Teams answered HTTP 403' });
    expect(classifyTeamsError(answered(404)).retry).toBe(false);
    expect(classifyTeamsError(answered(412)).retry).toBe(true);
    expect(classifyTeamsError(answered(401)).retry).toBe(true);
    expect(classifyTeamsError(new TeamsConversationUnreadable('aad-bob', 'its file is not JSON')).retry).toBe(
      false,
    );
    expect(classifyTeamsError(new Error('socket hang up')).retry).toBe(true);
    expect(classifyTeamsError(new SendTimeout(20_000)).retry).toBe(true);
    expect(classifyTeamsError(new TeamsNotInstalled('aad-bob')).retry).toBe(false);
    expect(classifyTeamsError(new BotTokenError(401, 'AADSTS7000215: Invalid client secret')).retry).toBe(
      false,
    );
    expect(classifyTeamsError(new BotTokenError(500, 'busy')).retry).toBe(true);
  });
});
