/**
 * incidentWorkflow: one incident, from the first page to the last follow-up.
 *
 * Read it top to bottom like the process: the incident is opened and Level 2 is paged;
 * people acknowledge, assess, apply known fixes, escalate, hand over and resolve through
 * the steps (steps.ts, follow-up-steps.ts); the duties keep time (duties.ts); when every
 * follow-up is done or waived the incident closes and the workflow returns its record.
 * Long incidents continue as new, carrying everything with them.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  upsertMemo,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { takeInitialAlerts } from './alerts';
import { deliverNotifications, documentIncident, documented, recordDelivery } from './delivery';
import { DIAGNOSTICS_PATCH } from './diagnostics';
import { diagnosticsIdle, keepDiagnostics } from './diagnostics-collection';
import { enforceFollowUps, keep, keepDutiesAfterReopening, openIncidentDuties } from './duties';
import { registerHandlers } from './handlers';
import { checkIncidentInput, policyDifference, policyRefused, unknownTeamRefused } from './input';
import { keepSlackCurrent } from './slack-sync';
import { Incident, SYSTEM, errorMessage, now, type ReadyIncident } from './incident-context';
import type { DeliveryReport } from './model';
import { adoptPolicy, routingOf, type RoutedPolicy } from './opening';
import { notices } from './notices';
import { incidentMeter } from './metrics';
import type { ResolvedTargets } from './page-targets';
import { pageStep, type FirstPage } from './paging';
import { resolveNow, resolvesSchedules } from './schedule-paging';
import { phaseAfter } from './phases';
import { everythingSettled, QUIET_CLOSE_PATCH, quietFor } from './resolution';
import type { IncidentInput, IncidentState } from './state';
import { searchAttributePublisher } from './visibility';

type Activities = ReturnType<typeof createActivities>;

const { resolveIncidentPolicy } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UnknownTeam'] },
});
// Timeouts and retries as for every notification (delivery.ts): a worker that dies mid-send
// stops heartbeating, and the next attempt sends only to the targets without an answer.
const { pageFirst } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '5s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['UnknownTeam'],
  },
});

/** The first page: sent by the opening activity with its delivery report, or to be queued under an id. */
interface OpenedPage extends FirstPage {
  report?: DeliveryReport;
  /** Whom the first step's schedules put on the page, when it names any. */
  resolved?: ResolvedTargets;
}

/** History length past which the incident moves to a fresh run, unless the server says sooner. */
const HISTORY_LIMIT = 8_000;

export async function incidentWorkflow(raw: IncidentInput): Promise<IncidentState> {
  // Anyone with access to the namespace can start one: the input is checked, and a new
  // incident's policy comes from Baton's configuration, never from the starter alone.
  const checked = patched('checked-input-and-configured-policy');
  const input = checked
    ? checkIncidentInput(raw, workflowInfo().continuedFromExecutionRunId !== undefined)
    : raw;
  const fromConfiguration = checked && !input.carried;
  const incident = Incident.fromInput(
    fromConfiguration ? { ...input, policy: undefined } : input,
    workflowInfo(),
    uuid4,
  );
  // Incidents that started before record limits were counted in bytes keep the old ones.
  incident.legacyLimits = !patched('record-limits-in-bytes');
  incident.signalsAtOnce = patched('signals-handled-at-once');
  incident.slackLive = patched('slack-live-messages');
  incident.meter = incidentMeter(incident);
  const publish = searchAttributePublisher(incident);
  registerHandlers(incident, publish);

  let ready: ReadyIncident;
  let first: OpenedPage | undefined;
  if (fromConfiguration) {
    // The first page goes out in the same activity that takes the policy, so nothing stands
    // between the start and the page but that one activity.
    const opened: { routed: RoutedPolicy; first?: OpenedPage } = patched('first-page-sent-with-the-policy')
      ? await openAndPage(incident, input)
      : { routed: await resolvePolicy(input) };
    const given = input.policy as unknown;
    const different = given === undefined ? undefined : policyDifference(given, opened.routed.policy);
    if (different) throw policyRefused(different, opened.routed.policy.team.id);
    ready = adoptPolicy(incident, input, opened.routed);
    first = await withSchedulesAsked(ready, opened.first);
    // The first page went out a moment ago (or goes out now): its ack timeout counts from here.
    ready.state.escalation.pagedAt = now();
  } else {
    // Before the policy was checked: a start from the Temporal CLI left it out, and it was
    // resolved from configuration; a start with a policy took it as given.
    ready = incident.ready()
      ? incident
      : adoptPolicy(incident, input, await resolveIncidentPolicy(routingOf(input)));
  }
  if (input.carried) log.info('incident continued in a new run', { historyOf: ready.state.id });
  else announce(ready, input, first);
  publish();
  if (patched('incident-title-memo')) {
    // The Temporal UI's workflow list then reads like an incident list, however it started.
    upsertMemo({ title: ready.state.title, service: ready.state.service, team: ready.state.team });
  }

  void deliverNotifications(ready);
  if (!input.carried && patched(DIAGNOSTICS_PATCH)) {
    // The first page is on the record: the charts behind the alerts follow, and the page
    // never waited for them.
    ready.state.diagnostics = [];
    ready.diagnosticsWanted.push('opened');
  }
  void keepDiagnostics(ready);
  for (const duty of openIncidentDuties(ready)) void keep(duty);
  const followUps = enforceFollowUps(ready);
  void keepDutiesAfterReopening(ready);
  if (ready.slackLive) void keepSlackCurrent(ready);
  // Everything Slack must still be told before the workflow ends or moves to a new run.
  const slackSettled = (): boolean => !ready.slackLive || ready.slackDone;
  const slackIdle = (): boolean => !ready.slackLive || !ready.slackSyncing;

  const historyFull = (): boolean =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT;
  await condition(() => everythingSettled(ready) || historyFull());
  // An incident resolved with nothing to follow up stays resolved for its quiet period, so
  // that an alert firing again reopens it (a flap goes on paging where it stood) instead of
  // opening a new incident that pages from the start. Checked without awaiting first: an
  // extra await here would reorder the commands of every incident that has follow-ups.
  for (
    let quiet = quietFor(ready);
    quiet !== undefined && patched(QUIET_CLOSE_PATCH);
    quiet = quietFor(ready)
  ) {
    // Reopened meanwhile (or a manager required a follow-up): wait for that to settle.
    if (!(await condition(() => !everythingSettled(ready), quiet))) break;
    await condition(() => everythingSettled(ready) || historyFull());
  }

  if (!everythingSettled(ready)) {
    // Carry the whole incident into a fresh run; in-flight updates and a record write under
    // way finish first (events the store has not taken yet travel with it).
    const betweenWrites = patched('continue-as-new-between-record-writes');
    await condition(
      () =>
        allHandlersFinished() &&
        ready.outbox.length === 0 &&
        (!betweenWrites || !ready.documenting) &&
        slackIdle() &&
        // A collection under way ends by its deadline; its result travels with the record.
        diagnosticsIdle(ready),
    );
    return continueAsNew<typeof incidentWorkflow>({
      ...input,
      policy: ready.policy,
      alerts: [],
      carried: ready.carry(),
    });
  }

  close(ready);
  publish();
  await followUps;
  if (patched('final-record-written-once')) {
    // The delivery loop writes the record after the 'closed' event; wait for that write
    // instead of starting a second one beside it.
    await condition(
      () => documented(ready) && allHandlersFinished() && slackSettled() && diagnosticsIdle(ready),
    );
  } else {
    await condition(() => ready.outbox.length === 0 && !ready.documentationDue && allHandlersFinished());
    await documentIncident(ready);
  }
  return ready.state;
}

