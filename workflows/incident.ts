/**
 * incidentWorkflow: one incident, from the first page to the last follow-up.
 *
 * Read it top to bottom like the process: the incident is opened and Level 2 is paged;
 * people acknowledge, assess, apply known fixes, escalate, hand over and resolve through
 * updates; the duties below keep time (paging, reminders, nudges, follow-ups); when every
 * follow-up is done or waived the incident closes and the workflow returns its record.
 *
 * Every deadline is computed from times kept in the record, never from how long a timer
 * has run, so continue-as-new and worker restarts pick each duty up where it stood.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { ZodType } from 'zod';
import type { createActivities } from '../activities';
import { buildHandoverPackage } from './handover';
import {
  acceptHandoverSchema,
  acceptHandoverUpdate,
  acknowledgeSchema,
  acknowledgeUpdate,
  addNoteSchema,
  addNoteSignal,
  alertsFiredSignal,
  alertsResolvedSignal,
  alertsSchema,
  assessSchema,
  assessUpdate,
  communicateSchema,
  communicateUpdate,
  completeActionItemSchema,
  completeActionItemUpdate,
  escalateSchema,
  escalateUpdate,
  recordActionSchema,
  recordActionUpdate,
  recordLessonsSchema,
  recordLessonsUpdate,
  recordTrainingSchema,
  recordTrainingUpdate,
  RefusalType,
  resolveSchema,
  resolveUpdate,
  stateQuery,
  submitReportSchema,
  submitReportUpdate,
  waiveFollowUpSchema,
  waiveFollowUpUpdate,
} from './messages';
import { responderOf, runbookOf, type Alert, type IncidentPolicy, type Notification } from './model';
import { notices } from './notices';
import { checkActor, checkNotClosed, isOpen, rules, type Refusal } from './rules';
import {
  incidentAssigneeKey,
  incidentServiceKey,
  incidentSeverityKey,
  incidentStatusKey,
  incidentTeamKey,
} from './search-attributes';
import type {
  CarriedIncident,
  FollowUp,
  IncidentInput,
  IncidentState,
  TimelineEvent,
  TimelineKind,
} from './state';

type Activities = ReturnType<typeof createActivities>;

// Notifications retry briefly and then give up: a dead channel is recorded on the timeline
// and must never hold up the timers that page the next person.
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
});
const { resolveIncidentPolicy } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['UnknownTeam'] },
});
const { writeIncidentRecord } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

/** History length past which the incident moves to a fresh run, unless the server says sooner. */
const HISTORY_LIMIT = 8_000;
/** How many request ids are remembered for de-duplication. */
const REMEMBERED_REQUESTS = 1_000;
const REMEMBERED_ALERT_KEYS = 10_000;
const MAX_ALERTS = 500;
/**
 * Temporal refuses payloads over 2 MB and a worker's reply over 4 MB, and the record travels
 * whole, several times in one reply (query answers, update results, the documentation
 * activity, continue-as-new). Past this size free text is refused; the steps that close an
 * incident stay open and are bounded by their schemas.
 */
const RECORD_BUDGET_CHARS = 500_000;
const SYSTEM = 'baton';

