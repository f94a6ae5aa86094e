/**
 * Slack's way in, end to end: requests signed the way Slack signs them reach the API, which
 * answers through the local Slack Web API stand-in (users.info, views.open,
 * chat.postEphemeral, conversations.replies, response_url) and takes the steps on real
 * incident workflows. Every test checks the record: what changed, who did it, and that a
 * refused request changed nothing.
 */
import { WebClient } from '@slack/web-api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionIdOf, buttonValue, parseModalMetadata } from '../channels/slack/actions';
import { buildApp, type AppDeps } from '../api/app';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import {
  acknowledgeUpdate,
  alertsFiredSignal,
  escalateUpdate,
  resolveUpdate,
} from '../workflows/incident/messages';
import type { Phase } from '../workflows/incident/model';
import type { IncidentState } from '../workflows/incident/state';
import { incidentWorkflow } from '../workflows/incident/incident';
import { policyFor, teamById } from '../config/policy';
import { randomUUID } from 'node:crypto';
import { buildTestApp, TOKEN_ENV } from './support/app';
import { testConfig } from './support/config';
import { alert, by, startIncident, state, type IncidentHandle } from './support/incidents';
import { aboutIncident, startSlackApi, type SlackApi } from './support/slack-api';
import {
  buttonClick,
  interactionBody,
  messageEvent,
  sendToSlackRoute,
  SIGNING_SECRET,
  signatureOf,
  slashCommand,
  triggerId,
  viewSubmission,
} from './support/slack-requests';
import { eventsOf, terminateAll } from './support/timeline';
import { eventually, startTestWorker, type TestWorker } from './support/worker';

const BOT_TOKEN = 'xoxb-0000000000-slack-inbound-test';
const TEAM_CHANNEL = '#payments-incidents';

let slack: SlackApi;
let w: TestWorker;
let app: FastifyInstance;
const handles: IncidentHandle[] = [];

beforeAll(async () => {
  slack = await startSlackApi({
    token: BOT_TOKEN,
    users: [
      { id: 'U0STRANGER', email: 'stranger@elsewhere.example' },
      { id: 'U0BOBNEW', email: 'Bob@Example.com' },
      { id: 'U0UNCONFIRMED', email: 'carol@example.com', is_email_confirmed: false },
      // users.info without the field: nothing says the address is this user's.
      { id: 'U0NOTSAID', email: 'dave@example.com', is_email_confirmed: null },
    ],
  });
  const config = testConfig((c) => {
    c.notifications = {
      slack: { apiUrl: slack.apiUrl, tokenEnv: 'SLACK_BOT_TOKEN', signingSecretEnv: 'SLACK_SIGNING_SECRET' },
    };
  });
  w = await startTestWorker(config, 'slack-inbound', { SLACK_BOT_TOKEN: BOT_TOKEN });
  app = await slackApp();
});

/** The API as production builds it, with Slack's secrets set and its client on the stand-in. */
async function slackApp(extra: Partial<AppDeps> = {}): Promise<FastifyInstance> {
  const appConfig: BatonConfig = {
    ...w.config,
    temporal: { ...w.config.temporal, taskQueue: w.taskQueue },
    api: { ...w.config.api, alertmanager: { bearer: { tokenEnv: 'WEBHOOK_TOKEN' } } },
  };
  return buildApp({
    config: appConfig,
    secrets: loadSecrets(appConfig, {
      ...TOKEN_ENV,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
    }),
    temporal: w.client,
    slack: new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }),
    ...extra,
  });
}
afterAll(async () => {
  await terminateAll(handles);
  await app?.close();
  await w?.stop();
  await slack?.close();
});

async function incident(): Promise<IncidentHandle> {
  const handle = await startIncident(w);
  handles.push(handle);
  return handle;
}

async function acknowledged(who = 'alice'): Promise<IncidentHandle> {
  const handle = await incident();
  await handle.executeUpdate(acknowledgeUpdate, { args: [by(who)] });
  return handle;
}

