/**
 * The Temporal server, all four services in one process, on PostgreSQL. Its configuration is
 * the module's own config/development-postgres12.yaml with this machine's ports, database
 * password and paths put in, rewritten at each start: the state is in PostgreSQL, not here.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { waitForFrontend } from '../dev-server';
import type { ClusterBinaries } from './build';
import type { PostgresServer } from './postgres';
import { startProcess, type RunningProcess } from './processes';
import type { ClusterTls } from './tls';

/** Where each service listens: a block of nine ports from the frontend's. */
export function temporalPorts(frontend: number) {
  return {
    frontend,
    frontendHttp: frontend + 1,
    history: frontend + 2,
    matching: frontend + 3,
    worker: frontend + 4,
    frontendMembership: frontend + 5,
    historyMembership: frontend + 6,
    matchingMembership: frontend + 7,
    workerMembership: frontend + 8,
  };
}

type Yaml = Record<string, unknown>;

function section(parent: Yaml, key: string): Yaml {
  const value = parent[key];
  if (!value || typeof value !== 'object') {
    throw new Error(`development-postgres12.yaml has no "${key}" section any more; adapt temporal-server.ts`);
  }
  return value as Yaml;
}

/** Writes the server's configuration and dynamic configuration into `dir`; returns the config folder. */
export function writeServerConfig(options: {
  binaries: ClusterBinaries;
  postgres: PostgresServer;
  frontendPort: number;
  dir: string;
  /** Mutual TLS on the frontend (--tls). */
  tls?: ClusterTls;
}): string {
  const { binaries, postgres, dir } = options;
  const ports = temporalPorts(options.frontendPort);
  const sample = path.join(binaries.serverModuleDir, 'config');
  const config = parse(readFileSync(path.join(sample, 'development-postgres12.yaml'), 'utf8')) as Yaml;

  section(config, 'log').level = 'warn';
  const stores = section(section(config, 'persistence'), 'datastores');
  for (const store of Object.values(stores) as Yaml[]) {
    const sql = section(store, 'sql');
    sql.connectAddr = `127.0.0.1:${postgres.port}`;
    sql.password = postgres.password;
  }
  const global = section(config, 'global');
  // Profiling and metrics endpoints would each take one more port; nothing here reads them.
  delete global.pprof;
  delete global.metrics;
  if (options.tls) global.tls = frontendTls(options.tls);
  const services = section(config, 'services');
  const rpc = (name: string): Yaml => section(section(services, name), 'rpc');
  Object.assign(rpc('frontend'), {
    grpcPort: ports.frontend,
    httpPort: ports.frontendHttp,
    membershipPort: ports.frontendMembership,
    bindOnLocalHost: true,
  });
  Object.assign(rpc('history'), {
    grpcPort: ports.history,
    membershipPort: ports.historyMembership,
    bindOnLocalHost: true,
  });
  Object.assign(rpc('matching'), {
    grpcPort: ports.matching,
    membershipPort: ports.matchingMembership,
    bindOnLocalHost: true,
  });
  Object.assign(rpc('worker'), {
    grpcPort: ports.worker,
    membershipPort: ports.workerMembership,
    bindOnLocalHost: true,
  });
  const clusters = section(section(config, 'clusterMetadata'), 'clusterInformation');
  section(clusters, 'active').rpcAddress = `127.0.0.1:${ports.frontend}`;
  // Archival to local files under /tmp is the sample's demonstration, not Baton's.
  delete config.archival;
  delete config.namespaceDefaults;

  const dynamic = parse(
    readFileSync(path.join(sample, 'dynamicconfig', 'development-sql.yaml'), 'utf8'),
  ) as Yaml;
  const callback = dynamic['component.nexusoperations.callback.endpoint.template'];
  if (Array.isArray(callback) && callback[0] && typeof callback[0] === 'object') {
    // The frontend's HTTP API sits behind the same TLS as its gRPC (Baton uses no Nexus callbacks).
    (callback[0] as Yaml).value =
      `${options.tls ? 'https' : 'http'}://127.0.0.1:${ports.frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback`;
  }
  const dynamicFile = path.join(dir, 'dynamicconfig.yaml');
  section(config, 'dynamicConfigClient').filepath = dynamicFile;

  const configDir = path.join(dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const header = "# Written by npm run start:cluster at every start, from the server module's sample.\n";
  // The database password is in it.
  writeFileSync(path.join(configDir, 'baton.yaml'), header + stringify(config), { mode: 0o600 });
  writeFileSync(dynamicFile, header + stringify(dynamic));
  return configDir;
}

/**
 * The server's `global.tls` for --tls (common/config/config.go, RootTLS in the server module):
 *
 * - frontend.server: the frontend's gRPC and HTTP listeners present server.pem and require a
 *   client certificate signed by the cluster's CA (requireClientAuth: mutual TLS).
 * - systemWorker: the worker service's clients of the frontend (schedules, batch operations,
 *   the namespace deletion and replication workers) reach it the way any client must, with
 *   the internal certificate. The server finds the frontend through membership; with no
 *   "internal-frontend" service and no publicClient section it connects to the frontend
 *   itself with this TLS configuration (the second method the server's PublicClient comment
 *   describes). A second, plain internal frontend would have needed three more ports and a
 *   listener without authentication; this keeps one frontend, and every caller of it on TLS.
 * - internode stays plain: history, matching and the frontend talk to each other on
 *   127.0.0.1 only, never reachable from another machine, so TLS there would add a second set
 *   of certificates and nothing Baton's connection depends on.
 */
function frontendTls(tls: ClusterTls): Yaml {
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    frontend: {
      server: {
        certFile: tls.serverCertFile,
        keyFile: tls.serverKeyFile,
        requireClientAuth: true,
        clientCaFiles: [tls.caFile],
      },
    },
    systemWorker: { certFile: tls.internalCertFile, keyFile: tls.internalKeyFile, client },
  };
}

