/**
 * The final report (report.md). Baton drafts it as soon as the incident is resolved, from the
 * record: summary, actions, times, people and timeline. Submitting the final report completes
 * it with the root cause and recommendations. The layout is a Handlebars template a team can
 * change (templates/documents/report.md.hbs, or the file `documents.reportTemplate` names);
 * every value handed to it is Markdown Baton escaped, so the template prints them as they are.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { IncidentState, TimelineEvent } from '../../workflows/incident/state';
import { mdBlock, mdInline } from '../markdown';
import { peopleInvolved, responseStart, timeAfter, type IncidentDocument } from './common';

/** The repository's template, found beside this module so that the working directory does not matter. */
export const BUILTIN_REPORT_TEMPLATE = fileURLToPath(
  new URL('../../templates/documents/report.md.hbs', import.meta.url),
);

/** The timeline's newest events the report shows; the rest are counted. */
export const REPORT_TIMELINE_EVENTS = 200;

/** What a report template is given: each text value escaped Markdown, each list one line per item. */
export interface ReportView {
  draft: boolean;
  title: string;
  id: string;
  severity: string;
  service: string;
  team: string;
  openedAt: string;
  responseStartedAt: string;
  reopened: boolean;
  resolved: string;
  summary: string;
  submittedBy?: string;
  submittedAt?: string;
  rootCause?: string;
  actionsAndResults?: string;
  recommendations?: string;
  actions: string[];
  times: { acknowledge: string; escalate: string; resolve: string };
  people: string[];
  timeline: string[];
  timelineOmitted: number;
}

/**
 * The report's values, or undefined while there is nothing to report (not resolved and no
 * report). `timeline` is the store's newest events, oldest first, numbered by `seq`.
 */
export function reportView(state: IncidentState, timeline: readonly TimelineEvent[]): ReportView | undefined {
  if (!state.resolution && !state.report) return undefined;
  const md = mdInline;
  const start = responseStart(state);
  const report = state.report;
  const resolution = state.resolution;
  const firstSeq = timeline[0]?.seq;
  return {
    draft: !report,
    title: md(state.title),
    id: md(state.id),
    severity: md(state.severity),
    service: md(state.service),
    team: md(state.team),
    openedAt: md(state.openedAt),
    responseStartedAt: md(start),
    reopened: start !== state.openedAt,
    resolved: resolution
      ? `${resolution.automatic ? 'automatically' : `by ${md(resolution.by)}`} at ${md(resolution.at)}`
      : 'no',
    summary: mdBlock(report?.summary ?? resolution?.summary ?? ''),
    ...(report
      ? {
          submittedBy: md(report.by),
          submittedAt: md(report.at),
          rootCause: mdBlock(report.rootCause),
          actionsAndResults: mdBlock(report.actionsAndResults),
          recommendations: mdBlock(report.recommendations),
        }
      : {}),
    actions: state.actions.map(
      (a) => `${md(a.at)} ${md(a.by)} ${md(a.kind)}: ${md(a.description)} → ${md(a.result)}`,
    ),
    times: {
      acknowledge: timeAfter(start, state.acknowledgedAt, 'not acknowledged'),
      escalate: timeAfter(
        start,
        state.handover && state.handover.requestedAt >= start ? state.handover.requestedAt : undefined,
        'not escalated',
      ),
      resolve: timeAfter(start, resolution?.at, 'not resolved'),
    },
    people: peopleInvolved(state),
    timeline: timeline.map((e) => `${md(e.at)} **${md(e.kind)}** ${md(e.actor)}: ${md(e.summary)}`),
    timelineOmitted: typeof firstSeq === 'number' ? Math.max(0, firstSeq - 1) : 0,
  };
}

export interface ReportTemplate {
  /** The file the template was read from. */
  file: string;
  render(view: ReportView): string;
}

