/**
 * An incident document's Markdown (the record, the report, a handover…) as an HTML page, for
 * a browser. It reads the subset Baton's documents use (headings, tables, list items,
 * paragraphs with hard breaks, `**bold**`, a handover's chart images) and nothing more: every character of text is HTML-escaped on the way out, so
 * no markup in the Markdown, Baton's or anyone's, ever becomes HTML. The escapes
 * activities/markdown.ts adds (`\*`, `&lt;`…) are undone first, so the words show as typed.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** One line's text: backslash escapes and the three entities undone, `**` as strong. */
function inline(text: string, strongAllowed = true): string {
  let out = '';
  let strong = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    const next = text.charAt(i + 1);
    if (c === '\\' && /[!-/:-@[-`{-~]/.test(next)) {
      out += escapeHtml(next);
      i += 1;
    } else if (c === '&') {
      const entity = /^&(amp|lt|gt);/.exec(text.slice(i))?.[0];
      out += escapeHtml(entity ? (ENTITIES[entity] ?? entity) : c);
      i += entity ? entity.length - 1 : 0;
    } else if (strongAllowed && c === '*' && next === '*') {
      out += strong ? '</strong>' : '<strong>';
      strong = !strong;
      i += 1;
    } else {
      out += escapeHtml(c);
    }
  }
  return strong ? `${out}</strong>` : out;
}

/** A table row's cells: split at `|` not escaped by a backslash. */
function cells(row: string): string[] {
  const inner = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

/**
 * A chart line as the handover document writes it: `![alt](diagnostics/<collection>/<file>.svg)`.
 * Escaped text cannot make one (its `[` are escaped), and the link is a plain relative path,
 * which from a document's URL is the chart's URL on the same documents route.
 */
const CHART_IMAGE =
  /^!\[((?:\\.|[^\\\]])*)\]\((diagnostics\/[A-Za-z0-9_-][A-Za-z0-9._-]*\/[A-Za-z0-9_-][A-Za-z0-9._-]*\.svg)\)$/;

export function recordHtml(markdown: string, title: string): string {
  const body: string[] = [];
  const lines = markdown.split('\n');
  let paragraph: string[] = [];
  const endParagraph = (): void => {
    if (paragraph.length === 0) return;
    body.push(
      `<p>${paragraph.map((l) => (l.endsWith('\\') ? `${inline(l.slice(0, -1))}<br>` : inline(l))).join('\n')}</p>`,
    );
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heading = /^(#{1,3}) (.*)$/.exec(line);
    const image = CHART_IMAGE.exec(line);
    if (image) {
      endParagraph();
      body.push(`<p><img src="${escapeHtml(image[2] ?? '')}" alt="${inline(image[1] ?? '', false)}"></p>`);
    } else if (heading) {
      endParagraph();
      const level = heading[1]?.length ?? 1;
      body.push(`<h${level}>${inline(heading[2] ?? '')}</h${level}>`);
    } else if (line.startsWith('|')) {
      endParagraph();
      const rows: string[] = [];
      while (i < lines.length && (lines[i] ?? '').startsWith('|')) rows.push(lines[i++] ?? '');
      i -= 1;
      const [head, ...rest] = rows.filter((r) => !/^\|(\s*:?-+:?\s*\|)+\s*$/.test(r));
      const row = (r: string, tag: 'th' | 'td') =>
        `<tr>${cells(r)
          .map((c) => `<${tag}>${inline(c)}</${tag}>`)
          .join('')}</tr>`;
      body.push(`<table>${head ? row(head, 'th') : ''}${rest.map((r) => row(r, 'td')).join('')}</table>`);
    } else if (line.startsWith('- ')) {
      endParagraph();
      const items: string[] = [];
      while (i < lines.length && (lines[i] ?? '').startsWith('- ')) items.push((lines[i++] ?? '').slice(2));
      i -= 1;
      body.push(`<ul>${items.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`);
    } else if (line.trim() === '') {
      endParagraph();
    } else {
      paragraph.push(line);
    }
  }
  endParagraph();
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}img{max-width:100%}</style>',
    '</head><body>',
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}
