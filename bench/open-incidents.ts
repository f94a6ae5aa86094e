/**
 * Open incidents: K incidents opened through the webhook and left waiting on their timers
 * (the acknowledgement timeout is an hour), K minimal workflows beside them as the baseline.
 * Then the worker's resident memory, and get/acknowledge on incidents in and out of the
 * worker's workflow cache: the oldest ones (out of it once more incidents are open than the
 * cache holds), the newest (in it), and any after a worker restart (an empty cache).
 */
import { cpuDuring, rssMiB, settle, type Bench, type CpuShare } from './harness';
import { countEntries, countExecutions, pool, spread, waitForFirstEntries, type Side } from './load';
import { round, summarize, type Summary } from './stats';
import {
  acknowledge,
  bareQuery,
  bareUpdate,
  getIncident,
  summarizeTimed,
  type Timed,
  type TimedSummary,
} from './steps';

export interface OpenOptions {
  incidents: number;
  concurrency: number;
  /** Requests per sample of get or acknowledge. */
  sample: number;
}

export interface MemoryFigures {
  /** The worker process's VmRSS, MiB. */
  rssMiB: number;
  /** Heap used by the main thread only: workflows run in worker threads of their own. */
  heapUsedMiB: number;
}

export interface OpenSide {
  opened: number;
  /** Entries (pages, or baseline lines) written for them by the end of the wait. */
  withEntry: number;
  /** Workflows with exactly one entry once the worker settled. */
  exactlyOne: number;
  sendsPerSecond: number;
  /** From the first send to the last first entry, in ms. */
  allWrittenAfterMs: number;
  alertToEntryMs: Summary;
  memoryAfter: MemoryFigures;
  /** How long the worker and the server took to go idle after the last page (ms). */
  settledAfterMs: number;
  /** Worker RSS added per 1,000 open workflows of this kind, MiB. */
  rssPerThousandMiB: number;
  cpu: CpuShare;
}

export interface OpenResult {
  incidents: number;
  /** The worker's workflow cache (the SDK default: it sizes it from the heap limit). */
  maxCachedWorkflows: number;
  /** Incidents open in the worker (every phase's) when the samples were taken. */
  incidentsOpenInWorker: number;
  /** Whether the oldest sample is out of the cache (LRU: more incidents open than it holds). */
  oldestEvicted: boolean;
  memoryBefore: MemoryFigures;
  baseline: OpenSide;
  baton: OpenSide;
  memoryAfterRestart: MemoryFigures;
  memoryAfterColdSamples: MemoryFigures;
  get: { newest: TimedSummary; oldest: TimedSummary; afterRestart: TimedSummary };
  acknowledge: { newest: TimedSummary; oldest: TimedSummary; afterRestart: TimedSummary };
  baselineQuery: { newest: TimedSummary; afterRestart: TimedSummary };
  baselineUpdate: { newest: TimedSummary; afterRestart: TimedSummary };
}

async function memory(bench: Bench): Promise<MemoryFigures> {
  const usage = await bench.worker.memory();
  return { rssMiB: rssMiB(bench.worker.pid), heapUsedMiB: round(usage.heapUsed / 2 ** 20) };
}