async function escalated(): Promise<IncidentHandle> {
  const handle = await acknowledged();
  await handle.executeUpdate(escalateUpdate, { args: [{ ...by('alice'), reason: 'restart did not help' }] });
  return handle;
}

/** Clicks a button as `user` on a message that showed `phase`; returns the response and its response_url. */
async function click(
  user: string,
  step: Parameters<typeof actionIdOf>[0],
  id: string,
  phase: Phase,
  to: FastifyInstance = app,
) {
  const responseUrl = slack.responseUrl();
  const payload = buttonClick({
    user,
    actionId: actionIdOf(step),
    value: buttonValue({ incident: id, phase }),
    responseUrl,
  });
  const response = await sendToSlackRoute(to, 'interactions', interactionBody(payload));
  return { response, responseUrl, payload };
}

/** What the person was told at this response_url (Baton answers before Slack gets its 200). */
function toldAt(responseUrl: string): string[] {
  return slack.responses.filter((r) => r.url === responseUrl).map((r) => r.body.text ?? '');
}

/** The record without what moves by itself (none of these tests lets a timer fire). */
function steps(s: IncidentState) {
  return {
    phase: s.phase,
    acknowledgedBy: s.acknowledgedBy,
    holder: s.holder,
    handover: s.handover?.acceptedBy,
    assessments: s.assessments.length,
    notes: s.notes.length,
    timeline: s.timeline.map((e) => `${e.kind}:${e.actor}`),
  };
}

async function command(user: string, text: string, trigger = triggerId()) {
  const responseUrl = slack.responseUrl();
  const response = await sendToSlackRoute(
    app,
    'commands',
    slashCommand({ user, text, responseUrl, triggerId: trigger }),
  );
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ response_type: string; text: string }>();
}

