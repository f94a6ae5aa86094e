/**
 * The post-incident steps: the final report, lessons learned with their action items, the
 * action items' completion, training, and a manager's waiver. Each closes a follow-up; the
 * incident closes when none is left open.
 */
import { excerpt, now, type ReadyIncident } from './incident-context';
import {
  completeActionItemSchema,
  confirmTrainingSchema,
  confirmTrainingUpdate,
  excuseTrainingSchema,
  excuseTrainingUpdate,
  requireFollowUpSchema,
  requireFollowUpUpdate,
  completeActionItemUpdate,
  recordLessonsSchema,
  recordLessonsUpdate,
  recordTrainingSchema,
  recordTrainingUpdate,
  submitReportSchema,
  submitReportUpdate,
  waiveFollowUpSchema,
  waiveFollowUpUpdate,
} from './messages';
import { completeFollowUp, endOfDay, followUpOf, markDone } from './resolution';
import { rules } from './rules';
import type { Attendance, FollowUp } from './state';
import { step } from './step';

// Post-incident documentation: the final report.
const submitReport = step({
  update: submitReportUpdate,
  schema: submitReportSchema,
  check: ({ state, policy }, m) => rules.submitReport(state, policy, m.actor),
  apply(incident, m) {
    incident.state.report = {
      summary: m.summary,
      rootCause: m.rootCause,
      actionsAndResults: m.actionsAndResults,
      recommendations: m.recommendations,
      by: m.actor,
      at: now(),
    };
    completeFollowUp(incident, 'report', m.actor);
    incident.log('report-submitted', m.actor, `final report submitted; root cause: ${excerpt(m.rootCause)}`);
  },
});

// Lessons learned and process improvement, with action items that have owners and dates.
const recordLessons = step({
  update: recordLessonsUpdate,
  schema: recordLessonsSchema,
  check: ({ state, policy }, m) =>
    rules.recordLessons(
      state,
      policy,
      [
        ...(m.actionItems ?? []).map((item) => item.owner),
        ...(m.processImprovements ?? []).flatMap((i) => (typeof i === 'string' || !i.owner ? [] : [i.owner])),
      ],
      m.actor,
    ),
  apply(incident, m) {
    const { state } = incident;
    const improvements = (m.processImprovements ?? []).map((i) => (typeof i === 'string' ? { title: i } : i));
    state.lessons = {
      lessons: m.lessons,
      processImprovements: improvements.map((i) => i.title),
      by: m.actor,
      at: now(),
    };
    completeFollowUp(incident, 'lessons', m.actor);
    const numbered = state.followUps.filter((f) => f.kind === 'action-item').length;
    const items = (m.actionItems ?? []).map((item, index): FollowUp => ({
      id: `action-item-${numbered + index + 1}`,
      kind: 'action-item',
      title: item.title,
      owner: item.owner,
      dueAt: endOfDay(item.dueDate),
      status: 'open',
    }));
    const tracked = trackedImprovements(incident, improvements, m.actor);
    state.followUps.push(...items, ...tracked);
    if (items.length + tracked.length > 0) incident.meter.followUpsOpened(items.length + tracked.length);
    incident.log(
      'lessons-recorded',
      m.actor,
      `${m.lessons.length} lesson(s), ${items.length} action item(s), ${improvements.length} process improvement(s)`,
      // The lessons and improvements are in the record; the event names the items it opened.
      {
        actionItems: items.map((item) => item.id),
        ...(tracked.length > 0 ? { improvements: tracked.map((item) => item.id) } : {}),
      },
    );
  },
});

const completeActionItem = step({
  update: completeActionItemUpdate,
  schema: completeActionItemSchema,
  check: ({ state, policy }, m) => rules.completeActionItem(state, policy, m.itemId, m.actor, m.changed),
  apply(incident, m) {
    const item = incident.state.followUps.find((f) => f.id === m.itemId);
    if (!item) return;
    markDone(incident, item, m.actor);
    if (item.kind === 'improvement' && m.changed) {
      item.changed = m.changed;
      incident.log(
        'improvement-completed',
        m.actor,
        `${item.id} done: ${excerpt(item.title)}; changed: ${excerpt(m.changed)}`,
        {
          itemId: item.id,
          changed: m.changed,
          ...(m.note ? { note: m.note } : {}),
        },
      );
      return;
    }
    // The completion note has no other home than this event.
    incident.log('action-item-completed', m.actor, `${item.id} done: ${item.title}`, {
      itemId: item.id,
      ...(m.note ? { note: m.note } : {}),
    });
  },
});

// Training: sessions so that everyone can apply what was learned.
const recordTraining = step({
  update: recordTrainingUpdate,
  schema: recordTrainingSchema,
  check: ({ state, policy }, m) => rules.recordTraining(state, policy, m.actor),
  apply(incident, m) {
    incident.state.training = {
      date: m.date,
      attendees: m.attendees,
      material: m.material,
      by: m.actor,
      at: now(),
    };
    const item = incident.state.followUps.find((f) => f.kind === 'training' && f.status === 'open');
    // With attendance kept, the session is on record and each member still confirms.
    if (!item?.attendance) completeFollowUp(incident, 'training', m.actor);
    incident.log(
      'training-recorded',
      m.actor,
      `training on ${m.date} with ${m.attendees.length} attendee(s)${item?.attendance ? `; ${pendingOf(item).length} member(s) still to confirm` : ''}`,
    );
  },
});

