/**
 * The cluster's long-running programs as child processes: each writes to a log file of its
 * own, is stopped in order with the signal it understands, and dies with this script
 * whatever ends it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { listenError } from '../ports';

export interface RunningProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The log's last lines, to say why it failed. */
  tail(lines?: number): string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (PostgreSQL refuses root). */
  user?: { uid: number; gid: number };
  /** The signal that stops it cleanly (PostgreSQL: SIGINT, its fast shutdown). */
  stopSignal?: NodeJS.Signals;
  /** Called with each chunk of its standard output, besides the log. */
  onOutput?: (text: string) => void;
}

export function startProcess(options: StartOptions): RunningProcess {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  writeSync(log, `\n=== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
  const spawnOptions: SpawnOptions = {
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.user ? options.user : {}),
    stdio: ['ignore', options.onOutput ? 'pipe' : log, log],
    // A process group of its own: Ctrl-C in the terminal reaches it only through this script,
    // which stops everything in order (the API before the worker before Temporal before
    // PostgreSQL) instead of all at once.
    detached: true,
  };
  const child = spawn(options.command, options.args, spawnOptions);
  closeSync(log);
  if (child.stdout && options.onOutput) {
    const append = openSync(options.logFile, 'a');
    child.stdout.on('data', (chunk: Buffer) => {
      writeSync(append, chunk);
      options.onOutput?.(chunk.toString('utf8'));
    });
    child.stdout.once('close', () => closeSync(append));
  }
  let running = true;
  // Detached, it would outlive this script; an exit that skips stop() (an uncaught error,
  // process.exit) takes it along.
  const killOnExit = (): void => {
    if (running) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      process.off('exit', killOnExit);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      running = false;
      process.off('exit', killOnExit);
      try {
        const fd = openSync(options.logFile, 'a');
        writeSync(fd, `cannot start ${options.command}: ${err.message}\n`);
        closeSync(fd);
      } catch {
        // The log is only for people; the exit below says it failed.
      }
      resolve({ code: null, signal: null });
    });
  });
  return {
    name: options.name,
    child,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    exited,
    isRunning: () => running,
    async stop(graceMs = 20_000) {
      if (!running) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => {
        if (running) {
          console.error(`  ${options.name} did not stop within ${graceMs / 1000}s; killing it.`);
          child.kill('SIGKILL');
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail(lines = 15) {
      try {
        return (
          readFileSync(options.logFile, 'utf8')
            .trimEnd()
            .split('\n')
            .slice(-lines)
            // The server logs stack traces inside its JSON lines; the message is at the start.
            .map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line))
            .join('\n')
        );
      } catch {
        return '(no log)';
      }
    },
  };
}

/** A process that ended before it was ready; the message carries its log's tail. */
export class ProcessFailed extends Error {
  override name = 'ProcessFailed';
}

/**
 * Resolves once `ready()` answers true, polling every 250 ms; rejects if the process exits
 * first or `timeoutMs` passes, with the end of its log.
 */
export async function waitUntilReady(
  proc: RunningProcess,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.isRunning()) {
      const { code, signal } = await proc.exited;
      throw new ProcessFailed(
        `${what} exited (${signal ?? `code ${code}`}) before it was ready. The end of ${proc.logFile}:\n` +
          proc.tail(),
      );
    }
    if (await ready().catch(() => false)) return;
    await sleep(250);
  }
  throw new ProcessFailed(
    `${what} was not ready within ${timeoutMs / 1000}s. The end of ${proc.logFile}:\n${proc.tail()}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether a TCP connection to host:port is accepted right now. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Why nothing could listen on 127.0.0.1:port now (EADDRINUSE, EACCES), if it could not. */
export async function cannotListen(port: number, host = '127.0.0.1'): Promise<string | undefined> {
  const err = await listenError(host, port);
  return err && (err.code ?? err.message);
}

/** `count` consecutive ports free on 127.0.0.1 a moment ago, all below `below`. */
export async function freePortBlock(count: number, below = 65_536): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Above the usual ephemeral range's start would be safer, but `below` may forbid it.
    const base = 20_000 + Math.floor(Math.random() * (below - 20_000 - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = (await cannotListen(p)) === undefined;
    if (free) return base;
  }
  throw new Error(`found no ${count} consecutive free ports on 127.0.0.1`);
}
