/**
 * `npm run start:cluster`: Baton's production layout on one machine. PostgreSQL, a Temporal
 * server on it with the Web UI, two Baton workers and two Baton API instances, each a
 * process of its own, all on 127.0.0.1 and all kept under one data folder. Ctrl-C stops
 * everything; the next start finds the same incidents.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../config/load';
import {
  loadSecrets,
  requireNoDemoCredentials,
  requireSecrets,
  requireWebhookAuth,
} from '../../config/secrets';
import { requireTemporalTls } from '../../config/temporal-tls';
import { DEMO_CREDENTIALS } from '../../api/app';
import { Lifecycle, StartupAborted, stopStep } from '../lifecycle';
import { freePort } from '../ports';
import { ensureTemporalCli, TemporalCliUnavailable } from '../temporal-cli';
import { SupervisedProcess } from './baton';
import { BuildFailed, ensureClusterBinaries, TEMPORAL_SERVER_VERSION } from './build';
import { ensureNamespace } from './namespace';
import {
  OptionsError,
  parseClusterOptions,
  TEMPORAL_PORT_BLOCK,
  TEMPORAL_PORT_LIMIT,
  usage,
  type ClusterOptions,
} from './options';
import { ensurePostgres, PostgresUnavailable, startPostgres, type PostgresServer } from './postgres';
import { cannotListen, freePortBlock, ProcessFailed } from './processes';
import { ensureSchemas, SchemaFailed } from './schema';
import {
  forgetPastMembers,
  startTemporalServer,
  waitForServices,
  writeServerConfig,
  type TemporalServer,
} from './temporal-server';
import { batonTlsEnv, clusterTlsFiles, ensureClusterTls, probeTls, TlsSetupFailed } from './tls';
import { startUi, type UiServer } from './ui';

const log = (line: string): void => console.log(line);

/** Past its own grace time (shutdown.*.graceTime), a worker or API gets this long to exit. */
const STOP_MARGIN_MS = 10_000;

/** The ports this start uses: the ones asked for, each checked free, or free ones. */
async function choosePorts(options: ClusterOptions) {
  const fixed = async (port: number, flag: string, what: string, count = 1): Promise<number> => {
    for (let p = port; p < port + count; p++) {
      const problem = await cannotListen(p);
      if (problem) {
        throw new OptionsError(
          `port ${p} on 127.0.0.1, for ${what}, is not available (${problem}). Stop whatever holds it ` +
            `(another npm run start:cluster?) or choose another with ${flag} (0 picks a free one).`,
        );
      }
    }
    return port;
  };
  const postgres = options.postgresPort || (await freePort());
  if (options.postgresPort) await fixed(postgres, '--postgres-port', 'PostgreSQL');
  const temporal = options.temporalPort || (await freePortBlock(TEMPORAL_PORT_BLOCK, TEMPORAL_PORT_LIMIT));
  if (options.temporalPort) {
    await fixed(
      temporal,
      '--temporal-port',
      `the Temporal server (it takes ${TEMPORAL_PORT_BLOCK} ports from there)`,
      TEMPORAL_PORT_BLOCK,
    );
  }
  const ui = options.uiPort === undefined ? undefined : options.uiPort || (await freePort());
  if (options.uiPort) await fixed(options.uiPort, '--ui-port', 'the Temporal UI');
  const apis: number[] = [];
  for (let i = 0; i < options.apis; i++) {
    apis.push(
      options.apiPort
        ? await fixed(options.apiPort + i, '--api-port', `Baton API ${i + 1}`)
        : await freePort(),
    );
  }
  return { postgres, temporal, ui, apis };
}

