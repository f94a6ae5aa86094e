/**
 * Reminders and overdue notices of the follow-ups. A training follow-up also reaches the
 * members who have not confirmed yet, and names them.
 */
import type { IncidentPolicy, Notification } from './model';
import { followUpLine, notice, people } from './notices';
import type { FollowUp, IncidentState } from './state';

export function followUpReminder(state: IncidentState, policy: IncidentPolicy, item: FollowUp): Notification {
  return notice(
    state,
    'reminder',
    `Due soon: ${item.title}`,
    `${followUpLine(item)}${untrainedLine(state, item)}`,
    {
      // Training is done when every member confirmed: those who have not hear it too.
      responders: people(policy, [item.owner, ...untrained(item)]),
      slackChannels: [],
      emails: [],
    },
  );
}

export function followUpOverdue(state: IncidentState, policy: IncidentPolicy, item: FollowUp): Notification {
  return notice(
    state,
    'overdue',
    `Overdue: ${item.title}`,
    `${followUpLine(item)}${untrainedLine(state, item)}\nIt is overdue. Complete it, or a manager can waive it with a reason.`,
    {
      responders: people(policy, [item.owner, ...policy.followUps.overdueNotify, ...untrained(item)]),
      slackChannels: [policy.team.channel],
      emails: [],
    },
  );
}

/** The members a training follow-up still waits for. */
function untrained(item: FollowUp): string[] {
  return (item.attendance ?? []).filter((a) => a.status === 'pending').map((a) => a.member);
}

function untrainedLine(state: IncidentState, item: FollowUp): string {
  const pending = untrained(item);
  return pending.length > 0
    ? `\nNot trained yet: ${pending.join(', ')}. Each confirms once trained: /incident trained ${state.id} in Slack, a reply starting with "trained" to an email of the incident, or POST /api/v1/incidents/${state.id}/training/confirmations.`
    : '';
}