/** The configured policy, as an activity of its own (the path before the first page joined it). */
async function resolvePolicy(input: IncidentInput): Promise<RoutedPolicy> {
  return resolveIncidentPolicy(routingOf(input)).catch((err: unknown) => {
    throw unknownTeamRefused(err);
  });
}

/**
 * Takes the configured policy and sends the first page in one activity. Should that activity
 * give up (its retries spent), the policy is taken on its own and the page queued under the
 * same id, so the delivery ledger keeps whatever the activity did send from going twice.
 */
async function openAndPage(
  incident: Incident,
  input: IncidentInput,
): Promise<{ routed: RoutedPolicy; first: OpenedPage }> {
  const pageId = uuid4();
  const info = workflowInfo();
  try {
    const outcome = await pageFirst({
      // A new incident's input: it carries nothing.
      input,
      run: { workflowId: info.workflowId, startTime: info.startTime.toISOString() },
      pageId,
      slackLive: incident.slackLive,
    });
    const { sent, resolved, ...routed } = outcome;
    const page: OpenedPage = sent ? { sent: sent.notification, report: sent.report } : { id: pageId };
    return { routed, first: resolved ? { ...page, resolved } : page };
  } catch (err) {
    const refused = unknownTeamRefused(err);
    if (refused !== err) throw refused;
    log.warn('the first page could not go out with the policy; taking the policy on its own', {
      error: errorMessage(err),
    });
    return { routed: await resolvePolicy(input), first: { id: pageId } };
  }
}

/** The first page, its schedules asked now if the opening activity gave up before it asked them. */
async function withSchedulesAsked(
  incident: ReadyIncident,
  first: OpenedPage | undefined,
): Promise<OpenedPage | undefined> {
  const targets = incident.policy.escalation.steps[0]?.notify ?? [];
  if (!first || first.sent || first.resolved || !resolvesSchedules(targets)) return first;
  return { ...first, resolved: await resolveNow(incident, targets) };
}

/** Notification: the incident is on the record, its runbooks attached, Level 2 paged. */
function announce(incident: ReadyIncident, input: IncidentInput, first?: OpenedPage): void {
  const { state, policy } = incident;
  takeInitialAlerts(incident);
  incident.meter.opened();
  incident.log(
    'triggered',
    input.origin.kind === 'manual' ? input.origin.declaredBy : 'alertmanager',
    input.origin.kind === 'manual'
      ? `declared by ${input.origin.declaredBy}: ${input.title}`
      : `${state.alerts.length} alert(s) from ${input.origin.receiver}: ${input.title}`,
    { severity: state.severity, alerts: state.alerts.map((a) => a.fingerprint) },
  );
  const step = policy.escalation.steps[0];
  if (!step) return;
  pageStep(incident, step.notify, 0, 0, first?.sent ? { sent: first.sent } : first, first?.resolved);
  if (first?.sent && first.report) recordDelivery(incident, first.sent, first.report);
}

/** Closed: all follow-ups done or waived; the final documentation follows. */
function close(incident: ReadyIncident): void {
  const { state, policy } = incident;
  state.phase = phaseAfter(state.phase, 'close');
  state.closedAt = now();
  incident.tell(
    notices.closed(state, policy),
    'closed',
    SYSTEM,
    'every follow-up is done or waived; incident closed',
    { followUps: state.followUps.map(({ id, status }) => ({ id, status })) },
  );
}
