/**
 * Diagnostics beside the process: a collection runs as an activity of its own, started when
 * the first page is on the record and again at each escalation, and nothing waits for it.
 * A source that does not answer is a line on the timeline (diagnostics.ts); an activity that
 * fails altogether is one too.
 */
import { condition, patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { DIAGNOSTICS_PATCH, alertsToDiagnose, recordDiagnostics } from './diagnostics';
import { errorMessage, now, type ReadyIncident } from './incident-context';
import type { DiagnosticsOccasion } from './state';

type Activities = ReturnType<typeof createActivities>;

// The activity ends by the diagnostics deadline (configured up to 2 minutes, 10 s by default)
// whatever its sources do; the timeout is a little above the longest deadline, and a retry
// is for a worker that died, not for a source that is down (that comes back as a failure).
const { collectIncidentDiagnostics } = proxyActivities<Activities>({
  startToCloseTimeout: '150s',
  retry: { initialInterval: '2s', maximumAttempts: 2 },
});

/** Runs for the incident's whole life: starts each collection asked for, side by side. */
export async function keepDiagnostics(incident: ReadyIncident): Promise<void> {
  const wanted = incident.diagnosticsWanted;
  for (;;) {
    await condition(() => wanted.length > 0);
    const occasion = wanted.shift();
    // Only incidents that started collecting ask (state.diagnostics is there).
    if (!occasion || !incident.state.diagnostics || !patched(DIAGNOSTICS_PATCH)) continue;
    void collect(incident, occasion);
  }
}

async function collect(incident: ReadyIncident, occasion: DiagnosticsOccasion): Promise<void> {
  const { state } = incident;
  const alerts = alertsToDiagnose(state);
  // Nothing to look into (a declared incident without alerts): no activity.
  if (alerts.length === 0) return;
  incident.diagnosing += 1;
  try {
    const outcome = await collectIncidentDiagnostics({
      incidentId: state.id,
      openedAt: state.openedAt,
      alerts,
      occasion,
    });
    recordDiagnostics(incident, occasion, outcome);
  } catch (err) {
    // The store itself failed (or the worker, twice): on the record like a source that did
    // not answer.
    const text = `diagnostics could not be collected: ${errorMessage(err)}`;
    recordDiagnostics(incident, occasion, {
      collectedAt: now(),
      folder: '',
      metrics: [],
      metricsOmitted: 0,
      logs: [],
      failures: [{ source: 'diagnostics', server: 'baton', kind: 'internal', text }],
      failuresOmitted: 0,
      skipped: 0,
      queriesNotMade: 0,
    });
  } finally {
    incident.diagnosing -= 1;
  }
}

/** No collection asked for or under way: the incident may move to a new run or end. */
export function diagnosticsIdle(incident: ReadyIncident): boolean {
  return incident.diagnosticsWanted.length === 0 && incident.diagnosing === 0;
}
