/**
 * PostgreSQL for the Temporal server: Debian's package (installed when missing and running as
 * root), a data folder of the cluster's own made with initdb, the server on 127.0.0.1 run by
 * an unprivileged user (PostgreSQL refuses root), and the `temporal` role with its two
 * databases.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  appendFileSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { startProcess, waitUntilReady, type RunningProcess } from './processes';

export const TEMPORAL_DATABASES = ['temporal', 'temporal_visibility'] as const;
export const TEMPORAL_DB_USER = 'temporal';
const SUPERUSER = 'postgres';

export class PostgresUnavailable extends Error {
  override name = 'PostgresUnavailable';
}

export interface PostgresInstall {
  bin: string;
  major: string;
  /** Who runs the server: the `postgres` user when this script is root, else whoever runs it. */
  user?: { name: string; uid: number; gid: number };
}

function hasServer(bin: string): boolean {
  try {
    for (const program of ['initdb', 'postgres', 'psql']) accessSync(path.join(bin, program), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian keeps each major version under /usr/lib/postgresql/<major>/bin; the newest wins. */
function findBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const major of majors) {
    const bin = path.join(root, major, 'bin');
    if (hasServer(bin)) return bin;
  }
  // Elsewhere (Homebrew, a distribution without Debian's layout): initdb on PATH.
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && hasServer(dir)) return dir;
  }
  return undefined;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function install(log: (line: string) => void): void {
  const apt = (args: string[]): boolean =>
    spawnSync('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  log('PostgreSQL is not installed: apt-get install -y postgresql …');
  if (apt(['install', '-y', '-q', 'postgresql'])) return;
  // A fresh machine has no package lists yet.
  log('Updating the package lists (apt-get update) and trying again…');
  if (apt(['update', '-q']) && apt(['install', '-y', '-q', 'postgresql'])) return;
  throw new PostgresUnavailable('apt-get install -y postgresql failed (see its output above).');
}

function userEntry(name: string): { name: string; uid: number; gid: number } | undefined {
  const result = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  const fields = result.status === 0 ? result.stdout.trim().split(':') : [];
  if (fields.length < 4) return undefined;
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Finds PostgreSQL's programs, installing Debian's package when they are missing and this is root. */
export function ensurePostgres(log: (line: string) => void): PostgresInstall {
  let bin = findBin();
  if (!bin) {
    const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!isRoot() || !hasApt) {
      throw new PostgresUnavailable(
        'The cluster needs PostgreSQL (12 or newer) and found none under /usr/lib/postgresql/*/bin ' +
          'or on PATH. Install it (Debian: sudo apt-get install postgresql) and start again.',
      );
    }
    install(log);
    bin = findBin();
    if (!bin)
      throw new PostgresUnavailable(
        'postgresql was installed but its programs are not under /usr/lib/postgresql/*/bin',
      );
  }
  const version = execFileSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' });
  const major = /(\d+)(?:\.\d+)?/.exec(version)?.[1] ?? '?';
  if (Number(major) < 12) {
    throw new PostgresUnavailable(`${bin} is PostgreSQL ${major}; Temporal's schema needs 12 or newer`);
  }
  if (!isRoot()) return { bin, major };
  const user = userEntry('postgres');
  if (!user) {
    throw new PostgresUnavailable(
      'PostgreSQL refuses to run as root, and there is no `postgres` user to run it as. ' +
        'Create one (useradd --system postgres) or start the cluster as an unprivileged user.',
    );
  }
  return { bin, major, user };
}

export interface PostgresServer {
  process: RunningProcess;
  port: number;
  /** Its Unix socket's folder, for the superuser's own connections. */
  socketDir: string;
  /** The `temporal` role's password (loopback TCP, scram-sha-256). */
  password: string;
  psql(sql: string, database?: string): Promise<string>;
}

/** Runs psql as the superuser over the socket inside the data folder; resolves with its output. */
function psqlAt(pg: PostgresInstall, socketDir: string, port: number) {
  return (sql: string, database = 'postgres'): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        path.join(pg.bin, 'psql'),
        [
          '-X',
          '-q',
          '-t',
          '-A',
          '-v',
          'ON_ERROR_STOP=1',
          '-h',
          socketDir,
          '-p',
          String(port),
          '-U',
          SUPERUSER,
          '-d',
          database,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'], ...(pg.user ? { uid: pg.user.uid, gid: pg.user.gid } : {}) },
      );
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(out.trim()) : reject(new Error(`psql failed (${code}): ${err.trim()}`)),
      );
      // A psql that exits at once (PostgreSQL not answering yet) closes its stdin under us: the
      // exit code says what happened, so the broken pipe is not an error of its own.
      child.stdin.on('error', () => undefined);
      // On stdin, not the command line: the statements may carry a password.
      child.stdin.end(sql);
    });
}

/** The folder's owner can enter it; PostgreSQL checks that its data folder is 0700 and its own. */
function prepareDataDir(pg: PostgresInstall, dataDir: string): void {
  // Only the data folder itself is private; the folders above keep the usual 0755.
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (!existsSync(dataDir)) mkdirSync(dataDir, { mode: 0o700 });
  if (!pg.user) return;
  chownSync(dataDir, pg.user.uid, pg.user.gid);
  const reach = spawnSync('test', ['-w', dataDir], { uid: pg.user.uid, gid: pg.user.gid });
  if (reach.status !== 0) {
    throw new PostgresUnavailable(
      `PostgreSQL runs as the user ${pg.user.name}, who cannot reach ${dataDir}: every folder ` +
        `above it must be searchable by others (chmod o+x), or choose another --data-dir.`,
    );
  }
}

