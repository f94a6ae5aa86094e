/**
 * The steps people take while the incident is open, one entry each (see step.ts), and the
 * table of every step. The workflow registers every entry the same way (handlers.ts); the
 * entries themselves are pure and can be run on a plain incident.
 */
import { excerpt, ms, now } from './incident-context';
import { handOver, handOverAsked, handoverAsksSchedules } from './level3-paging';
import {
  acceptHandoverSchema,
  acceptHandoverUpdate,
  acknowledgeSchema,
  acknowledgeUpdate,
  assessSchema,
  assessUpdate,
  communicateSchema,
  communicateUpdate,
  escalateSchema,
  escalateUpdate,
  recordActionSchema,
  recordActionUpdate,
  resolveSchema,
  resolveUpdate,
} from './messages';
import { notices } from './notices';
import { phaseAfter } from './phases';
import { resolveIncident } from './resolution';
import { rules } from './rules';
import { step } from './step';
import { customerSteps } from './customer-steps';
import { followUpSteps } from './follow-up-steps';
import type { Handover } from './state';

// Notification: receive and acknowledge the alert; everyone relevant is informed.
const acknowledge = step({
  update: acknowledgeUpdate,
  schema: acknowledgeSchema,
  check: ({ state }) => rules.acknowledge(state),
  apply(incident, m) {
    const { state } = incident;
    state.acknowledgedBy = m.actor;
    state.acknowledgedAt = now();
    incident.meter.acknowledged(incident.secondsIntoResponse());
    state.holder = m.actor;
    state.phase = phaseAfter(state.phase, 'acknowledge');
    incident.tell(
      notices.acknowledged(state, incident.policy),
      'acknowledged',
      m.actor,
      `${incident.nameOf(m.actor)} acknowledged and holds the incident`,
      m.note ? { note: m.note } : {},
    );
  },
});

// Initial assessment: urgency, impact and observations, documented.
const assess = step({
  update: assessUpdate,
  schema: assessSchema,
  check: (incident) => rules.assess(incident.state) ?? incident.withinBudget(),
  apply(incident, m) {
    const { state } = incident;
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
    state.phase = phaseAfter(state.phase, 'assess');
    incident.tell(
      notices.assessed(state, incident.policy),
      'assessed',
      m.actor,
      `${m.severity} (was ${previous}), urgency ${m.urgency}: ${excerpt(m.impact)}`,
      // The assessment itself is in the record's assessments; the event points at it.
      { severity: m.severity, previousSeverity: previous, assessment: state.assessments.length },
    );
  },
});

// Standard procedures: restarts, patches, configuration changes, with their results.
const recordAction = step({
  update: recordActionUpdate,
  schema: recordActionSchema,
  check: (incident) => rules.recordAction(incident.state) ?? incident.withinBudget(),
  apply(incident, m) {
    const { state } = incident;
    state.phase = phaseAfter(state.phase, 'recordAction');
    const id = `action-${state.actions.length + 1}`;
    state.actions.push({
      id,
      kind: m.kind,
      description: m.description,
      result: m.result,
      by: m.actor,
      at: now(),
      phase: state.phase,
    });
    incident.log('action', m.actor, `${m.kind}: ${excerpt(m.description)} → ${excerpt(m.result)}`, {
      actionId: id,
    });
  },
});

// Communication and handover: Level 3 is informed on its channel and gets the package.
const escalate = step({
  update: escalateUpdate,
  schema: escalateSchema,
  check: ({ state, policy }, m) => rules.escalate(state, policy, m.actor),
  apply(incident, m) {
    const { state, policy } = incident;
    const at = now();
    const firstStep = policy.level3[0];
    const targets = firstStep?.notify ?? policy.managers;
    state.phase = phaseAfter(state.phase, 'escalate');
    const handover: Handover = {
      reason: m.reason,
      requestedBy: m.actor,
      requestedAt: at,
      level3Step: 0,
      level3PagedAt: at,
      exhausted: false,
      meetingAt: new Date(ms(at) + (firstStep?.acceptTimeoutMs ?? 0)).toISOString(),
    };
    state.handover = handover;
    incident.log('escalated', m.actor, `escalated to Level 3: ${excerpt(m.reason)}`);
    incident.meter.escalated(incident.secondsIntoResponse());
    // A first step that names a schedule is paged once the schedule said who is on call:
    // the caller learns the outcome when Level 3 has been paged.
    if (handoverAsksSchedules(targets)) return handOverAsked(incident, handover, targets);
    handOver(incident, targets);
  },
});

// Collaboration: Level 3 takes the incident, Level 2 keeps working with them.
const acceptHandover = step({
  update: acceptHandoverUpdate,
  schema: acceptHandoverSchema,
  check: ({ state, policy }, m) => rules.acceptHandover(state, policy, m.actor),
  apply(incident, m) {
    const { state } = incident;
    const handover = state.handover;
    if (!handover) return;
    handover.acceptedBy = m.actor;
    handover.acceptedAt = now();
    handover.notes = m.notes;
    state.holder = m.actor;
    state.phase = phaseAfter(state.phase, 'acceptHandover');
    incident.tell(
      notices.handoverAccepted(state, incident.policy),
      'handover-accepted',
      m.actor,
      `${incident.nameOf(m.actor)} accepted the handover`,
    );
  },
});

// Internal and external communication; customers only hear approved words.
const communicate = step({
  update: communicateUpdate,
  schema: communicateSchema,
  // Customers are never left without an update for lack of room: an external message is
  // sent whole and shortened in the record if it must be.
  check: (incident, m) =>
    rules.communicate(incident.state, incident.policy, m.actor, m.audience) ??
    (m.audience === 'internal' ? incident.withinBudget() : undefined),
  apply(incident, m) {
    const { state, policy } = incident;
    const at = now();
    const external = m.audience === 'external';
    state.communications.push({
      audience: m.audience,
      message: m.message,
      by: m.actor,
      // A manager who sends directly approves their own words.
      ...(external ? { approvedBy: m.actor, selfApproved: true } : {}),
      at,
    });
    if (!external) state.lastStakeholderUpdateAt = at;
    incident.tell(
      external
        ? notices.externalUpdate(state, policy, m.message)
        : notices.internalUpdate(state, policy, m.message, m.actor),
      'communication',
      m.actor,
      external ? `external message sent, self-approved by ${m.actor}` : `internal update sent`,
      { audience: m.audience, communication: state.communications.length },
    );
  },
});

const resolve = step({
  update: resolveUpdate,
  schema: resolveSchema,
  check: ({ state }) => rules.resolve(state),
  apply(incident, m) {
    resolveIncident(incident, m.actor, m.summary, false);
  },
});

/** Every step, in the order of the process. */
export const steps = [
  acknowledge,
  assess,
  recordAction,
  escalate,
  acceptHandover,
  communicate,
  resolve,
  ...customerSteps,
  ...followUpSteps,
] as const;
