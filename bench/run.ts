/**
 * `npm run bench [-- --quick] [--groups N] [--concurrency C] [--quiet Q] [--open K] [--cache N] [--json FILE]`
 *
 * Measures Baton against a baseline run in the same processes at the same time: a minimal
 * workflow (signal-with-start, one activity appending one line, a timer) on the same Temporal
 * server and in the same worker process. Prints a table, and the figures as JSON (to stdout,
 * or to FILE with --json, the table then going to stdout).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { rssMiB, settle, startBench, type Bench } from './harness';
import { batonSide, minimalSide } from './load';
import { runOpenIncidents, type OpenResult } from './open-incidents';
import { runQuietSide, type QuietResult } from './quiet';
import { renderReport } from './report';
import { runSteps, type StepsResult } from './steps';
import { runStormSide, type StormResult } from './storm';
import type { WorkerSettings } from './worker-process';

export interface BenchOptions {
  quick: boolean;
  groups: number;
  concurrency: number;
  quiet: number;
  open: number;
  /** Histories read for each breakdown. */
  breakdownSample: number;
  /** Requests in each get/acknowledge sample of the open-incidents phase. */
  openSample: number;
  /** The worker's incident cache (worker.maxCachedIncidents); the configuration's default when not given. */
  cache?: number;
}

export interface BenchResult {
  startedAt: number;
  durationMs: number;
  options: BenchOptions;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  worker: { baton: WorkerSettings; minimal: WorkerSettings };
  workerIdleRssMiB: number;
  storm?: { baton: StormResult; baseline: StormResult };
  quiet?: { baton: QuietResult; baseline: QuietResult };
  steps?: StepsResult;
  open?: OpenResult;
}

const USAGE = `usage: npm run bench -- [--quick] [--groups N] [--concurrency C] [--quiet Q] [--open K] [--cache N] [--json FILE]
  --quick         40 groups, 10 quiet alerts, 200 open incidents (under two minutes)
  --groups N      alert groups in the storm (default 300)
  --concurrency C concurrent webhook senders (default 16)
  --quiet Q       alerts sent one at a time (default 30)
  --open K        incidents left open for the memory and eviction phase (default 5000; 0 skips it)
  --cache N       the worker's incident cache (worker.maxCachedIncidents; default: the configuration's)
  --json FILE     write the figures to FILE (otherwise JSON goes to stdout, the table to stderr)`;

function positive(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} takes a whole number of at least ${min}, not "${text}"\n${USAGE}`);
  }
  return value;
}

function parseOptions(argv: string[]): { options: BenchOptions; json?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      groups: { type: 'string' },
      concurrency: { type: 'string' },
      quiet: { type: 'string' },
      open: { type: 'string' },
      cache: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  return {
    options: {
      quick,
      groups: positive('groups', values.groups, quick ? 40 : 300),
      concurrency: positive('concurrency', values.concurrency, 16),
      quiet: positive('quiet', values.quiet, quick ? 10 : 30),
      open: positive('open', values.open, quick ? 200 : 5000, 0),
      breakdownSample: 20,
      openSample: quick ? 10 : 20,
      ...(values.cache !== undefined ? { cache: positive('cache', values.cache, 0) } : {}),
    },
    ...(values.json ? { json: values.json } : {}),
  };
}

const log = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

async function measure(bench: Bench, options: BenchOptions, startedAt: number): Promise<BenchResult> {
  await settle(bench);
  const result: BenchResult = {
    startedAt,
    durationMs: 0,
    options,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
    },
    worker: bench.worker.settings,
    workerIdleRssMiB: rssMiB(bench.worker.pid),
  };

  log(`storm: ${options.groups} groups × 2 at ${options.concurrency} concurrent, baseline first`);
  const stormOptions = {
    groups: options.groups,
    concurrency: options.concurrency,
    sample: options.breakdownSample,
  };
  const stormBaseline = await runStormSide(bench, minimalSide(bench, 'storm'), stormOptions);
  const stormBaton = await runStormSide(bench, batonSide(bench, 'bench-storm'), stormOptions);
  result.storm = { baton: stormBaton, baseline: stormBaseline };

  log(`quiet: ${options.quiet} alerts one at a time, baseline first`);
  const quietBaseline = await runQuietSide(bench, minimalSide(bench, 'quiet'), options.quiet);
  const quietBaton = await runQuietSide(bench, batonSide(bench, 'bench-quiet'), options.quiet);
  result.quiet = { baton: quietBaton, baseline: quietBaseline };

  log(`steps: acknowledge, assessment, note and get on the ${options.quiet} quiet incidents`);
  result.steps = await runSteps(bench, quietBaton.ids, quietBaseline.ids);

  if (options.open > 0) {
    log(`open incidents: ${options.open} minimal workflows, then ${options.open} incidents`);
    result.open = await runOpenIncidents(
      bench,
      { baton: batonSide(bench, 'bench-open'), baseline: minimalSide(bench, 'open') },
      { incidents: options.open, concurrency: options.concurrency, sample: options.openSample },
    );
  }
  result.durationMs = Date.now() - startedAt;
  return result;
}

async function main(): Promise<void> {
  const { options, json } = parseOptions(process.argv.slice(2));
  const startedAt = Date.now();
  const running: { bench?: Bench } = {};
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the worker, the API and the Temporal server…`);
    // Without a bench yet, exit handlers stop what started (the server, the worker process).
    void (running.bench?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const bench = await startBench(
    log,
    options.cache !== undefined ? { maxCachedIncidents: options.cache } : {},
  );
  running.bench = bench;
  let result: BenchResult;
  try {
    result = await measure(bench, options, startedAt);
  } finally {
    if (!stopping) await bench.close();
  }
  const report = renderReport(result);
  const figures = `${JSON.stringify(result, null, 2)}\n`;
  if (json) {
    writeFileSync(json, figures);
    process.stdout.write(report);
    log(`figures written to ${json}`);
  } else {
    process.stderr.write(report);
    process.stdout.write(figures);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