describe('buttons', () => {
  it('acknowledges from a signed click on Acknowledge, as the responder who clicked', async () => {
    const handle = await incident();
    const { response, responseUrl } = await click('U01ALICE', 'acknowledge', handle.workflowId, 'triggered');
    expect(response.statusCode, response.body).toBe(200);
    const s = await state(handle);
    expect(s.phase).toBe('acknowledged');
    expect(s.acknowledgedBy).toBe('alice');
    expect(s.holder).toBe('alice');
    expect(eventsOf(s, 'acknowledged').map((e) => e.actor)).toEqual(['alice']);
    const [told] = toldAt(responseUrl);
    expect(told).toContain('You acknowledged');
    expect(slack.responses.find((r) => r.url === responseUrl)?.body).toMatchObject({
      response_type: 'ephemeral',
      replace_original: false,
    });
  });

  it('acknowledges from the button on the page sent to the paged responder directly', async () => {
    const handle = await incident();
    const id = handle.workflowId;
    // The page reached alice as a direct message with the Acknowledge button on it.
    const dm = await eventually(() =>
      slack.posted().find((r) => r.channel === 'U01ALICE' && r.metadata?.event_payload?.incident_id === id),
    );
    const blocks = typeof dm.args.blocks === 'string' ? dm.args.blocks : JSON.stringify(dm.args.blocks);
    const button = (
      JSON.parse(blocks) as { type: string; elements?: { action_id: string; value: string }[] }[]
    ).find((b) => b.type === 'actions')?.elements?.[0];
    expect(button?.action_id).toBe('baton:acknowledge');
    expect(JSON.parse(button?.value ?? '{}')).toEqual({ incident: id, phase: 'triggered', response: 0 });

    const responseUrl = slack.responseUrl();
    const payload = buttonClick({
      user: 'U01ALICE',
      actionId: button?.action_id ?? '',
      value: button?.value ?? '',
      responseUrl,
      channel: 'D0ALICE',
    });
    const response = await sendToSlackRoute(app, 'interactions', interactionBody(payload));
    expect(response.statusCode, response.body).toBe(200);
    expect(await state(handle)).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });
  });

  it('assesses through the form the Assess button opens, with field errors kept in the form', async () => {
    const handle = await acknowledged();
    const id = handle.workflowId;
    const { response, payload, responseUrl } = await click('U01ALICE', 'assess', id, 'acknowledged');
    expect(response.statusCode, response.body).toBe(200);
    const opened = slack.called('views.open').find((r) => r.args.trigger_id === payload.trigger_id);
    expect(opened, 'views.open with the click’s trigger_id').toBeDefined();
    const view = JSON.parse(String(opened?.args.view)) as Record<string, unknown>;
    expect(view).toMatchObject({ type: 'modal', callback_id: 'baton:assess' });
    const metadata = parseModalMetadata(view.private_metadata);
    expect(metadata).toEqual({
      ok: true,
      value: {
        incident: id,
        phase: 'acknowledged',
        answer: { user: 'U01ALICE', channel: 'C0PAYMENTS', responseUrl },
      },
    });
    expect((await state(handle)).phase).toBe('acknowledged');

    const viewId = `V-${Date.now()}`;
    const incomplete = viewSubmission({
      user: 'U01ALICE',
      view,
      viewId,
      values: {
        severity: { selected: 'SEV1' },
        urgency: { selected: 'critical' },
        impact: { value: 'checkout down' },
      },
    });
    const errors = await sendToSlackRoute(app, 'interactions', interactionBody(incomplete));
    expect(errors.statusCode).toBe(200);
    expect(errors.json()).toEqual({ response_action: 'errors', errors: { observations: 'Fill this in.' } });
    expect((await state(handle)).assessments).toEqual([]);

    const complete = viewSubmission({
      user: 'U01ALICE',
      view,
      viewId,
      values: {
        severity: { selected: 'SEV1' },
        urgency: { selected: 'critical' },
        impact: { value: 'checkout down' },
        observations: { value: '502 from the provider' },
      },
    });
    const submitted = await sendToSlackRoute(app, 'interactions', interactionBody(complete));
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.body).toBe('');
    const s = await state(handle);
    expect(s.phase).toBe('assessed');
    expect(s.severity).toBe('SEV1');
    expect(s.assessments).toMatchObject([
      {
        severity: 'SEV1',
        urgency: 'critical',
        impact: 'checkout down',
        observations: '502 from the provider',
        by: 'alice',
      },
    ]);
    expect(toldAt(responseUrl).join('\n')).toContain('You assessed');
  });

  it('refuses a Level 2 responder clicking Accept handover, with the reason, and lets Level 3 accept', async () => {
    const handle = await escalated();
    const before = steps(await state(handle));
    const bob = await click('U01BOB', 'acceptHandover', handle.workflowId, 'escalated');
    expect(bob.response.statusCode).toBe(200);
    expect(toldAt(bob.responseUrl)).toEqual([
      'Nothing was changed: only Level 3 or a manager can accept a handover; bob is Level 2.',
    ]);
    expect(steps(await state(handle))).toEqual(before);

    const carol = await click('U01CAROL', 'acceptHandover', handle.workflowId, 'escalated');
    expect(carol.response.statusCode).toBe(200);
    const s = await state(handle);
    expect(s.phase).toBe('collaborating');
    expect(s.handover?.acceptedBy).toBe('carol');
    expect(toldAt(carol.responseUrl).join('\n')).toContain('You accepted the handover');
  });

  it('changes nothing on a click from before the incident was reopened, though the phase matches again', async () => {
    const firing = alert('HighLatency', `fp-${randomUUID()}`);
    const handle = await startIncident(w, { alerts: [firing] });
    handles.push(handle);
    const id = handle.workflowId;
    await handle.executeUpdate(acknowledgeUpdate, { args: [by('alice')] });
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'restarted' }] });
    await handle.signal(alertsFiredSignal, { alerts: [{ ...firing, startsAt: '2026-11-26T12:00:00Z' }] });
    await eventually(async () => ((await state(handle)).reopenedCount === 1 ? true : undefined));

    // A button from the first response: the phase is 'triggered' again, the response is not.
    const old = slack.responseUrl();
    const stale = buttonClick({
      user: 'U01BOB',
      actionId: actionIdOf('acknowledge'),
      value: buttonValue({ incident: id, phase: 'triggered', response: 0 }),
      responseUrl: old,
    });
    expect((await sendToSlackRoute(app, 'interactions', interactionBody(stale))).statusCode).toBe(200);
    expect((await state(handle)).acknowledgedBy).toBeUndefined();
    expect(toldAt(old).join('\n')).toContain('Nothing was changed: this message is out of date.');

    // The reopened incident's own button acts.
    const current = buttonClick({
      user: 'U01BOB',
      actionId: actionIdOf('acknowledge'),
      value: buttonValue({ incident: id, phase: 'triggered', response: 1 }),
      responseUrl: slack.responseUrl(),
    });
    expect((await sendToSlackRoute(app, 'interactions', interactionBody(current))).statusCode).toBe(200);
    expect((await state(handle)).acknowledgedBy).toBe('bob');
  });

  it('changes nothing on a click on an outdated message, and says what happened and who did it', async () => {
    const handle = await acknowledged();
    await handle.executeUpdate(resolveUpdate, { args: [{ ...by('alice'), summary: 'failed over' }] });
    const before = steps(await state(handle));
    expect(before.phase).toBe('post-incident');

    const { response, responseUrl } = await click('U01BOB', 'acknowledge', handle.workflowId, 'triggered');
    expect(response.statusCode).toBe(200);
    expect(steps(await state(handle))).toEqual(before);
    const [told] = toldAt(responseUrl);
    expect(told).toContain('Nothing was changed: this message is out of date.');
    expect(told).toContain(
      'is now _Resolved: follow-ups open_ (the message showed _Triggered: waiting for acknowledgement_)',
    );
    expect(told).toContain('Last: Alice Ng: resolved: failed over');
  });

  it('tells a Slack user Baton does not know exactly what to ask their admin, and changes nothing', async () => {
    const handle = await incident();
    const before = steps(await state(handle));
    for (const user of ['U0STRANGER', 'U0UNCONFIRMED', 'U0NOBODY']) {
      const { response, responseUrl } = await click(user, 'acknowledge', handle.workflowId, 'triggered');
      expect(response.statusCode).toBe(200);
      const [told] = toldAt(responseUrl);
      expect(told).toContain(`Baton does not know your Slack account (${user}), so nothing was changed.`);
      expect(told).toContain(
        `Ask your Baton admin to add \`slackUserId: ${user}\` to your entry under \`responders\` in Baton's configuration`,
      );
    }
    expect(steps(await state(handle))).toEqual(before);
    const asked = slack.requests.filter((r) => r.method === 'users.info').map((r) => r.args.user);
    expect(asked).toEqual(expect.arrayContaining(['U0STRANGER', 'U0UNCONFIRMED', 'U0NOBODY']));
  });

  it('acts as nobody for a Slack user whose profile does not say the email is confirmed', async () => {
    const handle = await incident();
    const before = steps(await state(handle));
    const { response, responseUrl } = await click('U0NOTSAID', 'acknowledge', handle.workflowId, 'triggered');
    expect(response.statusCode).toBe(200);
    const [told] = toldAt(responseUrl);
    expect(told).toContain('Baton does not know your Slack account (U0NOTSAID), so nothing was changed.');
    // The unconfirmed address is not offered as the fix.
    expect(told).not.toContain('dave@example.com');
    expect(steps(await state(handle))).toEqual(before);
    const asked = slack.requests.filter((r) => r.method === 'users.info' && r.args.user === 'U0NOTSAID');
    expect(asked).toHaveLength(1);
  });

  it('acts as the responder whose email a Slack user not in the configuration has confirmed', async () => {
    const handle = await incident();
    const { response } = await click('U0BOBNEW', 'acknowledge', handle.workflowId, 'triggered');
    expect(response.statusCode).toBe(200);
    expect((await state(handle)).acknowledgedBy).toBe('bob');
  });

  it('refuses a button whose value Baton did not make', async () => {
    const handle = await incident();
    const responseUrl = slack.responseUrl();
    const payload = buttonClick({
      user: 'U01ALICE',
      actionId: 'baton:acknowledge',
      value: '{"incident": 42}',
      responseUrl,
    });
    const response = await sendToSlackRoute(app, 'interactions', interactionBody(payload));
    expect(response.statusCode).toBe(200);
    expect(toldAt(responseUrl)[0]).toMatch(/^Nothing was changed: the button value is not one Baton made/);
    expect((await state(handle)).phase).toBe('triggered');
  });
});

