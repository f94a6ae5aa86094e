/**
 * `npm start`: the whole stack on one machine. A Temporal development server (unless
 * TEMPORAL_ADDRESS names one), the Baton worker and the Baton API. Ctrl-C stops them all.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp, DEMO_CREDENTIALS, emailListenerOf, UNAUTHENTICATED_WEBHOOK } from '../api/app';
import { syncTeamMembershipOnListen } from '../api/membership-sync';
import { startScheduleWorkflowsOnListen } from '../api/schedule-workflows';
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
import { explainTemporalConnectionFailure } from '../config/temporal';
import { requireTemporalTls } from '../config/temporal-tls';
import { installWorkerRuntime } from '../worker/metrics';
import { connectWorker, createBatonWorker } from '../worker/worker';
import { startDevServer, type DevServer } from './dev-server';
import { Lifecycle, StartupAborted, stopStep } from './lifecycle';
import { listenError } from './ports';
import { ensureTemporalCli, TemporalCliUnavailable } from './temporal-cli';

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

async function main(): Promise<void> {
  const { config, file, warnings } = loadConfig();
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  // Refused before anything starts: an open webhook nobody asked for, a secret not set, two
  // credentials with one token, the published demo tokens off loopback.
  requireWebhookAuth(config, file);
  requireSecrets(config, ['api', 'worker']);
  requireTemporalTls(config);
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
  if (temporalServer && (config.temporal.tls || secrets.temporalApiKey)) {
    // The development server speaks plain gRPC: TLS settings or an API key meant for a remote
    // server (often left in the shell for the Temporal CLI) would fail every connection to it.
    const what = [
      ...(config.temporal.tls ? ['TLS (temporal.tls, or TEMPORAL_TLS*)'] : []),
      ...(secrets.temporalApiKey
        ? [`an API key (${config.temporal.apiKeyEnv ?? 'temporal.apiKeyEnv'})`]
        : []),
    ];
    throw new ConfigError(
      `npm start runs its own Temporal development server, which speaks plain gRPC, but ${what.join(' and ')} ` +
        `${what.length > 1 ? 'are' : 'is'} configured for Temporal. Set TEMPORAL_ADDRESS to the server ` +
        `${what.length > 1 ? 'they are' : 'it is'} meant for, or unset ${what.length > 1 ? 'them' : 'it'} ` +
        '(TEMPORAL_TLS=false turns off TLS that the configuration file sets).',
    );
  }
  if (temporalServer) {
    const { host, port, uiPort } = temporalServer;
    for (const p of [port, uiPort]) {
      if ((await listenError(host, p))?.code === 'EADDRINUSE') {
        throw new ConfigError(
          `port ${p} on ${host} is already in use. If a Temporal server is running there and Baton ` +
            `should use it, start with TEMPORAL_ADDRESS=${config.temporal.address} npm start; ` +
            'otherwise stop whatever holds the port.',
        );
      }
    }
  }
  if (config.api.port !== 0) {
    const err = await listenError(config.api.host, config.api.port);
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

  const life = new Lifecycle({
    what: 'Baton',
    stopAll: async () => {
      await stopStep('Closing the API', () => up.app && closeGracefully(up.app, shutdown.api.graceTime));
      await stopStep("Closing the API's Temporal connection", () => up.temporal?.connection.close());
      // shutdown() throws unless the worker is running; after a failure it has stopped already.
      await stopStep('Stopping the worker', () => {
        if (up.worker?.getState() === 'RUNNING') up.worker.shutdown();
      });
      await stopStep('Waiting for the worker', () =>
        up.workerRun?.catch((err: unknown) => console.error('worker stopped with an error:', err)),
      );
      await stopStep("Closing the worker's Temporal connection", () => up.connection?.close());
      await stopStep('Stopping the Temporal development server', () => up.devServer?.stop());
    },
    // Leaving at once takes the development server along (dev-server.ts kills it on exit too).
    onForcedExit: () => up.devServer?.process.kill('SIGKILL'),
  });
  life.handleSignals();

  const apiAddress = await life.startUp(async () => {
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
        if (!life.isStopping) {
          console.error(`The Temporal development server exited unexpectedly (code ${code}).`);
          life.end('Temporal server exit', 1);
        }
      });
      life.checkpoint();
    }

    up.connection = await connectWorker(config, secrets).catch((err: unknown) => {
      const explained = explainTemporalConnectionFailure(err, config);
      throw explained ? new ConfigError(`${explained}\n(${(err as Error).message})`) : err;
    });
    life.checkpoint();
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
      life.end('worker failure', 1);
    });
    life.checkpoint();

    up.temporal = createTemporalClient(config, secrets);
    up.app = await buildApp({
      config,
      secrets,
      temporal: up.temporal,
      metrics: metrics.api,
      logger: { level: config.api.logLevel },
    });
    syncTeamMembershipOnListen(up.app, up.temporal, config);
    startScheduleWorkflowsOnListen(up.app, up.temporal, config);
    life.checkpoint();
    let address: string;
    try {
      address = await up.app.listen({ host: config.api.host, port: config.api.port });
    } catch (err) {
      // Taken since the check above (by another program starting at the same time).
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw apiPortInUse(config.api.host, config.api.port, file);
      }
      throw err;
    }
    life.checkpoint();
    return address;
  });

  console.log(
    [
      '',
      'Baton is running.',
      `  API            ${apiAddress}   (health: ${apiAddress}/healthz)`,
      `  Webhook        ${apiAddress}/webhooks/alertmanager   (${webhookAuthOf(config)})`,
      `  Temporal       ${config.temporal.address}${up.devServer ? ' (development server, state in ' + path.join(dataDir, 'temporal.db') + ')' : ''}`,
      `  Temporal UI    ${up.devServer?.uiUrl ?? config.temporal.uiUrl}`,
      `  History        ${historyLine(config, secrets, apiAddress)}`,
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

/** Whether the Temporal history is encrypted, and how the UI and CLI read it then. */
function historyLine(config: BatonConfig, secrets: Secrets, apiAddress: string): string {
  const encryption = config.temporal.encryption;
  const keys = secrets.payloadKeys;
  if (!encryption || !keys?.[0]) return 'payloads in clear (temporal.encryption turns on encryption)';
  return (
    `payloads encrypted with key ${keys[0].id} of ${encryption.keysEnv}; ` +
    `the UI and CLI decrypt through ${apiAddress}/codec`
  );
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
