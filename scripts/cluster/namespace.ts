/**
 * Baton's namespace and search attributes on the cluster, through its frontend with the
 * Temporal CLI (`temporal operator`), as an operator of any Temporal cluster would make them.
 * The development server gets the same search attributes from scripts/dev-server.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { INCIDENT_SEARCH_ATTRIBUTES } from '../../workflows/incident/search-attributes';
import { SEARCH_ATTRIBUTE_TYPE_NAMES } from '../dev-server';
import type { ClusterTls } from './tls';

const run = promisify(execFile);

/** The cluster's frontend: its address, and with --tls the certificates the CLI presents. */
export interface Frontend {
  address: string;
  tls?: ClusterTls;
}

/**
 * The CLI reads TEMPORAL_* variables (TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, the TLS files,
 * TEMPORAL_PROFILE) and its own profile file; an operator's settings for another server must
 * not leak into calls to this one, so it gets everything on its command line.
 */
function cliEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));
}

async function temporal(cli: string, frontend: Frontend, args: string[]): Promise<string> {
  const { tls } = frontend;
  const tlsArgs = tls
    ? [
        '--tls-ca-path',
        tls.caFile,
        '--tls-cert-path',
        tls.internalCertFile,
        '--tls-key-path',
        tls.internalKeyFile,
        '--tls-server-name',
        tls.serverName,
      ]
    : [];
  try {
    const { stdout } = await run(
      cli,
      [...args, '--address', frontend.address, ...tlsArgs, '--disable-config-file', '--output', 'json'],
      {
        timeout: 60_000,
        env: cliEnv(),
      },
    );
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`temporal ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, {
      cause: err,
    });
  }
}

/** "30d" → "720h": the CLI's durations stop at hours. */
function hours(retention: string): string {
  const n = Number(retention.slice(0, -1));
  return `${retention.endsWith('d') ? n * 24 : n}h`;
}

/** The server's "2592000s" as "30d" (or "36h"). */
function readable(ttl: string | undefined): string {
  const seconds = Number(/^(\d+)s$/.exec(ttl ?? '')?.[1] ?? NaN);
  if (!Number.isFinite(seconds)) return ttl ?? 'unknown';
  return seconds % 86_400 === 0 ? `${seconds / 86_400}d` : `${Math.round(seconds / 3600)}h`;
}

/**
 * Creates the namespace (with `retention`) unless it exists and registers the search
 * attributes it lacks. Resolves with what it did, one line each; `changed` when it added
 * anything, since the server's services see new search attributes only at their next
 * refresh (up to a minute).
 */
export async function ensureNamespace(options: {
  cli: string;
  frontend: Frontend;
  namespace: string;
  retention: string;
}): Promise<{ lines: string[]; changed: boolean }> {
  const { cli, frontend, namespace } = options;
  const lines: string[] = [];
  let changed = false;
  const existing = await temporal(cli, frontend, ['operator', 'namespace', 'list']);
  const namespaces = JSON.parse(existing) as {
    namespaceInfo?: { name?: string };
    config?: { workflowExecutionRetentionTtl?: string };
  }[];
  const found = namespaces.find((n) => n.namespaceInfo?.name === namespace);
  if (found) {
    lines.push(`namespace ${namespace} (retention ${readable(found.config?.workflowExecutionRetentionTtl)})`);
  } else {
    await temporal(cli, frontend, [
      'operator',
      'namespace',
      'create',
      '--namespace',
      namespace,
      '--retention',
      hours(options.retention),
    ]);
    lines.push(`namespace ${namespace} created (retention ${options.retention})`);
    changed = true;
  }

  const list = JSON.parse(
    await temporal(cli, frontend, ['operator', 'search-attribute', 'list', '--namespace', namespace]),
  ) as { customAttributes?: Record<string, string> };
  const custom = list.customAttributes ?? {};
  const missing = INCIDENT_SEARCH_ATTRIBUTES.filter((key) => !(key.name in custom));
  if (missing.length > 0) {
    await temporal(cli, frontend, [
      'operator',
      'search-attribute',
      'create',
      '--namespace',
      namespace,
      ...missing.flatMap((key) => [
        '--name',
        key.name,
        '--type',
        SEARCH_ATTRIBUTE_TYPE_NAMES[key.type] ?? key.type,
      ]),
    ]);
    lines.push(`search attributes registered: ${missing.map((k) => k.name).join(', ')}`);
    changed = true;
  } else {
    lines.push(`search attributes: ${INCIDENT_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')}`);
  }
  return { lines, changed };
}
