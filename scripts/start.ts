/**
 * `npm start`: the whole stack on one machine. A Temporal development server (unless
 * TEMPORAL_ADDRESS names one), the Baton worker and the Baton API. Ctrl-C stops them all.
 */
import net from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp, DEMO_CREDENTIALS, emailListenerOf, UNAUTHENTICATED_WEBHOOK } from '../api/app';
import { closeGracefully } from '../api/shutdown';
import { createTemporalClient } from '../api/temporal';
import { ConfigError, loadConfig } from '../config/load';
import { metricsSettings, type MetricsSettings } from '../config/metrics-settings';
import type { BatonConfig } from '../config/schema';
import {
  loadSecrets,
  requireNoDemoCredentials,
  requireSecrets,
  requireWebhookAuth,
  type Secrets,
} from '../config/secrets';
import { installWorkerRuntime } from '../worker/metrics';
import { connectWorker, createBatonWorker } from '../worker/worker';
import { startDevServer, type DevServer } from './dev-server';
import { ensureTemporalCli, TemporalCliUnavailable } from './temporal-cli';

/** Why a server could not listen on host:port right now (what app.listen will try), if it could not. */
function cannotListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

function apiPortInUse(host: string, port: number, file: string): ConfigError {
  return new ConfigError(
    `port ${port} on ${host}, where the Baton API should listen, is already in use (another Baton ` +
      `may be running). Stop whatever holds the port, or start with PORT=<another port> npm start ` +
      `(or change api.port in ${file}).`,
  );
}

function splitAddress(address: string): { host: string; port: number } {
  const index = address.lastIndexOf(':');
  return { host: address.slice(0, index).replace(/^\[|\]$/g, ''), port: Number(address.slice(index + 1)) };
}

/** Start-up was asked to stop (Ctrl-C, or a part failed) and has stopped what it had started. */
class StartupAborted extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode: number,
  ) {
    super(`start-up aborted: ${reason}`);
  }
}

