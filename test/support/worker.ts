import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import type { OutboxEntry } from '../../activities/outbox';
import type { RetryPolicy } from '../../activities/retry';
import type { BatonConfig } from '../../config/schema';
import { loadSecrets } from '../../config/secrets';
import { createBatonWorker } from '../../worker/worker';

let runtimeInstalled = false;

/** The SDK's runtime with a quiet logger; before anything else of the SDK's runs in this process. */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export interface TestWorker {
  client: Client;
  taskQueue: string;
  dataDir: string;
  config: BatonConfig;
  outbox(incidentId: string): OutboxEntry[];
  /** What the worker's activities logged. */
  logs: { message: string; fields: Record<string, unknown> }[];
  stop(): Promise<void>;
}

export interface TestWorkerOptions {
  /** Each send's deadline in the notification activities. */
  sendTimeoutMs?: number;
  /** Retries of each notification target (attempts, backoff, budget), in milliseconds for tests. */
  retry?: Partial<RetryPolicy>;
  /** Runs once the data folder exists, before the worker starts (to prepare broken disks). */
  beforeStart?: (dataDir: string) => void;
  /** Poll this task queue instead of a fresh one (a second worker taking over incidents). */
  taskQueue?: string;
  /** Another Temporal server than the run's shared one (test/support/own-temporal.ts). */
  address?: string;
}

/**
 * A Baton worker on its own task queue and data folder, against the run's Temporal server.
 * `env` is where its secrets come from (the Slack bot token, the SMTP password); none by default.
 */
export async function startTestWorker(
  config: BatonConfig,
  name: string,
  env: NodeJS.ProcessEnv = {},
  options: TestWorkerOptions = {},
): Promise<TestWorker> {
  installTestRuntime();
  const address = options.address ?? inject('temporalAddress');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `baton-${name}-`));
  options.beforeStart?.(dataDir);
  const logs: TestWorker['logs'] = [];
  const taskQueue = options.taskQueue ?? `${name}-${Date.now()}`;
  const workerConfig: BatonConfig = { ...config, dataDir };
  const connection = await NativeConnection.connect({ address });
  const worker = await createBatonWorker({
    config: workerConfig,
    secrets: loadSecrets(workerConfig, env),
    connection,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    taskQueue,
    log: (message, fields) => logs.push({ message, fields }),
    ...(options.sendTimeoutMs !== undefined ? { sendTimeoutMs: options.sendTimeoutMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection });
  return {
    client,
    taskQueue,
    dataDir,
    config: workerConfig,
    logs,
    outbox(incidentId) {
      const file = path.join(dataDir, 'outbox', `${incidentId}.jsonl`);
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as OutboxEntry);
    },
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await clientConnection.close();
    },
  };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs}ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
