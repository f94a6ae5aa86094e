/**
 * What `npm run start:cluster` can be told: flags first, then BATON_CLUSTER_* variables, then
 * defaults that keep clear of `npm start` (7233, 8233, 3000) so both can run side by side.
 */
import path from 'node:path';

export interface ClusterOptions {
  /** Everything the cluster keeps: PostgreSQL's data, the servers' configuration, logs, Baton's outbox. */
  dataDir: string;
  /** 0: any free port, chosen at each start. */
  postgresPort: number;
  /** The frontend's gRPC port; the server's other services take the eight ports after it. */
  temporalPort: number;
  /** The Web UI's port, or undefined for no UI. */
  uiPort: number | undefined;
  /** The first API's port; the others take the ports after it (0: each a free port). */
  apiPort: number;
  workers: number;
  apis: number;
  /** How long Temporal keeps a closed incident's history, e.g. "30d" or "720h". */
  retention: string;
  /** Seconds before a worker or API that exited on its own is started again; 0: never. */
  restartDelay: number;
  /** Only build the programs and find (or install) PostgreSQL, then exit: for CI and images. */
  prepareOnly: boolean;
  /**
   * Mutual TLS on the Temporal frontend, with certificates made in the data folder's tls/;
   * Baton's workers and APIs connect with a client certificate, as against a production cluster.
   */
  tls: boolean;
}

export class OptionsError extends Error {
  override name = 'OptionsError';
}

interface Setting {
  flag: string;
  env: string;
  default: string;
  help: string;
}

const SETTINGS = {
  dataDir: {
    flag: '--data-dir',
    env: 'BATON_CLUSTER_DIR',
    default: path.join('data', 'cluster'),
    help: 'where PostgreSQL, the servers and Baton keep their files',
  },
  postgresPort: {
    flag: '--postgres-port',
    env: 'BATON_CLUSTER_POSTGRES_PORT',
    default: '25432',
    help: 'PostgreSQL on 127.0.0.1 (0: a free port)',
  },
  temporalPort: {
    flag: '--temporal-port',
    env: 'BATON_CLUSTER_TEMPORAL_PORT',
    default: '27233',
    help: "Temporal's frontend on 127.0.0.1; its services use the 8 ports after it (0: a free block)",
  },
  uiPort: {
    flag: '--ui-port',
    env: 'BATON_CLUSTER_UI_PORT',
    default: '28233',
    help: 'the Temporal Web UI (0: a free port, "off": no UI)',
  },
  apiPort: {
    flag: '--api-port',
    env: 'BATON_CLUSTER_API_PORT',
    default: '3001',
    help: "the first Baton API's port; the others take the next ports (0: free ports)",
  },
  workers: { flag: '--workers', env: 'BATON_CLUSTER_WORKERS', default: '2', help: 'Baton workers' },
  apis: { flag: '--apis', env: 'BATON_CLUSTER_APIS', default: '2', help: 'Baton API instances' },
  retention: {
    flag: '--retention',
    env: 'BATON_CLUSTER_RETENTION',
    default: '30d',
    help: "how long Temporal keeps a closed incident's history (for a new namespace), e.g. 30d, 72h",
  },
  restartDelay: {
    flag: '--restart-delay',
    env: 'BATON_CLUSTER_RESTART_DELAY',
    default: '5',
    help: 'seconds before a worker or API that died is started again (0: never)',
  },
} satisfies Record<Exclude<keyof ClusterOptions, 'prepareOnly' | 'tls'>, Setting>;

export function usage(): string {
  const lines = Object.values(SETTINGS).map(
    (s: Setting) => `  ${`${s.flag} <value>`.padEnd(26)} ${s.help} (${s.env}, default ${s.default})`,
  );
  return [
    'Usage: npm run start:cluster -- [options]',
    '',
    "Baton's production layout on one machine: PostgreSQL, a Temporal server with its Web UI,",
    'Baton workers and Baton API instances, all on 127.0.0.1. Ctrl-C stops everything.',
    '',
    ...lines,
    `  ${'--tls'.padEnd(26)} mutual TLS on the Temporal frontend: a CA and certificates are made with`,
    `  ${''.padEnd(26)} openssl in <data-dir>/tls/ (kept for the next start), and Baton's workers`,
    `  ${''.padEnd(26)} and APIs connect with a client certificate (BATON_CLUSTER_TLS=true)`,
    `  ${'--prepare-only'.padEnd(26)} build the Temporal server, its schema tool and the UI server, find or`,
    `  ${''.padEnd(26)} install PostgreSQL, then exit (for CI and machine images)`,
    `  ${'--help'.padEnd(26)} this text`,
    '',
    'BATON_CONFIG names the Baton configuration, as for npm start (default config/baton.yaml).',
  ].join('\n');
}

