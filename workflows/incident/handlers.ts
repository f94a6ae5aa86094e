/**
 * The incident's message handlers: every step of the table as an update with a validator,
 * the signals from Alertmanager and people, and the `state` query.
 *
 * Each update is validated (a refusal leaves no trace in the history) and then applied; a
 * request id seen before changes nothing and answers where the incident stands. Handlers
 * that arrive before the policy is known wait for it, and are checked again once it is.
 */
import { condition, log, patched, setHandler } from '@temporalio/workflow';
import type { ZodType } from 'zod';
import { alertsFired, alertsResolved, pageOnRefire, reopen } from './alerts';
import type { Incident, ReadyIncident } from './incident-context';
import {
  addNoteSchema,
  addNoteSignal,
  emailRefusedSchema,
  emailRefusedSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
  alertsSchema,
  membershipChangedSchema,
  membershipChangedSignal,
  membershipQuery,
  RefusalType,
  stateQuery,
} from './messages';
import { changeMembership, membershipOf } from './membership';
import { addNote, recordRefusedEmail } from './notes';
import type { z } from 'zod';
import { throwIfRefused, type Refusal } from './rules';
import { refusalOf, type Envelope, type Step } from './step';
import { steps } from './steps';
import type { StepResult } from './state';
import { summarize } from './summary';

export function registerHandlers(incident: Incident, publish: () => void): void {
  for (const entry of steps) registerStep(incident, publish, entry as Step<Envelope, unknown>);

  // Alerts from Alertmanager join the incident; clearing may resolve it, as the policy says.
  setHandler(alertsFiredSignal, (raw) => {
    const input = parseSignal(alertsSchema, raw, 'alertsFired');
    if (input) return whenReady(incident, (ready) => onAlertsFired(ready, input, publish));
  });
  setHandler(alertsResolvedSignal, (raw) => {
    const input = parseSignal(alertsSchema, raw, 'alertsResolved');
    if (input) return whenReady(incident, (ready) => onAlertsResolved(ready, input, publish));
  });
  setHandler(addNoteSignal, (raw) => {
    const input = parseSignal(addNoteSchema, raw, 'addNote');
    if (input) return whenReady(incident, (ready) => onNote(ready, input));
  });

  setHandler(emailRefusedSignal, (raw) => {
    const input = parseSignal(emailRefusedSchema, raw, 'emailRefused');
    if (input)
      return whenReady(incident, (ready) => {
        const dropped = recordRefusedEmail(ready, input);
        if (dropped) log.warn(dropped, { from: input.from });
        else ready.fit();
      });
  });

  setHandler(membershipChangedSignal, (raw) => {
    const input = parseSignal(membershipChangedSchema, raw, 'membershipChanged');
    if (input)
      return whenReady(incident, (ready) => {
        const ignored = changeMembership(ready, input);
        if (ignored) log.warn(ignored);
        else ready.fit();
      });
  });

  setHandler(stateQuery, () => incident.state);
  setHandler(membershipQuery, () => (incident.ready() ? membershipOf(incident.policy) : undefined));
}

/**
 * Runs a signal's work once the policy is known: at once when it is. An incident that
 * started before signals were handled at once waits as it always did, so its replay takes
 * the same steps. (Awaiting a condition that is already true, per signal, builds up nested
 * async contexts that crash the worker's thread in a storm of thousands of signals.)
 */
function whenReady(incident: Incident, work: (ready: ReadyIncident) => void): Promise<void> | undefined {
  if (incident.signalsAtOnce && incident.ready()) {
    work(incident);
    return undefined;
  }
  return (async () => {
    await condition(() => incident.ready());
    if (incident.ready()) work(incident);
  })();
}

function onAlertsFired(incident: ReadyIncident, input: AlertsOutput, publish: () => void): void {
  if (input.truncated !== undefined) incident.state.alertsTruncated = input.truncated;
  const fresh = alertsFired(incident, input.alerts);
  if (fresh.length === 0) return;
  incident.fit();
  if (incident.state.phase === 'post-incident' && patched('reopen-on-refire')) {
    reopen(incident, fresh);
  } else if (incident.state.resolution && patched('page-on-refire-after-resolution')) {
    pageOnRefire(incident, fresh);
  }
  publish();
}

function onAlertsResolved(incident: ReadyIncident, input: AlertsOutput, publish: () => void): void {
  if (!alertsResolved(incident, input.alerts)) return;
  incident.fit();
  publish();
}

function onNote(incident: ReadyIncident, input: Parameters<typeof addNote>[1]): void {
  const dropped = addNote(incident, input);
  if (dropped) log.warn(dropped, { actor: input.actor });
  else incident.fit();
}

function registerStep<TInput extends Envelope, TRaw>(
  incident: Incident,
  publish: () => void,
  step: Step<TInput, TRaw>,
): void {
  const { update, schema } = step;
  const refusalFor = (input: TInput): Refusal | undefined =>
    incident.ready() ? refusalOf(step, incident, input) : undefined;
  const applyChecked = (input: TInput): StepResult | Promise<StepResult> => {
    const before = incident.state.timelineTotal ?? incident.state.timeline.length;
    const applied = (): StepResult => {
      incident.fit();
      publish();
      return summarize(incident.state, before);
    };
    if (!isRetry(incident, input.requestId, update.name) && incident.ready()) {
      // Checked again here: an update that arrived before the policy was known skipped the
      // validator's rules.
      throwIfRefused(refusalFor(input));
      incident.remember(input.requestId, update.name);
      const applying = step.apply(incident, input);
      // Steps that act at once answer in the same turn, as they always did.
      return applying ? applying.then(applied) : applied();
    }
    return summarize(incident.state, before);
  };
  setHandler(
    update,
    (raw: TRaw) => {
      const input = parse(schema, raw);
      if (incident.ready()) return applyChecked(input);
      return condition(() => incident.ready()).then(() => applyChecked(input));
    },
    {
      validator: (raw: TRaw) => {
        const input = parse(schema, raw);
        if (isRetry(incident, input.requestId, update.name) || !incident.ready()) return;
        throwIfRefused(refusalFor(input));
      },
    },
  );
}

/** True for a retry of the same message; a request id reused for another message is refused. */
function isRetry(incident: Incident, requestId: string, message: string): boolean {
  const usedFor = incident.usedFor(requestId);
  if (usedFor === undefined) return false;
  if (usedFor === message) return true;
  throwIfRefused({
    type: RefusalType.invalidInput,
    message: `request id "${requestId}" was already used for ${usedFor}; use a new one for ${message}`,
  });
  return false;
}

function parse<T>(schema: () => ZodType<T, unknown>, raw: unknown): T {
  const result = schema().safeParse(raw);
  if (!result.success) {
    throwIfRefused({
      type: RefusalType.invalidInput,
      message: result.error.issues
        .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
        .join('; '),
    });
  }
  return (result as { data: T }).data;
}

type AlertsOutput = z.output<ReturnType<typeof alertsSchema>>;

/** A signal cannot be refused; a malformed one is logged and dropped, never applied. */
function parseSignal<T>(schema: () => ZodType<T, unknown>, raw: unknown, name: string): T | undefined {
  const result = schema().safeParse(raw);
  if (!result.success) {
    log.warn(`malformed ${name} signal ignored`, { issues: result.error.issues.map((i) => i.message) });
    return undefined;
  }
  return result.data;
}
