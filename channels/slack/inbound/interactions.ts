/**
 * Clicks on Baton's buttons and submissions of its forms. A click names the incident and the
 * phase its message showed; a click on an outdated message changes nothing and says what
 * happened since. Acknowledge and Accept handover act at once; the other buttons open a form
 * whose submission takes the step. Every answer goes to the clicker alone.
 */
import type { FastifyBaseLogger } from 'fastify';
import {
  answerToSchema,
  modalMetadata,
  opensModal,
  parseButtonValue,
  parseModalMetadata,
  stepOfActionId,
  type AnswerTo,
  type SlackStep,
} from '../actions';
import type { Phase } from '../../../workflows/incident/model';
import type { IncidentState } from '../../../workflows/incident/state';
import { slackErrorOf } from './answers';
import { readIncident, takeStep, type SlackContext } from './context';
import { failed, notFound, refused, staleClick, stepDone } from './messages';
import { firstField, modalView, submissionOf } from './modals';
import type { BlockActionsPayload, ViewSubmissionPayload } from './payloads';

/** What a step needs besides its envelope when it is taken with one click. */
const ONE_CLICK: Partial<Record<SlackStep, Record<string, unknown>>> = {
  acknowledge: {},
  acceptHandover: { notes: 'Accepted in Slack.' },
};

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The checks a click and a submission share: who acts, that the incident exists, and that
 * it is still in the phase the person saw. Answers the person and returns undefined when
 * any of them fails.
 */
async function checked(
  ctx: SlackContext,
  to: AnswerTo,
  incident: string,
  shown: Phase,
  log: FastifyBaseLogger,
  shownResponse?: number,
): Promise<{ actor: string; state: IncidentState } | undefined> {
  const who = await ctx.identities.responderFor(to.user);
  if (!who.ok) {
    await ctx.answers.ephemeral(to, who.reason, log);
    return undefined;
  }
  const current = await readIncident(ctx, incident, who.responder.id, log);
  if (!current.ok) {
    await ctx.answers.ephemeral(
      to,
      current.status === 404 ? notFound(incident) : refused(current.reason),
      log,
    );
    return undefined;
  }
  const stale = staleClick(current.value, shown, ctx.names, shownResponse);
  if (stale) {
    log.info({ incident, shown, now: current.value.phase }, 'Slack click on an outdated message ignored');
    await ctx.answers.ephemeral(to, stale, log);
    return undefined;
  }
  return { actor: who.responder.id, state: current.value };
}

async function stepAndAnswer(
  ctx: SlackContext,
  to: AnswerTo,
  step: SlackStep,
  incident: string,
  arg: Record<string, unknown> & { actor: string; requestId: string },
  log: FastifyBaseLogger,
): Promise<void> {
  const outcome = await takeStep(ctx, step, incident, arg, log);
  await ctx.answers.ephemeral(to, outcome.ok ? stepDone(step, outcome.value) : failed(outcome), log);
}

export async function onBlockActions(
  ctx: SlackContext,
  payload: BlockActionsPayload,
  log: FastifyBaseLogger,
): Promise<void> {
  const [action] = payload.actions;
  const step = action ? stepOfActionId(action.action_id) : undefined;
  // Not one of Baton's buttons (another element in the same message): nothing to do.
  if (!action || !step) return;
  // Where to answer, as the form will carry it; what does not fit (never seen from Slack) is left out.
  const where = answerToSchema.safeParse({
    user: payload.user.id,
    ...(payload.channel ? { channel: payload.channel.id } : {}),
    ...(payload.container?.thread_ts ? { threadTs: payload.container.thread_ts } : {}),
    ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
  });
  const to: AnswerTo = where.success ? where.data : { user: payload.user.id };
  const value = parseButtonValue(action.value);
  if (!value.ok) {
    await ctx.answers.ephemeral(to, refused(value.reason), log);
    return;
  }
  const { incident, phase, response } = value.value;
  const ready = await checked(ctx, to, incident, phase, log, response);
  if (!ready) return;
  if (opensModal(step)) {
    if (!ctx.slack) {
      await ctx.answers.ephemeral(to, refused('Baton has no Slack bot token to open the form with'), log);
      return;
    }
    try {
      await ctx.slack.views.open({
        trigger_id: payload.trigger_id,
        view: modalView(step, ready.state, modalMetadata({ incident, phase, answer: to })),
      });
    } catch (err) {
      log.warn({ err, incident }, 'views.open failed');
      await ctx.answers.ephemeral(
        to,
        refused(`Slack did not open the form (${slackErrorOf(err)}); click again`),
        log,
      );
    }
    return;
  }
  await stepAndAnswer(
    ctx,
    to,
    step,
    incident,
    { ...ONE_CLICK[step], actor: ready.actor, requestId: `slack:${payload.trigger_id}` },
    log,
  );
}

/** Slack's answer to a submission: field errors keep the form open; nothing closes it. */
export type SubmissionAnswer = { response_action: 'errors'; errors: Record<string, string> } | undefined;

/**
 * A form submission. Its fields are checked at once (errors show in the form); then the form
 * closes and the step is taken, answered where the click came from. Returns the immediate
 * answer and the work that follows it.
 */
export function onViewSubmission(
  ctx: SlackContext,
  payload: ViewSubmissionPayload,
  log: FastifyBaseLogger,
): { answer: SubmissionAnswer; work: Promise<void> } {
  const done = Promise.resolve();
  const step = stepOfActionId(payload.view.callback_id);
  if (!step || !opensModal(step)) return { answer: undefined, work: done };
  const metadata = parseModalMetadata(payload.view.private_metadata);
  const submission = submissionOf(step, payload.view.state.values);
  if (!submission.ok) return { answer: { response_action: 'errors', errors: submission.errors }, work: done };
  if (!metadata.ok) {
    // Nowhere else to say it: the form itself shows why nothing happened.
    log.warn({ reason: metadata.reason }, 'a Slack form came back without Baton metadata');
    return {
      answer: {
        response_action: 'errors',
        errors: { [firstField(step)]: cut(refused(metadata.reason), 150) },
      },
      work: done,
    };
  }
  const { incident, phase, answer } = metadata.value;
  // The person submitting is the one who clicked; Slack says so, the metadata only where to answer.
  const to: AnswerTo = { ...answer, user: payload.user.id };
  const work = (async () => {
    const ready = await checked(ctx, to, incident, phase, log);
    if (!ready) return;
    await stepAndAnswer(
      ctx,
      to,
      step,
      incident,
      { ...submission.body, actor: ready.actor, requestId: `slack:${payload.view.id}` },
      log,
    );
  })();
  return { answer: undefined, work };
}
