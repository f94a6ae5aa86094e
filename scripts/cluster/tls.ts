/**
 * `npm run start:cluster -- --tls`: a private certificate authority and the certificates the
 * cluster needs, made with openssl in the data folder's tls/ and kept there, so a restart
 * keeps trusting the same files (and so does anything an operator pointed at them).
 *
 *   ca.pem, ca.key            the cluster's CA; it signs the three below and nothing else
 *   server.pem, server.key    the frontend's certificate, for localhost, 127.0.0.1 and ::1
 *   client.pem, client.key    Baton's workers and APIs (the client certificate mTLS asks for)
 *   internal.pem, .key        the server's own callers of its frontend: its system worker,
 *                             the Web UI server and the `temporal operator` calls
 *
 * Keys are P-256: quick to make, and every party here (Go, rustls in the worker's Core SDK,
 * Node's OpenSSL in the client) takes them.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TLSConfig } from '@temporalio/client';

const run = promisify(execFile);

export class TlsSetupFailed extends Error {
  override name = 'TlsSetupFailed';
}

/** The name the server certificate is for and that every client checks. */
export const CLUSTER_SERVER_NAME = 'localhost';

export interface ClusterTls {
  dir: string;
  caFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  /** Baton's client certificate. */
  clientCertFile: string;
  clientKeyFile: string;
  /** The server's own callers' client certificate. */
  internalCertFile: string;
  internalKeyFile: string;
  serverName: string;
}

export function clusterTlsFiles(dataDir: string): ClusterTls {
  const dir = path.join(dataDir, 'tls');
  const f = (name: string): string => path.join(dir, name);
  return {
    dir,
    caFile: f('ca.pem'),
    caKeyFile: f('ca.key'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    internalCertFile: f('internal.pem'),
    internalKeyFile: f('internal.key'),
    serverName: CLUSTER_SERVER_NAME,
  };
}

/** What Baton's workers and APIs get in their environment to reach the cluster (config/load.ts). */
export function batonTlsEnv(tls: ClusterTls): Record<string, string> {
  return {
    TEMPORAL_TLS_CA: tls.caFile,
    TEMPORAL_TLS_CERT: tls.clientCertFile,
    TEMPORAL_TLS_KEY: tls.clientKeyFile,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  };
}

const DAY_MS = 86_400_000;

/** Usable for at least another day, and signed by this CA. */
function stillGood(certFile: string, ca: X509Certificate | undefined): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    if (Date.parse(cert.validTo) < Date.now() + DAY_MS) return false;
    return ca ? cert.checkIssued(ca) && cert.verify(ca.publicKey) : true;
  } catch {
    return false;
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    throw new TlsSetupFailed(
      e.code === 'ENOENT'
        ? '--tls makes its certificates with openssl, which is not on PATH (apt-get install openssl)'
        : `openssl ${args.slice(0, 2).join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`,
    );
  }
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * Makes whatever is missing, expiring within a day, or not signed by the current CA (a new CA
 * makes all three anew). Resolves with the files and one line per thing it made.
 */
export async function ensureClusterTls(dataDir: string): Promise<{ tls: ClusterTls; made: string[] }> {
  const tls = clusterTlsFiles(dataDir);
  // The data folder as any other part makes it (PostgreSQL, run as its own user, must enter
  // it); only tls/, with the CA's key, is the owner's alone.
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(tls.dir, { mode: 0o700, recursive: true });
  chmodSync(tls.dir, 0o700);
  const made: string[] = [];
  if (!existsSync(tls.caKeyFile) || !stillGood(tls.caFile, undefined)) {
    for (const file of [tls.caFile, tls.caKeyFile]) rmSync(file, { force: true });
    await openssl([
      'req',
      '-x509',
      '-new',
      ...NEW_KEY,
      '-keyout',
      tls.caKeyFile,
      '-out',
      tls.caFile,
      '-days',
      '3650',
      '-subj',
      '/O=Baton/CN=Baton cluster CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    made.push(`certificate authority ${tls.caFile}`);
  }
  const ca = new X509Certificate(readFileSync(tls.caFile));
  const leaf = async (
    cert: string,
    key: string,
    subject: string,
    extensions: string[],
    what: string,
  ): Promise<void> => {
    if (existsSync(key) && stillGood(cert, ca)) return;
    // OpenSSL 3's `req -x509 -CA` signs the new key's certificate with the CA in one step.
    await openssl([
      'req',
      '-x509',
      '-new',
      '-CA',
      tls.caFile,
      '-CAkey',
      tls.caKeyFile,
      ...NEW_KEY,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '825',
      '-subj',
      subject,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      ...extensions.flatMap((e) => ['-addext', e]),
    ]);
    made.push(`${what} ${cert}`);
  };
  await leaf(
    tls.serverCertFile,
    tls.serverKeyFile,
    `/O=Baton/CN=${CLUSTER_SERVER_NAME}`,
    [`subjectAltName=DNS:${CLUSTER_SERVER_NAME},IP:127.0.0.1,IP:::1`, 'extendedKeyUsage=serverAuth'],
    'server certificate',
  );
  await leaf(
    tls.clientCertFile,
    tls.clientKeyFile,
    '/O=Baton/CN=baton',
    ['extendedKeyUsage=clientAuth'],
    'client certificate for Baton',
  );
  await leaf(
    tls.internalCertFile,
    tls.internalKeyFile,
    '/O=Baton/CN=temporal-internal',
    ['extendedKeyUsage=clientAuth'],
    "client certificate for the server's system worker, the UI and the CLI",
  );
  return { tls, made };
}

/** The SDK's TLS options for the launcher's own probes of the frontend (the internal certificate). */
export function probeTls(tls: ClusterTls | undefined): TLSConfig | undefined {
  if (!tls) return undefined;
  return {
    serverNameOverride: tls.serverName,
    serverRootCACertificate: readFileSync(tls.caFile),
    clientCertPair: { crt: readFileSync(tls.internalCertFile), key: readFileSync(tls.internalKeyFile) },
  };
}