export async function incidentWorkflow(input: IncidentInput): Promise<IncidentState> {
  // Resolved from configuration below when the starter did not pass it (a start from the
  // Temporal CLI); handlers wait for it, duties start after it.
  let policy: IncidentPolicy = input.policy ?? UNRESOLVED_POLICY;
  let policyReady = input.policy !== undefined;
  const carried = input.carried;
  const state: IncidentState = carried?.state ?? openIncident(input);
  // Request id → the message it was used for; a retry of the same message changes nothing.
  const seenRequests = new Map<string, string>(carried?.seenRequests ?? []);
  const seenAlerts = new Set(carried?.seenAlertKeys ?? []);
  const outbox: Notification[] = [...(carried?.outbox ?? [])];
  const reminders = {
    lastNudgeAt: carried?.lastNudgeAt,
    lastAssessReminderAt: carried?.lastAssessReminderAt,
    lastUpdateReminderAt: carried?.lastUpdateReminderAt,
  };
  let documentationDue = true;
  let documenting = false;

  const now = (): string => new Date().toISOString();
  const ms = (iso: string): number => Date.parse(iso);

  function record(
    kind: TimelineKind,
    actor: string,
    summary: string,
    details?: Record<string, unknown>,
  ): void {
    const event: TimelineEvent = { at: now(), actor, kind, summary };
    if (details) event.details = details;
    state.timeline.push(event);
    documentationDue = true;
  }

  function send(notification: Notification): void {
    outbox.push(notification);
  }

  // ---------------------------------------------------------------------------------------
  // Visibility: what the Temporal UI lists and filters by.
  let published: Record<string, string> = {};
  function publishSearchAttributes(): void {
    const current: Record<string, string> = {
      [incidentStatusKey.name]: state.phase,
      [incidentSeverityKey.name]: state.severity,
      [incidentServiceKey.name]: state.service,
      [incidentTeamKey.name]: state.team,
      [incidentAssigneeKey.name]: state.holder ?? 'unassigned',
    };
    if (Object.entries(current).every(([key, value]) => published[key] === value)) return;
    published = current;
    upsertSearchAttributes({
      [incidentStatusKey.name]: [state.phase],
      [incidentSeverityKey.name]: [state.severity],
      [incidentServiceKey.name]: [state.service],
      [incidentTeamKey.name]: [state.team],
      [incidentAssigneeKey.name]: [state.holder ?? 'unassigned'],
    });
  }

  // ---------------------------------------------------------------------------------------
  // Messages. Each update is validated (refusals leave no trace in the history) and then
  // applied; a request id seen before returns the record unchanged.

  function refuse(refusal: Refusal | undefined): void {
    if (refusal) {
      throw ApplicationFailure.create({
        type: refusal.type,
        message: refusal.message,
        nonRetryable: true,
      });
    }
  }

  function parse<T>(schema: ZodType<T>, raw: unknown): T {
    const result = schema.safeParse(raw);
    if (!result.success) {
      refuse({
        type: RefusalType.invalidInput,
        message: result.error.issues
          .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
          .join('; '),
      });
    }
    return (result as { data: T }).data;
  }

  function defineStep<TInput extends { actor: string; requestId: string }, TRaw>(
    update: UpdateDefinition<IncidentState, [TRaw]>,
    schema: ZodType<TInput, TRaw>,
    check: (input: TInput) => Refusal | undefined,
    apply: (input: TInput) => void,
  ): void {
    const applyChecked = (parsed: TInput): IncidentState => {
      if (!isRetry(parsed.requestId, update.name)) {
        // Checked again here: an update that arrived before the policy was known skipped
        // the validator's rules.
        refuse(checkActor(policy, parsed.actor) ?? checkNotClosed(state) ?? check(parsed));
        rememberRequest(parsed.requestId, update.name);
        apply(parsed);
        publishSearchAttributes();
      }
      return state;
    };
    setHandler(
      update,
      (raw: TRaw) => {
        const parsed = parse(schema, raw);
        if (policyReady) return applyChecked(parsed);
        return condition(() => policyReady).then(() => applyChecked(parsed));
      },
      {
        validator: (raw: TRaw) => {
          const parsed = parse(schema, raw);
          if (isRetry(parsed.requestId, update.name) || !policyReady) return;
          refuse(checkActor(policy, parsed.actor) ?? checkNotClosed(state) ?? check(parsed));
        },
      },
    );
  }

  /** True for a retry of the same message; a request id reused for another message is refused. */
  function isRetry(requestId: string, message: string): boolean {
    const usedFor = seenRequests.get(requestId);
    if (usedFor === undefined) return false;
    if (usedFor === message) return true;
    refuse({
      type: RefusalType.invalidInput,
      message: `request id "${requestId}" was already used for ${usedFor}; use a new one for ${message}`,
    });
    return false;
  }

  function rememberRequest(requestId: string, message: string): void {
    seenRequests.set(requestId, message);
    if (seenRequests.size > REMEMBERED_REQUESTS) {
      const oldest = seenRequests.keys().next().value;
      if (oldest !== undefined) seenRequests.delete(oldest);
    }
  }

  // Notification: receive and acknowledge the alert; everyone relevant is informed.
  defineStep(
    acknowledgeUpdate,
    acknowledgeSchema,
    () => rules.acknowledge(state),
    (m) => {
      state.acknowledgedBy = m.actor;
      state.acknowledgedAt = now();
      state.holder = m.actor;
      state.phase = 'acknowledged';
      record('acknowledged', m.actor, `${nameOf(m.actor)} acknowledged and holds the incident`, {
        ...(m.note ? { note: m.note } : {}),
      });
      send(notices.acknowledged(state, policy));
    },
  );

  // Initial assessment: urgency, impact and observations, documented.
  defineStep(
    assessUpdate,
    assessSchema,
    () => rules.assess(state) ?? withinBudget(),
    (m) => {
      const previous = state.severity;
      state.severity = m.severity;
      state.assessments.push({
        severity: m.severity,
        urgency: m.urgency,
        impact: m.impact,
        observations: m.observations,
        by: m.actor,
        at: now(),
      });
      if (state.phase === 'acknowledged') state.phase = 'assessed';
      record('assessed', m.actor, `${m.severity} (was ${previous}), urgency ${m.urgency}: ${m.impact}`, {
        severity: m.severity,
        previousSeverity: previous,
        urgency: m.urgency,
        impact: m.impact,
        observations: m.observations,
      });
      send(notices.assessed(state, policy));
    },
  );

  // Standard procedures: restarts, patches, configuration changes, with their results.
  defineStep(
    recordActionUpdate,
    recordActionSchema,
    () => rules.recordAction(state) ?? withinBudget(),
    (m) => {
      if (state.phase === 'acknowledged' || state.phase === 'assessed') state.phase = 'mitigating';
      state.actions.push({
        id: `action-${state.actions.length + 1}`,
        kind: m.kind,
        description: m.description,
        result: m.result,
        by: m.actor,
        at: now(),
        phase: state.phase,
      });
      record('action', m.actor, `${m.kind}: ${m.description} → ${m.result}`, {
        kind: m.kind,
        description: m.description,
        result: m.result,
      });
    },
  );

  // Communication and handover: Level 3 is informed on its channel and gets the package.
  defineStep(
    escalateUpdate,
    escalateSchema,
    (m) => rules.escalate(state, policy, m.actor),
    (m) => {
      const at = now();
      const firstStep = policy.level3[0];
      const targets = firstStep?.notify ?? policy.managers;
      state.phase = 'escalated';
      state.escalation.level = 'L3';
      state.handover = {
        reason: m.reason,
        requestedBy: m.actor,
        requestedAt: at,
        level3Step: 0,
        level3PagedAt: at,
        exhausted: false,
        meetingAt: new Date(ms(at) + (firstStep?.acceptTimeoutMs ?? 0)).toISOString(),
      };
      record('escalated', m.actor, `escalated to Level 3: ${m.reason}`, { reason: m.reason, paged: targets });
      const pkg = buildHandoverPackage(state);
      record(
        'handover-package',
        SYSTEM,
        `handover package sent to ${policy.team.level3Channel} and ${targets.join(', ')}`,
        // The package itself went out with the notification and is rebuilt in the record;
        // a copy here would double the incident's size with every escalation.
        { channel: policy.team.level3Channel, to: targets, characters: pkg.length },
      );
      send(notices.handoverPackage(state, policy, pkg, targets));
      record('handover-meeting', SYSTEM, `handover meeting called for ${state.handover.meetingAt}`, {
        at: state.handover.meetingAt,
        invited: [...(state.holder ? [state.holder] : []), ...targets],
      });
      send(notices.handoverMeeting(state, policy, targets));
    },
  );

  // Collaboration: Level 3 takes the incident, Level 2 keeps working with them.
  defineStep(
    acceptHandoverUpdate,
    acceptHandoverSchema,
    (m) => rules.acceptHandover(state, policy, m.actor),
    (m) => {
      const handover = state.handover;
      if (!handover) return;
      handover.acceptedBy = m.actor;
      handover.acceptedAt = now();
      handover.notes = m.notes;
      state.holder = m.actor;
      state.phase = 'collaborating';
      record('handover-accepted', m.actor, `${nameOf(m.actor)} accepted the handover`, { notes: m.notes });
      send(notices.handoverAccepted(state, policy));
    },
  );

  // Internal and external communication; customers only hear approved words.
  defineStep(
    communicateUpdate,
    communicateSchema,
    (m) => rules.communicate(state, policy, m.actor, m.audience) ?? withinBudget(),
    (m) => {
      const at = now();
      const external = m.audience === 'external';
      state.communications.push({
        audience: m.audience,
        message: m.message,
        by: m.actor,
        ...(external ? { approvedBy: m.actor } : {}),
        at,
      });
      if (!external) state.lastStakeholderUpdateAt = at;
      record(
        'communication',
        m.actor,
        external ? `external message approved and sent` : `internal update sent`,
        { audience: m.audience, message: m.message },
      );
      send(
        external
          ? notices.externalUpdate(state, policy, m.message)
          : notices.internalUpdate(state, policy, m.message, m.actor),
      );
    },
  );

  defineStep(
    resolveUpdate,
    resolveSchema,
    () => rules.resolve(state),
    (m) => {
      resolveIncident(m.actor, m.summary, false);
    },
  );

  // Post-incident documentation: the final report.
  defineStep(
    submitReportUpdate,
    submitReportSchema,
    () => rules.submitReport(state),
    (m) => {
      state.report = {
        summary: m.summary,
        rootCause: m.rootCause,
        actionsAndResults: m.actionsAndResults,
        recommendations: m.recommendations,
        by: m.actor,
        at: now(),
      };
      completeFollowUp('report', m.actor);
      record('report-submitted', m.actor, 'final report submitted', {
        summary: m.summary,
        rootCause: m.rootCause,
        actionsAndResults: m.actionsAndResults,
        recommendations: m.recommendations,
      });
    },
  );

  // Lessons learned and process improvement, with action items that have owners and dates.
  defineStep(
    recordLessonsUpdate,
    recordLessonsSchema,
    (m) =>
      rules.recordLessons(
        state,
        policy,
        (m.actionItems ?? []).map((item) => item.owner),
      ),
    (m) => {
      state.lessons = {
        lessons: m.lessons,
        processImprovements: m.processImprovements ?? [],
        by: m.actor,
        at: now(),
      };
      completeFollowUp('lessons', m.actor);
      const items = (m.actionItems ?? []).map((item, index): FollowUp => ({
        id: `action-item-${state.followUps.filter((f) => f.kind === 'action-item').length + index + 1}`,
        kind: 'action-item',
        title: item.title,
        owner: item.owner,
        dueAt: endOfDay(item.dueDate),
        status: 'open',
      }));
      state.followUps.push(...items);
      record('lessons-recorded', m.actor, `${m.lessons.length} lesson(s), ${items.length} action item(s)`, {
        lessons: m.lessons,
        processImprovements: m.processImprovements ?? [],
        actionItems: items.map(({ id, title, owner, dueAt }) => ({ id, title, owner, dueAt })),
      });
    },
  );

  defineStep(
    completeActionItemUpdate,
    completeActionItemSchema,
    (m) => rules.completeActionItem(state, m.itemId),
    (m) => {
      const item = state.followUps.find((f) => f.id === m.itemId);
      if (!item) return;
      markDone(item, m.actor);
      record('action-item-completed', m.actor, `${item.id} done: ${item.title}`, {
        itemId: item.id,
        ...(m.note ? { note: m.note } : {}),
      });
    },
  );

  // Training: sessions so that everyone can apply what was learned.
  defineStep(
    recordTrainingUpdate,
    recordTrainingSchema,
    () => rules.recordTraining(state),
    (m) => {
      state.training = { date: m.date, attendees: m.attendees, material: m.material, by: m.actor, at: now() };
      completeFollowUp('training', m.actor);
      record('training-recorded', m.actor, `training on ${m.date} with ${m.attendees.length} attendee(s)`, {
        date: m.date,
        attendees: m.attendees,
        material: m.material,
      });
    },
  );

  defineStep(
    waiveFollowUpUpdate,
    waiveFollowUpSchema,
    (m) => rules.waiveFollowUp(state, policy, m.actor, m.followUpId),
    (m) => {
      const item = state.followUps.find((f) => f.id === m.followUpId);
      if (!item) return;
      item.status = 'waived';
      item.waiver = { by: m.actor, reason: m.reason, at: now() };
      record('follow-up-waived', m.actor, `${item.id} waived: ${m.reason}`, {
        followUpId: item.id,
        reason: m.reason,
      });
    },
  );

  // Alerts from Alertmanager join the incident; clearing may resolve it, as the policy says.
  setHandler(alertsFiredSignal, async (raw) => {
    const input = parseSignal(alertsSchema, raw, 'alertsFired');
    if (!input) return;
    await condition(() => policyReady);
    const fresh = mergeAlerts(input.alerts.map((a) => ({ ...a, status: 'firing' as const })));
    if (fresh.length === 0) return;
    record(
      'alerts-fired',
      'alertmanager',
      `${fresh.length} alert(s) firing: ${fresh.map(alertName).join(', ')}`,
      { fingerprints: fresh.map((a) => a.fingerprint) },
    );
    addRunbooks(fresh);
    if (state.resolution && patched('page-on-refire-after-resolution')) {
      // The incident is resolved but its alerts fire again: someone must look now, not
      // when the follow-ups are done.
      const targets = notices.firingAgain(state, policy, fresh.map(alertName));
      record(
        'paged',
        SYSTEM,
        `alerts fired again after resolution; paged ${targets.responders.map((r) => r.id).join(', ')}`,
        {
          to: targets.responders.map((r) => r.id),
          alerts: fresh.map((a) => a.fingerprint),
        },
      );
      send(targets);
    }
    publishSearchAttributes();
  });

  setHandler(alertsResolvedSignal, async (raw) => {
    const input = parseSignal(alertsSchema, raw, 'alertsResolved');
    if (!input) return;
    await condition(() => policyReady);
    const fresh = mergeAlerts(input.alerts.map((a) => ({ ...a, status: 'resolved' as const })));
    if (fresh.length === 0) return;
    record(
      'alerts-resolved',
      'alertmanager',
      `${fresh.length} alert(s) resolved: ${fresh.map(alertName).join(', ')}`,
      { fingerprints: fresh.map((a) => a.fingerprint) },
    );
    const allClear = state.alerts.length > 0 && state.alerts.every((a) => a.status === 'resolved');
    const autoResolve =
      policy.autoResolve === 'always' ||
      (policy.autoResolve === 'unacknowledged-only' && state.phase === 'triggered');
    if (allClear && autoResolve && isOpen(state)) {
      resolveIncident(SYSTEM, 'Every alert of the incident cleared.', true);
    }
    publishSearchAttributes();
  });

  setHandler(addNoteSignal, async (raw) => {
    const input = parseSignal(addNoteSchema, raw, 'addNote');
    if (!input) return;
    await condition(() => policyReady);
    // A signal cannot be refused: a reused request id just changes nothing.
    if (seenRequests.has(input.requestId)) return;
    if (checkActor(policy, input.actor)) {
      log.warn('note from an unknown actor ignored', { actor: input.actor });
      return;
    }
    if (state.phase === 'closed') return;
    if (recordFull()) {
      log.warn('note dropped: the incident record is at its size limit', { actor: input.actor });
      return;
    }
    rememberRequest(input.requestId, 'addNote');
    state.notes.push({ by: input.actor, at: now(), text: input.text, source: input.source });
    record('note', input.actor, excerpt(input.text), { source: input.source });
  });

  setHandler(stateQuery, () => state);

  function parseSignal<T>(schema: ZodType<T>, raw: unknown, name: string): T | undefined {
    const result = schema.safeParse(raw);
    if (!result.success) {
      // A signal cannot be refused; a malformed one is logged and dropped, never applied.
      log.warn(`malformed ${name} signal ignored`, { issues: result.error.issues.map((i) => i.message) });
      return undefined;
    }
    return result.data;
  }

  /** Adds or updates alerts by fingerprint; returns those that changed the record. */
  function mergeAlerts(alerts: Alert[]): Alert[] {
    const fresh: Alert[] = [];
    for (const alert of alerts) {
      const key = alertKey(alert);
      if (seenAlerts.has(key)) continue;
      seenAlerts.add(key);
      if (seenAlerts.size > REMEMBERED_ALERT_KEYS) {
        const oldest = seenAlerts.values().next().value;
        if (oldest !== undefined) seenAlerts.delete(oldest);
      }
      const index = state.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
      if (index >= 0) state.alerts[index] = alert;
      else if (state.alerts.length < MAX_ALERTS) state.alerts.push(alert);
      else {
        // A group of thousands of alerts is one problem; the record keeps the first ones.
        state.alertsOmitted = (state.alertsOmitted ?? 0) + 1;
        continue;
      }
      fresh.push(alert);
    }
    return fresh;
  }

  function addRunbooks(alerts: Alert[]): void {
    for (const alert of alerts) {
      const name = alert.labels.alertname;
      const runbook = name ? runbookOf(policy, name) : undefined;
      if (name && runbook && !state.runbooks.some((r) => r.alertname === name)) {
        state.runbooks.push({ alertname: name, url: runbook.url, steps: runbook.steps });
      }
    }
  }

  function resolveIncident(actor: string, summary: string, automatic: boolean): void {
    const at = now();
    state.resolution = { summary, by: actor, at, automatic };
    state.phase = 'resolved';
    record(
      'resolved',
      actor,
      automatic ? 'resolved automatically: every alert cleared' : `resolved: ${summary}`,
      {
        summary,
        automatic,
      },
    );
    scheduleFollowUps(at, automatic && !state.acknowledgedBy);
    send(notices.resolved(state, policy));
  }

  // Post-incident: the follow-ups the process demands, each with an owner and a due time.
  function scheduleFollowUps(resolvedAt: string, noiseOnly: boolean): void {
    const owner =
      state.holder ??
      state.acknowledgedBy ??
      policy.escalation.steps[0]?.notify[0] ??
      policy.managers[0] ??
      SYSTEM;
    const l2Owner = state.acknowledgedBy ?? owner;
    const due = (afterMs: number): string => new Date(ms(resolvedAt) + afterMs).toISOString();
    const items: FollowUp[] = [
      {
        id: 'report',
        kind: 'report',
        title: 'Final report',
        owner,
        dueAt: due(policy.followUps.reportDueMs),
        status: 'open',
      },
    ];
    // An incident that cleared by itself before anyone looked needs only a report that says so.
    if (!noiseOnly) {
      items.push(
        {
          id: 'lessons',
          kind: 'lessons',
          title: 'Lessons learned and process improvements',
          owner,
          dueAt: due(policy.followUps.lessonsDueMs),
          status: 'open',
        },
        {
          id: 'training',
          kind: 'training',
          title: 'Training on this incident',
          owner: l2Owner,
          dueAt: due(policy.followUps.trainingDueMs),
          status: 'open',
        },
      );
    }
    state.followUps.push(...items);
    state.phase = 'post-incident';
    record('follow-ups-scheduled', SYSTEM, items.map((f) => `${f.id} due ${f.dueAt}`).join(', '), {
      followUps: items.map(({ id, owner: o, dueAt }) => ({ id, owner: o, dueAt })),
    });
  }

  function completeFollowUp(kind: FollowUp['kind'], actor: string): void {
    const item = state.followUps.find((f) => f.kind === kind && f.status === 'open');
    if (item) markDone(item, actor);
  }

  function markDone(item: FollowUp, actor: string): void {
    item.status = 'done';
    item.doneAt = now();
    item.doneBy = actor;
  }

  function recordFull(): boolean {
    return JSON.stringify(state).length > RECORD_BUDGET_CHARS;
  }

  function withinBudget(): Refusal | undefined {
    return recordFull()
      ? {
          type: RefusalType.invalidMove,
          message: `the incident record has reached its size limit (${RECORD_BUDGET_CHARS / 1_000} kB); link long material instead of pasting it`,
        }
      : undefined;
  }

  function nameOf(id: string): string {
    return responderOf(policy, id)?.name ?? id;
  }

  // ---------------------------------------------------------------------------------------
  // Duties: the timers that enforce the process. Each returns when its part is over.

  const resolved = (): boolean => state.resolution !== undefined;

  /** Waits for `done` until an absolute deadline; true if done, false if the deadline passed. */
  async function waitUntil(done: () => boolean, deadline: number): Promise<boolean> {
    if (done()) return true;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return false;
    return condition(done, remaining);
  }

  // Not acknowledged in time: page the next step of the policy, round after round, then the managers.
  async function pageUntilAcknowledged(): Promise<void> {
    const steps = policy.escalation.steps;
    const acknowledged = (): boolean => state.acknowledgedBy !== undefined || resolved();
    while (!acknowledged()) {
      const cursor = state.escalation;
      if (cursor.exhausted) return;
      const step = steps[cursor.step];
      if (!step) return;
      if (await waitUntil(acknowledged, ms(cursor.pagedAt) + step.ackTimeoutMs)) return;
      let next = cursor.step + 1;
      let round = cursor.round;
      if (next >= steps.length) {
        next = 0;
        round += 1;
      }
      cursor.pagedAt = now();
      if (round >= policy.escalation.repeat) {
        cursor.exhausted = true;
        record(
          'escalation-exhausted',
          SYSTEM,
          `nobody acknowledged after ${round} round(s); managers paged`,
          {
            paged: policy.managers,
          },
        );
        send(notices.nobodyAcknowledged(state, policy, round));
        return;
      }
      cursor.step = next;
      cursor.round = round;
      const target = steps[next];
      if (!target) return;
      pageStep(target.notify, round, next);
    }
  }

  function pageStep(targets: string[], round: number, step: number): void {
    const attempt = `round ${round + 1} of ${policy.escalation.repeat}, step ${step + 1} of ${policy.escalation.steps.length}`;
    record('paged', SYSTEM, `paged ${targets.join(', ')} (${attempt})`, {
      to: targets,
      round: round + 1,
      step: step + 1,
    });
    send(notices.page(state, policy, targets, attempt));
  }

  // Acknowledged but not assessed in time: remind the holder, again each period.
  async function remindToAssess(): Promise<void> {
    await condition(() => state.acknowledgedAt !== undefined || resolved());
    const assessed = (): boolean => state.assessments.length > 0 || resolved();
    while (!assessed()) {
      const within = policy.severities[state.severity].assessWithinMs;
      const from = reminders.lastAssessReminderAt ?? state.acknowledgedAt ?? state.openedAt;
      if (await waitUntil(assessed, ms(from) + within)) return;
      reminders.lastAssessReminderAt = now();
      record('assessment-reminder', SYSTEM, `assessment overdue; reminded ${state.holder ?? 'the team'}`, {
        to: state.holder ?? policy.team.channel,
      });
      send(notices.assessReminder(state, policy, within));
    }
  }

  // Open and unresolved past the severity's limit: nudge Level 2 to escalate.
  async function nudgeToEscalate(): Promise<void> {
    const settled = (): boolean => state.handover !== undefined || resolved();
    while (!settled()) {
      const severity = state.severity;
      const limit = policy.severities[severity].nudgeEscalationAfterMs;
      const from = reminders.lastNudgeAt ?? state.openedAt;
      const changed = (): boolean => settled() || state.severity !== severity;
      if (await waitUntil(changed, ms(from) + limit)) continue;
      reminders.lastNudgeAt = now();
      const openFor = Date.now() - ms(state.openedAt);
      record('escalation-nudge', SYSTEM, `unresolved after the ${severity} limit; nudged to escalate`, {
        to: state.holder ? [state.holder] : (policy.escalation.steps[0]?.notify ?? []),
        severity,
        immediate: severity === 'SEV1' || severity === 'SEV2',
      });
      send(notices.escalationNudge(state, policy, openFor));
    }
  }

  // Escalated but Level 3 has not accepted in time: page the next Level 3 target, then managers.
  async function pageLevel3UntilAccepted(): Promise<void> {
    await condition(() => state.handover !== undefined || resolved());
    const accepted = (): boolean => state.handover?.acceptedBy !== undefined || resolved();
    while (!accepted()) {
      const handover = state.handover;
      if (!handover || handover.exhausted) return;
      const step = policy.level3[handover.level3Step];
      if (!step) return;
      if (await waitUntil(accepted, ms(handover.level3PagedAt) + step.acceptTimeoutMs)) return;
      const previous = step.notify;
      handover.level3PagedAt = now();
      const next = policy.level3[handover.level3Step + 1];
      if (!next) {
        handover.exhausted = true;
        record('level3-paged', SYSTEM, `no Level 3 acceptance; managers paged`, { to: policy.managers });
        send(notices.level3Unanswered(state, policy));
        return;
      }
      handover.level3Step += 1;
      record(
        'level3-paged',
        SYSTEM,
        `${previous.join(', ')} did not accept; paged ${next.notify.join(', ')}`,
        {
          to: next.notify,
        },
      );
      send(notices.level3Page(state, policy, next.notify, previous));
    }
  }

  // While open, stakeholders expect updates at the severity's cadence: remind the holder.
  async function remindStakeholderUpdates(): Promise<void> {
    await condition(() => state.acknowledgedAt !== undefined || resolved());
    while (!resolved()) {
      const severity = state.severity;
      const every = policy.severities[severity].stakeholderUpdateEveryMs;
      const lastUpdate = state.lastStakeholderUpdateAt;
      const from = Math.max(
        ms(lastUpdate),
        ms(state.acknowledgedAt ?? state.openedAt),
        reminders.lastUpdateReminderAt ? ms(reminders.lastUpdateReminderAt) : 0,
      );
      const changed = (): boolean =>
        resolved() || state.severity !== severity || state.lastStakeholderUpdateAt !== lastUpdate;
      if (await waitUntil(changed, from + every)) continue;
      reminders.lastUpdateReminderAt = now();
      record(
        'stakeholder-update-reminder',
        SYSTEM,
        `stakeholder update overdue; reminded ${state.holder ?? 'the team'}`,
        {
          to: state.holder ?? policy.team.channel,
        },
      );
      send(notices.stakeholderUpdateDue(state, policy, every));
    }
  }

  // Each follow-up: a reminder before it is due, then the managers until it is done or waived.
  async function enforceFollowUp(item: FollowUp): Promise<void> {
    const settled = (): boolean => item.status !== 'open';
    const due = ms(item.dueAt);
    const { remindBeforeMs } = policy.followUps;
    if (!item.remindedAt) {
      if (await waitUntil(settled, due - remindBeforeMs)) return;
      item.remindedAt = now();
      record('follow-up-reminder', SYSTEM, `${item.id} due at ${item.dueAt}; reminded ${item.owner}`, {
        followUpId: item.id,
        to: item.owner,
      });
      send(notices.followUpReminder(state, policy, item));
    }
    if (await waitUntil(settled, due)) return;
    while (!settled()) {
      const last = item.overdueNotifiedAt ? ms(item.overdueNotifiedAt) : undefined;
      if (last === undefined || Date.now() >= last + remindBeforeMs) {
        item.overdueNotifiedAt = now();
        record(
          'follow-up-overdue',
          SYSTEM,
          `${item.id} overdue; told ${[item.owner, ...policy.followUps.overdueNotify].join(', ')}`,
          {
            followUpId: item.id,
            to: [item.owner, ...policy.followUps.overdueNotify],
          },
        );
        send(notices.followUpOverdue(state, policy, item));
      }
      await waitUntil(settled, ms(item.overdueNotifiedAt ?? now()) + remindBeforeMs);
    }
  }

  async function enforceFollowUps(): Promise<void> {
    const watched = new Set<string>();
    const duties: Promise<void>[] = [];
    for (;;) {
      await condition(
        () =>
          state.followUps.some((f) => f.status === 'open' && !watched.has(f.id)) || state.phase === 'closed',
      );
      if (state.phase === 'closed') break;
      for (const item of state.followUps) {
        if (item.status === 'open' && !watched.has(item.id)) {
          watched.add(item.id);
          duties.push(enforceFollowUp(item));
        }
      }
    }
    await Promise.all(duties);
  }

  // Delivery: notifications leave in order; a failure is recorded and the process goes on.
  async function deliverNotifications(): Promise<void> {
    for (;;) {
      await condition(() => outbox.length > 0 || documentationDue);
      const next = outbox[0];
      if (next) {
        try {
          const report = await notify(next);
          for (const failure of report.failed) {
            record(
              'notification-failed',
              SYSTEM,
              `${next.kind} to ${failure.target} via ${failure.channel} failed: ${failure.error}`,
              {
                ...failure,
                kind: next.kind,
              },
            );
          }
          const unwritten = report.undelivered.filter((target) => target.startsWith('outbox:'));
          if (unwritten.length > 0 && patched('record-outbox-failures')) {
            // Delivered, but the delivery log lost it: the record must say so.
            record(
              'documentation-failed',
              SYSTEM,
              `${next.kind} "${next.subject}" was sent but not written to the outbox: ${unwritten.map((t) => t.slice('outbox:'.length)).join('; ')}`,
              { kind: next.kind },
            );
          }
        } catch (err) {
          record(
            'notification-failed',
            SYSTEM,
            `${next.kind} "${next.subject}" could not be sent: ${errorMessage(err)}`,
            {
              kind: next.kind,
              to: next.responders.map((r) => r.id),
            },
          );
        }
        outbox.shift();
        continue;
      }
      documentationDue = false;
      documenting = true;
      await documentIncident();
      documenting = false;
    }
  }

  // Documentation: the record is written out after every change, and once more at the end.
  async function documentIncident(): Promise<void> {
    try {
      await writeIncidentRecord(state);
    } catch (err) {
      state.timeline.push({
        at: now(),
        actor: SYSTEM,
        kind: 'documentation-failed',
        summary: `the incident record could not be written: ${errorMessage(err)}`,
      });
    }
  }

  // ---------------------------------------------------------------------------------------
  // The incident's life.

  if (!policyReady) {
    const routed = await resolveIncidentPolicy({
      labels: { ...(input.labels ?? {}), service: input.service },
      ...(input.team ? { team: input.team } : {}),
    });
    policy = routed.policy;
    state.team = policy.team.id;
    if (!input.severity) state.severity = routed.severity;
    policyReady = true;
  }

  if (carried) {
    log.info('incident continued in a new run', { historyOf: state.id });
  } else {
    addRunbooks(state.alerts);
    for (const alert of state.alerts) seenAlerts.add(alertKey(alert));
    record(
      'triggered',
      input.origin.kind === 'manual' ? input.origin.declaredBy : 'alertmanager',
      triggeredSummary(input),
      {
        origin: input.origin,
        severity: state.severity,
        alerts: state.alerts.map((a) => a.fingerprint),
      },
    );
    const first = policy.escalation.steps[0];
    if (first) pageStep(first.notify, 0, 0);
  }
  publishSearchAttributes();
  if (patched('incident-title-memo')) {
    // The Temporal UI's workflow list then reads like an incident list, however it started.
    upsertMemo({ title: state.title, service: state.service, team: state.team });
  }

  void deliverNotifications();
  void pageUntilAcknowledged();
  void remindToAssess();
  void nudgeToEscalate();
  void pageLevel3UntilAccepted();
  void remindStakeholderUpdates();
  const followUps = enforceFollowUps();

  const everythingSettled = (): boolean =>
    resolved() && state.followUps.length > 0 && state.followUps.every((f) => f.status !== 'open');
  const historyFull = (): boolean =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT;

  await condition(() => everythingSettled() || historyFull());

  if (!everythingSettled()) {
    // Carry the whole incident into a fresh run; in-flight updates finish first.
    await condition(() => allHandlersFinished() && outbox.length === 0);
    const next: CarriedIncident = {
      state,
      seenRequests: [...seenRequests],
      seenAlertKeys: [...seenAlerts],
      outbox,
      ...definedOnly(reminders),
    };
    return continueAsNew<typeof incidentWorkflow>({ ...input, policy, alerts: [], carried: next });
  }

  // Closed: all follow-ups done or waived; the final documentation is written.
  state.phase = 'closed';
  state.closedAt = now();
  record('closed', SYSTEM, 'every follow-up is done or waived; incident closed', {
    followUps: state.followUps.map(({ id, status }) => ({ id, status })),
  });
  send(notices.closed(state, policy));
  publishSearchAttributes();
  await followUps;
  if (patched('final-record-written-once')) {
    // The delivery loop writes the record after the 'closed' event; wait for that write
    // instead of starting a second one beside it.
    await condition(() => outbox.length === 0 && !documentationDue && !documenting && allHandlersFinished());
  } else {
    await condition(() => outbox.length === 0 && !documentationDue && allHandlersFinished());
    await documentIncident();
  }
  return state;
}

