/**
 * The cluster's Go programs, built once into .tools/ from the Go module proxy the way the
 * Temporal CLI is (scripts/temporal-cli.ts): the Temporal server and its SQL schema tool at
 * the version the CLI embeds, and the Temporal Web UI server the CLI embeds.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { goInstall, isExecutable, TEMPORAL_CLI_VERSION, TOOLS_DIR } from '../temporal-cli';

const run = promisify(execFile);

export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
// The version the Temporal CLI v1.5.1 embeds (its go.mod); it has no `replace` directives.
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const CLI_MODULE = 'github.com/temporalio/cli';
const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';

export class BuildFailed extends Error {
  override name = 'BuildFailed';
}

export interface ClusterBinaries {
  temporalServer: string;
  sqlTool: string;
  /** The module's source, for its schema folders and sample configuration. */
  serverModuleDir: string;
  /** Undefined when it could not be built; `uiProblem` says why. */
  uiServer?: string;
  uiVersion?: string;
  uiProblem?: string;
}

async function goBinary(env: NodeJS.ProcessEnv): Promise<string> {
  try {
    await run('go', ['version'], { env });
    return 'go';
  } catch {
    throw new BuildFailed(
      'The cluster needs Go (https://go.dev/dl/) to build the Temporal server, its schema tool and ' +
        "the Web UI server from the Go module proxy, and to find the server's schema files. " +
        'Install Go 1.24 or newer and put `go` on PATH.',
    );
  }
}

/** Where the Go module cache holds a module's files (downloading it from the proxy if need be). */
async function moduleInfo(
  go: string,
  module: string,
  env: NodeJS.ProcessEnv,
): Promise<{ Dir: string; GoMod: string }> {
  try {
    const { stdout } = await run(go, ['mod', 'download', '-json', module], {
      env,
      maxBuffer: 4 * 1024 * 1024,
    });
    return JSON.parse(stdout) as { Dir: string; GoMod: string };
  } catch (err) {
    const output = (err as { stdout?: string }).stdout ?? '';
    const reason = /"Error":\s*"([^"]*)"/.exec(output)?.[1] ?? (err as Error).message;
    throw new BuildFailed(`go mod download ${module} failed: ${reason}`, { cause: err });
  }
}

/** `go install`s the packages into `gobin`, niced, with a line of progress every 30 seconds. */
async function buildInto(
  go: string,
  what: string,
  packages: string[],
  gobin: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  mkdirSync(gobin, { recursive: true });
  log(`Building ${what} with Go into ${gobin} (once; a few minutes on two cores)…`);
  const started = Date.now();
  // nice: the build shares the machine with whatever else runs on it.
  const code = await goInstall({
    go,
    packages,
    gobin,
    env,
    nice: true,
    progress: (seconds) => log(`  still building ${what} (${seconds}s)…`),
  });
  if (code !== 0) throw new BuildFailed(`go install ${packages.join(' ')} exited with code ${code}`);
  log(`Built ${what} in ${Math.round((Date.now() - started) / 1000)}s.`);
}

/** The Web UI server version the Temporal CLI embeds, read from the CLI's go.mod. */
async function uiServerVersion(go: string, env: NodeJS.ProcessEnv): Promise<string> {
  const cli = await moduleInfo(go, `${CLI_MODULE}@${TEMPORAL_CLI_VERSION}`, env);
  const goMod = readFileSync(cli.GoMod, 'utf8');
  const version = new RegExp(`^\\s*${UI_SERVER_MODULE.replace(/[./]/g, '\\$&')}\\s+(v\\S+)`, 'm').exec(
    goMod,
  )?.[1];
  if (!version) {
    throw new BuildFailed(`${cli.GoMod} (the Temporal CLI's go.mod) does not require ${UI_SERVER_MODULE}`);
  }
  return version;
}

/** Finds or builds the cluster's programs. A UI that cannot be built is reported, not fatal. */
export async function ensureClusterBinaries(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (line) => console.log(line),
): Promise<ClusterBinaries> {
  const go = await goBinary(env);
  const serverModule = `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`;
  const serverDir = path.join(TOOLS_DIR, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const temporalServer = path.join(serverDir, 'server');
  const sqlTool = path.join(serverDir, 'sql');
  if (!isExecutable(temporalServer) || !isExecutable(sqlTool)) {
    await buildInto(
      go,
      `the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL schema tool`,
      [
        `${TEMPORAL_SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
        `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
      ],
      serverDir,
      env,
      log,
    );
  }
  const serverModuleDir = (await moduleInfo(go, serverModule, env)).Dir;
  const binaries: ClusterBinaries = { temporalServer, sqlTool, serverModuleDir };

  try {
    const uiVersion = await uiServerVersion(go, env);
    binaries.uiVersion = uiVersion;
    // Each program in a folder of its own: both modules name their command `server`.
    const uiDir = path.join(TOOLS_DIR, `temporal-ui-server-${uiVersion}`);
    const uiServer = path.join(uiDir, 'server');
    if (!isExecutable(uiServer)) {
      await buildInto(
        go,
        `the Temporal Web UI server ${uiVersion}`,
        [`${UI_SERVER_MODULE}/cmd/server@${uiVersion}`],
        uiDir,
        env,
        log,
      );
    }
    binaries.uiServer = uiServer;
  } catch (err) {
    binaries.uiProblem = err instanceof Error ? err.message : String(err);
  }
  return binaries;
}
