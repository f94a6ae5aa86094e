/**
 * Everything a run needs, on free loopback ports and in a temporary folder: a Temporal
 * development server (in memory), the worker process (bench/worker-process.ts), Baton's API in
 * this process on a real HTTP port, and a Temporal client for the baselines. `close()` stops
 * it all in reverse order and removes the folder.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { parseConfig } from '../config/load';
import type { BatonConfig } from '../config/schema';
import { loadSecrets } from '../config/secrets';
import { startDevServer, type DevServer } from '../scripts/dev-server';
import { ensureTemporalCli } from '../scripts/temporal-cli';
import { testConfigInput } from '../test/support/config';
import { freePort } from '../test/support/ports';
import { WORKFLOWS_PATH } from '../worker/workflows-path';
import { spawnBenchWorker, type BenchWorker, type BenchWorkerSpec } from './worker-process';

export const MINIMAL_WORKFLOWS_PATH = fileURLToPath(new URL('./minimal-workflow.ts', import.meta.url));
export const MINIMAL_TASK_QUEUE = 'bench-minimal';
const WEBHOOK_TOKEN_ENV = 'BENCH_WEBHOOK_TOKEN';

export interface Bench {
  config: BatonConfig;
  /** http://127.0.0.1:<port> */
  apiUrl: string;
  webhookToken: string;
  /** Bearer tokens of the responders (alice, bob, carol, dave). */
  tokens: Record<string, string>;
  /** Where the outbox is (`<dataDir>/outbox`). */
  outboxDir: string;
  /** Where the baseline's activity writes its lines. */
  minimalDir: string;
  /** The benchmark's own client (baselines, histories); the API has its own. */
  client: Client;
  server: DevServer;
  worker: BenchWorker;
  /** Stops the worker process and starts a fresh one (an empty workflow cache). */
  restartWorker(): Promise<void>;
  close(): Promise<void>;
}

const quietBundler = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.error(message),
  error: (message: string) => console.error(message),
};

async function bundle(workflowsPath: string, file: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundler });
  writeFileSync(file, code);
  return file;
}

