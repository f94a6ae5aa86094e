/** The readable table of a run: each figure beside its baseline and the ratio of the two. */
import type { BenchResult } from './run';
import { STAGES, type Stage } from './load';
import { ratio, type Summary } from './stats';
import type { TimedSummary } from './steps';

type Cell = string | number | undefined;

function cell(value: Cell): string {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '–';
  return String(value);
}

function table(title: string, head: string[], rows: Cell[][]): string {
  const all = [head, ...rows.map((r) => r.map(cell))];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [title, line(head), line(widths.map((w) => '-'.repeat(w))), ...all.slice(1).map(line)].join('\n');
}

const HEAD = ['', 'Baton', 'baseline', 'ratio'];

/** p50 and p99 rows of a latency pair, the ratio of each. */
function latency(label: string, baton: Summary, baseline: Summary): Cell[][] {
  return [
    [`${label} p50 (ms)`, baton.p50, baseline.p50, ratio(baton.p50, baseline.p50)],
    [`${label} p99 (ms)`, baton.p99, baseline.p99, ratio(baton.p99, baseline.p99)],
  ];
}

const STAGE_LABELS: Record<Stage, string> = {
  webhookAnswered: 'webhook answered (baseline: signal-with-start returned)',
  workflowStarted: 'workflow started (WorkflowExecutionStarted)',
  firstWorkflowTaskCompleted: 'first workflow task completed',
  policyActivityCompleted: 'policy activity completed (Baton, before pageFirst)',
  pageActivityScheduled: 'page activity scheduled',
  pageActivityStarted: 'page activity started',
  pageWritten: 'page written (baseline: line written)',
};

