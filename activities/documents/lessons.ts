/**
 * lessons.md, once lessons are recorded: the lessons, the process improvements they called
 * for and what changed, the action items, the waivers, and who has been trained.
 */
import type { FollowUp, IncidentState } from '../../workflows/incident/state';
import { mdBlock, mdInline } from '../markdown';
import type { IncidentDocument } from './common';

const md = mdInline;

/** A follow-up's status in words: `done by bob at …`, `waived by …: why`, `open`. */
export function followUpStatus(f: FollowUp): string {
  if (f.status === 'done') {
    return f.doneBy
      ? `done by ${md(f.doneBy)} at ${md(f.doneAt ?? '?')}`
      : `done${f.doneAt ? ` at ${md(f.doneAt)}` : ''}`;
  }
  if (f.status === 'waived') return `waived by ${md(f.waiver?.by ?? '?')}: ${md(f.waiver?.reason ?? '')}`;
  return md(f.status);
}

/** The attendance of a training follow-up as table rows, and who is still to be trained. */
export function attendanceLines(f: FollowUp): string[] {
  const attendance = f.attendance ?? [];
  if (attendance.length === 0) return [];
  const lines = ['| member | status | when | excused by | reason |', '|---|---|---|---|---|'];
  for (const a of attendance) {
    lines.push(
      `| ${md(a.member)} | ${md(a.status)} | ${a.at ? md(a.at) : ''} | ${a.excusedBy ? md(a.excusedBy) : ''} | ${a.reason ? md(a.reason) : ''} |`,
    );
  }
  const pending = attendance.filter((a) => a.status === 'pending').map((a) => md(a.member));
  lines.push('', pending.length > 0 ? `Pending: ${pending.join(', ')}` : 'Nobody is pending.');
  return lines;
}

/**
 * The attendance in a few lines of text (no table or list, so the record keeps the rows and
 * items it always had): who confirmed when, who was excused by whom and why, who is pending.
 */
export function attendanceSummary(f: FollowUp): string {
  const attendance = f.attendance ?? [];
  const of = (status: string) => attendance.filter((a) => a.status === status);
  const when = (at: string | undefined) => (at ? ` at ${md(at)}` : '');
  const lines = [`Attendance for ${md(f.title)}:`];
  const confirmed = of('confirmed').map((a) => `${md(a.member)}${when(a.at)}`);
  const excused = of('excused').map(
    (a) => `${md(a.member)} by ${md(a.excusedBy ?? '?')}${when(a.at)}${a.reason ? ` (${md(a.reason)})` : ''}`,
  );
  const pending = of('pending').map((a) => md(a.member));
  if (confirmed.length > 0) lines.push(`Confirmed: ${confirmed.join(', ')}`);
  if (excused.length > 0) lines.push(`Excused: ${excused.join(', ')}`);
  lines.push(pending.length > 0 ? `Pending: ${pending.join(', ')}` : 'Nobody is pending.');
  return lines.join('\\\n');
}

export function renderLessons(state: IncidentState): IncidentDocument | undefined {
  const lessons = state.lessons;
  if (!lessons) return undefined;
  const lines = [
    `# Lessons learned: ${md(state.title)}`,
    '',
    `Incident ${md(state.id)}. Recorded by ${md(lessons.by)} at ${md(lessons.at)}.`,
    '',
    '## Lessons',
    '',
    ...(lessons.lessons.length > 0 ? lessons.lessons.map((l) => `- ${md(l)}`) : ['(none)']),
  ];

  const improvements = state.followUps.filter((f) => f.kind === 'improvement');
  if (lessons.processImprovements.length > 0 || improvements.length > 0) {
    lines.push('', '## Process improvements', '');
    // Tracked, each is a row of the table; from before they were tracked, a list of text.
    if (improvements.length === 0) lines.push(...lessons.processImprovements.map((l) => `- ${md(l)}`));
    if (improvements.length > 0) {
      lines.push('| id | improvement | owner | due | status | what changed |', '|---|---|---|---|---|---|');
      for (const f of improvements) {
        lines.push(
          `| ${md(f.id)} | ${md(f.title)} | ${md(f.owner)} | ${md(f.dueAt)} | ${followUpStatus(f)} | ${f.changed ? md(f.changed) : ''} |`,
        );
      }
    }
  }

  const items = state.followUps.filter((f) => f.kind === 'action-item');
  if (items.length > 0) {
    lines.push('', '## Action items', '', '| id | what | owner | due | status |', '|---|---|---|---|---|');
    for (const f of items) {
      lines.push(`| ${md(f.id)} | ${md(f.title)} | ${md(f.owner)} | ${md(f.dueAt)} | ${followUpStatus(f)} |`);
    }
  }

  const waived = state.followUps.filter((f) => f.waiver);
  if (waived.length > 0) {
    lines.push('', '## Waivers', '');
    for (const f of waived) {
      const w = f.waiver;
      if (w)
        lines.push(`- ${md(f.title)} (${md(f.kind)}): waived by ${md(w.by)} at ${md(w.at)}: ${md(w.reason)}`);
    }
  }

  const trainings = state.followUps.filter((f) => f.kind === 'training');
  if (trainings.length > 0 || state.training) {
    lines.push('', '## Training');
    for (const f of trainings) {
      lines.push('', `${md(f.title)}: owner ${md(f.owner)}, due ${md(f.dueAt)}, ${followUpStatus(f)}`);
      const attendance = attendanceLines(f);
      if (attendance.length > 0) lines.push('', ...attendance);
    }
    const t = state.training;
    if (t) {
      lines.push(
        '',
        `Session on ${md(t.date)}, recorded by ${md(t.by)} at ${md(t.at)}, attended by ${t.attendees.length > 0 ? t.attendees.map(md).join(', ') : 'nobody recorded'}.`,
        '',
        mdBlock(t.material),
      );
    }
  }
  return { name: 'lessons.md', content: `${lines.join('\n')}\n` };
}
