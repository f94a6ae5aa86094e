import { open } from 'node:fs/promises';
import path from 'node:path';
import type { IncidentState, TimelineEvent } from '../workflows/state';
import { appendLine, safeName, writeFileAtomic } from './files';

/** What the workflow hands over each time the record changed. */
export interface RecordWrite {
  /** The record as the workflow keeps it (its timeline holds the newest events only). */
  record: IncidentState;
  /** Events the store has not acknowledged yet, oldest first, numbered by `seq`. */
  events: TimelineEvent[];
}

export interface DocumentationDeps {
  /** Folder that holds one sub-folder per incident. */
  dir: string;
}

/** The incident record as a document a person reads: what happened, who did what, what follows. */
export function renderIncidentRecord(state: IncidentState): string {
  const lines: string[] = [
    `# ${state.title}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Incident | ${state.id} |`,
    `| Phase | ${state.phase} |`,
    `| Severity | ${state.severity} |`,
    `| Service | ${state.service} |`,
    `| Team | ${state.team} |`,
    `| Opened | ${state.openedAt} |`,
    `| Acknowledged | ${state.acknowledgedBy ? `${state.acknowledgedBy} at ${state.acknowledgedAt}` : 'no'} |`,
    `| Holder | ${state.holder ?? 'unassigned'} |`,
    `| Resolved | ${state.resolution ? `${state.resolution.by} at ${state.resolution.at}` : 'no'} |`,
    `| Closed | ${state.closedAt ?? 'no'} |`,
  ];
  if (state.description) lines.push('', state.description);
  const latest = state.assessments[state.assessments.length - 1];
  if (latest) {
    lines.push(
      '',
      '## Assessment',
      `Urgency ${latest.urgency}. Impact: ${latest.impact}`,
      '',
      latest.observations,
    );
  }
  if (state.actions.length > 0) {
    lines.push('', '## Actions and results');
    for (const a of state.actions) lines.push(`- ${a.at} ${a.by} ${a.kind}: ${a.description} → ${a.result}`);
  }
  if (state.handover) {
    const h = state.handover;
    lines.push(
      '',
      '## Escalation and handover',
      `Escalated by ${h.requestedBy} at ${h.requestedAt}: ${h.reason}`,
      `Handover meeting: ${h.meetingAt}`,
      h.acceptedBy
        ? `Accepted by ${h.acceptedBy} at ${h.acceptedAt ?? '?'}: ${h.notes ?? ''}`
        : 'Not accepted yet',
    );
  }
  if (state.resolution) lines.push('', '## Resolution', state.resolution.summary);
  if (state.report) {
    const r = state.report;
    lines.push(
      '',
      '## Final report',
      `By ${r.by} at ${r.at}`,
      '',
      '### Summary',
      r.summary,
      '',
      '### Root cause',
      r.rootCause,
      '',
      '### Actions taken and results',
      r.actionsAndResults,
      '',
      '### Recommendations',
      r.recommendations,
    );
  }
  if (state.lessons) {
    lines.push('', '## Lessons learned', ...state.lessons.lessons.map((l) => `- ${l}`));
    if (state.lessons.processImprovements.length > 0) {
      lines.push('', '## Process improvements', ...state.lessons.processImprovements.map((l) => `- ${l}`));
    }
  }
  if (state.training) {
    const t = state.training;
    lines.push('', '## Training', `${t.date}, attended by ${t.attendees.join(', ')}`, '', t.material);
  }
  if (state.followUps.length > 0) {
    lines.push('', '## Follow-ups', '| id | what | owner | due | status |', '|---|---|---|---|---|');
    for (const f of state.followUps) {
      const status =
        f.status === 'waived' ? `waived by ${f.waiver?.by ?? '?'}: ${f.waiver?.reason ?? ''}` : f.status;
      lines.push(`| ${f.id} | ${f.title} | ${f.owner} | ${f.dueAt} | ${status} |`);
    }
  }
  if (state.communications.length > 0) {
    lines.push('', '## Communications');
    for (const c of state.communications) lines.push(`- ${c.at} ${c.audience} by ${c.by}: ${c.message}`);
  }
  lines.push('', '## Timeline');
  const earlier = (state.timeline[0]?.seq ?? 1) - 1;
  if (earlier > 0) lines.push(`(${earlier} earlier event(s) in timeline.jsonl)`, '');
  for (const e of state.timeline) lines.push(`- ${e.at} **${e.kind}** ${e.actor}: ${e.summary}`);
  return `${lines.join('\n')}\n`;
}

/**
 * One folder per incident. An alert group that fires again after its incident closed starts
 * a new incident under the same workflow id, so the opening time tells them apart.
 */
export function recordFolderName(state: Pick<IncidentState, 'id' | 'openedAt'>): string {
  const opened = state.openedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return safeName(`${state.id}-${opened}`);
}

/** The last `count` events of a timeline file, oldest first; torn or foreign lines passed over. */
export async function newestEvents(file: string, count: number): Promise<TimelineEvent[]> {
  const text = await tailOf(file, 512 * 1024);
  const events: TimelineEvent[] = [];
  for (const line of text.split('\n').reverse()) {
    if (events.length >= count) break;
    try {
      const event = JSON.parse(line) as TimelineEvent;
      if (typeof event.seq === 'number' && typeof event.kind === 'string') events.push(event);
    } catch {
      // A torn line, or the first, cut line of the window.
    }
  }
  return events.reverse();
}

/** The last `bytes` of a file as text; empty when it does not exist. */
async function tailOf(file: string, bytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The highest `seq` already in a timeline file; 0 for none. A torn last line is passed over. */
export async function lastSeq(file: string): Promise<number> {
  const lines = (await tailOf(file, 256 * 1024)).split('\n').reverse();
  for (const line of lines) {
    try {
      const seq = (JSON.parse(line) as { seq?: unknown }).seq;
      if (typeof seq === 'number') return seq;
    } catch {
      // A torn or partial line: look at the one before.
    }
  }
  return 0;
}

/** Incidents recorded before the workflow sent events on their own handed over the record alone. */
function asRecordWrite(input: RecordWrite | IncidentState): RecordWrite {
  return 'record' in input ? input : { record: input, events: [] };
}

export function createDocumentationActivities(deps: DocumentationDeps) {
  return {
    /**
     * Writes the incident record (JSON for machines, Markdown for people) and appends the new
     * timeline events to `timeline.jsonl`, each once: a retried write appends only the events
     * past the last one the file holds. Returns the folder.
     */
    async writeIncidentRecord(input: RecordWrite | IncidentState): Promise<string> {
      const { record, events } = asRecordWrite(input);
      const folder = path.join(deps.dir, recordFolderName(record));
      const timeline = path.join(folder, 'timeline.jsonl');
      const after = await lastSeq(timeline);
      const fresh = events.filter((e) => (e.seq ?? 0) > after);
      if (fresh.length > 0) await appendLine(timeline, fresh.map((e) => JSON.stringify(e)).join('\n'));
      // The workflow sends the events once, not again inside the record: the record shows
      // the newest from the store.
      const shown =
        record.timeline.length > 0 ? record : { ...record, timeline: await newestEvents(timeline, 100) };
      await writeFileAtomic(path.join(folder, 'record.json'), `${JSON.stringify(shown, null, 2)}\n`);
      await writeFileAtomic(path.join(folder, 'record.md'), renderIncidentRecord(shown));
      return folder;
    },
  };
}