export function renderReport(result: BenchResult): string {
  const { storm, quiet, steps, open, machine, options } = result;
  const parts: string[] = [];
  parts.push(
    [
      `Baton benchmark (${options.quick ? 'quick' : 'full'}), ${new Date(result.startedAt).toISOString()}, ${Math.round(result.durationMs / 1000)} s`,
      `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, node ${machine.node}, ${machine.platform}`,
      `processes: Temporal dev server (in memory) | worker process (Baton's worker + the minimal worker, ` +
        `a cache of ${result.worker.baton.maxCachedWorkflows} workflows each; heap limit ${result.worker.baton.heapLimitMiB} MiB) | ` +
        `this process (Baton's API over HTTP + the load generator)`,
      `worker RSS idle at start: ${result.workerIdleRssMiB} MiB`,
    ].join('\n'),
  );

  if (storm) {
    const { baton, baseline } = storm;
    parts.push(
      table(
        `STORM: ${baton.groups} alert groups × 2 sends, ${options.concurrency} concurrent senders (baseline: signal-with-start of the minimal workflow)`,
        HEAD,
        [
          [
            'sends/s',
            baton.sendsPerSecond,
            baseline.sendsPerSecond,
            ratio(baton.sendsPerSecond, baseline.sendsPerSecond),
          ],
          ...latency('answer', baton.answerMs, baseline.answerMs),
          [
            'failed sends / retried',
            `${baton.failedSends}/${baton.retriedSends}`,
            `${baseline.failedSends}/${baseline.retriedSends}`,
          ],
          [`executions opened (expect ${baton.groups})`, baton.opened, baseline.opened],
          ['with a first page / line', baton.withEntry, baseline.withEntry],
          ['with exactly one page / line', baton.exactlyOne, baseline.exactlyOne],
          ...latency('alert → first page', baton.alertToEntryMs, baseline.alertToEntryMs),
          [
            'last first page after (ms)',
            baton.lastEntryAfterMs,
            baseline.lastEntryAfterMs,
            ratio(baton.lastEntryAfterMs, baseline.lastEntryAfterMs),
          ],
          [
            'CPU s: worker process',
            baton.cpu.workerSeconds,
            baseline.cpu.workerSeconds,
            ratio(baton.cpu.workerSeconds, baseline.cpu.workerSeconds),
          ],
          [
            'CPU s: Temporal server',
            baton.cpu.serverSeconds,
            baseline.cpu.serverSeconds,
            ratio(baton.cpu.serverSeconds, baseline.cpu.serverSeconds),
          ],
          [
            'CPU s: API + load generator',
            baton.cpu.apiAndLoadSeconds,
            baseline.cpu.apiAndLoadSeconds,
            ratio(baton.cpu.apiAndLoadSeconds, baseline.cpu.apiAndLoadSeconds),
          ],
          [
            'wall s (sends + until the last page)',
            baton.cpu.wallSeconds,
            baseline.cpu.wallSeconds,
            ratio(baton.cpu.wallSeconds, baseline.cpu.wallSeconds),
          ],
        ],
      ),
    );
    parts.push(
      breakdownTable(`WHERE THE TIME GOES (storm)`, storm.baton.breakdown, storm.baseline.breakdown),
    );
  }

  if (quiet) {
    const { baton, baseline } = quiet;
    parts.push(
      table(`QUIET: ${baton.alerts} alerts, one at a time`, HEAD, [
        ...latency('answer', baton.answerMs, baseline.answerMs),
        ...latency('alert → page', baton.alertToEntryMs, baseline.alertToEntryMs),
        [
          'with a page / exactly one',
          `${baton.withEntry}/${baton.exactlyOne}`,
          `${baseline.withEntry}/${baseline.exactlyOne}`,
        ],
      ]),
    );
    parts.push(breakdownTable(`WHERE THE TIME GOES (quiet)`, baton.breakdown, baseline.breakdown));
  }

  if (steps) {
    const b = steps.baseline;
    parts.push(
      table(
        `STEPS through the API, one at a time on ${steps.incidents} incidents (baseline: bare update/query/signal on the minimal workflow)`,
        ['', 'Baton', 'baseline', 'ratio'],
        [
          ...latency('acknowledge vs update', steps.acknowledge, b.update),
          ...latency('acknowledge vs update+query', steps.acknowledge, b.updateThenQuery),
          ...latency('assessment vs update', steps.assessment, b.update),
          ...latency('note (signal, 202) vs signal', steps.note, b.signal),
          ...latency('get vs query', steps.get, b.query),
          [
            'failed requests',
            steps.acknowledge.failed + steps.assessment.failed + steps.note.failed + steps.get.failed,
            b.update.failed + b.query.failed + b.signal.failed,
          ],
        ],
      ),
    );
  }

  if (open) {
    const { baton, baseline } = open;
    parts.push(
      table(
        `OPEN INCIDENTS: ${open.incidents} incidents waiting on their timers (baseline: as many minimal workflows waiting on a timer)`,
        HEAD,
        [
          [
            'opened / with a page / exactly one',
            `${baton.opened}/${baton.withEntry}/${baton.exactlyOne}`,
            `${baseline.opened}/${baseline.withEntry}/${baseline.exactlyOne}`,
          ],
          [
            'sends/s (one send each)',
            baton.sendsPerSecond,
            baseline.sendsPerSecond,
            ratio(baton.sendsPerSecond, baseline.sendsPerSecond),
          ],
          [
            'all written after (ms)',
            baton.allWrittenAfterMs,
            baseline.allWrittenAfterMs,
            ratio(baton.allWrittenAfterMs, baseline.allWrittenAfterMs),
          ],
          ...latency('alert → page', baton.alertToEntryMs, baseline.alertToEntryMs),
          [
            'idle again after the last page (ms)',
            baton.settledAfterMs,
            baseline.settledAfterMs,
            ratio(baton.settledAfterMs, baseline.settledAfterMs),
          ],
          ['worker RSS after (MiB)', baton.memoryAfter.rssMiB, baseline.memoryAfter.rssMiB],
          [
            'worker RSS added per 1,000 (MiB)',
            baton.rssPerThousandMiB,
            baseline.rssPerThousandMiB,
            ratio(baton.rssPerThousandMiB, baseline.rssPerThousandMiB),
          ],
          [
            'CPU s: worker process',
            baton.cpu.workerSeconds,
            baseline.cpu.workerSeconds,
            ratio(baton.cpu.workerSeconds, baseline.cpu.workerSeconds),
          ],
        ],
      ),
    );
    parts.push(
      [
        `worker RSS: ${open.memoryBefore.rssMiB} MiB before the phase → ${baseline.memoryAfter.rssMiB} with ${open.incidents} minimal workflows → ` +
          `${baton.memoryAfter.rssMiB} with ${open.incidents} incidents more (main-thread heap ${baton.memoryAfter.heapUsedMiB} MiB; ` +
          `${open.incidentsOpenInWorker} incidents open in all, cache ${open.maxCachedWorkflows}) → ` +
          `${open.memoryAfterRestart.rssMiB} after a restart → ${open.memoryAfterColdSamples.rssMiB} after the cold samples`,
      ].join('\n'),
    );
    const oldest = open.oldestEvicted ? 'oldest (evicted)' : 'oldest (still cached)';
    parts.push(
      table(
        `GET / ACKNOWLEDGE on open incidents, ${options.openSample} requests each (baseline: bare query / update on the minimal workflow)`,
        ['', 'Baton p50', 'p99', 'failed', 'baseline p50', 'p99', 'ratio p99'],
        [
          sampleRow('get: newest (cached)', open.get.newest, open.baselineQuery.newest),
          sampleRow(`get: ${oldest}`, open.get.oldest, open.baselineQuery.newest),
          sampleRow('get: after a worker restart', open.get.afterRestart, open.baselineQuery.afterRestart),
          sampleRow('ack: newest (cached)', open.acknowledge.newest, open.baselineUpdate.newest),
          sampleRow(`ack: ${oldest}`, open.acknowledge.oldest, open.baselineUpdate.newest),
          sampleRow(
            'ack: after a worker restart',
            open.acknowledge.afterRestart,
            open.baselineUpdate.afterRestart,
          ),
        ],
      ),
    );
  }
  return `${parts.join('\n\n')}\n`;
}

function sampleRow(label: string, baton: TimedSummary, baseline: TimedSummary): Cell[] {
  return [
    label,
    baton.p50,
    baton.p99,
    baton.failed,
    baseline.p50,
    baseline.p99,
    ratio(baton.p99, baseline.p99),
  ];
}

function breakdownTable(
  title: string,
  baton: {
    sinceAlert: Partial<Record<Stage, Summary>>;
    sampled: number;
    workflowTasksBeforePage: number;
    activitiesBeforePage: number;
  },
  baseline: {
    sinceAlert: Partial<Record<Stage, Summary>>;
    workflowTasksBeforePage: number;
    activitiesBeforePage: number;
  },
): string {
  const rows: Cell[][] = STAGES.map((stage) => {
    const b = baton.sinceAlert[stage];
    const m = baseline.sinceAlert[stage];
    return [STAGE_LABELS[stage], b?.p50, b?.p99, m?.p50, m?.p99];
  });
  rows.push([
    'workflow tasks before the page started',
    baton.workflowTasksBeforePage,
    '',
    baseline.workflowTasksBeforePage,
    '',
  ]);
  rows.push([
    'activities scheduled before the page',
    baton.activitiesBeforePage,
    '',
    baseline.activitiesBeforePage,
    '',
  ]);
  return table(
    `${title}: ms since the alert's first send, histories of ${baton.sampled} executions`,
    ['stage', 'Baton p50', 'p99', 'baseline p50', 'p99'],
    rows,
  );
}
