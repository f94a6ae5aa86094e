import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../workflows/incident/search-attributes';

export interface DevServerOptions {
  cli: string;
  ip?: string;
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file that keeps state across restarts; omit for an in-memory server. */
  dbFile?: string;
  namespace?: string;
  log?: (line: string) => void;
  /** Where the server's own output goes; defaults to discarding it. */
  output?: 'inherit' | 'ignore';
  /** Server settings, e.g. { 'limit.historyCount.suggestContinueAsNew': 40 }. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export const SEARCH_ATTRIBUTE_TYPE_NAMES: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export function searchAttributeArgs(): string[] {
  return INCIDENT_SEARCH_ATTRIBUTES.flatMap((key) => [
    '--search-attribute',
    `${key.name}=${SEARCH_ATTRIBUTE_TYPE_NAMES[key.type] ?? key.type}`,
  ]);
}

/** Starts `temporal server start-dev` and resolves once it answers on its frontend port. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const address = `${ip}:${options.port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
  ];
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  if (options.uiPort !== undefined) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }

  const child = spawn(options.cli, args, {
    stdio: ['ignore', options.output ?? 'ignore', options.output ?? 'ignore'],
    // Its own process group, so Ctrl-C in a terminal reaches it only through us and we can
    // stop it in order.
    detached: true,
  });
  let exited = false;
  // Detached, it would outlive us: whatever ends this process (an error, process.exit, a
  // failed start-up) takes the server with it. A signal's default action skips this, so
  // callers handle SIGINT and SIGTERM and stop() the server.
  const killOnExit = (): void => {
    if (!exited) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      process.off('exit', killOnExit);
      resolve(code);
    }),
  );
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exit;
    clearTimeout(timer);
  };

  try {
    await Promise.race([
      waitForFrontend(address, namespace, 60_000),
      spawnError,
      exit.then((code) => {
        throw new Error(
          `the Temporal development server exited with code ${code} before it was ready ` +
            `(is port ${options.port} or ${options.uiPort ?? '-'} already in use?)`,
        );
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    ...(options.uiPort !== undefined ? { uiUrl: `http://${ip}:${options.uiPort}` } : {}),
    process: child,
    stop,
  };
}

/** Polls until the frontend answers and the namespace exists. */
export async function waitForFrontend(
  address: string,
  namespace: string,
  timeoutMs: number,
  // The cluster's frontend with --tls (scripts/cluster/temporal-server.ts); the development server has none.
  tls?: TLSConfig,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1_000, ...(tls ? { tls } : {}) });
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await connection?.close();
    }
  }
  throw new Error(
    `Temporal at ${address} did not become ready within ${timeoutMs / 1000}s: ${String(lastError)}`,
  );
}
