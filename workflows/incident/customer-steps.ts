/**
 * Customer communication with approval: anyone working the incident drafts a message for
 * customers, and it goes out only when a manager approves exactly that text (or rejects it,
 * with a reason). Both decisions are on the timeline and in the communications log.
 */
import { excerpt, now, type ReadyIncident } from './incident-context';
import { KEPT_CUSTOMER_MESSAGES } from './limits';
import {
  approveCustomerMessageSchema,
  approveCustomerMessageUpdate,
  draftCustomerMessageSchema,
  draftCustomerMessageUpdate,
  rejectCustomerMessageSchema,
  rejectCustomerMessageUpdate,
} from './messages';
import { customerMessageForApproval, customerMessageRejected } from './customer-notices';
import { notices } from './notices';
import { rules } from './rules';
import type { CustomerMessage } from './state';
import { step } from './step';

const draftCustomerMessage = step({
  update: draftCustomerMessageUpdate,
  schema: draftCustomerMessageSchema,
  // A draft waits in the record, so it needs room there; when there is none, a manager still
  // sends directly (never refused for room), and customers are not left without an update.
  check: (incident) => rules.draftCustomerMessage(incident.state, incident.policy) ?? incident.withinBudget(),
  apply(incident, m) {
    const { state, policy } = incident;
    const drafts = state.customerMessages ?? [];
    const draft: CustomerMessage = {
      id: nextDraftId(drafts),
      message: m.message,
      draftedBy: m.actor,
      draftedAt: now(),
      status: 'pending',
    };
    state.customerMessages = keepDrafts([...drafts, draft]);
    incident.tell(
      customerMessageForApproval(state, policy, draft),
      'customer-message-drafted',
      m.actor,
      `customer message ${draft.id} drafted, waiting for a manager's approval: ${excerpt(m.message)}`,
      { draftId: draft.id },
    );
  },
});

const approveCustomerMessage = step({
  update: approveCustomerMessageUpdate,
  schema: approveCustomerMessageSchema,
  check: ({ state, policy }, m) => rules.decideCustomerMessage(state, policy, m.actor, m.draftId),
  apply(incident, m) {
    const draft = decide(incident, m.draftId, m.actor);
    if (!draft) return;
    draft.status = 'approved';
    const { state, policy } = incident;
    const selfApproved = draft.draftedBy === m.actor;
    state.communications.push({
      audience: 'external',
      message: draft.message,
      by: draft.draftedBy,
      approvedBy: m.actor,
      ...(selfApproved ? { selfApproved } : {}),
      draftId: draft.id,
      at: draft.decidedAt ?? now(),
    });
    incident.tell(
      notices.externalUpdate(state, policy, draft.message),
      'customer-message-approved',
      m.actor,
      `customer message ${draft.id} by ${draft.draftedBy} approved${selfApproved ? ' by its author' : ''} and sent`,
      { draftId: draft.id, communication: state.communications.length },
    );
  },
});

const rejectCustomerMessage = step({
  update: rejectCustomerMessageUpdate,
  schema: rejectCustomerMessageSchema,
  check: ({ state, policy }, m) => rules.decideCustomerMessage(state, policy, m.actor, m.draftId),
  apply(incident, m) {
    const draft = decide(incident, m.draftId, m.actor);
    if (!draft) return;
    draft.status = 'rejected';
    draft.reason = m.reason;
    incident.tell(
      customerMessageRejected(incident.state, incident.policy, draft),
      'customer-message-rejected',
      m.actor,
      `customer message ${draft.id} by ${draft.draftedBy} rejected, nothing sent: ${excerpt(m.reason)}`,
      { draftId: draft.id },
    );
  },
});

/** Numbered in the order drafted: the newest draft is always kept (see keepDrafts). */
function nextDraftId(drafts: CustomerMessage[]): string {
  const last = drafts.at(-1);
  return `customer-${last ? Number(last.id.slice('customer-'.length)) + 1 : 1}`;
}

function decide(incident: ReadyIncident, draftId: string, actor: string): CustomerMessage | undefined {
  const draft = incident.state.customerMessages?.find((d) => d.id === draftId);
  if (!draft) return undefined;
  draft.decidedBy = actor;
  draft.decidedAt = now();
  return draft;
}

/** Every pending draft stays (it still awaits a decision); of the decided, the newest. */
function keepDrafts(drafts: CustomerMessage[]): CustomerMessage[] {
  const decided = drafts.filter((d) => d.status !== 'pending');
  const dropped = new Set(decided.slice(0, Math.max(0, decided.length - KEPT_CUSTOMER_MESSAGES)));
  return drafts.filter((d) => !dropped.has(d));
}

export const customerSteps = [draftCustomerMessage, approveCustomerMessage, rejectCustomerMessage] as const;
