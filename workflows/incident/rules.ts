/**
 * Which moves the process allows, and why not when it does not. Pure functions over the
 * incident record: each returns a refusal, or undefined when the move is allowed. The
 * workflow's update validators call these, so a refused request never reaches the record.
 */
import { ApplicationFailure } from '@temporalio/common';
import { responderOf, type IncidentPolicy, type Level, type RequirableFollowUp } from './model';
import { RefusalType } from './messages';
import { isOpenPhase } from './phases';
import type { IncidentState } from './state';

export interface Refusal {
  type: RefusalType;
  message: string;
}

export function isOpen(state: IncidentState): boolean {
  return isOpenPhase(state.phase);
}

/** The process does not allow this move now (409 at the API). */
export const invalidMove = (message: string): Refusal => ({ type: RefusalType.invalidMove, message });
/** This actor may not make this move (403 at the API). */
export const notPermitted = (message: string): Refusal => ({ type: RefusalType.notPermitted, message });

/**
 * Turns a refusal into the failure an update handler or validator throws: non-retryable,
 * with the refusal's type, so the caller gets the reason and the record stays unchanged.
 */
export function throwIfRefused(refusal: Refusal | undefined): void {
  if (refusal) {
    throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
  }
}

const LEVEL_NAMES: Record<Level, string> = {
  L2: 'Level 2',
  L3: 'Level 3',
  manager: 'a manager',
};

/** The actor must be a responder the incident's policy knows. */
export function checkActor(policy: IncidentPolicy, actor: string): Refusal | undefined {
  if (!responderOf(policy, actor)) {
    return {
      type: RefusalType.unknownActor,
      message: `"${actor}" is not a responder in this incident's configuration`,
    };
  }
  return undefined;
}

/**
 * Whether the actor belongs to the incident's team (or is one of its managers). Incidents
 * whose policy predates teams (no `members`) let every known responder in, as they did.
 */
export function isMember(policy: IncidentPolicy, actor: string): boolean {
  if (!policy.members) return responderOf(policy, actor) !== undefined;
  return policy.members.includes(actor) || policy.managers.includes(actor);
}

/** Only the incident's team sees it or acts on it; to anyone else it does not exist. */
export function checkMember(policy: IncidentPolicy, actor: string): Refusal | undefined {
  if (isMember(policy, actor)) return undefined;
  return { type: RefusalType.notMember, message: `${actor} is not on team ${policy.team.id}` };
}

/** Whether the incident runs by team roles (its policy names the team's members). */
function byRoles(policy: IncidentPolicy): boolean {
  return policy.members !== undefined;
}

function levelOf(policy: IncidentPolicy, actor: string): Level | undefined {
  return responderOf(policy, actor)?.level;
}

/**
 * The final report and the lessons: the incident's holder, a Level 3 of its team or a
 * manager (the people who know what happened, or answer for it).
 */
function checkWriter(
  state: IncidentState,
  policy: IncidentPolicy,
  actor: string,
  kind: 'report' | 'lessons',
  what: string,
): Refusal | undefined {
  if (!byRoles(policy)) return undefined;
  const level = levelOf(policy, actor);
  // The follow-up's owner is the holder, or whoever was paged first when nobody held it.
  const owner = state.followUps.find((f) => f.kind === kind)?.owner;
  if (actor === state.holder || actor === owner || level === 'L3' || level === 'manager') return undefined;
  return notPermitted(
    `only the incident's holder (${owner ?? state.holder ?? 'nobody'}), Level 3 or a manager can ${what}; ${actor} is ${level ? LEVEL_NAMES[level] : 'not a known responder'}`,
  );
}

/** Nothing changes a closed incident; said first, whatever else would be wrong. */
export function checkNotClosed(state: IncidentState): Refusal | undefined {
  return state.phase === 'closed'
    ? invalidMove(`the incident was closed at ${state.closedAt ?? '?'}`)
    : undefined;
}

