import path from 'node:path';
import type { DeliveryReport, Notification } from '../workflows/incident/model';
import { appendLine, safeName } from './files';

export interface OutboxEntry {
  at: string;
  /** False when no channel delivered it to at least one of its targets. */
  delivered: boolean;
  report: DeliveryReport;
  notification: Notification;
}

/**
 * Every notification, delivered or not, as one JSON line per notification in
 * `<dataDir>/outbox/<incident>.jsonl`. Without Slack or SMTP this is where a newcomer sees
 * what Baton would have sent; with them it is the delivery log.
 */
export class Outbox {
  constructor(readonly dir: string) {}

  fileFor(incidentId: string): string {
    return path.join(this.dir, `${safeName(incidentId)}.jsonl`);
  }

  async write(notification: Notification, report: DeliveryReport): Promise<OutboxEntry> {
    const entry: OutboxEntry = {
      at: new Date().toISOString(),
      delivered: report.delivered.length > 0,
      report,
      notification,
    };
    await appendLine(this.fileFor(notification.incidentId), JSON.stringify(entry));
    return entry;
  }
}