describe('signatures', () => {
  it('refuses a forged, an unsigned and a stale request with 401, changing nothing', async () => {
    const handle = await incident();
    const before = steps(await state(handle));
    const body = interactionBody(
      buttonClick({
        user: 'U01ALICE',
        actionId: 'baton:acknowledge',
        value: buttonValue({ incident: handle.workflowId, phase: 'triggered' }),
        responseUrl: slack.responseUrl(),
      }),
    );
    const now = Math.floor(Date.now() / 1000);
    const attempts = {
      'wrong secret': await sendToSlackRoute(app, 'interactions', body, { secret: 'not-the-secret' }),
      'signature of another body': await sendToSlackRoute(app, 'interactions', body, {
        signature: signatureOf(SIGNING_SECRET, now, `${body}&x=1`),
      }),
      unsigned: await sendToSlackRoute(app, 'interactions', body, { unsigned: true }),
      'six minutes old': await sendToSlackRoute(app, 'interactions', body, { timestamp: now - 6 * 60 }),
      'ten minutes ahead': await sendToSlackRoute(app, 'interactions', body, { timestamp: now + 10 * 60 }),
    };
    for (const [what, response] of Object.entries(attempts)) {
      expect(response.statusCode, what).toBe(401);
      expect(response.json<{ code: string }>().code, what).toBe('Unauthorized');
    }
    expect(steps(await state(handle))).toEqual(before);

    const forgedCommand = await sendToSlackRoute(
      app,
      'commands',
      slashCommand({ user: 'U01ALICE', text: `ack ${handle.workflowId}`, responseUrl: slack.responseUrl() }),
      { secret: 'guessed' },
    );
    expect(forgedCommand.statusCode).toBe(401);
    expect(steps(await state(handle))).toEqual(before);
  });

  it('answers the url_verification challenge only when signed', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'c-3a7f', type: 'url_verification' });
    const signed = await sendToSlackRoute(app, 'events', body);
    expect(signed.statusCode).toBe(200);
    expect(signed.json()).toEqual({ challenge: 'c-3a7f' });
    expect((await sendToSlackRoute(app, 'events', body, { secret: 'nope' })).statusCode).toBe(401);
  });

  it('takes a replayed click once: the same signed request sent again changes nothing', async () => {
    const handle = await incident();
    const payload = buttonClick({
      user: 'U01ALICE',
      actionId: 'baton:acknowledge',
      value: buttonValue({ incident: handle.workflowId, phase: 'triggered' }),
      responseUrl: slack.responseUrl(),
    });
    const body = interactionBody(payload);
    expect((await sendToSlackRoute(app, 'interactions', body)).statusCode).toBe(200);
    const after = steps(await state(handle));
    expect(after.phase).toBe('acknowledged');
    expect((await sendToSlackRoute(app, 'interactions', body, { retry: 1 })).statusCode).toBe(200);
    expect(steps(await state(handle))).toEqual(after);
    expect(eventsOf(await state(handle), 'acknowledged')).toHaveLength(1);
  });

  it('keeps its raw-body parsing to the Slack routes: the JSON API parses as before', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { authorization: `Bearer ${TOKEN_ENV.TOKEN_ALICE}` },
      payload: { title: 'Declared beside Slack', service: 'payments', severity: 'SEV3' },
    });
    expect(response.statusCode, response.body).toBe(201);
    const id = response.json<{ id: string }>().id;
    handles.push(w.client.workflow.getHandle(id));
    expect(
      (await app.inject({ method: 'POST', url: '/slack/events', payload: { type: 'url_verification' } }))
        .statusCode,
    ).toBe(401);
  });

  it('does not serve the Slack routes without a signing secret', async () => {
    const plain = await buildTestApp(w);
    try {
      const body = interactionBody({ type: 'block_actions' });
      const response = await sendToSlackRoute(plain, 'interactions', body);
      expect(response.statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('the /incident command', () => {
  it('escalates from a signed /incident escalate with the reason, as the responder', async () => {
    const handle = await acknowledged();
    const answer = await command('U01ALICE', `escalate ${handle.workflowId} restart did not help, EU only`);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toContain('You escalated to Level 3');
    const s = await state(handle);
    expect(s.phase).toBe('escalated');
    expect(s.handover).toMatchObject({ requestedBy: 'alice', reason: 'restart did not help, EU only' });
  });

  it('acknowledges, resolves, reports status and lists open incidents', async () => {
    const handle = await incident();
    const id = handle.workflowId;
    expect((await command('U01BOB', `ack ${id}`)).text).toContain('You acknowledged');
    expect((await state(handle)).acknowledgedBy).toBe('bob');

    const status = (await command('U01ALICE', `status ${id}`)).text;
    expect(status).toContain(`(\`${id}\`)`);
    expect(status).toContain('Holder: Bob Okafor');

    const listed = await eventually(async () => {
      const text = (await command('U01ALICE', 'list')).text;
      return text.includes(id) ? text : undefined;
    });
    expect(listed).toMatch(/^Open incidents for team payments:/);

    expect((await command('U01BOB', `resolve ${id} rolled back the deploy`)).text).toContain('You resolved');
    const s = await state(handle);
    expect(s.resolution).toMatchObject({ by: 'bob', summary: 'rolled back the deploy' });
  });

  it('answers an unknown id or sub-command, and a refusal, with the reason and the usage', async () => {
    const handle = await incident();
    const unknownId = await command('U01ALICE', 'ack incident-does-not-exist');
    expect(unknownId.text).toContain('Baton has no incident `incident-does-not-exist`.');
    expect(unknownId.text).toContain('`/incident ack &lt;id&gt;`');
    const unknownSub = await command('U01ALICE', `reboot ${handle.workflowId}`);
    expect(unknownSub.text).toContain('There is no `reboot` command.');
    expect(unknownSub.text).toContain('`/incident escalate &lt;id&gt; &lt;reason&gt;`');
    expect((await command('U01ALICE', `escalate ${handle.workflowId}`)).text).toContain(
      '`escalate` needs a reason.',
    );
    expect((await command('U01ALICE', 'help')).text).toContain('`/incident list`');
    expect((await command('U01ALICE', `escalate ${handle.workflowId} stuck`)).text).toBe(
      'Nothing was changed: nobody has acknowledged the incident yet; acknowledge it before you escalate it.',
    );
    expect((await state(handle)).phase).toBe('triggered');
  });

  it('adds a note once, however often the same command is replayed', async () => {
    const handle = await incident();
    const trigger = triggerId();
    const text = `note ${handle.workflowId} card payments fail for EU customers only`;
    expect((await command('U01CAROL', text, trigger)).text).toContain('Your note is on the timeline');
    expect((await command('U01CAROL', text, trigger)).text).toContain('Your note is on the timeline');
    // A later note: once it is in, the replay before it was taken or dropped.
    await command('U01CAROL', `note ${handle.workflowId} second note`);
    const s = await eventually(async () => {
      const current = await state(handle);
      return current.notes.some((n) => n.text === 'second note') ? current : undefined;
    });
    expect(s.notes.map((n) => ({ by: n.by, text: n.text, source: n.source }))).toEqual([
      { by: 'carol', text: 'card payments fail for EU customers only', source: 'slack' },
      { by: 'carol', text: 'second note', source: 'slack' },
    ]);
  });
});

describe('/incident trained', () => {
  /** What a confirmation changes (the live message's bookkeeping moves by itself). */
  const training = (s: IncidentState) => ({
    phase: s.phase,
    followUps: s.followUps,
    events: s.timeline.filter((e) => e.kind.startsWith('training')),
  });

  it('confirms the sender’s training on a resolved SEV2 incident, once, and refuses a second time with the reason', async () => {
    const handle = await incident();
    const id = handle.workflowId;
    await handle.executeUpdate(resolveUpdate, {
      args: [{ ...by('alice'), summary: 'rolled back the deploy' }],
    });
    const attendance = (s: IncidentState) => s.followUps.find((f) => f.kind === 'training')?.attendance;
    expect(attendance(await state(handle))?.map((a) => a.status)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);

    const answer = await command('U01BOB', `trained ${id} watched the replay with Dave`);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toBe(
      `You confirmed your training on *Payments API error rate above 5%* (\`${id}\`).`,
    );
    const s = await state(handle);
    const bob = attendance(s)?.find((a) => a.member === 'bob');
    expect(bob).toMatchObject({ member: 'bob', status: 'confirmed' });
    expect(
      attendance(s)
        ?.filter((a) => a.status === 'confirmed')
        .map((a) => a.member),
    ).toEqual(['bob']);
    expect(eventsOf(s, 'training-confirmed').map((e) => ({ actor: e.actor, details: e.details }))).toEqual([
      { actor: 'bob', details: { member: 'bob', note: 'watched the replay with Dave' } },
    ]);
    expect(s.phase).toBe('post-incident');

    const again = await command('U01BOB', `trained ${id}`);
    expect(again.text).toBe(`Nothing was changed: bob already confirmed training at ${bob?.at ?? '?'}.`);
    expect(training(await state(handle))).toEqual(training(s));
  });

  it('refuses a confirmation before resolution, and where the severity asks for no training, with the reason', async () => {
    const open = await incident();
    const before = training(await state(open));
    expect((await command('U01CAROL', `trained ${open.workflowId}`)).text).toBe(
      'Nothing was changed: the incident is not resolved yet; confirm training after it is resolved.',
    );
    expect(training(await state(open))).toEqual(before);

    const sev3 = await startIncident(w, { severity: 'SEV3' });
    handles.push(sev3);
    await sev3.executeUpdate(resolveUpdate, {
      args: [{ ...by('alice'), summary: 'rolled back the deploy' }],
    });
    const resolved = await state(sev3);
    expect(resolved.followUps.map((f) => f.kind)).toEqual(['report']);
    expect((await command('U01CAROL', `trained ${sev3.workflowId}`)).text).toBe(
      'Nothing was changed: the training is not required for this incident.',
    );
    expect(training(await state(sev3))).toEqual(training(resolved));
  });
});

describe('thread replies', () => {
  it('adds a person’s reply in the incident message’s thread as a note, once however often Slack retries it', async () => {
    const handle = await incident();
    const id = handle.workflowId;
    // The worker pages the team channel through the stand-in, with Baton's metadata.
    const page = await eventually(() =>
      aboutIncident(slack.posted(), id).find((r) => r.channel === TEAM_CHANNEL && r.response.ts),
    );
    const channel = page.response.channel ?? '';
    const threadTs = page.response.ts ?? '';
    expect(channel).toMatch(/^C/);

    const reply = messageEvent({
      eventId: `Ev-${Date.now()}-1`,
      channel,
      threadTs,
      user: 'U01BOB',
      text: 'EU cards only, since 10:02',
    });
    expect((await sendToSlackRoute(app, 'events', reply)).statusCode).toBe(200);
    expect((await sendToSlackRoute(app, 'events', reply, { retry: 1 })).statusCode).toBe(200);
    expect((await sendToSlackRoute(app, 'events', reply, { retry: 2 })).statusCode).toBe(200);
    // Not notes: Baton's own post in the thread, an edit, a message outside any thread.
    const ignored = [
      messageEvent({
        eventId: `Ev-${Date.now()}-2`,
        channel,
        threadTs,
        botId: 'B0BATON',
        text: 'acknowledged',
      }),
      messageEvent({
        eventId: `Ev-${Date.now()}-3`,
        channel,
        threadTs,
        user: 'U01BOB',
        subtype: 'message_changed',
        text: 'edit',
      }),
      messageEvent({ eventId: `Ev-${Date.now()}-4`, channel, user: 'U01BOB', text: 'not in a thread' }),
    ];
    for (const event of ignored) expect((await sendToSlackRoute(app, 'events', event)).statusCode).toBe(200);
    const later = messageEvent({
      eventId: `Ev-${Date.now()}-5`,
      channel,
      threadTs,
      user: 'U01CAROL',
      text: 'on it',
    });
    expect((await sendToSlackRoute(app, 'events', later)).statusCode).toBe(200);

    const s = await eventually(async () => {
      const current = await state(handle);
      return current.notes.some((n) => n.text === 'on it') ? current : undefined;
    });
    expect(s.notes.map((n) => ({ by: n.by, text: n.text, source: n.source }))).toEqual([
      { by: 'bob', text: 'EU cards only, since 10:02', source: 'slack' },
      { by: 'carol', text: 'on it', source: 'slack' },
    ]);
    const lookups = slack.called('conversations.replies').filter((r) => r.args.ts === threadTs);
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups[0]?.args.channel).toBe(channel);
    // Form-encoded, as @slack/web-api sends it: without it Slack leaves the metadata out.
    expect(String(lookups[0]?.args.include_all_metadata)).toBe('true');
  });

  it('tells an unknown person in the thread that their reply did not become a note', async () => {
    const handle = await incident();
    const page = await eventually(() =>
      aboutIncident(slack.posted(), handle.workflowId).find(
        (r) => r.channel === TEAM_CHANNEL && r.response.ts,
      ),
    );
    const channel = page.response.channel ?? '';
    const threadTs = page.response.ts ?? '';
    const reply = messageEvent({
      eventId: `Ev-${Date.now()}-s`,
      channel,
      threadTs,
      user: 'U0STRANGER',
      text: 'hi',
    });
    expect((await sendToSlackRoute(app, 'events', reply)).statusCode).toBe(200);
    const told = slack
      .called('chat.postEphemeral')
      .find((r) => r.args.user === 'U0STRANGER' && r.args.thread_ts === threadTs);
    expect(told?.text).toContain(
      'Your reply was not added to the incident. Baton does not know your Slack account',
    );
    expect(told?.channel).toBe(channel);
    expect((await state(handle)).notes).toEqual([]);
  });
});

describe('Slack’s 3 seconds', () => {
  it('answers Slack in time when the incident does not answer, and tells the person once it knows', async () => {
    // Steps and reads give up after 4 s here, later than Slack waits.
    const slow = await slackApp({ answerWithinMs: 4_000 });
    const config = w.config;
    const handle = await w.client.workflow.start(incidentWorkflow, {
      taskQueue: `no-worker-${Date.now()}`,
      workflowId: `incident-test-${randomUUID()}`,
      args: [
        {
          title: 'Nobody runs this incident',
          service: 'payments',
          severity: 'SEV2',
          origin: { kind: 'manual', declaredBy: 'alice' },
          policy: policyFor(config, teamById(config, 'payments')),
        },
      ],
    });
    handles.push(handle);
    try {
      let started = Date.now();
      const { response, responseUrl } = await click(
        'U01ALICE',
        'acknowledge',
        handle.workflowId,
        'triggered',
        slow,
      );
      expect(response.statusCode).toBe(200);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(toldAt(responseUrl)).toEqual([]);
      const [told] = await eventually(() =>
        toldAt(responseUrl).length > 0 ? toldAt(responseUrl) : undefined,
      );
      expect(told).toBe(
        'Nothing was changed: the incident did not answer in time (is a Baton worker running?).',
      );

      const commandUrl = slack.responseUrl();
      started = Date.now();
      const answer = await sendToSlackRoute(
        slow,
        'commands',
        slashCommand({ user: 'U01ALICE', text: `ack ${handle.workflowId}`, responseUrl: commandUrl }),
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(answer.json()).toEqual({
        response_type: 'ephemeral',
        text: 'Working on it; the answer follows.',
      });
      const [later] = await eventually(() =>
        toldAt(commandUrl).length > 0 ? toldAt(commandUrl) : undefined,
      );
      expect(later).toMatch(
        /^Not confirmed: the incident did not answer in time .*check the incident before you try again\.$/,
      );
    } finally {
      await slow.close();
    }
  });
});