function requireLevel(
  policy: IncidentPolicy,
  actor: string,
  allowed: readonly Level[],
  what: string,
): Refusal | undefined {
  const level = responderOf(policy, actor)?.level;
  // An actor the policy does not know may do nothing, whatever checkActor said.
  if (!level || !allowed.includes(level)) {
    const who = allowed.map((l) => LEVEL_NAMES[l]).join(' or ');
    return notPermitted(
      `only ${who} can ${what}; ${actor} is ${level ? LEVEL_NAMES[level] : 'not a known responder'}`,
    );
  }
  return undefined;
}

function whileOpen(state: IncidentState, what: string): Refusal | undefined {
  if (state.phase === 'closed') return invalidMove(`the incident is closed; cannot ${what}`);
  if (!isOpen(state)) {
    return invalidMove(`the incident was resolved at ${state.resolution?.at ?? '?'}; cannot ${what}`);
  }
  return undefined;
}

function afterAcknowledgement(state: IncidentState, what: string): Refusal | undefined {
  if (state.phase === 'triggered') {
    return invalidMove(`nobody has acknowledged the incident yet; acknowledge it before you ${what}`);
  }
  return undefined;
}

export const rules = {
  acknowledge(state: IncidentState): Refusal | undefined {
    if (state.acknowledgedBy) {
      return invalidMove(
        `the incident was already acknowledged by ${state.acknowledgedBy} at ${state.acknowledgedAt ?? '?'}`,
      );
    }
    return whileOpen(state, 'acknowledge it');
  },

  assess(state: IncidentState): Refusal | undefined {
    return whileOpen(state, 'assess it') ?? afterAcknowledgement(state, 'assess it');
  },

  recordAction(state: IncidentState): Refusal | undefined {
    return whileOpen(state, 'record an action') ?? afterAcknowledgement(state, 'record an action');
  },

  escalate(state: IncidentState, policy: IncidentPolicy, actor: string): Refusal | undefined {
    const closed = whileOpen(state, 'escalate it') ?? afterAcknowledgement(state, 'escalate it');
    if (closed) return closed;
    if (state.handover?.acceptedBy) {
      return invalidMove(`Level 3 (${state.handover.acceptedBy}) already holds the incident`);
    }
    if (state.handover) {
      return invalidMove(
        `the incident was already escalated by ${state.handover.requestedBy} at ${state.handover.requestedAt}; Level 3 has been paged`,
      );
    }
    return requireLevel(policy, actor, ['L2', 'manager'], 'escalate to Level 3');
  },

  acceptHandover(state: IncidentState, policy: IncidentPolicy, actor: string): Refusal | undefined {
    const closed = whileOpen(state, 'accept a handover');
    if (closed) return closed;
    if (!state.handover) {
      return invalidMove('there is no handover to accept: the incident has not been escalated');
    }
    if (state.handover.acceptedBy) {
      return invalidMove(
        `the handover was already accepted by ${state.handover.acceptedBy} at ${state.handover.acceptedAt ?? '?'}`,
      );
    }
    return requireLevel(policy, actor, ['L3', 'manager'], 'accept a handover');
  },

  communicate(
    state: IncidentState,
    policy: IncidentPolicy,
    actor: string,
    audience: 'internal' | 'external',
  ): Refusal | undefined {
    if (state.phase === 'closed') return invalidMove('the incident is closed');
    if (audience === 'external') return checkApprover(policy, actor) ?? externalAudience(policy);
    return undefined;
  },

  /** Anyone working the incident drafts a customer message; a manager approves it. */
  draftCustomerMessage(state: IncidentState, policy: IncidentPolicy): Refusal | undefined {
    return checkNotClosed(state) ?? externalAudience(policy);
  },

  decideCustomerMessage(
    state: IncidentState,
    policy: IncidentPolicy,
    actor: string,
    draftId: string,
  ): Refusal | undefined {
    const refusal = checkNotClosed(state) ?? checkApprover(policy, actor);
    if (refusal) return refusal;
    const draft = (state.customerMessages ?? []).find((d) => d.id === draftId);
    if (!draft) {
      const pending = (state.customerMessages ?? []).filter((d) => d.status === 'pending').map((d) => d.id);
      return invalidMove(
        `there is no customer message "${draftId}"; pending: ${pending.join(', ') || 'none'}`,
      );
    }
    if (draft.status !== 'pending') {
      return invalidMove(
        `customer message "${draftId}" was already ${draft.status} by ${draft.decidedBy ?? '?'}`,
      );
    }
    return undefined;
  },

  resolve(state: IncidentState): Refusal | undefined {
    return whileOpen(state, 'resolve it again');
  },

  submitReport(state: IncidentState, policy: IncidentPolicy, actor: string): Refusal | undefined {
    return (
      postIncident(state, 'submit the final report') ??
      openFollowUp(state, 'report', 'the final report') ??
      checkWriter(state, policy, actor, 'report', 'submit the final report')
    );
  },

  recordLessons(
    state: IncidentState,
    policy: IncidentPolicy,
    owners: string[],
    actor: string,
  ): Refusal | undefined {
    const refusal =
      postIncident(state, 'record lessons learned') ??
      openFollowUp(state, 'lessons', 'lessons learned') ??
      checkWriter(state, policy, actor, 'lessons', 'record lessons learned');
    if (refusal) return refusal;
    const unknown = owners.filter((owner) => !responderOf(policy, owner));
    if (unknown.length > 0) {
      return {
        type: RefusalType.invalidInput,
        message: `action item and improvement owners must be responders; unknown: ${unknown.join(', ')}`,
      };
    }
    // An action item belongs to someone who can see the incident it came from.
    const outsiders = byRoles(policy) ? owners.filter((owner) => !isMember(policy, owner)) : [];
    if (outsiders.length > 0) {
      return {
        type: RefusalType.invalidInput,
        message: `action item and improvement owners must be on team ${policy.team.id}; not on it: ${outsiders.join(', ')}`,
      };
    }
    return undefined;
  },

  /** A manager requires a follow-up the severity does not ask for. */
  requireFollowUp(
    state: IncidentState,
    policy: IncidentPolicy,
    actor: string,
    kind: RequirableFollowUp,
  ): Refusal | undefined {
    const refusal = checkNotClosed(state) ?? requireLevel(policy, actor, ['manager'], 'require a follow-up');
    if (refusal) return refusal;
    const item = state.followUps.find((f) => f.kind === kind);
    if (item) {
      return invalidMove(
        item.status === 'waived'
          ? `${item.title} was waived by ${item.waiver?.by ?? '?'}`
          : `${item.title} is already required (${item.status})`,
      );
    }
    const earlier = (state.requiredFollowUps ?? []).find((r) => r.kind === kind);
    if (earlier) return invalidMove(`${kind} was already required by ${earlier.by} at ${earlier.at}`);
    return undefined;
  },

  /** A team member confirms they were trained (or a manager excuses them: `excused`). */
  attendTraining(
    state: IncidentState,
    policy: IncidentPolicy,
    actor: string,
    member: string,
    excused: boolean,
  ): Refusal | undefined {
    const refusal =
      postIncident(state, excused ? 'excuse a member from training' : 'confirm training') ??
      openFollowUp(state, 'training', 'the training') ??
      (excused ? requireLevel(policy, actor, ['manager'], 'excuse a member from training') : undefined);
    if (refusal) return refusal;
    const item = state.followUps.find((f) => f.kind === 'training');
    const seat = item?.attendance?.find((a) => a.member === member);
    if (!item?.attendance) {
      return invalidMove('training on this incident is one session record: record the training instead');
    }
    if (!seat) return invalidMove(`${member} is not among the team members to train`);
    if (seat.status === 'confirmed')
      return invalidMove(`${member} already confirmed training at ${seat.at ?? '?'}`);
    if (seat.status === 'excused') return invalidMove(`${member} was excused by ${seat.excusedBy ?? '?'}`);
    return undefined;
  },

  completeActionItem(
    state: IncidentState,
    policy: IncidentPolicy,
    itemId: string,
    actor: string,
    changed?: string,
  ): Refusal | undefined {
    const refusal = postIncident(state, 'complete an action item');
    if (refusal) return refusal;
    const item = state.followUps.find(
      (f) => f.id === itemId && (f.kind === 'action-item' || f.kind === 'improvement'),
    );
    if (!item) return invalidMove(`there is no action item or process improvement "${itemId}"`);
    if (item.status !== 'open') return invalidMove(`"${itemId}" is already ${item.status}`);
    if (byRoles(policy) && actor !== item.owner && levelOf(policy, actor) !== 'manager') {
      return notPermitted(`"${itemId}" is completed by its owner (${item.owner}) or a manager`);
    }
    if (item.kind === 'improvement' && !changed) {
      return {
        type: RefusalType.invalidInput,
        message: `process improvement "${itemId}" is done when it names what changed: give "changed", a link to the updated runbook or procedure`,
      };
    }
    return undefined;
  },

  recordTraining(state: IncidentState, policy: IncidentPolicy, actor: string): Refusal | undefined {
    return (
      postIncident(state, 'record training') ??
      openFollowUp(state, 'training', 'the training') ??
      (byRoles(policy) ? requireLevel(policy, actor, ['manager'], 'record the training') : undefined)
    );
  },

  waiveFollowUp(
    state: IncidentState,
    policy: IncidentPolicy,
    actor: string,
    followUpId: string,
  ): Refusal | undefined {
    const level = requireLevel(policy, actor, ['manager'], 'waive a follow-up');
    if (level) return level;
    const refusal = postIncident(state, 'waive a follow-up');
    if (refusal) return refusal;
    const item = state.followUps.find((f) => f.id === followUpId);
    if (!item) {
      return invalidMove(
        `there is no follow-up "${followUpId}"; open ones: ${
          state.followUps
            .filter((f) => f.status === 'open')
            .map((f) => f.id)
            .join(', ') || 'none'
        }`,
      );
    }
    if (item.status !== 'open') return invalidMove(`follow-up "${followUpId}" is already ${item.status}`);
    return undefined;
  },
};

