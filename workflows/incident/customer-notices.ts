/**
 * What Baton tells people about customer messages: the approvers get the exact text to
 * approve, the author hears why it was rejected.
 */
import type { IncidentPolicy, Notification } from './model';
import { notice, people } from './notices';
import type { CustomerMessage, IncidentState } from './state';

/** The approvers read exactly the text customers will get, and nothing goes out before. */
export function customerMessageForApproval(
  state: IncidentState,
  policy: IncidentPolicy,
  draft: CustomerMessage,
): Notification {
  const approvers = policy.stakeholders.external.approvers;
  return notice(
    state,
    'update',
    `Approve a customer message (${draft.id})`,
    `${draft.draftedBy} drafted this message for ${policy.stakeholders.external.email.join(', ')}. It is sent exactly as written once a manager approves it (POST /api/v1/incidents/${state.id}/customer-messages/${draft.id}/approve), or rejected with a reason (…/reject).\n\n----\n${draft.message}\n----`,
    {
      responders: people(policy, approvers.length > 0 ? approvers : policy.managers),
      slackChannels: [],
      emails: [],
    },
  );
}

export function customerMessageRejected(
  state: IncidentState,
  policy: IncidentPolicy,
  draft: CustomerMessage,
): Notification {
  return notice(
    state,
    'update',
    `Customer message ${draft.id} rejected`,
    `${draft.decidedBy ?? '?'} rejected the customer message you drafted; nothing was sent.\nReason: ${draft.reason ?? ''}`,
    { responders: people(policy, [draft.draftedBy]), slackChannels: [], emails: [] },
  );
}
