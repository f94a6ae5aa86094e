/**
 * The incident as a Slack Block Kit message: a pure function of the record, so the live
 * message in a channel can be rendered again after every change and look the same wherever
 * it is rendered. The buttons are the moves the process allows now (workflows/incident/rules.ts) and
 * only those; each carries the incident and its phase (channels/slack/actions.ts).
 *
 * Everything that came from alerts or people is escaped for Slack's mrkdwn, so an alert
 * summary cannot mention `<!channel>` or disguise a link, and only http(s) URLs become links.
 */
import type { types as slack } from '@slack/bolt';
import { RefusalType } from '../../workflows/incident/messages';
import type { Alert, IncidentPolicy, Phase } from '../../workflows/incident/model';
import { rules, type Refusal } from '../../workflows/incident/rules';
import type { IncidentState, TimelineEvent } from '../../workflows/incident/state';
import { oneLine } from '../../activities/markdown';
import { actionIdOf, buttonValue, type SlackStep } from './actions';

export type Block = slack.KnownBlock;

export interface IncidentBlocksOptions {
  /** Where the incident opens in the Temporal UI; the record's own link when omitted. */
  uiUrl?: string;
  /** The Level 3 channel's message: the handover first, and Accept handover among the buttons. */
  level3?: boolean;
  /** Names to show for responder ids (the incident policy's responders). */
  responders?: Record<string, { name: string }>;
  /** How many firing alerts are listed before "and N more" (default 10). */
  maxAlerts?: number;
}

// Slack's limits: a section's text holds 3,000 characters, a field 2,000, a header 150.
const SECTION_MAX = 3_000;
const FIELD_MAX = 2_000;
const HEADER_MAX = 150;
const SUMMARY_MAX = 300;
const LABEL_MAX = 100;
const MAX_LINKS = 15;

/** Which response of the incident this is: how many times it was reopened. */
export function responseOf(state: Pick<IncidentState, 'reopenedCount' | 'reopenings'>): number {
  return state.reopenedCount ?? state.reopenings?.length ?? 0;
}