function port(value: string, where: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new OptionsError(`${where} must be a port number (0 for a free one), not "${value}"`);
  }
  if (n !== 0 && n < 1024) {
    throw new OptionsError(`${where} is ${n}: ports below 1024 need privileges nothing here should have`);
  }
  return n;
}

function count(value: string, where: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max) {
    throw new OptionsError(`${where} must be a whole number from 1 to ${max}, not "${value}"`);
  }
  return n;
}

/** Parses the command line (without node and the script) and the environment; throws OptionsError. */
export function parseClusterOptions(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ClusterOptions | 'help' {
  type Key = keyof typeof SETTINGS;
  const given = new Map<Key, { value: string; where: string }>();
  const byFlag = new Map(Object.entries(SETTINGS).map(([key, s]) => [s.flag, key as Key]));
  let prepareOnly = false;
  let tlsFlag = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--prepare-only') {
      prepareOnly = true;
      continue;
    }
    if (arg === '--tls') {
      tlsFlag = true;
      continue;
    }
    const [flag = '', inline] = arg.split(/=(.*)/s, 2);
    const key = byFlag.get(flag);
    if (!key) {
      throw new OptionsError(`unknown option "${arg}"\n\n${usage()}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new OptionsError(`${flag} needs a value\n\n${usage()}`);
    }
    given.set(key, { value, where: flag });
  }
  const read = (key: Key): { value: string; where: string } => {
    const setting: Setting = SETTINGS[key];
    const fromFlag = given.get(key);
    if (fromFlag) return fromFlag;
    const fromEnv = env[setting.env]?.trim();
    if (fromEnv) return { value: fromEnv, where: setting.env };
    return { value: setting.default, where: setting.flag };
  };

  const ui = read('uiPort');
  const retention = read('retention');
  if (!/^\d+[dh]$/.test(retention.value) || /^0+[dh]$/.test(retention.value)) {
    throw new OptionsError(
      `${retention.where} must be a number of days or hours, such as 30d or 72h, not "${retention.value}"`,
    );
  }
  const restart = read('restartDelay');
  const restartDelay = Number(restart.value);
  if (!/^\d+$/.test(restart.value) || restartDelay > 3600) {
    throw new OptionsError(
      `${restart.where} must be a number of seconds from 0 to 3600, not "${restart.value}"`,
    );
  }
  const tlsEnv = env.BATON_CLUSTER_TLS?.trim().toLowerCase();
  if (tlsEnv && !['true', 'false', '1', '0'].includes(tlsEnv)) {
    throw new OptionsError(`BATON_CLUSTER_TLS must be true or false, not "${env.BATON_CLUSTER_TLS}"`);
  }
  const dataDir = read('dataDir');
  if (dataDir.value === '') throw new OptionsError(`${dataDir.where} must name a folder`);
  const options: ClusterOptions = {
    dataDir: path.resolve(dataDir.value),
    postgresPort: port(read('postgresPort').value, read('postgresPort').where),
    temporalPort: port(read('temporalPort').value, read('temporalPort').where),
    uiPort: ui.value === 'off' ? undefined : port(ui.value, ui.where),
    apiPort: port(read('apiPort').value, read('apiPort').where),
    workers: count(read('workers').value, read('workers').where, 16),
    apis: count(read('apis').value, read('apis').where, 16),
    retention: retention.value,
    restartDelay,
    prepareOnly,
    tls: tlsFlag || tlsEnv === 'true' || tlsEnv === '1',
  };
  if (options.temporalPort + TEMPORAL_PORT_BLOCK > TEMPORAL_PORT_LIMIT) {
    throw new OptionsError(
      `${read('temporalPort').where} is ${options.temporalPort}: the server takes it and the ` +
        `${TEMPORAL_PORT_BLOCK - 1} ports after it, and all must be below ${TEMPORAL_PORT_LIMIT} ` +
        "(Temporal keeps its services' membership ports in a smallint column)",
    );
  }
  if (options.apiPort !== 0 && options.apiPort + options.apis - 1 > 65535) {
    throw new OptionsError(
      `${read('apiPort').where}: ${options.apis} API ports from ${options.apiPort} do not fit`,
    );
  }
  return options;
}

/** Ports one Temporal server process takes: gRPC and membership for each service, and HTTP. */
export const TEMPORAL_PORT_BLOCK = 9;
/**
 * Temporal's SQL schema keeps each service's membership port as a smallint
 * (cluster_membership.rpc_port): a port from 32768 up stops the server at start-up.
 */
export const TEMPORAL_PORT_LIMIT = 32_768;
