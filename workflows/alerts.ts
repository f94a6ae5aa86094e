/**
 * Alerts from Alertmanager: they join the incident, bring their runbooks, and clearing may
 * resolve it as the policy says. Alertmanager re-sends every group, so each firing (and
 * each clearing) of an alert is taken in once.
 */
import { SYSTEM, type ReadyIncident } from './incident-context';
import { runbookOf, type Alert } from './model';
import { notices } from './notices';
import { reopenIncident, resolveIncident } from './resolution';
import { isOpen } from './rules';

/** How many distinct alert firings are remembered for de-duplication. */
const REMEMBERED_ALERT_KEYS = 10_000;
/** A group of thousands of alerts is one problem; the record keeps the first ones. */
const MAX_ALERTS = 500;

/** One firing (or clearing) of one alert: Alertmanager re-sends it unchanged. */
export function alertKey(alert: Alert): string {
  return `${alert.fingerprint}|${alert.status}|${alert.startsAt}`;
}

export function alertName(alert: Alert): string {
  return alert.labels.alertname ?? alert.fingerprint;
}

/** The alerts a new incident starts with: remembered, and their runbooks attached. */
export function takeInitialAlerts(incident: ReadyIncident): void {
  addRunbooks(incident, incident.state.alerts);
  for (const alert of incident.state.alerts) incident.seenAlerts.add(alertKey(alert));
}

/** Takes in firing alerts; returns those new to the incident (already on the timeline). */
export function alertsFired(incident: ReadyIncident, alerts: Alert[]): Alert[] {
  const fresh = takeIn(incident, alerts, 'firing');
  addRunbooks(incident, fresh);
  return fresh;
}

/** Alerts fired again after resolution, before the incident closed: it is back. */
export function reopen(incident: ReadyIncident, fresh: Alert[]): void {
  reopenIncident(
    incident,
    fresh.map((a) => a.fingerprint),
    fresh.map(alertName),
  );
}

/**
 * The incident is resolved but its alerts fire again: someone must look now. (How
 * incidents that recorded the 'page-on-refire-after-resolution' marker before reopening
 * existed go on.)
 */
export function pageOnRefire(incident: ReadyIncident, fresh: Alert[]): void {
  const notice = notices.firingAgain(incident.state, incident.policy, fresh.map(alertName));
  incident.tell(
    notice,
    'paged',
    SYSTEM,
    `alerts fired again after resolution; paged ${notice.responders.map((r) => r.id).join(', ')}`,
    { alerts: fresh.map((a) => a.fingerprint) },
  );
}

/**
 * Takes in cleared alerts and resolves the incident when all cleared and the policy says so.
 * Returns false when nothing was new (a re-send).
 */
export function alertsResolved(incident: ReadyIncident, alerts: Alert[]): boolean {
  const { state, policy } = incident;
  const fresh = takeIn(incident, alerts, 'resolved');
  if (fresh.length === 0) return false;
  const allClear = state.alerts.length > 0 && state.alerts.every((a) => a.status === 'resolved');
  const autoResolve =
    policy.autoResolve === 'always' ||
    (policy.autoResolve === 'unacknowledged-only' && state.phase === 'triggered');
  if (allClear && autoResolve && isOpen(state)) {
    resolveIncident(incident, SYSTEM, 'Every alert of the incident cleared.', true);
  }
  return true;
}

/** Merges alerts with the given status and logs the new ones; returns those. */
function takeIn(incident: ReadyIncident, alerts: Alert[], status: Alert['status']): Alert[] {
  const fresh = mergeAlerts(
    incident,
    alerts.map((a) => ({ ...a, status })),
  );
  if (fresh.length > 0) {
    incident.log(
      status === 'firing' ? 'alerts-fired' : 'alerts-resolved',
      'alertmanager',
      `${fresh.length} alert(s) ${status}: ${fresh.map(alertName).join(', ')}`,
      { fingerprints: fresh.map((a) => a.fingerprint) },
    );
  }
  return fresh;
}

/** Adds or updates alerts by fingerprint; returns those that changed the record. */
function mergeAlerts(incident: ReadyIncident, alerts: Alert[]): Alert[] {
  const { state, seenAlerts } = incident;
  const fresh: Alert[] = [];
  for (const alert of alerts) {
    const key = alertKey(alert);
    if (seenAlerts.has(key)) continue;
    seenAlerts.add(key);
    if (seenAlerts.size > REMEMBERED_ALERT_KEYS) {
      const oldest = seenAlerts.values().next().value;
      if (oldest !== undefined) seenAlerts.delete(oldest);
    }
    const index = state.alerts.findIndex((a) => a.fingerprint === alert.fingerprint);
    if (index >= 0) state.alerts[index] = alert;
    else if (state.alerts.length < MAX_ALERTS) state.alerts.push(alert);
    else {
      state.alertsOmitted = (state.alertsOmitted ?? 0) + 1;
      continue;
    }
    fresh.push(alert);
  }
  return fresh;
}

function addRunbooks(incident: ReadyIncident, alerts: Alert[]): void {
  const { state, policy } = incident;
  for (const alert of alerts) {
    const name = alert.labels.alertname;
    const runbook = name ? runbookOf(policy, name) : undefined;
    if (name && runbook && !state.runbooks.some((r) => r.alertname === name)) {
      state.runbooks.push({ alertname: name, url: runbook.url, steps: runbook.steps });
    }
  }
}
