/**
 * Delivery and documentation: notifications leave in the order they were queued, and the
 * record is written out whenever it changed and nothing is waiting to be sent. A failure
 * of either is recorded on the timeline and the process goes on.
 */
import { condition, patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { SYSTEM, errorMessage, now, type Incident } from './incident-context';

type Activities = ReturnType<typeof createActivities>;

// Notifications retry briefly and then give up: a dead channel is recorded on the timeline
// and must never hold up the timers that page the next person.
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 4 },
});
const { writeIncidentRecord } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 6 },
});

/** Runs for the incident's whole life: sends what is queued, then writes the record. */
export async function deliverNotifications(incident: Incident): Promise<void> {
  const { outbox } = incident;
  for (;;) {
    await condition(() => outbox.length > 0 || incident.documentationDue);
    const next = outbox[0];
    if (next) {
      try {
        const report = await notify(next);
        for (const failure of report.failed) {
          incident.log(
            'notification-failed',
            SYSTEM,
            `${next.kind} to ${failure.target} via ${failure.channel} failed: ${failure.error}`,
            { ...failure, kind: next.kind },
          );
        }
        const unwritten = report.undelivered.filter((target) => target.startsWith('outbox:'));
        if (unwritten.length > 0 && patched('record-outbox-failures')) {
          // Delivered, but the delivery log lost it: the record must say so.
          incident.log(
            'documentation-failed',
            SYSTEM,
            `${next.kind} "${next.subject}" was sent but not written to the outbox: ${unwritten.map((t) => t.slice('outbox:'.length)).join('; ')}`,
            { kind: next.kind },
          );
        }
      } catch (err) {
        incident.log(
          'notification-failed',
          SYSTEM,
          `${next.kind} "${next.subject}" could not be sent: ${errorMessage(err)}`,
          { kind: next.kind, to: next.responders.map((r) => r.id) },
        );
      }
      outbox.shift();
      continue;
    }
    incident.documentationDue = false;
    incident.documenting = true;
    await documentIncident(incident);
    incident.documenting = false;
  }
}

/** Writes the record out: JSON for machines, Markdown for people. */
export async function documentIncident(incident: Incident): Promise<void> {
  try {
    await writeIncidentRecord(incident.state);
  } catch (err) {
    // Pushed directly: a failed write must not make the record due again, or it would loop.
    incident.state.timeline.push({
      at: now(),
      actor: SYSTEM,
      kind: 'documentation-failed',
      summary: `the incident record could not be written: ${errorMessage(err)}`,
    });
  }
}

/** Nothing queued, nothing unwritten, nothing being written: the record on disk is final. */
export function documented(incident: Incident): boolean {
  return incident.outbox.length === 0 && !incident.documentationDue && !incident.documenting;
}
