/**
 * The post-incident steps: the final report, lessons learned with their action items, the
 * action items' completion, training, and a manager's waiver. Each closes a follow-up; the
 * incident closes when none is left open.
 */
import { excerpt, now } from './incident-context';
import {
  completeActionItemSchema,
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
import { completeFollowUp, endOfDay, markDone } from './resolution';
import { rules } from './rules';
import type { FollowUp } from './state';
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
      (m.actionItems ?? []).map((item) => item.owner),
      m.actor,
    ),
  apply(incident, m) {
    const { state } = incident;
    state.lessons = {
      lessons: m.lessons,
      processImprovements: m.processImprovements ?? [],
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
    state.followUps.push(...items);
    if (items.length > 0) incident.meter.followUpsOpened(items.length);
    incident.log(
      'lessons-recorded',
      m.actor,
      `${m.lessons.length} lesson(s), ${items.length} action item(s)`,
      // The lessons and improvements are in the record; the event names the items it opened.
      { actionItems: items.map((item) => item.id) },
    );
  },
});

const completeActionItem = step({
  update: completeActionItemUpdate,
  schema: completeActionItemSchema,
  check: ({ state, policy }, m) => rules.completeActionItem(state, policy, m.itemId, m.actor),
  apply(incident, m) {
    const item = incident.state.followUps.find((f) => f.id === m.itemId);
    if (!item) return;
    markDone(incident, item, m.actor);
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
    completeFollowUp(incident, 'training', m.actor);
    incident.log(
      'training-recorded',
      m.actor,
      `training on ${m.date} with ${m.attendees.length} attendee(s)`,
    );
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

export const followUpSteps = [
  submitReport,
  recordLessons,
  completeActionItem,
  recordTraining,
  waiveFollowUp,
] as const;