async function main(): Promise<void> {
  const { config, file, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  // Refused before anything starts: an open webhook nobody asked for, a secret not set, two
  // credentials with one token, the published demo tokens off loopback.
  requireWebhookAuth(config, file);
  requireSecrets(config, ['api', 'worker']);
  const secrets = loadSecrets(config);
  requireNoDemoCredentials(config, secrets, file);
  const dataDir = path.resolve(config.dataDir);

  const metrics = metricsSettings(config);
  const shutdown = config.shutdown;
  // The SDK would stop the worker on its own on SIGINT; this script stops everything in order instead.
  installWorkerRuntime({
    shutdownSignals: [],
    ...(metrics.workerListen ? { metricsListen: metrics.workerListen } : {}),
  });

  // Refuse taken ports before starting anything, with a message that says what to do.
  const temporalServer = process.env.TEMPORAL_ADDRESS
    ? undefined
    : {
        ...splitAddress(config.temporal.address),
        uiPort: Number(new URL(config.temporal.uiUrl).port || 8233),
      };
  if (temporalServer) {
    const { host, port, uiPort } = temporalServer;
    for (const p of [port, uiPort]) {
      if ((await cannotListen(host, p))?.code === 'EADDRINUSE') {
        throw new ConfigError(
          `port ${p} on ${host} is already in use. If a Temporal server is running there and Baton ` +
            `should use it, start with TEMPORAL_ADDRESS=${config.temporal.address} npm start; ` +
            'otherwise stop whatever holds the port.',
        );
      }
    }
  }
  if (config.api.port !== 0) {
    const err = await cannotListen(config.api.host, config.api.port);
    if (err?.code === 'EADDRINUSE') throw apiPortInUse(config.api.host, config.api.port, file);
    if (err) {
      throw new ConfigError(
        `the Baton API cannot listen on ${config.api.host}:${config.api.port}: ${err.message}`,
      );
    }
  }
  const cli = temporalServer ? await ensureTemporalCli() : undefined;

  // What is running so far. stop() takes down whatever of it exists, whatever stage start-up
  // reached, so a failure half-way leaves nothing behind (least of all the Temporal server).
  const up: {
    devServer?: DevServer;
    connection?: NativeConnection;
    worker?: Worker;
    workerRun?: Promise<void>;
    temporal?: Client;
    app?: FastifyInstance;
  } = {};

  let stopping: Promise<void> | undefined;
  /** Stops everything in order; each step on its own, so one failing does not skip the rest. Never rejects. */
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      console.log(`\n${reason}: stopping Baton…`);
      const step = async (what: string, action: () => unknown): Promise<void> => {
        try {
          await action();
        } catch (err) {
          console.error(`${what} failed:`, err);
        }
      };
      await step('Closing the API', () => up.app && closeGracefully(up.app, shutdown.api.graceTime));
      await step("Closing the API's Temporal connection", () => up.temporal?.connection.close());
      // shutdown() throws unless the worker is running; after a failure it has stopped already.
      await step('Stopping the worker', () => {
        if (up.worker?.getState() === 'RUNNING') up.worker.shutdown();
      });
      await step('Waiting for the worker', () =>
        up.workerRun?.catch((err: unknown) => console.error('worker stopped with an error:', err)),
      );
      await step("Closing the worker's Temporal connection", () => up.connection?.close());
      await step('Stopping the Temporal development server', () => up.devServer?.stop());
      console.log('Stopped.');
    })();
    return stopping;
  };

  // What must end Baton (Ctrl-C, a part that fails). During start-up it is noted, and acted on
  // once the current step is done, so that whatever that step creates is stopped too.
  let startedUp = false;
  let abort: StartupAborted | undefined;
  const end = (reason: string, exitCode: number): void => {
    if (!startedUp) {
      abort ??= new StartupAborted(reason, exitCode);
      return;
    }
    void stop(reason).then(() => {
      if (exitCode !== 0) process.exitCode = exitCode;
    });
  };
  const checkpoint = (): void => {
    if (abort) throw abort;
  };

  // Ctrl-C reaches this process twice (from the terminal and relayed by tsx and npm), so a
  // repeated signal must not fall back to Node's default of dying mid-shutdown. A third
  // one, while stopping, is someone insisting: leave at once (the development server is
  // killed on exit, see dev-server.ts).
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals >= 3 && (stopping || abort)) {
      console.error('Stopping at once.');
      up.devServer?.process.kill('SIGKILL');
      process.exit(130);
    }
    end(signal, startedUp ? 0 : signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let apiAddress: string;
  try {
    if (temporalServer && cli) {
      console.log('Starting the Temporal development server…');
      const devServer = await startDevServer({
        cli,
        ip: temporalServer.host,
        port: temporalServer.port,
        uiPort: temporalServer.uiPort,
        dbFile: path.join(dataDir, 'temporal.db'),
        namespace: config.temporal.namespace,
      });
      up.devServer = devServer;
      devServer.process.once('exit', (code) => {
        if (!stopping) {
          console.error(`The Temporal development server exited unexpectedly (code ${code}).`);
          end('Temporal server exit', 1);
        }
      });
      checkpoint();
    }

    up.connection = await connectWorker(config, secrets);
    checkpoint();
    up.worker = await createBatonWorker({
      config,
      secrets,
      connection: up.connection,
      shutdownGraceMs: shutdown.worker.graceTime,
    });
    up.workerRun = up.worker.run();
    // If the worker dies on its own, take everything down rather than run half a stack.
    up.workerRun.catch((err: unknown) => {
      console.error('The worker failed:', err);
      end('worker failure', 1);
    });
    checkpoint();

    up.temporal = createTemporalClient(config, secrets);
    up.app = await buildApp({
      config,
      secrets,
      temporal: up.temporal,
      metrics: metrics.api,
      logger: { level: config.api.logLevel },
    });
    checkpoint();
    try {
      apiAddress = await up.app.listen({ host: config.api.host, port: config.api.port });
    } catch (err) {
      // Taken since the check above (by another program starting at the same time).
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw apiPortInUse(config.api.host, config.api.port, file);
      }
      throw err;
    }
    checkpoint();
    startedUp = true;
  } catch (err) {
    await stop(abort?.reason ?? 'start-up failed');
    throw err;
  }

  console.log(
    [
      '',
      'Baton is running.',
      `  API            ${apiAddress}   (health: ${apiAddress}/healthz)`,
      `  Webhook        ${apiAddress}/webhooks/alertmanager   (${webhookAuthOf(config)})`,
      `  Temporal       ${config.temporal.address}${up.devServer ? ' (development server, state in ' + path.join(dataDir, 'temporal.db') + ')' : ''}`,
      `  Temporal UI    ${up.devServer?.uiUrl ?? config.temporal.uiUrl}`,
      `  Worker         task queue ${config.temporal.taskQueue}`,
      `  Configuration  ${file}`,
      ...credentialLines(secrets),
      ...emailLines(config, up.app),
      ...metricsLines(metrics, apiAddress),
      `  Outbox         ${path.join(dataDir, 'outbox')} (notifications without Slack or SMTP)`,
      `  Records        ${path.join(dataDir, 'incidents')}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (config.api.allowUnauthenticated) console.warn(`WARNING: ${UNAUTHENTICATED_WEBHOOK}`);
  if (secrets.demoCredentials.length > 0) console.warn(`WARNING: ${DEMO_CREDENTIALS}`);
}

function credentialLines(secrets: Secrets): string[] {
  if (secrets.demoCredentials.length === 0) return [];
  return [
    '  Credentials    DEMO CREDENTIALS (published tokens, loopback only; make real ones with npm run token):',
    ...secrets.demoCredentials.map((c) => `                 ${c}`),
  ];
}

function emailLines(config: BatonConfig, app: FastifyInstance | undefined): string[] {
  const email = config.notifications.email;
  if (!email) return [];
  const listener = app ? emailListenerOf(app) : undefined;
  return [
    `  Email out      smtp://${email.smtp.host}:${email.smtp.port} from ${email.from}${email.linkSecretEnv ? ' (with action links)' : ''}`,
    ...(listener
      ? [
          `  Email replies  smtp://${listener.host}:${listener.port} for reply+…@${email.replyDomain ?? '?'} (${email.inbound?.authentication ?? 'strict'})`,
        ]
      : []),
  ];
}

function metricsLines(metrics: MetricsSettings, apiAddress: string): string[] {
  return [
    ...(metrics.api.enabled
      ? [
          `  Metrics        ${apiAddress}/metrics (${metrics.api.tokenFrom ? `bearer token from ${metrics.api.tokenFrom}` : 'open: no token'})`,
        ]
      : []),
    ...(metrics.workerListen ? [`  Worker metrics http://${metrics.workerListen}/metrics`] : []),
  ];
}

function webhookAuthOf(config: BatonConfig): string {
  const auth = config.api.alertmanager;
  if (auth) return 'bearer' in auth ? 'bearer token required' : 'basic auth required';
  return 'NO AUTHENTICATION: accepts unauthenticated requests (api.allowUnauthenticated: true)';
}

main().catch((err: unknown) => {
  if (err instanceof StartupAborted) {
    process.exitCode = err.exitCode;
    return;
  }
  if (err instanceof ConfigError || err instanceof TemporalCliUnavailable) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
