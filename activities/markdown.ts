/**
 * Text from people and alerts as inert Markdown (CommonMark, with GitHub's tables and
 * strikethrough): whatever a title, a note or an alert says shows as the words it is, and
 * never becomes a heading, a list item, a table row, a link, an image or raw HTML in a
 * document Baton writes.
 *
 * `<`, `>` and `&` become entities (no HTML, no autolink, and no `&lt;` typed by someone that
 * a renderer would turn back into `<`); the characters that start emphasis, code, links,
 * tables, strikethrough, headings and math are backslash-escaped. `(`, `)` and `!` need no
 * escape: they make a link or an image only after a `]`, which is escaped.
 */

/** What a line break inside a one-line field shows as. */
export const LINE_BREAK_MARK = ' ⏎ ';

// CommonMark's line endings, and the Unicode separators some viewers break lines at too.
const LINE_ENDINGS = /\r\n|\r|\n|\u2028|\u2029/g;
const INLINE_META = /[\\`*_[\]#|~$]/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

function escapeInline(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITIES[c] ?? c).replace(INLINE_META, (c) => `\\${c}`);
}

/**
 * Escapes what would start a block at the beginning of a line once the inline characters
 * are escaped: a list item (`-`, `+`, `1.`, `1)`), a setext underline or thematic break
 * (`=`, `-`). Headings, quotes, fences and tables start with characters already escaped.
 */
function escapeLineStart(escaped: string): string {
  return escaped.replace(/^([-+=])/, '\\$1').replace(/^(\d{1,9})([.)])/, '$1\\$2');
}

/**
 * Text on one line: each line break (and the blank lines around it) shown as ⏎, each line's
 * outer whitespace trimmed. For fields a reader takes as one line, in a document or a chat
 * message, where a line break could make what follows look like a line of Baton's own.
 */
export function oneLine(text: string): string {
  return text
    .split(LINE_ENDINGS)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(LINE_BREAK_MARK);
}

/**
 * One field on one line, Markdown metacharacters escaped. Safe wherever a line's text goes:
 * after a heading's `#`, a list item's `-`, in a table cell, or at the start of a line
 * (leading spaces are trimmed: they could make an indented code block in a list item).
 */
export function mdInline(text: string): string {
  return escapeLineStart(escapeInline(oneLine(text)));
}

/**
 * Multi-line free text as paragraphs of escaped lines: each line stays a line (a hard
 * break), blank lines separate paragraphs, and leading indentation becomes no-break spaces
 * so that no line can start a code block, a list or a quote. Empty text gives `(none)`.
 */
export function mdBlock(text: string): string {
  const paragraphs: string[][] = [[]];
  for (const raw of text.split(LINE_ENDINGS)) {
    const line = raw.trimEnd();
    const current = paragraphs[paragraphs.length - 1] ?? [];
    if (line.length === 0) {
      if (current.length > 0) paragraphs.push([]);
      continue;
    }
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    const rest = escapeInline(line.slice(indent.length));
    const spaces = indent.replace(/\t/g, '    ').replace(/ /g, '\u00a0');
    current.push(indent ? `${spaces}${rest}` : escapeLineStart(rest));
  }
  const kept = paragraphs.filter((p) => p.length > 0);
  if (kept.length === 0) return '(none)';
  // A backslash at the end of a line is a hard break; the paragraph's last line needs none.
  return kept.map((lines) => lines.join('\\\n')).join('\n\n');
}