/** Escapes text for Slack mrkdwn: `&`, `<` and `>` are the only characters Slack gives meaning to. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack keeps a message's `text` up to 40,000 characters; Baton stays under with room to spare. */
export const SLACK_TEXT_MAX = 39_000;

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** At most `max` characters, with … when cut; never half of a character outside the BMP. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '';
  const end = isHighSurrogate(text.charCodeAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Escaped for mrkdwn, then shortened so that what Slack receives is at most `max` characters
 * (Slack counts its limits on the escaped text): the cut never splits an escape sequence,
 * so a cut `&lt;` cannot leave a `&` that Slack reads with the next characters.
 */
export function fitMrkdwn(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  if (max <= 1) return '';
  let end = max - 1;
  const amp = escaped.lastIndexOf('&', end - 1);
  if (amp >= 0 && escaped.indexOf(';', amp) >= end) end = amp;
  if (end > 0 && isHighSurrogate(escaped.charCodeAt(end - 1))) end -= 1;
  return `${escaped.slice(0, end)}…`;
}

/** One line (line breaks shown as ⏎, so text cannot pose as a line of Baton's), escaped, fitted. */
function safe(text: string, max = FIELD_MAX): string {
  return fitMrkdwn(oneLine(text), max);
}

/**
 * The URL as Slack may link it, or undefined: only http(s), and without the characters that
 * would end Slack's `<url|label>` syntax early.
 */
export function safeUrl(raw: string | undefined): string | undefined {
  if (!raw || !/^https?:\/\//i.test(raw.trim())) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const href = url.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
  return href.length <= 2_000 ? href : undefined;
}

/** A mrkdwn link with an escaped label; only the label when the URL may not be linked. */
export function mrkdwnLink(url: string | undefined, label: string): string {
  const href = safeUrl(url);
  const text = safe(label, LABEL_MAX);
  // Slack reads entities in a link's URL as in any text: its `&` is escaped too.
  return href ? `<${href.replace(/&/g, '&amp;')}|${text}>` : text;
}

const PHASE_LABELS: Record<Phase, string> = {
  triggered: 'Triggered: waiting for acknowledgement',
  acknowledged: 'Acknowledged',
  assessed: 'Assessed',
  mitigating: 'Mitigating',
  escalated: 'Escalated to Level 3',
  collaborating: 'Level 3 holds it',
  'post-incident': 'Resolved: follow-ups open',
  closed: 'Closed',
};

export function phaseLabel(phase: Phase): string {
  return PHASE_LABELS[phase];
}

const BUTTON_TEXT: Record<SlackStep, string> = {
  acknowledge: 'Acknowledge',
  assess: 'Assess',
  recordAction: 'Record an action',
  escalate: 'Escalate to Level 3',
  acceptHandover: 'Accept handover',
  resolve: 'Resolve',
};

/** The buttons of each message, in the order they are shown. */
const TEAM_STEPS: readonly SlackStep[] = ['acknowledge', 'assess', 'recordAction', 'escalate', 'resolve'];
const LEVEL3_STEPS: readonly SlackStep[] = ['acceptHandover', 'recordAction', 'resolve'];

// The rules that depend on who acts answer NotPermitted for an actor the policy does not know,
// after every check of the process itself: asked for nobody, they say whether the process
// allows the move for someone.
const NOBODY = '';
const NO_RESPONDERS = { responders: {} } as unknown as IncidentPolicy;

function refusalFor(step: SlackStep, state: IncidentState): Refusal | undefined {
  switch (step) {
    case 'acknowledge':
      return rules.acknowledge(state);
    case 'assess':
      return rules.assess(state);
    case 'recordAction':
      return rules.recordAction(state);
    case 'escalate':
      return rules.escalate(state, NO_RESPONDERS, NOBODY);
    case 'acceptHandover':
      return rules.acceptHandover(state, NO_RESPONDERS, NOBODY);
    case 'resolve':
      return rules.resolve(state);
  }
}

/** The moves the process allows now on this message, whoever takes them. */
export function allowedSteps(state: IncidentState, level3 = false): SlackStep[] {
  if (state.phase === 'closed') return [];
  return (level3 ? LEVEL3_STEPS : TEAM_STEPS).filter((step) => {
    const refusal = refusalFor(step, state);
    return refusal === undefined || refusal.type === RefusalType.notPermitted;
  });
}

function nameOf(id: string | undefined, options: IncidentBlocksOptions): string {
  if (!id) return 'nobody yet';
  const responders = options.responders;
  return responders && Object.hasOwn(responders, id) ? (responders[id]?.name ?? id) : id;
}

/** A time Slack shows in each reader's own time zone, with the ISO time as the fallback. */
function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return safe(iso, 40);
  return `<!date^${seconds}^{date_short_pretty} {time}|${safe(iso, 40)}>`;
}

const BOOKKEEPING: ReadonlySet<TimelineEvent['kind']> = new Set([
  'paged',
  'escalation-exhausted',
  'paging-gap',
  'assessment-reminder',
  'escalation-nudge',
  'handover-package',
  'handover-meeting',
  'level3-paged',
  'stakeholder-update-reminder',
  'follow-ups-scheduled',
  'follow-up-reminder',
  'follow-up-overdue',
  'notification-failed',
  'page-failed',
  'documentation-failed',
]);

/**
 * The last thing someone did (a step, a note, alerts arriving), not what Baton did about
 * it (pages, reminders, deliveries): the newest such event, else the newest event.
 */
export function lastMove(state: IncidentState): TimelineEvent | undefined {
  const events = state.timeline;
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    if (event && !BOOKKEEPING.has(event.kind)) return event;
  }
  return events[events.length - 1];
}

/**
 * "Alice Ng: resolved: failed over" for the context line and stale clicks; a summary that
 * already starts with the person's name ("Alice Ng acknowledged…") is not prefixed again.
 */
