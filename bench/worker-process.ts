/**
 * The worker process of the benchmark: Baton's worker (createBatonWorker, as `npm run
 * start:worker` builds it) and the baseline's minimal worker on a task queue of its own, side
 * by side in one process, so both pay for the same event loop and the same cores. Its
 * resident memory is read from outside (/proc/<pid>/status); it answers `memory` over IPC
 * with its heap figures too. Started by `spawnBenchWorker` with its setup in BATON_BENCH_WORKER.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { createBatonWorker } from '../worker/worker';
import { createMinimalActivities } from './minimal-activities';

export interface BenchWorkerSpec {
  address: string;
  namespace: string;
  config: BatonConfig;
  /** Where the configuration's secrets come from (responder tokens). */
  env: Record<string, string>;
  batonBundlePath: string;
  minimalBundlePath: string;
  minimalTaskQueue: string;
  minimalDir: string;
}

export interface WorkerSettings {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentActivityTaskExecutions: number;
  heapLimitMiB: number;
}

type FromWorker =
  | { type: 'ready'; baton: WorkerSettings; minimal: WorkerSettings }
  | { type: 'memory'; usage: NodeJS.MemoryUsage };

export interface BenchWorker {
  pid: number;
  settings: { baton: WorkerSettings; minimal: WorkerSettings };
  /** Why the process ended, while the benchmark still needed it (undefined while it runs). */
  died(): string | undefined;
  /** The process's main-thread heap figures, as it sees them (workflows run in worker threads). */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Stops it the way a deployment does (SIGTERM: the SDK shuts the workers down). */
  stop(): Promise<void>;
}

/** Starts the worker process and resolves once both workers poll. */
export async function spawnBenchWorker(spec: BenchWorkerSpec): Promise<BenchWorker> {
  // BATON_BENCH_PROFILE=<dir> writes CPU profiles of the worker process (main thread and the
  // workflow threads) there, to see where its time goes.
  const profile = process.env.BATON_BENCH_PROFILE;
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...profiling, '--import', 'tsx', fileURLToPath(import.meta.url)],
    {
      env: { ...process.env, BATON_BENCH_WORKER: JSON.stringify(spec) },
      // stdout carries Baton's activity log (one JSON line per notification): discarded, as a
      // deployment's log shipper would take it. stderr is kept for an error report.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let tail: string[] = [];
  let stopping = false;
  let death: string | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = [...tail, ...chunk.toString('utf8').split('\n').filter(Boolean)].slice(-40);
  });
  // Whatever ends the benchmark (an error, process.exit after Ctrl-C) takes the worker with it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killOnExit);
      if (!stopping) death = `the worker process exited with ${String(code)}:\n${tail.join('\n')}`;
      resolve(code);
    }),
  );
  const ready = await new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'ready') {
        child.off('message', onMessage);
        resolve(message);
      }
    };
    child.on('message', onMessage);
    void exited.then((code) =>
      reject(new Error(`the worker process exited with ${String(code)}:\n${tail.join('\n')}`)),
    );
  });
  return {
    pid: child.pid ?? -1,
    died: () => death,
    settings: { baton: ready.baton, minimal: ready.minimal },
    memory: () =>
      new Promise((resolve, reject) => {
        const onMessage = (message: FromWorker): void => {
          if (message.type !== 'memory') return;
          child.off('message', onMessage);
          resolve(message.usage);
        };
        child.on('message', onMessage);
        if (!child.send({ type: 'memory' })) reject(new Error('the worker process is gone'));
      }),
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function settingsOf(worker: Worker): WorkerSettings {
  const { options } = worker;
  return {
    maxCachedWorkflows: options.maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions ?? -1,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? -1,
    // The SDK sizes its default cache from the heap limit.
    heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
  };
}

async function main(spec: BenchWorkerSpec): Promise<void> {
  const connection = await NativeConnection.connect({ address: spec.address });
  const baton = await createBatonWorker({
    config: spec.config,
    secrets: loadSecrets(spec.config, spec.env),
    connection,
    workflowBundle: { codePath: spec.batonBundlePath },
  });
  const minimal = await Worker.create({
    connection,
    namespace: spec.namespace,
    taskQueue: spec.minimalTaskQueue,
    // The same cache as Baton's worker, so that the open-workflows baseline keeps as many.
    maxCachedWorkflows: baton.options.maxCachedWorkflows,
    workflowBundle: { codePath: spec.minimalBundlePath },
    activities: createMinimalActivities(spec.minimalDir),
  });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'memory') process.send?.({ type: 'memory', usage: process.memoryUsage() });
  });
  const running = Promise.all([baton.run(), minimal.run()]);
  process.send?.({ type: 'ready', baton: settingsOf(baton), minimal: settingsOf(minimal) });
  await running;
  await connection.close();
  // The IPC channel would keep the process alive after the workers stopped.
  process.disconnect?.();
}

const setup = process.env.BATON_BENCH_WORKER;
if (setup && process.argv[1] === fileURLToPath(import.meta.url)) {
  main(JSON.parse(setup) as BenchWorkerSpec).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
