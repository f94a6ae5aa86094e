/**
 * Temporal's two schemas, set up on the first start and upgraded at every start with the
 * server's own SQL tool from the versioned folders of the module it was built from. An
 * upgrade to the version already there changes nothing.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import type { ClusterBinaries } from './build';
import { TEMPORAL_DB_USER, type PostgresServer } from './postgres';

const SCHEMAS = [
  { database: 'temporal', folder: 'temporal' },
  { database: 'temporal_visibility', folder: 'visibility' },
] as const;

export class SchemaFailed extends Error {
  override name = 'SchemaFailed';
}

async function sqlTool(
  binaries: ClusterBinaries,
  postgres: PostgresServer,
  database: string,
  args: string[],
  logFile: string,
): Promise<void> {
  const log = openSync(logFile, 'a');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(binaries.sqlTool, args, {
        // The password in the environment, where `ps` does not show it.
        env: {
          ...process.env,
          SQL_PLUGIN: 'postgres12',
          SQL_HOST: '127.0.0.1',
          SQL_PORT: String(postgres.port),
          SQL_USER: TEMPORAL_DB_USER,
          SQL_PASSWORD: postgres.password,
          SQL_DATABASE: database,
        },
        stdio: ['ignore', log, log],
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) {
      throw new SchemaFailed(
        `the SQL tool's ${args[0]} on ${database} exited with code ${code}; see ${logFile}`,
      );
    }
  } finally {
    closeSync(log);
  }
}

async function versionOf(postgres: PostgresServer, database: string): Promise<string | undefined> {
  const table = await postgres.psql("SELECT to_regclass('public.schema_version') IS NOT NULL", database);
  if (table !== 't') return undefined;
  return (await postgres.psql('SELECT curr_version FROM schema_version LIMIT 1', database)) || undefined;
}

/** Sets up or upgrades both schemas; returns one line per schema saying what happened. */
export async function ensureSchemas(
  binaries: ClusterBinaries,
  postgres: PostgresServer,
  logFile: string,
): Promise<string[]> {
  const lines: string[] = [];
  for (const { database, folder } of SCHEMAS) {
    const before = await versionOf(postgres, database);
    // setup-schema records version 0.0; run on a schema already set up it would send the
    // upgrade back to the start, so only the first time.
    if (before === undefined)
      await sqlTool(binaries, postgres, database, ['setup-schema', '-v', '0.0'], logFile);
    const versioned = path.join(binaries.serverModuleDir, 'schema', 'postgresql', 'v12', folder, 'versioned');
    await sqlTool(binaries, postgres, database, ['update-schema', '-d', versioned], logFile);
    const after = await versionOf(postgres, database);
    lines.push(
      before === undefined
        ? `${database}: set up at version ${after}`
        : before === after
          ? `${database}: version ${after}, up to date`
          : `${database}: upgraded from ${before} to ${after}`,
    );
  }
  return lines;
}