export function describeMove(
  event: TimelineEvent,
  options: Pick<IncidentBlocksOptions, 'responders'> = {},
): string {
  const name = oneLine(nameOf(event.actor, options));
  const summary = oneLine(event.summary);
  return summary.startsWith(name)
    ? safe(summary, SUMMARY_MAX)
    : `${safe(name, LABEL_MAX)}: ${safe(summary, SUMMARY_MAX)}`;
}

const IMPORTANT_LABELS = ['severity', 'service', 'instance', 'job', 'cluster', 'namespace', 'pod', 'env'];
const MAX_LABELS = 6;

/** The labels a responder reads first, then the others by name; alertname is the title. */
function labelsThatMatter(labels: Record<string, string>): [string, string][] {
  const entries = Object.entries(labels).filter(([name]) => name !== 'alertname');
  const rank = (name: string): number => {
    const index = IMPORTANT_LABELS.indexOf(name);
    return index < 0 ? IMPORTANT_LABELS.length : index;
  };
  return entries.sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)).slice(0, MAX_LABELS);
}

function alertLine(alert: Alert): string {
  const name = alert.labels.alertname ?? alert.fingerprint;
  const summary = alert.annotations.summary ?? alert.annotations.description;
  const labels = labelsThatMatter(alert.labels)
    .map(([k, v]) => `\`${safe(k, 50)}=${safe(v, 100)}\``)
    .join(' ');
  return [
    `• *${safe(name, LABEL_MAX)}*`,
    summary ? ` ${safe(summary, SUMMARY_MAX)}` : '',
    labels ? `\n   ${labels}` : '',
  ]
    .join('')
    .trimEnd();
}

/** Fills one section with as many lines as fit, then says how many were left out. */
function linesSection(heading: string, lines: string[], more = 0): Block {
  let text = heading;
  let shown = 0;
  for (const line of lines) {
    if (text.length + line.length + 60 > SECTION_MAX) break;
    text += `\n${line}`;
    shown += 1;
  }
  const omitted = lines.length - shown + more;
  if (omitted > 0) text += `\n…and ${omitted} more`;
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

/** Whole items joined into one section, as many as fit: a link is never cut in half. */
function joinedSection(items: string[], separator: string): Block {
  let text = '';
  for (const item of items) {
    const next = text ? `${text}${separator}${item}` : item;
    if (next.length > SECTION_MAX) break;
    text = next;
  }
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

const LINK_ANNOTATION = /(dashboard|runbook|playbook)/i;

/** Runbooks, the alerts' own links (source, dashboards, runbooks) and the Temporal UI, once each. */
function links(state: IncidentState, firing: Alert[], options: IncidentBlocksOptions): string[] {
  const seen = new Set<string>();
  const found: string[] = [];
  const add = (url: string | undefined, label: string): void => {
    const href = safeUrl(url);
    if (!href || seen.has(href) || found.length >= MAX_LINKS) return;
    seen.add(href);
    found.push(mrkdwnLink(href, label));
  };
  for (const runbook of state.runbooks) add(runbook.url, `Runbook: ${runbook.alertname}`);
  for (const alert of firing) {
    const name = alert.labels.alertname ?? alert.fingerprint;
    for (const [key, value] of Object.entries(alert.annotations)) {
      if (LINK_ANNOTATION.test(key))
        add(value, `${/runbook|playbook/i.test(key) ? 'Runbook' : 'Dashboard'}: ${name}`);
    }
    add(alert.generatorURL, `Source: ${name}`);
  }
  add(options.uiUrl ?? state.links.temporalUi, 'Temporal UI');
  return found;
}

function field(label: string, value: string): slack.MrkdwnElement {
  return { type: 'mrkdwn', text: `*${label}*\n${value}` };
}

function overview(state: IncidentState, options: IncidentBlocksOptions): Block[] {
  const blocks: Block[] = [
    // plain_text needs no escaping, but Slack refuses an empty or too long header.
    {
      type: 'header',
      text: { type: 'plain_text', text: cut(oneLine(state.title) || state.id, HEADER_MAX), emoji: false },
    },
    {
      type: 'section',
      fields: [
        field('Severity', safe(state.severity, 20)),
        field('Service', safe(state.service, LABEL_MAX)),
        field('Phase', phaseLabel(state.phase)),
        field('Holder', safe(nameOf(state.holder, options), LABEL_MAX)),
      ],
    },
  ];
  const assessment = state.assessments[state.assessments.length - 1];
  if (assessment) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Impact* (urgency ${safe(assessment.urgency, 20)}): ${safe(assessment.impact, SUMMARY_MAX)}`,
      },
    });
  }
  return blocks;
}

function handoverBlock(state: IncidentState, options: IncidentBlocksOptions): Block | undefined {
  const handover = state.handover;
  if (!handover) return undefined;
  const lines = [
    `*Escalated to Level 3* by ${safe(nameOf(handover.requestedBy, options), LABEL_MAX)} ${slackDate(handover.requestedAt)}: ${safe(handover.reason, SUMMARY_MAX)}`,
    handover.acceptedBy
      ? `*Handover accepted* by ${safe(nameOf(handover.acceptedBy, options), LABEL_MAX)}${handover.acceptedAt ? ` ${slackDate(handover.acceptedAt)}` : ''}`
      : `*Handover meeting* ${slackDate(handover.meetingAt)}; waiting for Level 3 to accept`,
  ];
  return { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } };
}

function resolutionBlock(state: IncidentState, options: IncidentBlocksOptions): Block | undefined {
  const resolution = state.resolution;
  if (!resolution) return undefined;
  const by = resolution.automatic ? 'automatically' : `by ${safe(nameOf(resolution.by, options), LABEL_MAX)}`;
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `*Resolved* ${by} ${slackDate(resolution.at)}: ${safe(resolution.summary, SUMMARY_MAX)}`,
    },
  };
}

function buttons(state: IncidentState, level3: boolean): Block | undefined {
  const steps = allowedSteps(state, level3);
  if (steps.length === 0) return undefined;
  const value = buttonValue({ incident: state.id, phase: state.phase, response: responseOf(state) });
  const primary: SlackStep = level3 ? 'acceptHandover' : 'acknowledge';
  return {
    type: 'actions',
    block_id: 'baton:actions',
    elements: steps.map((step): slack.Button => ({
      type: 'button',
      action_id: actionIdOf(step),
      text: { type: 'plain_text', text: BUTTON_TEXT[step] },
      value,
      ...(step === primary ? { style: 'primary' as const } : {}),
    })),
  };
}

function context(state: IncidentState, options: IncidentBlocksOptions): Block | undefined {
  const event = lastMove(state);
  if (!event) return undefined;
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${describeMove(event, options)} · ${slackDate(event.at)}` }],
  };
}