async function main(): Promise<void> {
  const parsed = parseClusterOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(usage());
    return;
  }
  const options = parsed;
  const dir = options.dataDir;
  const logs = path.join(dir, 'logs');
  const batonDataDir = path.join(dir, 'baton');

  // How Baton's processes reach this cluster's Temporal is the launcher's to say, whatever
  // the shell holds for another server (TLS files and an API key the Temporal CLI reads
  // too) or the configuration file sets: the cluster's files with --tls, plain otherwise.
  const tlsFiles = options.tls ? clusterTlsFiles(dir) : undefined;
  const batonEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(batonEnv)) {
    if (name.startsWith('TEMPORAL_TLS') || name === 'TEMPORAL_API_KEY') delete batonEnv[name];
  }
  Object.assign(batonEnv, tlsFiles ? batonTlsEnv(tlsFiles) : { TEMPORAL_TLS: 'false' });

  // Baton's configuration is checked here, once, before anything starts: the same refusals
  // each worker and API would make, but before minutes of start-up rather than after.
  const configFile = path.resolve(process.env.BATON_CONFIG ?? path.join('config', 'baton.yaml'));
  const { config, file, warnings } = loadConfig({ ...batonEnv, BATON_CONFIG: configFile });
  for (const warning of warnings) console.warn(`warning: ${warning}`);
  requireWebhookAuth(config, file);
  requireSecrets(config, ['api', 'worker']);
  const secrets = loadSecrets(config);
  requireNoDemoCredentials(config, secrets, file);
  const namespace = config.temporal.namespace;

  const ports = options.prepareOnly ? undefined : await choosePorts(options);
  const binaries = await ensureClusterBinaries();
  if (!binaries.uiServer) log(`The Temporal UI is skipped: ${binaries.uiProblem ?? 'it could not be built'}`);
  const cli = await ensureTemporalCli();
  const pg = ensurePostgres(log);
  if (!ports) {
    log(
      [
        'Ready to start the cluster:',
        `  Temporal server  ${binaries.temporalServer}`,
        `  SQL schema tool  ${binaries.sqlTool}`,
        `  Temporal UI      ${binaries.uiServer ?? `none: ${binaries.uiProblem ?? '?'}`}`,
        `  Temporal CLI     ${cli}`,
        `  PostgreSQL ${pg.major}    ${pg.bin}${pg.user ? ` (run as ${pg.user.name})` : ''}`,
      ].join('\n'),
    );
    return;
  }
  const tls = tlsFiles && (await ensureClusterTls(dir));
  for (const made of tls?.made ?? []) log(`Made the ${made}`);
  // The workers and APIs check the same; here it stops start-up before PostgreSQL and Temporal.
  requireTemporalTls(config);
  const clusterTls = tls?.tls;
  const probe = probeTls(clusterTls);

  const up: {
    postgres?: PostgresServer;
    temporal?: TemporalServer;
    ui?: UiServer;
    baton: SupervisedProcess[];
  } = { baton: [] };
  const stateFile = path.join(dir, 'cluster.json');
  let running = false;
  /** What runs where, for scripts and tests (and people) that need the pids or the ports. */
  const writeState = (): void => {
    if (!running) return;
    const processes = (kind: 'worker' | 'api') =>
      up.baton
        .filter((p) => p.spec.kind === kind)
        .map((p) => ({ name: p.spec.name, pid: p.current?.pid ?? null, url: p.url, log: p.spec.logFile }));
    writeFileSync(
      stateFile,
      JSON.stringify(
        {
          pid: process.pid,
          dataDir: dir,
          batonDataDir,
          namespace,
          taskQueue: config.temporal.taskQueue,
          temporal: { address: up.temporal?.address, pid: up.temporal?.process.pid },
          // What a client needs to reach it (Baton's client certificate), or null without --tls.
          tls: clusterTls
            ? {
                caFile: clusterTls.caFile,
                certFile: clusterTls.clientCertFile,
                keyFile: clusterTls.clientKeyFile,
                serverName: clusterTls.serverName,
              }
            : null,
          ui: up.ui ? { url: up.ui.url, pid: up.ui.process.pid } : null,
          postgres: { port: up.postgres?.port, pid: up.postgres?.process.pid },
          apis: processes('api'),
          workers: processes('worker'),
        },
        null,
        2,
      ),
    );
  };

  const life = new Lifecycle({
    what: 'the cluster',
    /** Callers first and storage last. */
    stopAll: async () => {
      running = false;
      rmSync(stateFile, { force: true });
      const apis = up.baton.filter((p) => p.spec.kind === 'api');
      const workers = up.baton.filter((p) => p.spec.kind === 'worker');
      await stopStep('Stopping the APIs', () => Promise.all(apis.map((p) => p.stop())));
      await stopStep('Stopping the workers', () => Promise.all(workers.map((p) => p.stop())));
      await stopStep('Stopping the Temporal UI', () => up.ui?.process.stop());
      await stopStep('Stopping the Temporal server', () => up.temporal?.process.stop(60_000));
      await stopStep('Stopping PostgreSQL', () => up.postgres?.process.stop(60_000));
    },
  });
  // Everything started is killed on exit (processes.ts) when a third Ctrl-C leaves at once.
  life.handleSignals();
  /** Storage and Temporal dying takes everything down: Baton cannot work without them. */
  const essential = (what: string, exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>) =>
    void exited.then(({ code, signal }) => {
      if (life.isStopping) return;
      console.error(`${what} exited unexpectedly (${signal ?? `code ${code}`}); see ${logs}.`);
      life.end(`${what} exit`, 1);
    });

  await life.startUp(async () => {
    up.postgres = await startPostgres({
      pg,
      dataDir: path.join(dir, 'postgres'),
      passwordFile: path.join(dir, 'temporal-db-password'),
      port: ports.postgres,
      logFile: path.join(logs, 'postgres.log'),
      log,
    });
    essential('PostgreSQL', up.postgres.process.exited);
    life.checkpoint();

    log('Setting up or upgrading the Temporal schemas with the SQL tool…');
    for (const line of await ensureSchemas(binaries, up.postgres, path.join(logs, 'schema.log')))
      log(`  ${line}`);
    life.checkpoint();

    await forgetPastMembers(up.postgres);
    const configDir = writeServerConfig({
      binaries,
      postgres: up.postgres,
      frontendPort: ports.temporal,
      dir: path.join(dir, 'temporal-server'),
      ...(clusterTls ? { tls: clusterTls } : {}),
    });
    const startServer = async (): Promise<TemporalServer> => {
      log(
        `Starting the Temporal server ${TEMPORAL_SERVER_VERSION} on 127.0.0.1:${ports.temporal}` +
          `${clusterTls ? ' (mutual TLS)' : ''}…`,
      );
      const server = await startTemporalServer({
        binaries,
        configDir,
        frontendPort: ports.temporal,
        logFile: path.join(logs, 'temporal-server.log'),
        ...(probe ? { tls: probe } : {}),
      });
      up.temporal = server;
      return server;
    };
    let server = await startServer();
    life.checkpoint();
    const registered = await ensureNamespace({
      cli,
      frontend: { address: server.address, ...(clusterTls ? { tls: clusterTls } : {}) },
      namespace,
      retention: options.retention,
    });
    for (const line of registered.lines) log(`  ${line}`);
    if (registered.changed) {
      // Each service caches search attributes for up to a minute; a fresh start has them all,
      // so the first incidents can be filtered at once.
      log('Restarting the Temporal server so that every service sees them now…');
      await server.process.stop(60_000);
      up.temporal = undefined;
      life.checkpoint();
      server = await startServer();
    }
    await waitForServices(server.address, namespace, config.temporal.taskQueue, 120_000, probe);
    essential('The Temporal server', server.process.exited);
    life.checkpoint();

    if (binaries.uiServer && ports.ui !== undefined) {
      log(`Starting the Temporal UI on http://127.0.0.1:${ports.ui}…`);
      up.ui = await startUi({
        uiServer: binaries.uiServer,
        port: ports.ui,
        temporalAddress: server.address,
        namespace,
        dir: path.join(dir, 'ui'),
        logFile: path.join(logs, 'ui.log'),
        ...(clusterTls ? { tls: clusterTls } : {}),
      });
      // Baton works without it: say so, and carry on.
      void up.ui.process.exited.then(({ code, signal }) => {
        if (!life.isStopping)
          console.error(`The Temporal UI exited (${signal ?? `code ${code}`}); see ${logs}.`);
      });
      life.checkpoint();
    }

    const env: NodeJS.ProcessEnv = {
      ...batonEnv,
      BATON_CONFIG: configFile,
      TEMPORAL_ADDRESS: server.address,
      BATON_DATA_DIR: batonDataDir,
    };
    delete env.PORT;
    // Loopback only, whatever the configuration says: this is one machine's cluster.
    env.HOST = '127.0.0.1';
    const specs = [
      ...Array.from({ length: options.workers }, (_, i) => ({
        name: `worker-${i + 1}`,
        kind: 'worker' as const,
        env,
        logFile: path.join(logs, `worker-${i + 1}.log`),
        stopWithinMs: config.shutdown.worker.graceTime + STOP_MARGIN_MS,
      })),
      ...ports.apis.map((port, i) => ({
        name: `api-${i + 1}`,
        kind: 'api' as const,
        port,
        env,
        logFile: path.join(logs, `api-${i + 1}.log`),
        stopWithinMs: config.shutdown.api.graceTime + STOP_MARGIN_MS,
      })),
    ];
    log(`Starting ${options.workers} Baton worker(s) and ${options.apis} Baton API(s)…`);
    up.baton = specs.map((spec) => new SupervisedProcess(spec, options.restartDelay * 1000, log, writeState));
    // One at a time: each bundles the workflow code or loads Fastify, and two cores are enough
    // for one of those at a time.
    for (const p of up.baton) {
      await p.start();
      life.checkpoint();
    }
    running = true;
    writeState();
  });

  const apis = up.baton.filter((p) => p.spec.kind === 'api');
  const workers = up.baton.filter((p) => p.spec.kind === 'worker');
  const rel = (p: string): string =>
    path.relative(process.cwd(), p).startsWith('..') ? p : `./${path.relative(process.cwd(), p)}`;
  console.log(
    [
      '',
      'The Baton cluster is running.',
      ...apis.map(
        (p, i) =>
          `  ${`API ${i + 1}`.padEnd(14)} ${p.url}   (pid ${p.current?.pid}; OpenAPI at ${p.url}/docs)`,
      ),
      `  Webhook        ${apis[0]?.url}/webhooks/alertmanager (on every API)`,
      `  Workers        ${workers.map((p) => `${p.spec.name} pid ${p.current?.pid}`).join(', ')}; task queue ${config.temporal.taskQueue}`,
      `  Temporal       ${up.temporal?.address} (server ${TEMPORAL_SERVER_VERSION}, namespace ${namespace}${clusterTls ? ', mutual TLS' : ''})`,
      ...(clusterTls
        ? [
            `  TLS            CA ${rel(clusterTls.caFile)}, Baton's client certificate ${rel(clusterTls.clientCertFile)} ` +
              `and key ${rel(clusterTls.clientKeyFile)}, server name ${clusterTls.serverName}`,
          ]
        : []),
      `  Temporal UI    ${up.ui?.url ?? `none (${binaries.uiProblem ?? 'turned off with --ui-port off'})`}`,
      `  PostgreSQL     127.0.0.1:${up.postgres?.port} (databases temporal, temporal_visibility; role temporal, password in ${rel(path.join(dir, 'temporal-db-password'))})`,
      `  Data           ${rel(dir)} (PostgreSQL in postgres/, Baton's outbox and records in baton/)`,
      `  Logs           ${rel(logs)}/ (one file per process)`,
      `  Configuration  ${rel(file)}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (secrets.demoCredentials.length > 0) console.warn(`WARNING: ${DEMO_CREDENTIALS}`);
}

main().catch((err: unknown) => {
  if (err instanceof StartupAborted) {
    process.exitCode = err.exitCode;
    return;
  }
  const known = [
    OptionsError,
    ConfigError,
    TemporalCliUnavailable,
    BuildFailed,
    PostgresUnavailable,
    SchemaFailed,
    ProcessFailed,
    TlsSetupFailed,
  ];
  if (known.some((type) => err instanceof type))
    console.error(`npm run start:cluster: ${(err as Error).message}`);
  else console.error(err);
  process.exit(1);
});
