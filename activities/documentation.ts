import type { IncidentState, TimelineEvent } from '../workflows/incident/state';
import { renderDocuments } from './documents';
import { attendanceSummary } from './documents/lessons';
import { REPORT_TIMELINE_EVENTS, type ReportTemplate } from './documents/report';
import { safeName } from './files';
import { mdBlock, mdInline } from './markdown';
import { LocalFolderStore, type IncidentStore } from './store/incident-store';

/** The incident's whole timeline, one event a line, in the store beside the record. */
export const TIMELINE = 'timeline.jsonl';
/** The newest events record.md and record.json show. */
const RECORD_EVENTS = 100;

/** What the workflow hands over each time the record changed. */
export interface RecordWrite {
  /** The record as the workflow keeps it (its timeline holds the newest events only). */
  record: IncidentState;
  /** Events the store has not acknowledged yet, oldest first, numbered by `seq`. */
  events: TimelineEvent[];
}

export interface DocumentationDeps {
  /** Folder that holds one sub-folder per incident (the local store's, when `store` is not given). */
  dir: string;
  /** Where the incidents' files go; a local folder store over `dir` by default. */
  store?: IncidentStore;
  /** The report's layout, loaded at start-up (see loadReportTemplate); the built-in one by default. */
  reportTemplate?: ReportTemplate;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The incident record as a document a person reads: what happened, who did what, what follows.
 * Every word that came from people or alerts goes through `mdInline` (one line) or `mdBlock`
 * (free text), so the record has exactly the headings, rows and timeline lines Baton writes.
 */
export function renderIncidentRecord(state: IncidentState): string {
  const md = mdInline;
  const lines: string[] = [
    `# ${md(state.title)}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Incident | ${md(state.id)} |`,
    `| Phase | ${md(state.phase)} |`,
    `| Severity | ${md(state.severity)} |`,
    `| Service | ${md(state.service)} |`,
    `| Team | ${md(state.team)} |`,
    `| Opened | ${md(state.openedAt)} |`,
    `| Acknowledged | ${state.acknowledgedBy ? `${md(state.acknowledgedBy)} at ${md(state.acknowledgedAt ?? '?')}` : 'no'} |`,
    `| Holder | ${state.holder ? md(state.holder) : 'unassigned'} |`,
    `| Resolved | ${state.resolution ? `${md(state.resolution.by)} at ${md(state.resolution.at)}` : 'no'} |`,
    `| Closed | ${state.closedAt ? md(state.closedAt) : 'no'} |`,
  ];
  if (state.description) lines.push('', mdBlock(state.description));
  const latest = state.assessments[state.assessments.length - 1];
  if (latest) {
    lines.push(
      '',
      '## Assessment',
      `Urgency ${md(latest.urgency)}. Impact: ${md(latest.impact)}`,
      '',
      mdBlock(latest.observations),
    );
  }
  if (state.actions.length > 0) {
    lines.push('', '## Actions and results');
    for (const a of state.actions) {
      lines.push(`- ${md(a.at)} ${md(a.by)} ${md(a.kind)}: ${md(a.description)} → ${md(a.result)}`);
    }
  }
  if (state.handover) {
    const h = state.handover;
    lines.push(
      '',
      '## Escalation and handover',
      `Escalated by ${md(h.requestedBy)} at ${md(h.requestedAt)}: ${md(h.reason)}`,
      `Handover meeting: ${md(h.meetingAt)}`,
      h.acceptedBy
        ? `Accepted by ${md(h.acceptedBy)} at ${md(h.acceptedAt ?? '?')}: ${md(h.notes ?? '')}`
        : 'Not accepted yet',
    );
  }
  if (state.resolution) lines.push('', '## Resolution', mdBlock(state.resolution.summary));
  if (state.report) {
    const r = state.report;
    lines.push(
      '',
      '## Final report',
      `By ${md(r.by)} at ${md(r.at)}`,
      '',
      '### Summary',
      mdBlock(r.summary),
      '',
      '### Root cause',
      mdBlock(r.rootCause),
      '',
      '### Actions taken and results',
      mdBlock(r.actionsAndResults),
      '',
      '### Recommendations',
      mdBlock(r.recommendations),
    );
  }
  if (state.lessons) {
    lines.push('', '## Lessons learned', ...state.lessons.lessons.map((l) => `- ${md(l)}`));
    if (state.lessons.processImprovements.length > 0) {
      lines.push(
        '',
        '## Process improvements',
        ...state.lessons.processImprovements.map((l) => `- ${md(l)}`),
      );
    }
  }
  const attendance = state.followUps.filter((f) => f.kind === 'training' && (f.attendance?.length ?? 0) > 0);
  if (state.training || attendance.length > 0) {
    lines.push('', '## Training');
    const t = state.training;
    if (t)
      lines.push(`${md(t.date)}, attended by ${t.attendees.map(md).join(', ')}`, '', mdBlock(t.material));
    for (const f of attendance) lines.push('', attendanceSummary(f));
  }
  if (state.followUps.length > 0) {
    lines.push('', '## Follow-ups', '| id | what | owner | due | status |', '|---|---|---|---|---|');
    for (const f of state.followUps) {
      const status =
        f.status === 'waived'
          ? `waived by ${md(f.waiver?.by ?? '?')}: ${md(f.waiver?.reason ?? '')}`
          : md(f.status);
      lines.push(`| ${md(f.id)} | ${md(f.title)} | ${md(f.owner)} | ${md(f.dueAt)} | ${status} |`);
    }
  }
  if (state.communications.length > 0) {
    lines.push('', '## Communications');
    for (const c of state.communications) {
      lines.push(`- ${md(c.at)} ${md(c.audience)} by ${md(c.by)}: ${md(c.message)}`);
    }
  }
  lines.push('', '## Timeline');
  const earlier = (state.timeline[0]?.seq ?? 1) - 1;
  if (earlier > 0) lines.push(`(${earlier} earlier event(s) in timeline.jsonl)`, '');
  for (const e of state.timeline)
    lines.push(`- ${md(e.at)} **${md(e.kind)}** ${md(e.actor)}: ${md(e.summary)}`);
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

/** The last `count` events of an incident's timeline, oldest first; torn or foreign lines passed over. */
export async function newestEvents(
  store: IncidentStore,
  incident: string,
  count: number,
): Promise<TimelineEvent[]> {
  const text = await store.tail(incident, TIMELINE, 512 * 1024);
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

/** The highest `seq` already in an incident's timeline; 0 for none. A torn last line is passed over. */
export async function lastSeq(store: IncidentStore, incident: string): Promise<number> {
  const lines = (await store.tail(incident, TIMELINE, 256 * 1024)).split('\n').reverse();
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
  const store = deps.store ?? new LocalFolderStore(deps.dir);
  return {
    /**
     * Writes the incident record (JSON for machines, Markdown for people) and appends the new
     * timeline events to `timeline.jsonl`, each once: a retried write appends only the events
     * past the last one the file holds. Then rewrites the documents the record calls for
     * (report, handover, lessons, communications), each from the record alone, so a retry
     * writes the same files. Returns where the incident's files are.
     */
    async writeIncidentRecord(input: RecordWrite | IncidentState): Promise<string> {
      const { record, events } = asRecordWrite(input);
      const incident = recordFolderName(record);
      const after = await lastSeq(store, incident);
      const fresh = events.filter((e) => (e.seq ?? 0) > after);
      if (fresh.length > 0)
        await store.append(incident, TIMELINE, fresh.map((e) => JSON.stringify(e)).join('\n'));
      const reporting = record.resolution !== undefined || record.report !== undefined;
      const newest =
        record.timeline.length === 0 || reporting
          ? await newestEvents(store, incident, REPORT_TIMELINE_EVENTS)
          : [];
      // The workflow sends the events once, not again inside the record: the record shows
      // the newest from the store.
      const shown =
        record.timeline.length > 0 ? record : { ...record, timeline: newest.slice(-RECORD_EVENTS) };
      await store.write(incident, 'record.json', `${JSON.stringify(shown, null, 2)}\n`);
      await store.write(incident, 'record.md', renderIncidentRecord(shown));
      const { documents, templateError } = renderDocuments(shown, newest, deps.reportTemplate);
      if (templateError)
        deps.log?.('report template failed; built-in layout used', { incident, error: templateError });
      for (const document of documents) await store.write(incident, document.name, document.content);
      return store.where(incident);
    },
  };
}
