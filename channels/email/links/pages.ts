/**
 * The pages an email action link opens: a confirmation with a form (opening a link never
 * acts: mail scanners open links by themselves), the outcome, and a clear refusal for a
 * link that is tampered with, expired or used. Every value is HTML-escaped.
 */
import type { EmailStep } from '../tokens';

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export const STEP_WORDS: Record<EmailStep, { title: string; button: string; done: string }> = {
  acknowledge: { title: 'Acknowledge the incident', button: 'Acknowledge', done: 'acknowledged' },
  escalate: { title: 'Escalate to Level 3', button: 'Escalate to Level 3', done: 'escalated to Level 3' },
  acceptHandover: {
    title: 'Accept the handover',
    button: 'Accept handover',
    done: 'accepted the handover of',
  },
  resolve: { title: 'Resolve the incident', button: 'Resolve', done: 'resolved' },
};

/** What a step asks for besides the click; the form's field and its label. */
export const STEP_FIELDS: Partial<Record<EmailStep, { name: string; label: string; required: boolean }>> = {
  escalate: { name: 'reason', label: 'Why Level 3 is needed', required: true },
  acceptHandover: { name: 'notes', label: 'Notes for Level 2 (optional)', required: false },
  resolve: { name: 'summary', label: 'What resolved it', required: true },
};

export interface IncidentLine {
  id: string;
  title?: string;
  severity?: string;
  phase?: string;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Baton</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
  h1 { font-size: 1.4rem; }
  .incident { border-left: 4px solid #cf222e; padding: .5rem 1rem; background: #f6f8fa; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  textarea { width: 100%; min-height: 6rem; font: inherit; }
  button, .button { display: inline-block; margin-top: 1rem; padding: .6rem 1.2rem; font: inherit; font-weight: 600;
    color: #fff; background: #1f6feb; border: 0; border-radius: 6px; text-decoration: none; cursor: pointer; }
  .note { color: #59636e; font-size: .9rem; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function incidentBlock(incident: IncidentLine): string {
  const facts = [incident.severity, incident.phase ? `now ${incident.phase}` : undefined]
    .filter(Boolean)
    .join(' · ');
  return `<div class="incident"><strong>${escapeHtml(incident.title ?? incident.id)}</strong><br>
<span class="note">${escapeHtml(incident.id)}${facts ? ` · ${escapeHtml(facts)}` : ''}</span></div>`;
}

export function confirmationPage(options: {
  step: EmailStep;
  incident: IncidentLine;
  responderName: string;
  expiresAt: number;
}): string {
  const words = STEP_WORDS[options.step];
  const field = STEP_FIELDS[options.step];
  const input = field
    ? `<label for="${field.name}">${escapeHtml(field.label)}</label>
<textarea id="${field.name}" name="${field.name}" maxlength="4000"${field.required ? ' required' : ''}></textarea>`
    : '';
  return page(
    words.title,
    `<h1>${escapeHtml(words.title)}?</h1>
${incidentBlock(options.incident)}
<p>You act as <strong>${escapeHtml(options.responderName)}</strong>. Nothing has changed yet: confirm below.</p>
<form method="post">
${input}
<button type="submit">${escapeHtml(words.button)}</button>
</form>
<p class="note">This link works once and expires at ${escapeHtml(`${new Date(options.expiresAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`)}.</p>`,
  );
}

export function donePage(options: {
  step: EmailStep;
  incident: IncidentLine;
  responderName: string;
  next: { step: EmailStep; url: string }[];
}): string {
  const words = STEP_WORDS[options.step];
  const next =
    options.next.length > 0
      ? `<p>Next, when you are ready:</p>
<p>${options.next
          .map(
            (n) =>
              `<a class="button" href="${escapeHtml(n.url)}">${escapeHtml(STEP_WORDS[n.step].button)}</a>`,
          )
          .join(' ')}</p>`
      : '';
  return page(
    'Done',
    `<h1>Done</h1>
<p>${escapeHtml(options.responderName)} ${escapeHtml(words.done)} the incident.</p>
${incidentBlock(options.incident)}
${next}`,
  );
}

export function refusalPage(title: string, reason: string, incident?: IncidentLine): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(reason)}</p>
${incident ? incidentBlock(incident) : ''}
<p class="note">Nothing was changed.</p>`,
  );
}
