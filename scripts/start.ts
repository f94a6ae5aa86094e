/**
 * `npm start`: the whole stack on one machine. A Temporal development server (unless
 * TEMPORAL_ADDRESS names one), the Baton worker and the Baton API. Ctrl-C stops them all.
 */
import net from 'node:net';
import path from 'node:path';
import { Runtime } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { createTemporalClient } from '../api/temporal';
import { ConfigError, loadConfig } from '../config/load';
import { loadSecrets } from '../config/secrets';
import { connectWorker, createBatonWorker } from '../worker/worker';
import { startDevServer, type DevServer } from './dev-server';
import { ensureTemporalCli, TemporalCliUnavailable } from './temporal-cli';

function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function splitAddress(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(':');
  return { host: address.slice(0, index).replace(/^\[|\]$/g, ''), port: Number(address.slice(index + 1)) };
}

async function main(): Promise<void> {
  const { config, file } = loadConfig();
  const secrets = loadSecrets(config);
  for (const missing of secrets.missing) console.warn(`warning: no token for ${missing}`);
  const dataDir = path.resolve(config.dataDir);

  // The SDK would stop the worker on its own on SIGINT; this script stops everything in order instead.
  Runtime.install({ shutdownSignals: [] });

  let devServer: DevServer | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    const { host, port } = splitAddress(config.temporal.address);
    const uiPort = Number(new URL(config.temporal.uiUrl).port || 8233);
    for (const p of [port, uiPort]) {
      if (await portInUse(host, p)) {
        throw new ConfigError(
          `port ${p} on ${host} is already in use. If a Temporal server is running there and Baton ` +
            `should use it, start with TEMPORAL_ADDRESS=${config.temporal.address} npm start; ` +
            'otherwise stop whatever holds the port.',
        );
      }
    }
    const cli = await ensureTemporalCli();
    console.log('Starting the Temporal development server…');
    devServer = await startDevServer({
      cli,
      ip: host,
      port,
      uiPort,
      dbFile: path.join(dataDir, 'temporal.db'),
      namespace: config.temporal.namespace,
    });
  }

  const connection = await connectWorker(config, secrets);
  const worker = await createBatonWorker({ config, secrets, connection });
  const workerRun = worker.run();

  const temporal = createTemporalClient(config, secrets);
  const app = await buildApp({ config, secrets, temporal, logger: { level: config.api.logLevel } });
  const apiAddress = await app.listen({ host: config.api.host, port: config.api.port });

  console.log(
    [
      '',
      'Baton is running.',
      `  API            ${apiAddress}   (health: ${apiAddress}/healthz)`,
      `  Temporal       ${config.temporal.address}${devServer ? ' (development server, state in ' + path.join(dataDir, 'temporal.db') + ')' : ''}`,
      `  Temporal UI    ${devServer?.uiUrl ?? config.temporal.uiUrl}`,
      `  Worker         task queue ${config.temporal.taskQueue}`,
      `  Configuration  ${file}`,
      `  Outbox         ${path.join(dataDir, 'outbox')} (notifications without Slack or SMTP)`,
      `  Records        ${path.join(dataDir, 'incidents')}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Baton…`);
    await app.close();
    await temporal.connection.close();
    worker.shutdown();
    await workerRun.catch((err: unknown) => console.error('worker stopped with an error:', err));
    await connection.close();
    await devServer?.stop();
    console.log('Stopped.');
  };
  // Ctrl-C reaches this process twice (from the terminal and relayed by tsx and npm), so a
  // repeated signal must not fall back to Node's default of dying mid-shutdown. A third
  // one, while stopping, is someone insisting: stop the server and leave at once.
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    if (signals >= 3 && stopping) {
      console.error('Stopping at once.');
      devServer?.process.kill('SIGKILL');
      process.exit(130);
    }
    void stop(signal);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Whatever ends this process, the development server must not outlive it.
  process.on('exit', () => {
    if (devServer && devServer.process.exitCode === null) devServer.process.kill('SIGKILL');
  });
  // If the worker dies on its own, take everything down rather than run half a stack.
  workerRun.catch(async (err: unknown) => {
    console.error('The worker failed:', err);
    await stop('worker failure');
    process.exitCode = 1;
  });
  devServer?.process.once('exit', (code) => {
    if (!stopping) {
      console.error(`The Temporal development server exited unexpectedly (code ${code}).`);
      void stop('Temporal server exit').then(() => {
        process.exitCode = 1;
      });
    }
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof TemporalCliUnavailable) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
