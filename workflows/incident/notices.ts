/**
 * The words Baton sends to people at each step. Pure functions: they build notifications,
 * the workflow queues them, and the notification activities deliver them.
 */
import { formatDuration } from '../../config/duration';
import { NOTIFICATION_TEXT_BYTES, truncateBytes } from './limits';
import { namedResponders, pagedAs } from './page-targets';
import { responderOf, type IncidentPolicy, type Notification, type ResponderSnapshot } from './model';
import type { FollowUp, IncidentState } from './state';

type Audience = Pick<Notification, 'responders' | 'slackChannels' | 'emails'>;

export function people(policy: IncidentPolicy, ids: readonly string[]): ResponderSnapshot[] {
  const seen = new Set<string>();
  const result: ResponderSnapshot[] = [];
  for (const id of ids) {
    const responder = responderOf(policy, id);
    if (responder && !seen.has(id)) {
      seen.add(id);
      result.push(responder);
    }
  }
  return result;
}

/** The people the first escalation step names; its schedules are asked only where a page can wait. */
function firstStepNames(policy: IncidentPolicy): string[] {
  return namedResponders(policy.escalation.steps[0]?.notify ?? []);
}

function links(state: IncidentState): Notification['links'] {
  const result: Notification['links'] = [];
  if (state.links.temporalUi) result.push({ label: 'Incident in Temporal', url: state.links.temporalUi });
  for (const runbook of state.runbooks) {
    result.push({ label: `Runbook: ${runbook.alertname}`, url: runbook.url });
  }
  // A group of hundreds of alerts links a few of their graphs, not all.
  for (const alert of state.alerts.slice(0, 10)) {
    if (alert.generatorURL) {
      result.push({
        label: `Graph: ${alert.labels.alertname ?? alert.fingerprint}`,
        url: alert.generatorURL,
      });
    }
  }
  return result;
}

/** The notice offers its direct addressees these moves, in the phase the incident is in now. */
function offering(
  notification: Notification,
  state: IncidentState,
  ...steps: NonNullable<Notification['actions']>['steps']
): Notification {
  const response = state.reopenedCount ?? state.reopenings?.length ?? 0;
  return { ...notification, actions: { phase: state.phase, response, steps } };
}

/**
 * Everyone paging has reached so far: the escalation steps up to the current one (all of
 * them once a round has gone by), the Level 3 steps paged for a handover, and the managers
 * once either ran out. They hear how
 * the incident ends, so nobody paged is left wondering.
 */
export function pagedSoFar(state: IncidentState, policy: IncidentPolicy): string[] {
  const steps = policy.escalation.steps;
  const reached =
    state.escalation.round > 0 || state.escalation.exhausted
      ? steps
      : steps.slice(0, state.escalation.step + 1);
  const level3 = state.handover
    ? policy.level3.slice(0, state.handover.exhausted ? undefined : state.handover.level3Step + 1)
    : [];
  // Paging that ran out reached the managers too (nobody acknowledged, nobody from Level 3).
  const managers = state.escalation.exhausted || state.handover?.exhausted ? policy.managers : [];
  // Schedules are named as `schedule:<id>`: whom they reached is on the record.
  const onCall = [...(state.escalation.paged ?? []), ...(state.handover?.paged ?? [])];
  const named = namedResponders([...reached, ...level3].flatMap((s) => s.notify));
  return [...new Set([...named, ...onCall, ...managers])];
}

export function notice(
  state: IncidentState,
  kind: Notification['kind'],
  subject: string,
  text: string,
  audience: Audience,
): Notification {
  return {
    incidentId: state.id,
    kind,
    subject: `[${state.severity}] ${subject}: ${state.title}`,
    text: truncateBytes(text, NOTIFICATION_TEXT_BYTES),
    ...audience,
    links: links(state),
  };
}

function describe(state: IncidentState): string {
  const firing = state.alerts.filter((a) => a.status === 'firing').length;
  return [
    `${state.title}`,
    `Service: ${state.service} · Team: ${state.team} · Severity: ${state.severity}`,
    state.description ? state.description : undefined,
    state.alerts.length > 0 ? `Alerts: ${firing} firing of ${state.alerts.length}` : undefined,
    ...state.runbooks.flatMap((r) =>
      r.steps.length > 0 ? [`Runbook ${r.alertname}: ${r.steps.join('; ')}`] : [],
    ),
  ]
    .filter((line): line is string => Boolean(line))
    .join('\n');
}

