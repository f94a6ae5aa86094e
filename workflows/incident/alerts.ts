/**
 * Alerts from Alertmanager: they join the incident, bring their runbooks, and clearing may
 * resolve it as the policy says. Alertmanager re-sends every group, so each firing (and
 * each clearing) of an alert is taken in once.
 */
import { SYSTEM, excerpt, type ReadyIncident } from './incident-context';
import {
  ALERT_BYTES,
  LEGACY,
  MAX_ALERTS,
  RECORD_BYTES,
  REMEMBERED_ALERT_KEYS,
  jsonBytes,
  truncateBytes,
} from './limits';
import { runbookOf, type Alert } from './model';
import { notices } from './notices';
import { reopenIncident, resolveIncident } from './resolution';
import { isOpen } from './rules';

/** One firing (or clearing) of one alert: Alertmanager re-sends it unchanged. */
export function alertKey(alert: Alert): string {
  return `${alert.fingerprint}|${alert.status}|${alert.startsAt}`;
}

export function alertName(alert: Alert): string {
  return alert.labels.alertname ?? alert.fingerprint;
}

/** The alerts a new incident starts with: remembered, and their runbooks attached. */
export function takeInitialAlerts(incident: ReadyIncident): void {
  const { state } = incident;
  if (!incident.legacyLimits) {
    // Bounded like alerts that join later: a start from the CLI may pass anything.
    const initial = state.alerts;
    state.alerts = [];
    let room = RECORD_BYTES - jsonBytes(state);
    for (const alert of initial) {
      const kept = bounded(alert);
      if (state.alerts.length < MAX_ALERTS && room > 0) {
        state.alerts.push(kept);
        room -= jsonBytes(kept);
      } else state.alertsOmitted = (state.alertsOmitted ?? 0) + 1;
      incident.seenAlerts.add(alertKey(alert));
    }
  }
  addRunbooks(incident, state.alerts);
  for (const alert of state.alerts) incident.seenAlerts.add(alertKey(alert));
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
 * The incident is resolved but its alerts fire again: someone must look now. Incidents that
 * recorded the 'page-on-refire-after-resolution' marker before reopening existed go on
 * this way, and so does a closed incident still writing its final record.
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
  // Alerts a full record left out cannot be seen clearing: then people resolve it.
  const allClear =
    state.alerts.length > 0 &&
    state.alerts.every((a) => a.status === 'resolved') &&
    (incident.legacyLimits || !state.alertsOmitted);
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
    // A group of hundreds of alerts is one line and a sample of fingerprints.
    const listed = fresh.slice(0, 20).map((a) => a.fingerprint);
    incident.log(
      status === 'firing' ? 'alerts-fired' : 'alerts-resolved',
      'alertmanager',
      excerpt(`${fresh.length} alert(s) ${status}: ${fresh.map(alertName).join(', ')}`),
      fresh.length > listed.length ? { fingerprints: listed, count: fresh.length } : { fingerprints: listed },
    );
  }
  return fresh;
}

/**
 * Adds or updates alerts by fingerprint; returns every firing or clearing not seen before
 * (also those a full record could not keep).
 */
function mergeAlerts(incident: ReadyIncident, alerts: Alert[]): Alert[] {
  if (incident.legacyLimits) return mergeAlertsAsBefore(incident, alerts);
  const { state, seenAlerts } = incident;
  const fresh: Alert[] = [];
  // Room left in the record, measured once: new alerts are kept while it lasts. A record
  // that holds all the alerts it may is not measured (a storm keeps it there).
  let room = state.alerts.length < MAX_ALERTS ? RECORD_BYTES - jsonBytes(state) : 0;
  // Where each fingerprint sits (its first place, as a search from the start finds it).
  const places = new Map<string, number>();
  state.alerts.forEach((a, i) => {
    if (!places.has(a.fingerprint)) places.set(a.fingerprint, i);
  });
  for (const alert of alerts) {
    const key = alertKey(alert);
    const index = places.get(alert.fingerprint) ?? -1;
    const stored = index >= 0 ? state.alerts[index] : undefined;
    // A re-send: remembered, or the record holds this very firing (or clearing) already.
    const known =
      seenAlerts.has(key) || (stored?.status === alert.status && stored.startsAt === alert.startsAt);
    // Seen again: remembered as recent, so an alert that keeps firing is never forgotten.
    seenAlerts.touch(key);
    seenAlerts.forgetOldestPast(REMEMBERED_ALERT_KEYS);
    if (known) continue;
    const kept = bounded(alert);
    if (stored) state.alerts[index] = kept;
    else if (state.alerts.length < MAX_ALERTS && room > 0) {
      places.set(kept.fingerprint, state.alerts.length);
      state.alerts.push(kept);
      room -= jsonBytes(kept);
    } else if (kept.status === 'firing') {
      // Not kept in a full record, but still news: it is logged and may reopen the incident.
      state.alertsOmitted = (state.alertsOmitted ?? 0) + 1;
    }
    fresh.push(kept);
  }
  return fresh;
}

/** The de-duplication of incidents that started before record limits were counted in bytes. */
function mergeAlertsAsBefore(incident: ReadyIncident, alerts: Alert[]): Alert[] {
  const { state, seenAlerts } = incident;
  const fresh: Alert[] = [];
  for (const alert of alerts) {
    const key = alertKey(alert);
    if (seenAlerts.has(key)) continue;
    seenAlerts.add(key);
    seenAlerts.forgetOldestPast(LEGACY.rememberedAlertKeys);
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

/** An alert as the record keeps it: long label and annotation values shortened. */
function bounded(alert: Alert): Alert {
  if (jsonBytes(alert) <= ALERT_BYTES) return alert;
  const shorten = (values: Record<string, string>, max: number): Record<string, string> =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [truncateBytes(k, 200), truncateBytes(v, max)]),
    );
  const labels = shorten(alert.labels, 200);
  const annotations = shorten(alert.annotations, 1_000);
  const trimmed = { ...alert, labels, annotations };
  // Still too big (hundreds of labels): keep the alert's identity and name only.
  return jsonBytes(trimmed) <= ALERT_BYTES
    ? trimmed
    : {
        ...alert,
        labels: alert.labels.alertname ? { alertname: truncateBytes(alert.labels.alertname, 200) } : {},
        annotations: {},
        ...(alert.generatorURL ? { generatorURL: truncateBytes(alert.generatorURL, 1_000) } : {}),
      };
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
