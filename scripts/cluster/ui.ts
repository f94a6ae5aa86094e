/**
 * The Temporal Web UI server (the one the Temporal CLI embeds, with its built pages inside),
 * in front of the cluster's frontend, on 127.0.0.1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { startProcess, waitUntilReady, type RunningProcess } from './processes';
import type { ClusterTls } from './tls';

export interface UiServer {
  process: RunningProcess;
  url: string;
}

export async function startUi(options: {
  uiServer: string;
  port: number;
  temporalAddress: string;
  namespace: string;
  dir: string;
  logFile: string;
  /** With --tls the UI server is one more client of the frontend: it presents the internal certificate. */
  tls?: ClusterTls;
}): Promise<UiServer> {
  const configDir = path.join(options.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  // The settings the Temporal CLI gives the same server for its development UI.
  const config = {
    host: '127.0.0.1',
    port: options.port,
    temporalGrpcAddress: options.temporalAddress,
    enableUi: true,
    defaultNamespace: options.namespace,
    cors: { cookieInsecure: true },
    hideLogs: true,
    ...(options.tls
      ? {
          tls: {
            caFile: options.tls.caFile,
            certFile: options.tls.internalCertFile,
            keyFile: options.tls.internalKeyFile,
            serverName: options.tls.serverName,
            enableHostVerification: true,
          },
        }
      : {}),
  };
  writeFileSync(
    path.join(configDir, 'baton.yaml'),
    `# Written by npm run start:cluster at every start.\n${stringify(config)}`,
  );
  const url = `http://127.0.0.1:${options.port}`;
  const proc = startProcess({
    name: 'the Temporal UI',
    command: options.uiServer,
    args: ['--root', '/', '--config', configDir, '--env', 'baton', 'start'],
    logFile: options.logFile,
  });
  try {
    await waitUntilReady(
      proc,
      'The Temporal UI server',
      async () => (await fetch(`${url}/api/v1/settings`, { signal: AbortSignal.timeout(2_000) })).ok,
      60_000,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, url };
}