/**
 * Forgets the members of the last run. Each service finds its peers from the rows that
 * heartbeated in the last 20 s; after a quick restart on other ports those are the dead
 * process's addresses, and matching stays out of the ring for half a minute ("Not enough
 * hosts to serve the request"). Nothing else uses this PostgreSQL, so no live server is
 * among them.
 */
export async function forgetPastMembers(postgres: PostgresServer): Promise<void> {
  await postgres.psql('DELETE FROM cluster_membership;', 'temporal');
}

export interface TemporalServer {
  process: RunningProcess;
  address: string;
}

/** Starts the server and resolves once its frontend answers. */
export async function startTemporalServer(options: {
  binaries: ClusterBinaries;
  configDir: string;
  frontendPort: number;
  logFile: string;
  /** How to reach a frontend with --tls: the internal certificate. */
  tls?: TLSConfig;
}): Promise<TemporalServer> {
  const address = `127.0.0.1:${options.frontendPort}`;
  const proc = startProcess({
    name: 'the Temporal server',
    command: options.binaries.temporalServer,
    args: ['--root', '/', '--config', options.configDir, '--env', 'baton', 'start'],
    logFile: options.logFile,
  });
  const exited = proc.exited.then(({ code, signal }) => {
    throw new Error(
      `the Temporal server exited (${signal ?? `code ${code}`}) before it was ready. ` +
        `The end of ${options.logFile}:\n${proc.tail()}`,
    );
  });
  try {
    // temporal-system exists from the first start on: the frontend is up and has its namespaces.
    await Promise.race([waitForFrontend(address, 'temporal-system', 120_000, options.tls), exited]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  exited.catch(() => undefined);
  return { process: proc, address };
}

/** gRPC's status code NOT_FOUND. */
const GRPC_NOT_FOUND = 5;

/**
 * Resolves once matching serves the task queue and the history service owns every shard: the frontend answers as soon as it is
 * up, while the shards are still being taken (longer when the ports changed since the last
 * start and the old members must be found dead first), and a request for an incident on a
 * shard nobody owns yet fails. A lookup of a workflow that does not exist reaches its shard
 * and answers NOT_FOUND once the shard is owned; enough random ids touch every shard.
 */
export async function waitForServices(
  address: string,
  namespace: string,
  taskQueue: string,
  timeoutMs: number,
  tls?: TLSConfig,
): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000, ...(tls ? { tls } : {}) });
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  try {
    while (Date.now() < deadline) {
      const probes = Array.from({ length: 32 }, () =>
        connection.workflowService
          .describeWorkflowExecution({ namespace, execution: { workflowId: `baton-probe-${randomUUID()}` } })
          .then(
            () => true,
            (err: { code?: number; message?: string }) => {
              if (err.code === GRPC_NOT_FOUND) return true;
              lastError = err.message ?? String(err.code);
              return false;
            },
          ),
      );
      const matching = connection.workflowService
        // Type 1: the workflow task queue, which matching serves.
        .describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 })
        .then(
          () => true,
          (err: { message?: string }) => {
            lastError = err.message ?? 'the task queue could not be described';
            return false;
          },
        );
      if ((await Promise.all([matching, ...probes])).every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await connection.close();
  }
  throw new Error(
    `the Temporal server's matching and history services were not ready within ${timeoutMs / 1000}s: ${lastError}`,
  );
}
