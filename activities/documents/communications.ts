/**
 * communications.md: who told whom what, who approved what went to customers, and the
 * customer message drafts with their decisions.
 */
import type { Communication, CustomerMessage, IncidentState } from '../../workflows/incident/state';
import { mdBlock, mdInline } from '../markdown';
import type { IncidentDocument } from './common';

const md = mdInline;

const AUDIENCE: Record<Communication['audience'], string> = {
  internal: 'internal (team and stakeholders)',
  external: 'external (customers)',
};

function approval(c: Communication): string {
  if (c.selfApproved) return `self-approved by ${md(c.by)}`;
  if (c.approvedBy) return `approved by ${md(c.approvedBy)}`;
  return c.audience === 'external' ? 'no approval recorded' : 'no approval needed';
}

function decision(m: CustomerMessage): string {
  const by = `${m.decidedBy ? ` by ${md(m.decidedBy)}` : ''}${m.decidedAt ? ` at ${md(m.decidedAt)}` : ''}`;
  switch (m.status) {
    case 'approved':
      return `approved${by}`;
    case 'rejected':
      return `rejected${by}${m.reason ? `: ${md(m.reason)}` : ''}`;
    case 'withdrawn':
      return `withdrawn${by}`;
    default:
      return 'waiting for a manager’s approval';
  }
}

export function renderCommunications(state: IncidentState): IncidentDocument | undefined {
  const drafts = state.customerMessages ?? [];
  if (state.communications.length === 0 && drafts.length === 0 && !state.communicationsOmitted)
    return undefined;
  const lines = [`# Communications: ${md(state.title)}`, '', `Incident ${md(state.id)}.`, '', '## Log', ''];
  if (state.communicationsOmitted) {
    lines.push(
      `(${state.communicationsOmitted} earlier communication(s) not kept in the record: the outbox has their text)`,
      '',
    );
  }
  if (state.communications.length === 0) lines.push('(none sent)');
  for (const c of state.communications) {
    const from = c.draftId ? `, from draft ${md(c.draftId)}` : '';
    lines.push(
      `- ${md(c.at)} **${AUDIENCE[c.audience]}** from ${md(c.by)} (${approval(c)}${from}): ${md(c.message)}`,
    );
  }
  if (drafts.length > 0) {
    lines.push('', '## Customer message drafts');
    for (const m of drafts) {
      lines.push(
        '',
        `### Draft ${md(m.id)}: ${decision(m)}`,
        '',
        `Drafted by ${md(m.draftedBy)} at ${md(m.draftedAt)}.`,
        '',
        mdBlock(m.message),
      );
    }
  }
  return { name: 'communications.md', content: `${lines.join('\n')}\n` };
}
