/**
 * The words and layout of Baton's emails, as Handlebars templates a team can change
 * (channels/email/templates/, described in its README). They are read and compiled once, when loaded:
 * a template that does not compile stops the load with an error naming its file, so a
 * broken change shows at start-up rather than at the next page.
 *
 * Rendering never throws. A template that fails while rendering (a missing helper, a bad
 * lookup) yields the plain-text body Baton writes without templates, and no HTML: a page
 * must go out even when its template is broken. The caller hears why in `error`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { Notification, ResponderSnapshot } from '../../workflows/incident/model';
import type { EmailStep } from './tokens';

/** The repository's templates, found beside this module so that the working directory does not matter. */
export const EMAIL_TEMPLATE_DIR = fileURLToPath(new URL('./templates', import.meta.url));

type Kind = Notification['kind'];

// Every kind, checked by the compiler against the Notification type: a template file named
// after anything else is a mistake the load reports.
const KIND_NAMES = {
  page: true,
  'page-failed': true,
  reminder: true,
  nudge: true,
  update: true,
  handover: true,
  meeting: true,
  overdue: true,
  external: true,
  resolved: true,
  closed: true,
  schedule: true,
} satisfies Record<Kind, true>;
const KINDS = new Set<string>(Object.keys(KIND_NAMES));

type Format = 'html' | 'text';
/**
 * HTML templates are `.html.hbs` (Prettier formats them as Handlebars); text templates are
 * `.txt`, which Prettier leaves alone: in plain text every space and line break is the output.
 */
const EXTENSIONS: Record<Format, string> = { html: '.html.hbs', text: '.txt' };
const REQUIRED = ['layout', 'default'] as const;

/** A move offered by a signed link, for one recipient. */
export interface ActionLink {
  step: EmailStep;
  label: string;
  url: string;
}

/** Who one email goes to, and what only they get. */
export interface EmailRecipient {
  address: string;
  /** The responder whose address it is; absent for anyone else (stakeholders, customers). */
  responder?: ResponderSnapshot;
  /** Signed action links for this responder; empty without signing. */
  actions?: ActionLink[];
  /** When the action links stop working, in epoch milliseconds. */
  actionsExpireAt?: number;
  /** A reply reaches Baton (the email has a signed Reply-To). */
  replyable?: boolean;
  /** The email carries a calendar invitation for the notification's meeting. */
  invitation?: boolean;
}

/** What the templates see. Everything in it is escaped by `{{…}}` in HTML templates. */
export interface EmailView {
  kind: Kind;
  /** The notice's subject (without the incident id the email subject adds). */
  heading: string;
  /** The notice text, multi-line plain text. */
  text: string;
  /** The same text for HTML: paragraphs (split at blank lines), each a list of lines. */
  paragraphs: string[][];
  /** Absent in customer emails (kind external), as are everything below but `replyable: false`. */
  incidentId?: string;
  recipientName?: string;
  /** `safe` is false for a URL that is not http(s): HTML shows it as text, not as a link. */
  links: { label: string; url: string; safe: boolean }[];
  actions: ActionLink[];
  /** When the action links stop working, e.g. `2026-11-27 04:15 UTC`. */
  actionsExpire?: string;
  replyable: boolean;
  meeting?: { when: string; minutes: number; organizer?: string; invitation: boolean };
}

export interface RenderedEmail {
  /** Absent when rendering failed: the email goes as text only. */
  html?: string;
  text: string;
  /** Why the templates could not render this email; the text is then Baton's plain body. */
  error?: string;
}

export interface EmailTemplates {
  readonly dir: string;
  render(notification: Notification, recipient: EmailRecipient): RenderedEmail;
}

type Compiled = Handlebars.TemplateDelegate<EmailView & { content?: unknown }>;

/** `2026-11-27T04:15:30.000Z` → `2026-11-27 04:15 UTC`; anything unparsable as it is. */
export function utcMinute(value: string | number): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function paragraphsOf(text: string): string[][] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.trim().length > 0)
    .map((p) => p.split('\n'));
}

const isWebUrl = (url: string): boolean => /^https?:\/\//i.test(url);

/**
 * The view of one notification for one recipient. Customer emails are cut down here, whatever
 * the caller passed and whatever a template asks for: no links, actions, ids or names.
 */
