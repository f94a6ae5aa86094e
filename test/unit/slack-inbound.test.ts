/**
 * The pure parts of Slack's way in: signature checks, the slash command's grammar, form
 * submissions, which messages become notes, and the words people are told.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HttpError } from '../../api/errors';
import { parseCommand, usage } from '../../channels/slack/inbound/commands';
import { isPersonThreadReply } from '../../channels/slack/inbound/events';
import { unknownUser } from '../../channels/slack/inbound/identity';
import { refused, staleClick, stepDone } from '../../channels/slack/inbound/messages';
import { firstField, modalView, submissionOf } from '../../channels/slack/inbound/modals';
import type { MessageEvent, ViewStateValues } from '../../channels/slack/inbound/payloads';
import { verifySlackSignature } from '../../channels/slack/inbound/verify';
import { requireSecrets } from '../../config/secrets';
import { testConfig } from '../support/config';
import { plainIncident, take } from './plain-incident';

const SECRET = 'unit-signing-secret';
const NOW_MS = Date.parse('2026-11-26T10:00:00Z');
const NOW = NOW_MS / 1000;

function signed(body: string, timestamp = NOW, secret = SECRET) {
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
  };
}

function refusalOf(run: () => void): { status: number; message: string } | undefined {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return { status: (err as HttpError).statusCode, message: (err as HttpError).message };
  }
  return undefined;
}

describe('Slack request signatures', () => {
  const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';

  it('accepts a request Slack signed within five minutes', () => {
    expect(refusalOf(() => verifySlackSignature(SECRET, body, signed(body), NOW_MS))).toBeUndefined();
    expect(
      refusalOf(() => verifySlackSignature(SECRET, body, signed(body, NOW - 299), NOW_MS)),
    ).toBeUndefined();
  });

  it('refuses forged, altered, unsigned, stale and future requests with 401', () => {
    const cases: [string, Record<string, string>, string, RegExp][] = [
      ['another secret', signed(body, NOW, 'guess'), body, /signature mismatch/],
      ['another body', signed(body), `${body}x`, /signature mismatch/],
      ['unsigned', {}, body, /not signed by Slack/],
      ['no timestamp', { 'x-slack-signature': signed(body)['x-slack-signature'] }, body, /not signed/],
      ['six minutes old', signed(body, NOW - 360), body, /stale/],
      ['ten minutes ahead', signed(body, NOW + 600), body, /in the future/],
      [
        'timestamp not a number',
        { ...signed(body), 'x-slack-request-timestamp': '1e9' },
        body,
        /not a Unix time/,
      ],
      [
        'another version',
        { ...signed(body), 'x-slack-signature': 'v1=abc' },
        body,
        /unknown signature version/,
      ],
      ['empty signature', { ...signed(body), 'x-slack-signature': 'v0=' }, body, /signature mismatch/],
    ];
    for (const [what, headers, sent, reason] of cases) {
      const refusal = refusalOf(() => verifySlackSignature(SECRET, sent, headers, NOW_MS));
      expect(refusal?.status, what).toBe(401);
      expect(refusal?.message, what).toMatch(reason);
    }
  });
});

describe('the /incident grammar', () => {
  it('reads sub-commands, ids and free text', () => {
    expect(parseCommand('')).toEqual({ kind: 'help' });
    expect(parseCommand('  HELP ')).toEqual({ kind: 'help' });
    expect(parseCommand('list')).toEqual({ kind: 'list' });
    expect(parseCommand('ack incident-20261126-ab12')).toEqual({ kind: 'ack', id: 'incident-20261126-ab12' });
    expect(parseCommand('status alertgroup-0f')).toEqual({ kind: 'status', id: 'alertgroup-0f' });
    expect(parseCommand('escalate inc-1   restart did not help\nsecond line')).toEqual({
      kind: 'escalate',
      id: 'inc-1',
      text: 'restart did not help\nsecond line',
    });
    expect(parseCommand('resolve inc-1 failed over')).toEqual({
      kind: 'resolve',
      id: 'inc-1',
      text: 'failed over',
    });
    expect(parseCommand('note inc-1 inc-1 is EU only')).toEqual({
      kind: 'note',
      id: 'inc-1',
      text: 'inc-1 is EU only',
    });
  });

  it('reads `trained <id>` with an optional note', () => {
    expect(parseCommand('trained inc-1')).toEqual({ kind: 'trained', id: 'inc-1' });
    expect(parseCommand('  Trained   inc-1   ')).toEqual({ kind: 'trained', id: 'inc-1' });
    expect(parseCommand('trained inc-1 watched the replay\nwith Dave')).toEqual({
      kind: 'trained',
      id: 'inc-1',
      note: 'watched the replay\nwith Dave',
    });
    expect(parseCommand('trained')).toEqual({ kind: 'usage', problem: '`trained` needs an incident id.' });
    expect(parseCommand('trained <!here>')).toEqual({
      kind: 'usage',
      problem: '`<!here>` is not an incident id.',
    });
    expect(usage('/incident')).toContain('`/incident trained &lt;id&gt; [note]`: confirm you were trained');
  });

  it('answers a usage problem for what it cannot read', () => {
    expect(parseCommand('reboot inc-1')).toEqual({ kind: 'usage', problem: 'There is no `reboot` command.' });
    expect(parseCommand('ack')).toEqual({ kind: 'usage', problem: '`ack` needs an incident id.' });
    expect(parseCommand('resolve inc-1')).toEqual({ kind: 'usage', problem: '`resolve` needs a summary.' });
    expect(parseCommand('note inc-1  ')).toEqual({
      kind: 'usage',
      problem: '`note` needs the text of the note.',
    });
    expect(parseCommand('ack <!channel>')).toEqual({
      kind: 'usage',
      problem: '`<!channel>` is not an incident id.',
    });
    expect(usage('/incident')).toContain(
      '`/incident escalate &lt;id&gt; &lt;reason&gt;`: escalate it to Level 3',
    );
  });
});

describe('forms', () => {
  const values = (fields: Record<string, string | { selected: string }>): ViewStateValues =>
    Object.fromEntries(
      Object.entries(fields).map(([name, v]) => [
        name,
        {
          [name]:
            typeof v === 'string'
              ? { type: 'plain_text_input', value: v }
              : { type: 'static_select', selected_option: { value: v.selected } },
        },
      ]),
    );

  it('builds the Assess form with the current severity chosen and Baton’s callback id', () => {
    const { state } = plainIncident();
    const view = modalView('assess', state, '{"m":1}');
    expect(view).toMatchObject({ type: 'modal', callback_id: 'baton:assess', private_metadata: '{"m":1}' });
    const ids = view.blocks.flatMap((b) => ('block_id' in b && b.block_id ? [b.block_id] : []));
    expect(ids).toEqual(['severity', 'urgency', 'impact', 'observations']);
    expect(JSON.stringify(view.blocks)).toContain(
      '"initial_option":{"text":{"type":"plain_text","text":"SEV2"},"value":"SEV2"}',
    );
  });

  it('turns a submission into the step’s body, checked by the API’s own schema', () => {
    expect(
      submissionOf(
        'assess',
        values({
          severity: { selected: 'SEV1' },
          urgency: { selected: 'high' },
          impact: ' checkout ',
          observations: '502s',
        }),
      ),
    ).toEqual({
      ok: true,
      body: { severity: 'SEV1', urgency: 'high', impact: 'checkout', observations: '502s' },
    });
    expect(submissionOf('escalate', values({ reason: 'stuck' }))).toEqual({
      ok: true,
      body: { reason: 'stuck' },
    });
    expect(
      submissionOf(
        'recordAction',
        values({ kind: { selected: 'restart' }, description: 'pods', result: 'ok' }),
      ),
    ).toEqual({ ok: true, body: { kind: 'restart', description: 'pods', result: 'ok' } });
  });

  it('answers field errors under the fields that need them', () => {
    expect(submissionOf('resolve', values({}))).toEqual({ ok: false, errors: { summary: 'Fill this in.' } });
    const bad = submissionOf(
      'assess',
      values({
        severity: { selected: 'SEV9' },
        urgency: { selected: 'high' },
        impact: '   ',
        observations: 'x',
      }),
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['impact', 'severity']);
    expect(firstField('recordAction')).toBe('kind');
  });
});

describe('thread replies', () => {
  const reply: MessageEvent = {
    type: 'message',
    user: 'U01BOB',
    text: 'hi',
    ts: '2.0',
    thread_ts: '1.0',
    channel: 'C1',
    channel_type: 'channel',
  };

  it('takes a person’s reply in a channel thread, and nothing else', () => {
    expect(isPersonThreadReply(reply, ['U0BOT'])).toBe(true);
    expect(isPersonThreadReply({ ...reply, channel_type: 'group' }, [])).toBe(true);
    const not: [string, MessageEvent][] = [
      ['a bot', { ...reply, bot_id: 'B1' }],
      ['Baton itself', { ...reply, user: 'U0BOT' }],
      ['an edit', { ...reply, subtype: 'message_changed' }],
      ['a join', { ...reply, subtype: 'channel_join' }],
      ['no thread', { ...reply, thread_ts: undefined }],
      ['the parent', { ...reply, ts: '1.0' }],
      ['a direct message', { ...reply, channel_type: 'im' }],
      ['nobody', { ...reply, user: undefined }],
    ];
    for (const [what, event] of not) expect(isPersonThreadReply(event, ['U0BOT']), what).toBe(false);
  });
});

describe('what people are told', () => {
  it('tells an unknown Slack user the line their admin must add, escaped', () => {
    const identity = unknownUser('U0<X>', 'a&b@example.com');
    expect(identity).toEqual({
      ok: false,
      reason:
        'Baton does not know your Slack account (U0&lt;X&gt;), so nothing was changed. ' +
        "Ask your Baton admin to add `slackUserId: U0&lt;X&gt;` to your entry under `responders` in Baton's configuration " +
        '(or to give your responder entry the email `a&amp;b@example.com`, the one on your Slack profile).',
    });
  });

  it('explains a stale click with the last thing someone did, and nothing for a current one', () => {
    const incident = plainIncident();
    take(incident, 'acknowledge', { actor: 'alice' });
    take(incident, 'resolve', { actor: 'carol', summary: 'failed <over>' });
    expect(staleClick(incident.state, 'post-incident')).toBeUndefined();
    const text = staleClick(incident.state, 'triggered', { carol: { name: 'Carol Diaz' } }) ?? '';
    expect(text).toContain('this message is out of date');
    expect(text).toContain('Last: Carol Diaz: resolved: failed &lt;over&gt; (');
  });

  it('tells a member who confirmed their training where, without a phase that did not move', () => {
    const incident = plainIncident();
    take(incident, 'resolve', { actor: 'alice', summary: 'failed over' });
    expect(take(incident, 'confirmTraining', { actor: 'bob' })).toBeUndefined();
    expect(stepDone('confirmTraining', incident.state)).toBe(
      'You confirmed your training on *Payments API error rate above 5%* (`inc-unit`).',
    );
    expect(stepDone('resolve', incident.state)).toContain('; it is now _');
  });

  it('escapes refusal reasons', () => {
    expect(refused('the <!channel> is closed')).toBe('Nothing was changed: the &lt;!channel&gt; is closed.');
  });
});

describe('setting Slack up', () => {
  it('ships a manifest whose URLs, command, events and scopes are the ones Baton serves and uses', () => {
    const manifest = parse(
      readFileSync(new URL('../../channels/slack/manifest.yaml', import.meta.url), 'utf8'),
    ) as {
      features: { slash_commands: { command: string; url: string }[] };
      oauth_config: { scopes: { bot: string[] } };
      settings: {
        interactivity: { is_enabled: boolean; request_url: string };
        event_subscriptions: { request_url: string; bot_events: string[] };
      };
    };
    const path = (url: string) => new URL(url).pathname;
    expect(manifest.features.slash_commands.map((c) => [c.command, path(c.url)])).toEqual([
      ['/incident', '/slack/commands'],
    ]);
    expect(manifest.settings.interactivity).toMatchObject({ is_enabled: true });
    expect(path(manifest.settings.interactivity.request_url)).toBe('/slack/interactions');
    expect(path(manifest.settings.event_subscriptions.request_url)).toBe('/slack/events');
    expect(manifest.settings.event_subscriptions.bot_events).toContain('message.channels');
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'chat:write',
        'commands',
        'users:read',
        'users:read.email',
        'channels:history',
      ]),
    );
  });

  it('asks for the signing secret and the bot token before the API starts with Slack configured', () => {
    const config = testConfig((c) => {
      c.notifications = { slack: { tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' } };
    });
    const env = { TOKEN_ALICE: 'a', TOKEN_BOB: 'b', TOKEN_CAROL: 'c', TOKEN_DAVE: 'd' };
    expect(() => requireSecrets(config, ['api'], env)).toThrow(
      /SLACK_SIGNING_SECRET: needed by the API, to check that Slack's requests come from Slack[\s\S]*SLACK_BOT_TOKEN: needed by the API/,
    );
    expect(() =>
      // A signing secret as Slack issues them: 32 hexadecimal characters.
      requireSecrets(config, ['api'], {
        ...env,
        SLACK_BOT_TOKEN: 'x',
        SLACK_SIGNING_SECRET: '8f742231b10e8888abcd9911fe2d85a5',
      }),
    ).not.toThrow();
    const withoutInbound = testConfig((c) => {
      c.notifications = { slack: { tokenEnv: 'SLACK_BOT_TOKEN' } };
    });
    expect(() => requireSecrets(withoutInbound, ['api'], env)).not.toThrow();
  });
});