/** A view with every field set, to try a template on at load. */
const SAMPLE: ReportView = {
  draft: false,
  title: 'Sample',
  id: 'inc-sample',
  severity: 'SEV2',
  service: 'svc',
  team: 'team',
  openedAt: '2026-01-01T00:00:00.000Z',
  responseStartedAt: '2026-01-01T00:00:00.000Z',
  reopened: true,
  resolved: 'no',
  summary: 'summary',
  submittedBy: 'alice',
  submittedAt: '2026-01-01T01:00:00.000Z',
  rootCause: 'cause',
  actionsAndResults: 'actions',
  recommendations: 'recommendations',
  actions: ['action'],
  times: { acknowledge: '1m', escalate: '2m', resolve: '3m' },
  people: ['alice: acknowledged'],
  timeline: ['event'],
  timelineOmitted: 1,
};

/**
 * Reads and compiles a report template, and renders a sample with it: a file that is missing,
 * does not parse or fails on the sample stops the load with an error naming it, so a broken
 * template shows at start-up.
 */
export function loadReportTemplate(file: string = BUILTIN_REPORT_TEMPLATE): ReportTemplate {
  try {
    const source = readFileSync(file, 'utf8');
    // Values are escaped Markdown already; HTML-escaping them again would show `&amp;lt;`.
    const compiled = Handlebars.compile<ReportView>(source, { noEscape: true, strict: false });
    compiled(SAMPLE);
    return { file, render: (view) => compiled(view) };
  } catch (err) {
    throw new Error(`report template ${file} cannot be used: ${(err as Error).message}`, { cause: err });
  }
}

let builtin: ReportTemplate | undefined;

function builtinTemplate(): ReportTemplate {
  builtin ??= loadReportTemplate(BUILTIN_REPORT_TEMPLATE);
  return builtin;
}

/** The report Baton writes when no template renders: the same facts, plainly laid out. */
function plainReport(view: ReportView): string {
  return [
    `# Incident report: ${view.title}`,
    '',
    view.draft
      ? '**Draft**, written by Baton at resolution.'
      : `**Final report** by ${view.submittedBy ?? '?'} at ${view.submittedAt ?? '?'}.`,
    '',
    '## Summary',
    '',
    view.summary,
    '',
    '## Times',
    '',
    `- Time to acknowledge: ${view.times.acknowledge}`,
    `- Time to escalate: ${view.times.escalate}`,
    `- Time to resolve: ${view.times.resolve}`,
    '',
    '## Root cause',
    '',
    view.rootCause ?? '(completed when the final report is submitted)',
    '',
    '## Actions taken and results',
    '',
    ...(view.actionsAndResults ? [view.actionsAndResults, ''] : []),
    ...view.actions.map((a) => `- ${a}`),
    '',
    '## Recommendations',
    '',
    view.recommendations ?? '(completed when the final report is submitted)',
    '',
    '## People involved',
    '',
    ...view.people.map((p) => `- ${p}`),
    '',
    '## Timeline',
    '',
    ...(view.timelineOmitted > 0 ? [`(${view.timelineOmitted} earlier event(s) left out)`, ''] : []),
    ...view.timeline.map((e) => `- ${e}`),
    '',
  ].join('\n');
}

/**
 * report.md, or undefined while there is nothing to report. Never throws for a template: one
 * that fails gives way to the built-in template (then to a plain layout), and the report says so.
 */
export function renderReport(
  state: IncidentState,
  timeline: readonly TimelineEvent[],
  template?: ReportTemplate,
): (IncidentDocument & { templateError?: string }) | undefined {
  const view = reportView(state, timeline);
  if (!view) return undefined;
  const failures: string[] = [];
  const candidates = template ? [() => template, builtinTemplate] : [builtinTemplate];
  for (const candidate of candidates) {
    let file = BUILTIN_REPORT_TEMPLATE;
    try {
      const chosen = candidate();
      file = chosen.file;
      const content = chosen.render(view);
      return withFailures(content, failures);
    } catch (err) {
      failures.push(`the report template ${file} failed: ${(err as Error).message}`);
    }
  }
  return withFailures(plainReport(view), failures);
}

function withFailures(content: string, failures: string[]): IncidentDocument & { templateError?: string } {
  const body = content.endsWith('\n') ? content : `${content}\n`;
  if (failures.length === 0) return { name: 'report.md', content: body };
  const note = `(Written without the configured layout: ${mdInline(failures.join('; '))}.)`;
  return { name: 'report.md', content: `${body}\n${note}\n`, templateError: failures.join('; ') };
}