async function openMany(bench: Bench, side: Side, options: OpenOptions, before: MemoryFigures) {
  const indices = Array.from({ length: options.incidents }, (_, i) => i);
  const sentAt = new Map<number, number>();
  const { result, cpu } = await cpuDuring(bench, async () => {
    const started = Date.now();
    await pool(indices, options.concurrency, async (index) => {
      sentAt.set(index, Date.now());
      await side.send(index);
    });
    const sent = Date.now() - started;
    const written = await waitForFirstEntries(
      indices.map(side.idOf),
      (id) => side.entriesOf(id),
      // Generous: past the cache's size every new incident evicts another, and pages slow down.
      120_000 + options.incidents * 100,
      250,
      () => bench.worker.died(),
    );
    return { started, sent, written };
  });
  // The page goes first; each incident's record write and the rest of its opening follow, so
  // thousands of incidents leave the worker busy for minutes after the last page. Memory and
  // latency are read once it is idle again, not while it works through that tail.
  const settledAfterMs = await settle(bench, 60_000 + options.incidents * 60);
  const after = await memory(bench);
  const counted = await countEntries(indices.map(side.idOf), (id) => side.entriesOf(id));
  const firstAts = [...result.written.values()].map((w) => w.firstAt);
  const summary: OpenSide = {
    opened: options.incidents,
    withEntry: result.written.size,
    exactlyOne: [...counted.values()].filter((c) => c.count === 1).length,
    sendsPerSecond: round((options.incidents * 1000) / Math.max(1, result.sent)),
    allWrittenAfterMs: Math.max(...firstAts) - result.started,
    alertToEntryMs: summarize(
      indices.flatMap((i) => {
        const entry = result.written.get(side.idOf(i));
        const sent = sentAt.get(i);
        return entry && sent !== undefined ? [entry.firstAt - sent] : [];
      }),
    ),
    memoryAfter: after,
    settledAfterMs,
    rssPerThousandMiB: round(((after.rssMiB - before.rssMiB) * 1000) / options.incidents),
    cpu,
  };
  return { summary, ids: indices.map(side.idOf) };
}

async function each(ids: readonly string[], run: (id: string) => Promise<Timed>): Promise<TimedSummary> {
  const results: Timed[] = [];
  for (const id of ids) results.push(await run(id));
  return summarizeTimed(results);
}

export async function runOpenIncidents(
  bench: Bench,
  sides: { baton: Side; baseline: Side },
  options: OpenOptions,
): Promise<OpenResult> {
  const s = options.sample;
  const memoryBefore = await memory(bench);
  const baseline = await openMany(bench, sides.baseline, options, memoryBefore);
  const baton = await openMany(bench, sides.baton, options, baseline.summary.memoryAfter);
  const incidentsOpenInWorker = await countExecutions(bench, sides.baton.workflowType);
  const maxCachedWorkflows = bench.worker.settings.baton.maxCachedWorkflows;

  // Four disjoint slices: newest and oldest (before the restart), and two from the middle (after).
  const ids = baton.ids;
  const newest = ids.slice(-2 * s);
  const oldest = ids.slice(0, 2 * s);
  const middle = spread(ids.slice(2 * s, -2 * s), 2 * s);
  const minimalIds = baseline.ids;
  const minimalNewest = minimalIds.slice(-2 * s);
  const minimalMiddle = spread(minimalIds.slice(0, -2 * s), 2 * s);

  const get = {
    newest: await each(newest.slice(0, s), (id) => getIncident(bench, id)),
    oldest: await each(oldest.slice(0, s), (id) => getIncident(bench, id)),
  };
  const ack = {
    newest: await each(newest.slice(s), (id) => acknowledge(bench, id)),
    oldest: await each(oldest.slice(s), (id) => acknowledge(bench, id)),
  };
  const queryNewest = await each(minimalNewest.slice(0, s), (id) => bareQuery(bench, id));
  const updateNewest = await each(minimalNewest.slice(s), (id) => bareUpdate(bench, id));
  await settle(bench);

  await bench.restartWorker();
  const memoryAfterRestart = await memory(bench);
  const getAfterRestart = await each(middle.slice(0, s), (id) => getIncident(bench, id));
  const ackAfterRestart = await each(middle.slice(s), (id) => acknowledge(bench, id));
  const queryAfterRestart = await each(minimalMiddle.slice(0, s), (id) => bareQuery(bench, id));
  const updateAfterRestart = await each(minimalMiddle.slice(s), (id) => bareUpdate(bench, id));
  await settle(bench);
  const memoryAfterColdSamples = await memory(bench);

  return {
    incidents: options.incidents,
    maxCachedWorkflows,
    incidentsOpenInWorker,
    oldestEvicted: incidentsOpenInWorker > maxCachedWorkflows,
    memoryBefore,
    baseline: baseline.summary,
    baton: baton.summary,
    memoryAfterRestart,
    memoryAfterColdSamples,
    get: { ...get, afterRestart: getAfterRestart },
    acknowledge: { ...ack, afterRestart: ackAfterRestart },
    baselineQuery: { newest: queryNewest, afterRestart: queryAfterRestart },
    baselineUpdate: { newest: updateNewest, afterRestart: updateAfterRestart },
  };
}