/** External messages reach customers: only a manager who approves them sends them. */
function checkApprover(policy: IncidentPolicy, actor: string): Refusal | undefined {
  const level = requireLevel(policy, actor, ['manager'], 'approve an external message');
  if (level) return level;
  const approvers = policy.stakeholders.external.approvers;
  if (approvers.length > 0 && !approvers.includes(actor)) {
    return notPermitted(
      `external messages for team ${policy.team.id} are approved by ${approvers.join(', ')}`,
    );
  }
  return undefined;
}

function externalAudience(policy: IncidentPolicy): Refusal | undefined {
  return policy.stakeholders.external.email.length === 0
    ? invalidMove(`team ${policy.team.id} has no external audience configured`)
    : undefined;
}

function postIncident(state: IncidentState, what: string): Refusal | undefined {
  if (state.phase === 'closed') return invalidMove(`the incident is closed; cannot ${what}`);
  if (!state.resolution) {
    return invalidMove(`the incident is not resolved yet; ${what} after it is resolved`);
  }
  return undefined;
}

function openFollowUp(
  state: IncidentState,
  kind: 'report' | 'lessons' | 'training',
  what: string,
): Refusal | undefined {
  const item = state.followUps.find((f) => f.kind === kind);
  if (!item) {
    // Scheduled within the same workflow task as resolution; absent only when the policy
    // did not ask for it (an automatic resolution of an unacknowledged incident).
    return invalidMove(`${what} is not required for this incident`);
  }
  if (item.status === 'done') return invalidMove(`${what} was already recorded by ${item.doneBy ?? '?'}`);
  if (item.status === 'waived') return invalidMove(`${what} was waived by ${item.waiver?.by ?? '?'}`);
  return undefined;
}