/** Starts everything; whatever started before a failure is stopped again. */
export async function startBench(
  log: (line: string) => void,
  options: { maxCachedIncidents?: number } = {},
): Promise<Bench> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error('bench clean-up failed:', err);
      }
    }
  };
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-bench-'));
    const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
    // Also on an exit that skips the clean-ups (Ctrl-C while starting).
    process.on('exit', removeDir);
    cleanups.push(() => {
      process.off('exit', removeDir);
      removeDir();
    });
    const dataDir = path.join(dir, 'data');
    const minimalDir = path.join(dir, 'minimal');
    mkdirSync(minimalDir, { recursive: true });

    const cli = await ensureTemporalCli(process.env, log);
    const started = Date.now();
    const server = await startDevServer({ cli, port: await freePort() });
    cleanups.push(() => server.stop());
    log(`Temporal dev server on ${server.address} (${Date.now() - started} ms)`);

    const bundled = Date.now();
    const [batonBundlePath, minimalBundlePath] = await Promise.all([
      bundle(WORKFLOWS_PATH, path.join(dir, 'baton-workflows.js')),
      bundle(MINIMAL_WORKFLOWS_PATH, path.join(dir, 'minimal-workflows.js')),
    ]);
    log(`workflow code bundled (${Date.now() - bundled} ms)`);

    const tokens = Object.fromEntries(
      ['alice', 'bob', 'carol', 'dave'].map((who) => [
        who,
        `bench-${who}-${randomBytes(12).toString('hex')}`,
      ]),
    );
    const webhookToken = `bench-webhook-${randomBytes(12).toString('hex')}`;
    const env: Record<string, string> = {
      TOKEN_ALICE: tokens.alice ?? '',
      TOKEN_BOB: tokens.bob ?? '',
      TOKEN_CAROL: tokens.carol ?? '',
      TOKEN_DAVE: tokens.dave ?? '',
      [WEBHOOK_TOKEN_ENV]: webhookToken,
    };
    // The tests' team, with every timer an hour or more: nothing fires during a run, so each
    // incident does its opening work and then waits, as a real one waits for its acknowledgement.
    const config = parseConfig(
      {
        ...testConfigInput(),
        dataDir,
        temporal: { address: server.address, namespace: 'default', taskQueue: 'baton-bench' },
        ...(options.maxCachedIncidents !== undefined
          ? { worker: { maxCachedIncidents: options.maxCachedIncidents } }
          : {}),
        api: {
          host: '127.0.0.1',
          port: 0,
          logLevel: 'info',
          alertmanager: { bearer: { tokenEnv: WEBHOOK_TOKEN_ENV } },
        },
      },
      'bench configuration',
    );

    const spec: BenchWorkerSpec = {
      address: server.address,
      namespace: config.temporal.namespace,
      config,
      env,
      batonBundlePath,
      minimalBundlePath,
      minimalTaskQueue: MINIMAL_TASK_QUEUE,
      minimalDir,
    };
    const workerStarted = Date.now();
    let worker = await spawnBenchWorker(spec);
    cleanups.push(() => worker.stop());
    log(`worker process ${worker.pid} polling (${Date.now() - workerStarted} ms)`);

    const secrets = loadSecrets(config, env);
    const temporal = createTemporalClient(config, secrets);
    cleanups.push(() => temporal.connection.close());
    // The API logs every request at info, as `npm start` does; the lines go nowhere.
    const devNull = createWriteStream('/dev/null');
    cleanups.push(() => new Promise<void>((resolve) => devNull.end(resolve)));
    const app: FastifyInstance = await buildApp({
      config,
      secrets,
      temporal,
      logger: { level: config.api.logLevel, stream: devNull },
    });
    cleanups.push(() => app.close());
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });

    return {
      config,
      apiUrl,
      webhookToken,
      tokens,
      outboxDir: path.join(dataDir, 'outbox'),
      minimalDir,
      client,
      server,
      get worker() {
        return worker;
      },
      async restartWorker() {
        await worker.stop();
        worker = await spawnBenchWorker(spec);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Resident memory of a process in MiB (VmRSS), or NaN once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 102.4) / 10 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, or NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds each process used while `run` ran: the worker, the Temporal server and this process. */
export async function cpuDuring<T>(
  bench: Bench,
  run: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShare }> {
  const pids = { worker: bench.worker.pid, server: bench.server.process.pid ?? -1 };
  const before = {
    worker: cpuSeconds(pids.worker),
    server: cpuSeconds(pids.server),
    self: process.cpuUsage(),
  };
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(before.self);
  return {
    result,
    cpu: {
      wallSeconds: round2(seconds),
      workerSeconds: round2(cpuSeconds(pids.worker) - before.worker),
      serverSeconds: round2(cpuSeconds(pids.server) - before.server),
      apiAndLoadSeconds: round2((self.user + self.system) / 1e6),
    },
  };
}

export interface CpuShare {
  wallSeconds: number;
  /** The worker process (Baton's worker and the minimal one). */
  workerSeconds: number;
  /** The Temporal development server. */
  serverSeconds: number;
  /** This process: Baton's API and the load generator. */
  apiAndLoadSeconds: number;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Waits until the worker and the server have been nearly idle (under 5% of a core each) for
 * a second, so that one phase's tail does not run into the next's figures.
 */
export async function settle(bench: Bench, maxMs = 30_000): Promise<number> {
  const started = Date.now();
  let quiet = 0;
  while (Date.now() - started < maxMs) {
    const pids = [bench.worker.pid, bench.server.process.pid ?? -1];
    const before = pids.map(cpuSeconds);
    await sleep(250);
    const busy = pids.map((pid, i) => (cpuSeconds(pid) - (before[i] ?? 0)) / 0.25);
    quiet = busy.every((share) => share < 0.05) ? quiet + 1 : 0;
    if (quiet >= 4) break;
  }
  return Date.now() - started;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