export function emailView(notification: Notification, recipient: EmailRecipient): EmailView {
  const base = {
    kind: notification.kind,
    heading: notification.subject,
    text: notification.text,
    paragraphs: paragraphsOf(notification.text),
  };
  if (notification.kind === 'external') return { ...base, links: [], actions: [], replyable: false };
  const actions = recipient.actions ?? [];
  const { meeting } = notification;
  return {
    ...base,
    incidentId: notification.incidentId,
    ...(recipient.responder ? { recipientName: recipient.responder.name } : {}),
    links: notification.links.map((l) => ({ ...l, safe: isWebUrl(l.url) })),
    actions,
    ...(actions.length > 0 && recipient.actionsExpireAt !== undefined
      ? { actionsExpire: utcMinute(recipient.actionsExpireAt) }
      : {}),
    replyable: recipient.replyable === true,
    ...(notification.kind === 'meeting' && meeting
      ? {
          meeting: {
            when: utcMinute(meeting.at),
            minutes: meeting.minutes,
            ...(meeting.organizer ? { organizer: meeting.organizer.name } : {}),
            invitation: recipient.invitation === true,
          },
        }
      : {}),
  };
}

/**
 * The text body without templates: what an email says when its templates fail. It carries
 * what the default text templates carry, so that nothing a recipient needs goes missing.
 */
export function plainEmailText(view: EmailView): string {
  const lines = [view.text];
  if (view.meeting) {
    lines.push('', `Handover meeting: ${view.meeting.when}, ${view.meeting.minutes} minutes.`);
  }
  if (view.links.length > 0) lines.push('', 'Links:', ...view.links.map((l) => `- ${l.label}: ${l.url}`));
  if (view.actions.length > 0) {
    lines.push(
      '',
      'Each link below opens a confirmation page in Baton; nothing changes until you confirm there.',
      ...view.actions.map((a) => `${a.label}: ${a.url}`),
    );
  }
  if (view.incidentId) {
    lines.push(
      '',
      '-- ',
      `Sent by Baton about incident ${view.incidentId}.` +
        (view.replyable
          ? ' Reply with ack, escalate <reason> or resolve <summary> on the first line to act; any other reply is added as a note.'
          : ''),
    );
  }
  return lines.join('\n');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads and compiles every template in `dir` (the repository's channels/email/templates by default).
 * Throws, naming the file, when a template does not compile, a required one (layout,
 * default, in both formats) is missing, or a file's name matches no notification kind.
 */
export function loadEmailTemplates(dir: string = EMAIL_TEMPLATE_DIR): EmailTemplates {
  const hbs = Handlebars.create();
  const templates: Record<Format, Map<string, Compiled>> = { html: new Map(), text: new Map() };

  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    throw new Error(`email templates: cannot read the directory ${dir}: ${describe(err)}`, { cause: err });
  }
  for (const file of files.sort()) {
    const format = (Object.keys(EXTENSIONS) as Format[]).find((f) => file.endsWith(EXTENSIONS[f]));
    if (!format) continue; // a README, an editor's backup file
    const name = file.slice(0, -EXTENSIONS[format].length);
    const where = path.join(dir, file);
    if (!KINDS.has(name) && !(REQUIRED as readonly string[]).includes(name)) {
      throw new Error(
        `email template ${where}: "${name}" is not a notification kind; name templates after one ` +
          `(${[...KINDS].join(', ')}), or layout, or default`,
      );
    }
    // Helpers are Handlebars' own (if, unless, each, with, lookup): a misspelt one fails here.
    const options: CompileOptions = {
      knownHelpersOnly: true,
      ...(format === 'text' ? { noEscape: true } : {}),
    };
    const source = readFileSync(where, 'utf8');
    try {
      // compile() parses lazily, at the first render; precompile() finds every error now.
      hbs.precompile(source, options);
    } catch (err) {
      throw new Error(`email template ${where} does not compile: ${describe(err)}`, { cause: err });
    }
    templates[format].set(name, hbs.compile(source, options));
  }
  for (const format of Object.keys(EXTENSIONS) as Format[]) {
    for (const name of REQUIRED) {
      if (!templates[format].has(name)) {
        throw new Error(`email templates: ${path.join(dir, `${name}${EXTENSIONS[format]}`)} is missing`);
      }
    }
  }

  const pick = (format: Format, name: string): Compiled => {
    const template = templates[format].get(name) ?? templates[format].get('default');
    if (!template) throw new Error(`no ${format} template for ${name}`);
    return template;
  };
  const layout = (format: Format, view: EmailView): string => {
    const content = pick(format, view.kind)(view).trimEnd();
    // A SafeString: the content was escaped as it was rendered, and must not be again.
    return pick(
      format,
      'layout',
    )({
      ...view,
      content: format === 'html' ? new hbs.SafeString(content) : content,
    });
  };

  return {
    dir,
    render(notification, recipient) {
      const view = emailView(notification, recipient);
      try {
        let html = layout('html', view).trim();
        // Prettier's Handlebars printer drops a doctype; mail clients render better with one.
        if (!/^<!doctype/i.test(html)) html = `<!doctype html>\n${html}`;
        const text = layout('text', view).trimEnd();
        return { html: `${html}\n`, text };
      } catch (err) {
        return { text: plainEmailText(view), error: describe(err) };
      }
    },
  };
}
