/**
 * One of Baton's entry points (worker/main.ts, api/server.ts, scripts/start.ts) in a process of
 * its own, as a deployment runs it: its output kept for the test to read, its exit awaited, and
 * what it starts below itself (start.ts: the Temporal server, the worker, the API) found and
 * stopped with it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, inject } from 'vitest';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface EntryProcess {
  /** Undefined when the process could not be started at all. */
  pid: number | undefined;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  kill(signal: NodeJS.Signals): void;
  running(): boolean;
  /** Waits for a line of its output; fails at once, with its output, if it exits first. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
  /** How it exited; fails if it is still running after `timeoutMs`. */
  exitWithin(timeoutMs: number): Promise<Exit>;
}

/** `env` is the whole environment the process gets. */
export function startEntry(
  entry: string,
  env: NodeJS.ProcessEnv,
  options: { cwd?: string } = {},
): EntryProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    ...options,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // Decoded as a stream, so that a character split between two chunks (start.ts prints "…")
  // arrives whole.
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const output = (): string => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => child.kill(signal),
    running,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (!running()) throw new Error(`${entry} exited before it printed "${text}".\n${output()}`);
        if (Date.now() > deadline)
          throw new Error(`${entry} did not print "${text}" within ${timeoutMs} ms.\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async exitWithin(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${entry} did not exit within ${timeoutMs / 1000}s`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Baton on a configuration file of the test's own, as `npm start` runs it.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_CONFIG = path.join(ROOT, 'config', 'baton.yaml');

export type BatonPorts = { temporal: number; ui: number; api: number };

/** The demo configuration's text with its ports and data folder moved to the test's own. */
export function demoConfig(ports: BatonPorts, dataDir: string): string {
  const replaced = readFileSync(DEMO_CONFIG, 'utf8')
    .replace(/^dataDir: .*$/m, `dataDir: ${dataDir}`)
    .replace(/^ {2}address: 127\.0\.0\.1:7233$/m, `  address: 127.0.0.1:${ports.temporal}`)
    .replace(/^ {2}uiUrl: .*$/m, `  uiUrl: http://127.0.0.1:${ports.ui}`)
    .replace(/^ {2}port: 3000$/m, `  port: ${ports.api}`);
  // Guard against the demo file changing under the replacements above.
  expect(replaced).toContain(`address: 127.0.0.1:${ports.temporal}`);
  expect(replaced).toContain(`uiUrl: http://127.0.0.1:${ports.ui}`);
  expect(replaced).toContain(`port: ${ports.api}`);
  expect(replaced).toContain(`dataDir: ${dataDir}`);
  return replaced;
}

export interface Baton extends EntryProcess {
  /** Every process seen below it (start.ts: the Temporal server among them), with its command line. */
  descendants: Map<number, string>;
  /** Notes every process below it now. */
  recordDescendants(): void;
  /** Waits until start.ts says it is running, then notes what runs below it. */
  waitForBanner(timeoutMs?: number): Promise<void>;
  /** The Temporal development servers seen below it, serving on `port`. */
  temporalServers(port: number): number[];
  /** The processes seen below it that still run once they have had `timeoutMs` to exit. */
  leftRunning(timeoutMs: number): Promise<[number, string][]>;
  /**
   * Leaves nothing of it running, whatever happened in the test: `signal` first, SIGKILL if it
   * has not exited after `graceMs`, then SIGKILL for every process seen below it.
   */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
}

/**
 * Starts `entry` (scripts/start.ts unless told) on `configFile`, with the Temporal CLI the test
 * run prepared. What the developer's shell may have set for Baton is left out, so that only the
 * configuration file and `extraEnv` decide.
 */
export function startBaton(
  configFile: string,
  extraEnv: Record<string, string> = {},
  entry = 'scripts/start.ts',
): Baton {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'PORT', 'BATON_DATA_DIR', 'NODE_OPTIONS']) {
    delete env[name];
  }
  Object.assign(env, {
    BATON_CONFIG: configFile,
    TEMPORAL_CLI_PATH: inject('temporalCli'),
    ...extraEnv,
  });
  const started = startEntry(entry, env, { cwd: ROOT });
  const descendants = new Map<number, string>();
  const recordDescendants = (): void => {
    if (started.pid === undefined) return;
    for (const pid of descendantsOf(started.pid)) descendants.set(pid, commandLine(pid));
  };
  const stillRunning = (): [number, string][] => [...descendants].filter(([pid]) => alive(pid));
  return {
    ...started,
    descendants,
    recordDescendants,
    async waitForBanner(timeoutMs = 150_000) {
      await started.waitFor('Baton is running.', timeoutMs);
      recordDescendants();
    },
    temporalServers: (port) =>
      [...descendants]
        .filter(([, command]) => command.includes('start-dev') && command.includes(`--port ${port}`))
        .map(([pid]) => pid),
    async leftRunning(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (stillRunning().length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return stillRunning();
    },
    async stop(signal, graceMs) {
      if (started.running()) {
        recordDescendants();
        started.kill(signal);
        await started.exitWithin(graceMs).catch(() => started.kill('SIGKILL'));
      }
      for (const [pid, command] of descendants) {
        // The same process, not another that got its number since.
        if (alive(pid) && commandLine(pid) === command) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Processes (Linux /proc; elsewhere nothing is found below a process)

/** Its arguments joined by spaces; empty once it has exited. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Its children, their children and so on, nearest first. */
export function descendantsOf(root: number): number[] {
  if (!existsSync('/proc')) return [];
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const [pid, parent] of parents) {
      if (parent === current) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Running, not merely a zombie waiting for a reaper. */
export function alive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

function parentOf(pid: number): number | undefined {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** The fields of /proc/<pid>/stat after "pid (command) ": state, ppid, … */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may itself hold spaces and parentheses: it ends at the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
