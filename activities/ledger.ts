import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isChannelId, type ChannelId } from '../channels/ids';
import { appendLine, parseJsonLines, safeName } from './files';

/** A target's final answer: delivered, or failed for good. */
export type DeliveryAnswer =
  | { channel: ChannelId; target: string; delivered: true }
  | { channel: ChannelId; target: string; delivered: false; error: string };

/** One line of the ledger: a target's answer, or the note that the outbox has the notification. */
export type LedgerLine =
  | ({ at: string; notificationId: string } & DeliveryAnswer)
  | { at: string; notificationId: string; outbox: true };

/** What the ledger knows about one notification. */
export interface LedgerRecord {
  answers: Map<string, DeliveryAnswer>;
  outboxWritten: boolean;
  /** Lines that did not parse (a line torn by a crash), in the whole file. */
  skipped: number;
}

export const answerKey = (channel: ChannelId, target: string): string => `${channel}:${target}`;

/** A DeliveryAnswer read back from JSON (the ledger, heartbeat details), or undefined if it is not one. */
export function asAnswer(value: unknown): DeliveryAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isChannelId(v.channel) || typeof v.target !== 'string') return undefined;
  if (v.delivered === true) return { channel: v.channel, target: v.target, delivered: true };
  if (v.delivered === false && typeof v.error === 'string') {
    return { channel: v.channel, target: v.target, delivered: false, error: v.error };
  }
  return undefined;
}

/** The ledger's lines about one notification; the first answer for a target stands. */
export function readLedger(text: string, notificationId: string): LedgerRecord {
  const { values, skipped } = parseJsonLines(text);
  const record: LedgerRecord = { answers: new Map(), outboxWritten: false, skipped };
  for (const value of values) {
    if (typeof value !== 'object' || value === null) {
      record.skipped += 1;
      continue;
    }
    if ((value as { notificationId?: unknown }).notificationId !== notificationId) continue;
    if ((value as { outbox?: unknown }).outbox === true) {
      record.outboxWritten = true;
      continue;
    }
    const answer = asAnswer(value);
    if (!answer) {
      record.skipped += 1;
      continue;
    }
    const key = answerKey(answer.channel, answer.target);
    if (!record.answers.has(key)) record.answers.set(key, answer);
  }
  return record;
}

/**
 * Each target's final answer, appended (and synced) the moment it is known, in
 * `<dataDir>/deliveries/<incident>.jsonl` keyed by notification id and target. When notify
 * runs again for the same notification (a retry after a crash), the answered targets are
 * not sent again.
 */
export class DeliveryLedger {
  constructor(readonly dir: string) {}

  fileFor(incidentId: string): string {
    return path.join(this.dir, `${safeName(incidentId)}.jsonl`);
  }

  async read(incidentId: string, notificationId: string): Promise<LedgerRecord> {
    let text: string;
    try {
      text = await readFile(this.fileFor(incidentId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return { answers: new Map(), outboxWritten: false, skipped: 0 };
      }
      throw err;
    }
    return readLedger(text, notificationId);
  }

  async recordAnswer(incidentId: string, notificationId: string, answer: DeliveryAnswer): Promise<void> {
    const line: LedgerLine = { at: new Date().toISOString(), notificationId, ...answer };
    await appendLine(this.fileFor(incidentId), JSON.stringify(line));
  }

  async recordOutbox(incidentId: string, notificationId: string): Promise<void> {
    const line: LedgerLine = { at: new Date().toISOString(), notificationId, outbox: true };
    await appendLine(this.fileFor(incidentId), JSON.stringify(line));
  }
}
