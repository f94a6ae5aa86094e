/**
 * Quiet: one alert at a time. Each alert is sent once, the next only after the previous one's
 * first entry is written and a short pause, so nothing else runs in the worker meanwhile.
 */
import { settle, sleep, type Bench } from './harness';
import { breakdownOf, countEntries, waitForFirstEntries, type Breakdown, type Side } from './load';
import { summarize, type Summary } from './stats';

/** The pause after each page: the incident's record write and the server's bookkeeping finish in it. */
const PAUSE_MS = 250;

export interface QuietResult {
  alerts: number;
  failedSends: number;
  /** The webhook's (or signal-with-start's) answer time, in ms. */
  answerMs: Summary;
  /** From the send to the first entry (page, or baseline line), in ms. */
  alertToEntryMs: Summary;
  /** Alerts whose entry was written, and those with exactly one once settled. */
  withEntry: number;
  exactlyOne: number;
  breakdown: Breakdown;
  /** The workflows it opened, for the steps phase. */
  ids: string[];
}

export async function runQuietSide(bench: Bench, side: Side, alerts: number): Promise<QuietResult> {
  const samples: { id: string; sentAt: number; answeredAt: number; writtenAt?: number }[] = [];
  let failed = 0;
  for (let index = 0; index < alerts; index += 1) {
    const sent = await side.send(index);
    if (sent.status < 200 || sent.status >= 300) failed += 1;
    const id = side.idOf(index);
    const written = await waitForFirstEntries(
      [id],
      (i) => side.entriesOf(i),
      15_000,
      5,
      () => bench.worker.died(),
    );
    const entry = written.get(id);
    samples.push({
      id,
      sentAt: sent.sentAt,
      answeredAt: sent.answeredAt,
      ...(entry ? { writtenAt: entry.firstAt } : {}),
    });
    await sleep(PAUSE_MS);
  }
  await settle(bench);
  const ids = samples.map((s) => s.id);
  const counted = await countEntries(ids, (id) => side.entriesOf(id));
  return {
    alerts,
    failedSends: failed,
    answerMs: summarize(samples.map((s) => s.answeredAt - s.sentAt)),
    alertToEntryMs: summarize(samples.flatMap((s) => (s.writtenAt ? [s.writtenAt - s.sentAt] : []))),
    withEntry: samples.filter((s) => s.writtenAt !== undefined).length,
    exactlyOne: [...counted.values()].filter((c) => c.count === 1).length,
    breakdown: await breakdownOf(bench, side, samples),
    ids,
  };
}
