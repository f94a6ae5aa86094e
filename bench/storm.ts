/**
 * Storm: N alert groups at C concurrent senders, each group sent twice (the two sends of a
 * group follow each other in the queue, so they usually overlap, like an HA pair's twins).
 * Baton through its webhook; the baseline as signal-with-starts of the minimal workflow.
 */
import { cpuDuring, settle, type Bench, type CpuShare } from './harness';
import {
  breakdownOf,
  countEntries,
  countExecutions,
  pool,
  spread,
  waitForFirstEntries,
  type Breakdown,
  type Sent,
  type Side,
} from './load';
import { round, summarize, type Summary } from './stats';

export interface StormOptions {
  groups: number;
  concurrency: number;
  /** How many executions' histories the breakdown reads. */
  sample: number;
}

export interface StormResult {
  groups: number;
  sends: number;
  /** Sends that never got a 2xx (after Alertmanager-like retries). */
  failedSends: number;
  /** Sends that needed more than one attempt. */
  retriedSends: number;
  /** Every send (both of each group) over the time from the first send to the last answer. */
  sendsPerSecond: number;
  /** Answer time of every send, in ms. */
  answerMs: Summary;
  /** Executions of the workflow type the storm added, as the server counts them. */
  opened: number;
  /** Groups whose first entry (page, or baseline line) was written. */
  withEntry: number;
  /** Groups with exactly one entry once the run settled. */
  exactlyOne: number;
  entries: number;
  /** From the group's first send to its first entry, in ms. */
  alertToEntryMs: Summary;
  /** From the storm's first send to the last group's first entry, in ms. */
  lastEntryAfterMs: number;
  breakdown: Breakdown;
  cpu: CpuShare;
}

export async function runStormSide(bench: Bench, side: Side, options: StormOptions): Promise<StormResult> {
  const indices = Array.from({ length: options.groups }, (_, i) => i);
  const queue = indices.flatMap((i) => [i, i]);
  const before = await countExecutions(bench, side.workflowType);
  const sends: { index: number; sent: Sent }[] = [];
  const { result: written, cpu } = await cpuDuring(bench, async () => {
    await pool(queue, options.concurrency, async (index) => {
      sends.push({ index, sent: await side.send(index) });
    });
    return waitForFirstEntries(
      indices.map(side.idOf),
      (id) => side.entriesOf(id),
      60_000 + options.groups * 200,
      50,
      () => bench.worker.died(),
    );
  });
  await settle(bench);
  const ids = indices.map(side.idOf);
  const counted = await countEntries(ids, (id) => side.entriesOf(id));
  const after = await countExecutions(bench, side.workflowType);

  const firstSend = new Map<number, Sent>();
  for (const { index, sent } of sends) {
    const known = firstSend.get(index);
    if (!known || sent.sentAt < known.sentAt) firstSend.set(index, sent);
  }
  const start = Math.min(...sends.map((s) => s.sent.sentAt));
  const end = Math.max(...sends.map((s) => s.sent.answeredAt));
  const alertToEntry = indices.flatMap((index) => {
    const entry = written.get(side.idOf(index));
    const sent = firstSend.get(index);
    return entry && sent ? [entry.firstAt - sent.sentAt] : [];
  });
  const samples = spread(indices, options.sample).map((index) => {
    const sent = firstSend.get(index);
    const entry = written.get(side.idOf(index));
    return {
      id: side.idOf(index),
      sentAt: sent?.sentAt ?? Number.NaN,
      answeredAt: sent?.answeredAt ?? Number.NaN,
      ...(entry ? { writtenAt: entry.firstAt } : {}),
    };
  });
  return {
    groups: options.groups,
    sends: sends.length,
    failedSends: sends.filter((s) => s.sent.status < 200 || s.sent.status >= 300).length,
    retriedSends: sends.filter((s) => s.sent.attempts > 1).length,
    sendsPerSecond: round((sends.length * 1000) / Math.max(1, end - start)),
    answerMs: summarize(sends.map((s) => s.sent.answeredAt - s.sent.sentAt)),
    opened: after - before,
    withEntry: written.size,
    exactlyOne: [...counted.values()].filter((c) => c.count === 1).length,
    entries: [...counted.values()].reduce((sum, c) => sum + c.count, 0),
    alertToEntryMs: summarize(alertToEntry),
    lastEntryAfterMs: Math.max(...[...written.values()].map((w) => w.firstAt)) - start,
    breakdown: await breakdownOf(bench, side, samples),
    cpu,
  };
}