function initdb(pg: PostgresInstall, dataDir: string, log: (line: string) => void): void {
  log(`Creating PostgreSQL ${pg.major}'s data folder with initdb: ${dataDir}`);
  const result = spawnSync(
    path.join(pg.bin, 'initdb'),
    [
      '-D',
      dataDir,
      `--username=${SUPERUSER}`,
      '--encoding=UTF8',
      '--locale=C',
      // The superuser connects only over the socket inside the 0700 data folder, so only its
      // owner (and root) can; everything else comes over TCP with a password.
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
    ],
    { encoding: 'utf8', ...(pg.user ? { uid: pg.user.uid, gid: pg.user.gid } : {}) },
  );
  if (result.status !== 0) {
    throw new PostgresUnavailable(`initdb failed (${result.status}):\n${result.stderr || result.stdout}`);
  }
  const hba = [
    '# Written by npm run start:cluster. The superuser only over the Unix socket, which lies in',
    '# the data folder (mode 0700); Temporal over loopback TCP with its password.',
    `local all ${SUPERUSER} trust`,
    ...['127.0.0.1/32', '::1/128'].map(
      (net) => `host ${TEMPORAL_DATABASES.join(',')} ${TEMPORAL_DB_USER} ${net} scram-sha-256`,
    ),
    '',
  ].join('\n');
  writeOwned(pg, path.join(dataDir, 'pg_hba.conf'), hba);
  // The settings this script owns live in a file of their own, rewritten at each start.
  appendFileSync(path.join(dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'baton-cluster.conf'\n");
}

function writeOwned(pg: PostgresInstall, file: string, text: string, mode = 0o600): void {
  writeFileSync(file, text, { mode });
  if (pg.user) chownSync(file, pg.user.uid, pg.user.gid);
}

/** The `temporal` role's password: made once, kept beside the data (mode 0600). */
function temporalPassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

const quote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Starts PostgreSQL on 127.0.0.1:`port` from `dataDir` (made on the first start) and makes
 * sure the `temporal` role and databases exist.
 */
export async function startPostgres(options: {
  pg: PostgresInstall;
  dataDir: string;
  passwordFile: string;
  port: number;
  logFile: string;
  log: (line: string) => void;
}): Promise<PostgresServer> {
  const { pg, dataDir, port, log } = options;
  prepareDataDir(pg, dataDir);
  const versionFile = path.join(dataDir, 'PG_VERSION');
  if (!existsSync(versionFile)) {
    initdb(pg, dataDir, log);
  } else {
    const made = readFileSync(versionFile, 'utf8').trim();
    if (made !== pg.major) {
      throw new PostgresUnavailable(
        `${dataDir} was made by PostgreSQL ${made} and this is ${pg.major}: upgrade it with ` +
          `pg_upgrade, or start with another --data-dir.`,
      );
    }
  }
  // A socket path longer than 107 bytes cannot be bound; say so rather than let it fail.
  const socket = path.join(dataDir, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > 107) {
    throw new PostgresUnavailable(
      `PostgreSQL's socket ${socket} would be longer than Unix allows (107 bytes): choose a shorter --data-dir`,
    );
  }
  writeOwned(
    pg,
    path.join(dataDir, 'baton-cluster.conf'),
    [
      '# Rewritten at every start by npm run start:cluster.',
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = ${quote(dataDir)}`,
      '',
    ].join('\n'),
  );

  log(`Starting PostgreSQL ${pg.major} on 127.0.0.1:${port}${pg.user ? ` as ${pg.user.name}` : ''}…`);
  const proc = startProcess({
    name: 'PostgreSQL',
    command: path.join(pg.bin, 'postgres'),
    args: ['-D', dataDir],
    logFile: options.logFile,
    // Fast shutdown: disconnects clients, writes a checkpoint, exits; the default (smart)
    // would wait for the Temporal server's idle connections.
    stopSignal: 'SIGINT',
    ...(pg.user ? { user: { uid: pg.user.uid, gid: pg.user.gid } } : {}),
  });
  const psql = psqlAt(pg, dataDir, port);
  try {
    await waitUntilReady(proc, 'PostgreSQL', () => psql('SELECT 1').then(() => true), 60_000);
  } catch (err) {
    await proc.stop();
    if (proc.tail().includes('postmaster.pid')) {
      throw new PostgresUnavailable(
        `PostgreSQL did not start: another PostgreSQL is running on ${dataDir} ` +
          `(is another npm run start:cluster using this data folder?)\n${proc.tail(5)}`,
      );
    }
    throw err;
  }

  const password = temporalPassword(options.passwordFile);
  try {
    const role = await psql(`SELECT 1 FROM pg_roles WHERE rolname = ${quote(TEMPORAL_DB_USER)}`);
    await psql(`${role ? 'ALTER' : 'CREATE'} ROLE ${TEMPORAL_DB_USER} LOGIN PASSWORD ${quote(password)};`);
    for (const database of TEMPORAL_DATABASES) {
      const exists = await psql(`SELECT 1 FROM pg_database WHERE datname = ${quote(database)}`);
      if (!exists) {
        log(`  creating the database ${database}`);
        await psql(`CREATE DATABASE ${database} OWNER ${TEMPORAL_DB_USER};`);
      }
    }
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, port, socketDir: dataDir, password, psql };
}
