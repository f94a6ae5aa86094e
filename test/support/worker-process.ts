/**
 * One Baton worker in a process of its own, so that a test can kill it with SIGKILL the way
 * a machine dies: no shutdown, no last heartbeat. Started by `spawnWorker` below with its
 * whole setup in the BATON_TEST_WORKER environment variable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { BatonConfig } from '../../config/schema';
import { loadSecrets } from '../../config/secrets';
import { createBatonWorker } from '../../worker/worker';

interface WorkerSpec {
  address: string;
  taskQueue: string;
  bundlePath: string;
  config: BatonConfig;
  env: Record<string, string>;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** When it said it was polling. */
  readyAt: number;
  /** Ends it at once, as a crash would. */
  kill(): Promise<void>;
}

/** Starts a worker process and resolves once it polls its task queue. */
export async function spawnWorker(spec: WorkerSpec): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, BATON_TEST_WORKER: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('worker polling')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`the worker process exited with ${String(code)}: ${output}`)),
    );
  });
  return {
    child,
    readyAt: Date.now(),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function main(spec: WorkerSpec): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: spec.address });
  const worker = await createBatonWorker({
    config: spec.config,
    secrets: loadSecrets(spec.config, spec.env),
    connection,
    workflowBundle: { codePath: spec.bundlePath },
    taskQueue: spec.taskQueue,
    log: () => undefined,
  });
  const running = worker.run();
  console.log('worker polling');
  await running;
}

const setup = process.env.BATON_TEST_WORKER;
if (setup && process.argv[1] === fileURLToPath(import.meta.url)) {
  main(JSON.parse(setup) as WorkerSpec).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
