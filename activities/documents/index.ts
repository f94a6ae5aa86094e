/**
 * The incident's documents beside its record, each rendered from the record alone (and the
 * store's timeline for the report), each only when there is something to say.
 */
import type { IncidentState, TimelineEvent } from '../../workflows/incident/state';
import type { IncidentDocument } from './common';
import { renderCommunications } from './communications';
import { renderHandover } from './handover';
import { renderLessons } from './lessons';
import { renderReport, type ReportTemplate } from './report';

export type { IncidentDocument } from './common';

export interface RenderedDocuments {
  documents: IncidentDocument[];
  /** Why the report's template was not used, when it failed. */
  templateError?: string;
}

export function renderDocuments(
  state: IncidentState,
  timeline: readonly TimelineEvent[],
  template?: ReportTemplate,
): RenderedDocuments {
  const report = renderReport(state, timeline, template);
  const documents = [
    report ? { name: report.name, content: report.content } : undefined,
    renderHandover(state),
    renderLessons(state),
    renderCommunications(state),
  ].filter((d): d is IncidentDocument => d !== undefined);
  return { documents, ...(report?.templateError ? { templateError: report.templateError } : {}) };
}