/** Stands in until the policy is resolved; no handler or duty reads it before then. */
const UNRESOLVED_POLICY: IncidentPolicy = {
  team: { id: 'unrouted', name: 'unrouted', channel: '', level3Channel: '' },
  escalation: { steps: [], repeat: 1 },
  level3: [],
  managers: [],
  responders: {},
  severities: {
    SEV1: { assessWithinMs: 0, stakeholderUpdateEveryMs: 0, nudgeEscalationAfterMs: 0 },
    SEV2: { assessWithinMs: 0, stakeholderUpdateEveryMs: 0, nudgeEscalationAfterMs: 0 },
    SEV3: { assessWithinMs: 0, stakeholderUpdateEveryMs: 0, nudgeEscalationAfterMs: 0 },
    SEV4: { assessWithinMs: 0, stakeholderUpdateEveryMs: 0, nudgeEscalationAfterMs: 0 },
  },
  followUps: { reportDueMs: 0, lessonsDueMs: 0, trainingDueMs: 0, remindBeforeMs: 0, overdueNotify: [] },
  autoResolve: 'never',
  stakeholders: { internal: [], external: { email: [], approvers: [] } },
  runbooks: {},
};

function openIncident(input: IncidentInput): IncidentState {
  const severity = input.severity ?? 'SEV4';
  const info = workflowInfo();
  const openedAt = new Date(info.startTime).toISOString();
  return {
    id: info.workflowId,
    title: input.title,
    ...(input.description ? { description: input.description } : {}),
    service: input.service,
    team: input.policy?.team.id ?? input.team ?? 'unrouted',
    severity,
    phase: 'triggered',
    origin: input.origin,
    openedAt,
    alerts: input.alerts ?? [],
    runbooks: [],
    escalation: { level: 'L2', round: 0, step: 0, pagedAt: openedAt, exhausted: false },
    assessments: [],
    actions: [],
    notes: [],
    communications: [],
    lastStakeholderUpdateAt: openedAt,
    followUps: [],
    timeline: [],
    links: input.temporalUiUrl ? { temporalUi: input.temporalUiUrl } : {},
  };
}

function triggeredSummary(input: IncidentInput): string {
  if (input.origin.kind === 'manual') return `declared by ${input.origin.declaredBy}: ${input.title}`;
  return `${input.alerts?.length ?? 0} alert(s) from ${input.origin.receiver}: ${input.title}`;
}

/** The timeline gives the gist; the full text stays where it belongs (notes, actions). */
function excerpt(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** One firing (or clearing) of one alert: Alertmanager re-sends it unchanged. */
function alertKey(alert: Alert): string {
  return `${alert.fingerprint}|${alert.status}|${alert.startsAt}`;
}

function alertName(alert: Alert): string {
  return alert.labels.alertname ?? alert.fingerprint;
}

/** Due dates given as a day mean the end of that day, UTC. */
function endOfDay(date: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T23:59:59.000Z` : new Date(date).toISOString();
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

function definedOnly<T extends Record<string, string | undefined>>(
  value: T,
): Partial<Record<keyof T, string>> {
  const result: Partial<Record<keyof T, string>> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) result[key as keyof T] = v;
  return result;
}
