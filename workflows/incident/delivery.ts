/**
 * Delivery and documentation: notifications leave in the order they were queued, and the
 * record is written out whenever it changed and nothing is waiting to be sent. A failure
 * of either is recorded on the timeline and the process goes on.
 */
import { condition, patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import { SYSTEM, errorMessage, type Incident } from './incident-context';
import type { DeliveryReport, Notification } from './model';
import { notices } from './notices';

type Activities = ReturnType<typeof createActivities>;

// Each target is retried inside the activity (bounded, with backoff) and its answer kept in
// the delivery ledger. Retries here are for a worker that died mid-send: its heartbeats
// stop, the server notices within the heartbeat timeout, and the next attempt sends only
// to the targets the ledger has no answer for. A dead channel is recorded on the timeline
// and never holds up the timers that page the next person.
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '5s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10 },
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
        recordDelivery(incident, next, await notify(next));
      } catch (err) {
        incident.log(
          'notification-failed',
          SYSTEM,
          `${next.kind} "${next.subject}" could not be sent: ${errorMessage(err)}`,
          { kind: next.kind, to: next.responders.map((r) => r.id) },
        );
        if (next.kind === 'page' && patched('tell-managers-when-a-page-fails')) {
          pageFailed(incident, next, [`every target: ${errorMessage(err)}`]);
        }
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

/**
 * What a delivery report leaves on the record: each target that failed for good, a page
 * that reached nobody (managers told), a send the outbox did not log.
 */
export function recordDelivery(incident: Incident, sent: Notification, report: DeliveryReport): void {
  for (const failure of report.failed) {
    incident.log(
      'notification-failed',
      SYSTEM,
      `${sent.kind} to ${failure.target} via ${failure.channel} failed: ${failure.error}`,
      { ...failure, kind: sent.kind },
    );
  }
  if (sent.kind === 'page' && report.delivered.length === 0 && report.failed.length > 0) {
    if (patched('tell-managers-when-a-page-fails')) {
      pageFailed(
        incident,
        sent,
        report.failed.map((f) => `${f.channel} ${f.target}: ${f.error}`),
      );
    }
  }
  const unwritten = report.undelivered.filter((target) => target.startsWith('outbox:'));
  if (unwritten.length > 0 && patched('record-outbox-failures')) {
    // Delivered, but the delivery log lost it: the record must say so.
    incident.log(
      'documentation-failed',
      SYSTEM,
      `${sent.kind} "${sent.subject}" was sent but not written to the outbox: ${unwritten.map((t) => t.slice('outbox:'.length)).join('; ')}`,
      { kind: sent.kind },
    );
  }
}

/**
 * A page reached none of its targets: it is on the timeline as page-failed and the
 * managers are told on every channel, while the escalation timers go on as they were.
 */
function pageFailed(incident: Incident, page: Notification, errors: string[]): void {
  if (!incident.ready()) return;
  incident.tell(
    notices.pageFailed(incident.state, incident.policy, page, errors),
    'page-failed',
    SYSTEM,
    `"${page.subject}" reached none of its targets; managers told`,
    { page: page.id ?? page.subject, failures: errors.length },
  );
}

/**
 * Writes the record out (JSON for machines, Markdown for people) with the timeline events
 * the store has not taken yet, a bounded batch at a time.
 */
export async function documentIncident(incident: Incident): Promise<void> {
  const events = incident.eventsToWrite();
  try {
    // The events travel once: the store keeps them and shows the newest in the record.
    await writeIncidentRecord({ record: { ...incident.state, timeline: [] }, events });
    // More than one batch was waiting: the delivery loop writes again.
    if (incident.written(events)) incident.documentationDue = true;
  } catch (err) {
    // Logged quietly: a failed write must not make the record due again, or it would loop.
    incident.logQuietly(
      'documentation-failed',
      SYSTEM,
      `the incident record could not be written: ${errorMessage(err)}`,
    );
  }
}

/** Nothing queued, nothing unwritten, nothing being written: the record on disk is final. */
export function documented(incident: Incident): boolean {
  return incident.outbox.length === 0 && !incident.documentationDue && !incident.documenting;
}
