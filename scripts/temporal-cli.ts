import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the Temporal CLI (which carries the development server and its Web UI), building
 * it from source with Go when no copy exists. Order: TEMPORAL_CLI_PATH, `temporal` on PATH,
 * the project's own build in .tools/.
 */

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Later tags carry `replace` directives that `go install` refuses.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_DIR = path.join(PROJECT_ROOT, '.tools');

export class TemporalCliUnavailable extends Error {
  override name = 'TemporalCliUnavailable';
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new TemporalCliUnavailable(
        `TEMPORAL_CLI_PATH is set to ${explicit}, which is not an executable file`,
      );
    }
    return explicit;
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return fromPath;
  const built = path.join(TOOLS_DIR, 'temporal');
  return isExecutable(built) ? built : undefined;
}

/**
 * `go install`s the packages into `gobin` (statically linked unless CGO_ENABLED says
 * otherwise), its output on this terminal, calling `progress` with the seconds so far every
 * 30 seconds; resolves with its exit code. `nice` lowers its priority, for a build that
 * shares the machine with whatever else runs on it.
 */
export async function goInstall(options: {
  go: string;
  packages: string[];
  gobin: string;
  env: NodeJS.ProcessEnv;
  nice?: boolean;
  progress: (seconds: number) => void;
}): Promise<number | null> {
  const { go, packages, gobin, env } = options;
  const started = Date.now();
  const ticker = setInterval(() => options.progress(Math.round((Date.now() - started) / 1000)), 30_000);
  try {
    const [command, args]: [string, string[]] = options.nice
      ? ['nice', ['-n', '10', go, 'install', ...packages]]
      : [go, ['install', ...packages]];
    return await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, {
        env: { ...env, GOBIN: gobin, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
  } finally {
    clearInterval(ticker);
  }
}

const HOW_TO_GET_IT = [
  'Baton needs the Temporal CLI (it runs the development server). Any one of these works:',
  '  - install Go (https://go.dev/dl/) and run `npm run temporal:ensure`; it builds the CLI into .tools/',
  `  - or build it yourself: GOBIN=$PWD/.tools go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
  '  - or, with internet access, install it: curl -sSf https://temporal.download/cli.sh | sh',
  '    (or `brew install temporal`), then put it on PATH or set TEMPORAL_CLI_PATH',
  '  - or point Baton at a running server: TEMPORAL_ADDRESS=host:7233',
].join('\n');

/** Returns the CLI's path, building it with `go install` the first time. */
export async function ensureTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = (line) => console.error(line),
): Promise<string> {
  const found = findTemporalCli(env);
  if (found) return found;

  const go = onPath('go', env);
  if (!go)
    throw new TemporalCliUnavailable(`No Temporal CLI found and Go is not installed.\n${HOW_TO_GET_IT}`);

  mkdirSync(TOOLS_DIR, { recursive: true });
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${TOOLS_DIR}. ` +
      'This happens once and takes several minutes on two cores…',
  );
  const started = Date.now();
  const code = await goInstall({
    go,
    packages: [`${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`],
    gobin: TOOLS_DIR,
    env,
    progress: (seconds) => log(`  still building the Temporal CLI (${seconds}s)…`),
  });
  if (code !== 0) {
    throw new TemporalCliUnavailable(`go install exited with code ${code}.\n${HOW_TO_GET_IT}`);
  }
  const built = path.join(TOOLS_DIR, 'temporal');
  if (!isExecutable(built)) {
    throw new TemporalCliUnavailable(`go install finished but ${built} is missing.\n${HOW_TO_GET_IT}`);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)}s: ${built}`);
  return built;
}

export function temporalCliVersion(cli: string): string {
  const result = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  return (result.stdout || result.stderr || '').trim();
}