const holderOrTeam = (state: IncidentState, policy: IncidentPolicy): Audience => ({
  responders: people(policy, state.holder ? [state.holder] : []),
  slackChannels: [policy.team.channel],
  emails: [],
});

export const notices = {
  page(
    state: IncidentState,
    policy: IncidentPolicy,
    targets: string[],
    attempt: string,
    because: Record<string, string> = {},
  ): Notification {
    return offering(
      notice(
        state,
        'page',
        'Incident needs acknowledgement',
        `${describe(state)}\n\n${pagedAs(policy, targets, because, attempt)} Acknowledge to take the incident.`,
        { responders: people(policy, targets), slackChannels: [policy.team.channel], emails: [] },
      ),
      state,
      'acknowledge',
    );
  },

  nobodyAcknowledged(state: IncidentState, policy: IncidentPolicy, rounds: number): Notification {
    return offering(
      notice(
        state,
        'page',
        'Nobody acknowledged',
        `${describe(state)}\n\nNobody acknowledged after ${rounds} round(s) of paging. A manager must find an owner.`,
        { responders: people(policy, policy.managers), slackChannels: [policy.team.channel], emails: [] },
      ),
      state,
      'acknowledge',
    );
  },

  acknowledged(state: IncidentState, policy: IncidentPolicy): Notification {
    const who = responderOf(policy, state.acknowledgedBy ?? '')?.name ?? state.acknowledgedBy;
    return notice(state, 'update', 'Acknowledged', `${who} acknowledged and holds the incident.`, {
      responders: people(
        policy,
        pagedSoFar(state, policy).filter((id) => id !== state.acknowledgedBy),
      ),
      slackChannels: [policy.team.channel],
      emails: [],
    });
  },

  assessReminder(state: IncidentState, policy: IncidentPolicy, within: number): Notification {
    return notice(
      state,
      'reminder',
      'Assessment due',
      `The initial assessment (severity, urgency, impact, observations) was due within ${formatDuration(within)} of acknowledgement.`,
      holderOrTeam(state, policy),
    );
  },

  assessed(state: IncidentState, policy: IncidentPolicy): Notification {
    const latest = state.assessments[state.assessments.length - 1];
    const major = state.severity === 'SEV1' || state.severity === 'SEV2';
    return notice(
      state,
      'update',
      'Assessed',
      [
        `Severity ${latest?.severity ?? state.severity}, urgency ${latest?.urgency ?? '?'}.`,
        `Impact: ${latest?.impact ?? ''}`,
        `Observations: ${latest?.observations ?? ''}`,
      ].join('\n'),
      {
        // Major incidents reach management and the internal stakeholders at once.
        responders: people(policy, major ? policy.managers : []),
        slackChannels: [policy.team.channel, ...(major ? stakeholderChannels(policy) : [])],
        emails: major ? stakeholderEmails(policy) : [],
      },
    );
  },

  /** To the holder; to the first step while nobody holds it (`to`: whom its schedules have on call). */
  escalationNudge(
    state: IncidentState,
    policy: IncidentPolicy,
    openFor: number,
    to?: string[],
  ): Notification {
    const major = state.severity === 'SEV1' || state.severity === 'SEV2';
    const nudge = notice(
      state,
      'nudge',
      major ? 'Escalate to Level 3 now' : 'Consider escalating',
      major
        ? `This ${state.severity} incident has been open for ${formatDuration(openFor)} without resolution. Escalate to Level 3 immediately.`
        : `This incident has been open for ${formatDuration(openFor)}. If the known fixes have not worked, escalate to Level 3.`,
      {
        responders: people(policy, state.holder ? [state.holder] : (to ?? firstStepNames(policy))),
        slackChannels: [policy.team.channel],
        emails: [],
      },
    );
    // The holder decides from the message: hand over to Level 3, or resolve.
    return state.holder ? offering(nudge, state, 'escalate', 'resolve') : nudge;
  },

  handoverPackage(
    state: IncidentState,
    policy: IncidentPolicy,
    pkg: string,
    targets: string[],
  ): Notification {
    return offering(
      notice(state, 'handover', 'Escalated to Level 3', pkg, {
        responders: people(policy, targets),
        slackChannels: [policy.team.level3Channel],
        emails: [],
      }),
      state,
      'acceptHandover',
    );
  },

  handoverMeeting(state: IncidentState, policy: IncidentPolicy, targets: string[]): Notification {
    const meeting = notice(
      state,
      'meeting',
      'Handover meeting',
      `Handover meeting at ${state.handover?.meetingAt ?? '?'}: Level 2 (${state.holder ?? 'unassigned'}) walks Level 3 through the alerts, observations, actions and logs collected so far.`,
      {
        responders: people(policy, [...(state.holder ? [state.holder] : []), ...targets]),
        slackChannels: [policy.team.level3Channel],
        emails: [],
      },
    );
    const handover = state.handover;
    if (!handover) return meeting;
    const organizer = state.holder ? responderOf(policy, state.holder) : undefined;
    return {
      ...meeting,
      meeting: {
        at: handover.meetingAt,
        minutes: 30,
        ...(organizer ? { organizer } : {}),
        // One invitation per handover: a resent invitation updates it in the calendar.
        uid: `${state.id}-handover-${handover.requestedAt}`,
      },
    };
  },

  level3Page(
    state: IncidentState,
    policy: IncidentPolicy,
    targets: string[],
    previous: string[],
    because: Record<string, string> = {},
  ): Notification {
    const paged = pagedAs(policy, targets, because);
    return offering(
      notice(
        state,
        'page',
        'Level 3 handover waiting',
        `${previous.length > 0 ? `${previous.join(', ')} did not accept the handover in time.` : 'Nobody was on call at the previous Level 3 step.'} ${paged.replace(/\.$/, '')} to accept it.\nReason for escalation: ${state.handover?.reason ?? ''}`,
        { responders: people(policy, targets), slackChannels: [policy.team.level3Channel], emails: [] },
      ),
      state,
      'acceptHandover',
    );
  },

  level3Unanswered(state: IncidentState, policy: IncidentPolicy): Notification {
    return notice(
      state,
      'page',
      'Nobody from Level 3 accepted',
      `Every Level 3 target was paged and none accepted the handover. A manager must find an expert.`,
      { responders: people(policy, policy.managers), slackChannels: [policy.team.level3Channel], emails: [] },
    );
  },

  handoverAccepted(state: IncidentState, policy: IncidentPolicy): Notification {
    return notice(
      state,
      'update',
      'Level 3 accepted the handover',
      `${state.handover?.acceptedBy ?? '?'} now holds the incident; Level 2 (${state.acknowledgedBy ?? '?'}) keeps collaborating.\nNotes: ${state.handover?.notes ?? ''}`,
      {
        responders: people(policy, state.acknowledgedBy ? [state.acknowledgedBy] : []),
        slackChannels: [policy.team.channel, policy.team.level3Channel],
        emails: [],
      },
    );
  },

  stakeholderUpdateDue(state: IncidentState, policy: IncidentPolicy, every: number): Notification {
    return notice(
      state,
      'reminder',
      'Stakeholder update due',
      `Internal stakeholders expect an update every ${formatDuration(every)} at ${state.severity}; the last one was at ${state.lastStakeholderUpdateAt}.`,
      holderOrTeam(state, policy),
    );
  },

  internalUpdate(state: IncidentState, policy: IncidentPolicy, message: string, by: string): Notification {
    return notice(
      state,
      'update',
      'Incident update',
      `${message}\n— ${responderOf(policy, by)?.name ?? by}`,
      {
        responders: people(policy, policy.managers),
        slackChannels: [policy.team.channel, ...stakeholderChannels(policy)],
        emails: stakeholderEmails(policy),
      },
    );
  },

  externalUpdate(state: IncidentState, policy: IncidentPolicy, message: string): Notification {
    return {
      incidentId: state.id,
      kind: 'external',
      subject: `Service notice: ${state.service}`,
      // Customers see only the approved text: no internal links or names.
      text: message,
      responders: [],
      slackChannels: [],
      emails: policy.stakeholders.external.email,
      links: [],
    };
  },

  resolved(state: IncidentState, policy: IncidentPolicy): Notification {
    return notice(
      state,
      'resolved',
      'Resolved',
      `${state.resolution?.automatic ? 'Resolved automatically: every alert cleared.' : `Resolved by ${state.resolution?.by ?? '?'}.`}\n${state.resolution?.summary ?? ''}\n\n${
        state.followUps.length > 0
          ? `Follow-ups:\n${state.followUps.map(followUpLine).join('\n')}`
          : 'Nothing to follow up: the drafted report is in the incident’s documents, and the incident closes unless its alerts fire again.'
      }`,
      {
        responders: people(policy, [
          ...(state.acknowledgedBy ? [state.acknowledgedBy] : []),
          ...(state.handover?.acceptedBy ? [state.handover.acceptedBy] : []),
          ...policy.managers,
          ...pagedSoFar(state, policy),
        ]),
        slackChannels: [policy.team.channel, ...stakeholderChannels(policy)],
        emails: stakeholderEmails(policy),
      },
    );
  },

  firingAgain(state: IncidentState, policy: IncidentPolicy, alerts: string[]): Notification {
    const last = state.handover?.acceptedBy ?? state.acknowledgedBy;
    return notice(
      state,
      'page',
      'Alerts firing again after resolution',
      `${truncateBytes(alerts.join(', '), 500)} fired again after the incident was resolved at ${state.resolution?.at ?? '?'}.\nCheck whether the fix held; declare a new incident if it did not.`,
      {
        responders: people(policy, [...(last ? [last] : []), ...firstStepNames(policy)]),
        slackChannels: [policy.team.channel],
        emails: [],
      },
    );
  },

  reopened(
    state: IncidentState,
    policy: IncidentPolicy,
    alerts: string[],
    previousHolder: string | undefined,
    paged: string[],
  ): Notification {
    const last = state.reopenings?.[state.reopenings.length - 1];
    return notice(
      state,
      'page',
      'Alerts firing again: incident reopened',
      `${truncateBytes(alerts.join(', '), 500)} fired again after the incident was resolved at ${last?.resolution.at ?? '?'} (${last?.resolution.summary ?? ''}).\nThe incident is open again and needs acknowledgement; its follow-ups wait until it is resolved again.`,
      {
        // The first step is paged on its own; whoever resolved it last knows the context.
        responders: people(policy, previousHolder && !paged.includes(previousHolder) ? [previousHolder] : []),
        slackChannels: [policy.team.channel],
        emails: [],
      },
    );
  },

  pageFailed(
    state: IncidentState,
    policy: IncidentPolicy,
    failed: Notification,
    errors: string[],
  ): Notification {
    return notice(
      state,
      'page-failed',
      'A page reached nobody',
      `"${failed.subject}" to ${failed.responders.map((r) => r.name).join(', ') || 'the team'} failed on every channel:\n${errors.join('\n')}\nFind them another way; paging goes on meanwhile.`,
      { responders: people(policy, policy.managers), slackChannels: [policy.team.channel], emails: [] },
    );
  },

  closed(state: IncidentState, policy: IncidentPolicy): Notification {
    return notice(
      state,
      'closed',
      'Closed',
      `Every follow-up is done or waived; the incident is closed.\n${state.followUps.map(followUpLine).join('\n')}`,
      { responders: people(policy, policy.managers), slackChannels: [policy.team.channel], emails: [] },
    );
  },
};

export function followUpLine(item: FollowUp): string {
  return `- ${item.id}: ${item.title} (owner ${item.owner}, due ${item.dueAt}, ${item.status})`;
}

function stakeholderChannels(policy: IncidentPolicy): string[] {
  return policy.stakeholders.internal.flatMap((s) => ('slack' in s ? [s.slack] : []));
}

function stakeholderEmails(policy: IncidentPolicy): string[] {
  return policy.stakeholders.internal.flatMap((s) => ('email' in s ? [s.email] : []));
}