/** The incident as Block Kit blocks, for the team channel or (level3) the Level 3 channel. */
export function incidentBlocks(state: IncidentState, options: IncidentBlocksOptions = {}): Block[] {
  const level3 = options.level3 ?? false;
  const firing = state.alerts.filter((a) => a.status === 'firing');
  const maxAlerts = options.maxAlerts ?? 10;
  const handover = handoverBlock(state, options);
  const blocks: Block[] = [...overview(state, options)];
  if (level3 && handover) blocks.push(handover);
  if (firing.length > 0) {
    blocks.push(
      linesSection(
        `*Firing alerts* (${firing.length + (state.alertsOmitted ?? 0)})`,
        firing.slice(0, maxAlerts).map(alertLine),
        Math.max(0, firing.length - maxAlerts) + (state.alertsOmitted ?? 0),
      ),
    );
  }
  const found = links(state, firing, options);
  if (found.length > 0) blocks.push(joinedSection(found, ' · '));
  if (!level3 && handover) blocks.push(handover);
  const resolved = resolutionBlock(state, options);
  if (resolved) blocks.push(resolved);
  const actions = buttons(state, level3);
  if (actions) blocks.push(actions);
  const last = context(state, options);
  if (last) blocks.push(last);
  return blocks;
}

/** The message's plain-text fallback (notifications, screen readers): no mrkdwn, escaped. */
export function incidentText(state: IncidentState): string {
  return safe(`[${state.severity}] ${state.title} (${phaseLabel(state.phase)})`, SUMMARY_MAX);
}
