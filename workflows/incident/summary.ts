import type { IncidentState, StepResult } from './state';

/** The compact answer to a step: the incident's standing and the events logged after `afterSeq`. */
export function summarize(state: IncidentState, afterSeq: number): StepResult {
  const { handover, resolution } = state;
  return {
    id: state.id,
    title: state.title,
    service: state.service,
    team: state.team,
    phase: state.phase,
    severity: state.severity,
    ...(state.holder ? { holder: state.holder } : {}),
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
    ...(state.acknowledgedAt ? { acknowledgedAt: state.acknowledgedAt } : {}),
    ...(handover
      ? {
          handover: {
            requestedBy: handover.requestedBy,
            requestedAt: handover.requestedAt,
            meetingAt: handover.meetingAt,
            ...(handover.acceptedBy ? { acceptedBy: handover.acceptedBy } : {}),
            ...(handover.acceptedAt ? { acceptedAt: handover.acceptedAt } : {}),
          },
        }
      : {}),
    ...(resolution
      ? { resolution: { by: resolution.by, at: resolution.at, automatic: resolution.automatic } }
      : {}),
    followUps: state.followUps.map(({ id, kind, title, owner, dueAt, status }) => ({
      id,
      kind,
      title,
      owner,
      dueAt,
      status,
    })),
    lastStakeholderUpdateAt: state.lastStakeholderUpdateAt,
    ...(state.closedAt ? { closedAt: state.closedAt } : {}),
    timelineTotal: state.timelineTotal ?? state.timeline.length,
    events: state.timeline.filter((e) => (e.seq ?? 0) > afterSeq),
  };
}
