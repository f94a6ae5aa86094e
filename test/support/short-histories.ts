import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { BatonConfig } from '../../config/schema';
import { loadSecrets } from '../../config/secrets';
import { startDevServer } from '../../scripts/dev-server';
import { createBatonWorker } from '../../worker/worker';
import { freePort } from './ports';

export interface ShortHistories {
  client: Client;
  address: string;
  taskQueue: string;
  stop(): Promise<void>;
}

/**
 * A Temporal server of its own that suggests continue-as-new after a few dozen events, with
 * a Baton worker on it, so a short incident moves to new runs the way a months-long one would.
 */
export async function startShortHistories(config: BatonConfig, taskQueue: string): Promise<ShortHistories> {
  const server = await startDevServer({
    cli: inject('temporalCli'),
    port: await freePort(),
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
  });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createBatonWorker({
    config: { ...config, dataDir: mkdtempSync(path.join(os.tmpdir(), `baton-${taskQueue}-`)) },
    secrets: loadSecrets(config, {}),
    connection: workerConnection,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    taskQueue,
    log: () => undefined,
  });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: server.address });
  return {
    client: new Client({ connection: clientConnection }),
    address: server.address,
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await workerConnection.close();
      await clientConnection.close();
      await server.stop();
    },
  };
}