// Training reaches everyone: each member confirms, or a manager excuses them.
const confirmTraining = step({
  update: confirmTrainingUpdate,
  schema: confirmTrainingSchema,
  check: ({ state, policy }, m) => rules.attendTraining(state, policy, m.actor, m.actor, false),
  apply(incident, m) {
    attend(
      incident,
      m.actor,
      m.actor,
      { status: 'confirmed' },
      `${incident.nameOf(m.actor)} confirmed training`,
      m.note,
    );
  },
});

const excuseTraining = step({
  update: excuseTrainingUpdate,
  schema: excuseTrainingSchema,
  check: ({ state, policy }, m) => rules.attendTraining(state, policy, m.actor, m.member, true),
  apply(incident, m) {
    attend(
      incident,
      m.member,
      m.actor,
      { status: 'excused', excusedBy: m.actor, reason: m.reason },
      `${incident.nameOf(m.member)} excused from training by ${incident.nameOf(m.actor)}: ${excerpt(m.reason)}`,
    );
  },
});

function attend(
  incident: ReadyIncident,
  member: string,
  actor: string,
  outcome: Pick<Attendance, 'status' | 'excusedBy' | 'reason'>,
  summary: string,
  note?: string,
): void {
  const item = incident.state.followUps.find((f) => f.kind === 'training' && f.status === 'open');
  const seat = item?.attendance?.find((a) => a.member === member);
  if (!item || !seat) return;
  Object.assign(seat, outcome, { at: now() });
  const pending = pendingOf(item);
  incident.log(
    outcome.status === 'confirmed' ? 'training-confirmed' : 'training-excused',
    actor,
    `${summary}; ${pending.length > 0 ? `waiting for ${pending.join(', ')}` : 'every member is trained'}`,
    {
      member,
      ...(note ? { note } : {}),
    },
  );
  if (pending.length === 0) markDone(incident, item, actor);
}

function pendingOf(item: FollowUp): string[] {
  return (item.attendance ?? []).filter((a) => a.status === 'pending').map((a) => a.member);
}

// A manager requires more than the severity asks for: now if resolved, else at resolution.
const requireFollowUp = step({
  update: requireFollowUpUpdate,
  schema: requireFollowUpSchema,
  check: ({ state, policy }, m) => rules.requireFollowUp(state, policy, m.actor, m.kind),
  apply(incident, m) {
    const { state } = incident;
    const at = now();
    state.requiredFollowUps = [
      ...(state.requiredFollowUps ?? []),
      { kind: m.kind, by: m.actor, at, reason: m.reason },
    ];
    let when = 'at resolution';
    if (state.resolution) {
      const item = followUpOf(incident, m.kind, at);
      state.followUps.push(item);
      incident.meter.followUpsOpened(1);
      when = `due ${item.dueAt}, owner ${item.owner}`;
    }
    incident.log('follow-up-required', m.actor, `${m.kind} required ${when}: ${excerpt(m.reason)}`, {
      kind: m.kind,
    });
  },
});

const waiveFollowUp = step({
  update: waiveFollowUpUpdate,
  schema: waiveFollowUpSchema,
  check: ({ state, policy }, m) => rules.waiveFollowUp(state, policy, m.actor, m.followUpId),
  apply(incident, m) {
    const item = incident.state.followUps.find((f) => f.id === m.followUpId);
    if (!item) return;
    item.status = 'waived';
    incident.meter.followUpClosed('waived');
    item.waiver = { by: m.actor, reason: m.reason, at: now() };
    incident.log('follow-up-waived', m.actor, `${item.id} waived: ${excerpt(m.reason)}`, {
      followUpId: item.id,
    });
  },
});

/**
 * Process improvements become follow-ups with an owner and a due date on incidents whose
 * follow-ups are set by severity; older incidents keep them as text in the lessons.
 */
function trackedImprovements(
  incident: ReadyIncident,
  improvements: { title: string; owner?: string; dueDate?: string }[],
  actor: string,
): FollowUp[] {
  const { state, policy } = incident;
  if (!policy.followUps.bySeverity) return [];
  const numbered = state.followUps.filter((f) => f.kind === 'improvement').length;
  const defaultDue = new Date(
    Date.now() + (policy.followUps.improvementDueMs ?? policy.followUps.lessonsDueMs),
  ).toISOString();
  return improvements.map((i, index) => ({
    id: `improvement-${numbered + index + 1}`,
    kind: 'improvement',
    title: i.title,
    owner: i.owner ?? actor,
    dueAt: i.dueDate ? endOfDay(i.dueDate) : defaultDue,
    status: 'open',
  }));
}

export const followUpSteps = [
  submitReport,
  recordLessons,
  completeActionItem,
  recordTraining,
  confirmTraining,
  excuseTraining,
  requireFollowUp,
  waiveFollowUp,
] as const;
