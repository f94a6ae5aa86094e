/**
 * A Prometheus-family program (Prometheus, Alertmanager) run by a test: found on PATH or
 * where the test says, started in a temporary folder of its own on a free loopback port, and
 * ready once GET /-/ready answers. Both programs exit when the port freePort() found is taken
 * before they bind it; they are then started again on another port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The first candidate that is an executable file: a path as it is, a bare name on PATH. */
export function findExecutable(candidates: (string | undefined)[], what: string, install: string): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const candidate of candidates) {
    if (!candidate) continue;
    const paths = candidate.includes('/') ? [candidate] : dirs.map((d) => path.join(d, candidate));
    for (const p of paths) {
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // Try the next one.
      }
    }
  }
  throw new Error(`${what} was not found (tried ${candidates.filter(Boolean).join(', ')}); ${install}`);
}

export interface PeerProcess {
  /** What the process wrote so far. */
  logs: () => string;
  stop: () => Promise<void>;
}

async function ready(
  name: string,
  url: string,
  child: ChildProcess,
  exited: Promise<void>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone || child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} at ${url} was not ready within ${timeoutMs / 1000}s`);
}

/**
 * Starts `binary` and resolves once `${url}/-/ready` answers, with what `prepare` returned.
 * `prepare` runs before each of up to three attempts, in a fresh folder: it writes the
 * configuration, picks the ports and says the arguments and the URL.
 */
export async function startPeerProcess<T extends { args: string[]; url: string }>(options: {
  name: string;
  binary: string;
  prepare: (dir: string) => Promise<T>;
}): Promise<T & PeerProcess> {
  const { name, binary } = options;
  let lastLogs = '';
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `baton-${name.toLowerCase()}-`));
    const prepared = await options.prepare(dir);
    const child = spawn(binary, prepared.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      // Enough to diagnose a failure; the start of a long run is the least interesting part.
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    // Never outlive the test process, whatever happens to it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);

    const stop = async (): Promise<void> => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    let up: boolean;
    try {
      up = await ready(name, prepared.url, child, exited, 30_000);
    } catch (err) {
      await stop();
      throw new Error(`${(err as Error).message}\n${output}`, { cause: err });
    }
    if (!up) {
      lastLogs = output;
      await stop();
      continue;
    }
    return { ...prepared, logs: () => output, stop };
  }
  throw new Error(`${name} exited before it was ready, three times; last output:\n${lastLogs}`);
}
