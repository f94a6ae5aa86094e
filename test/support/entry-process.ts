/**
 * One of Baton's entry points (worker/main.ts, api/server.ts) in a process of its own, as a
 * deployment runs it: its output kept for the test to read, its exit awaited.
 */
import { spawn } from 'node:child_process';

export interface EntryProcess {
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  running(): boolean;
  /** Waits for a line of its output; fails at once, with its stderr, if it exits first. */
  waitFor(text: string, timeoutMs: number): Promise<void>;
}

/** `env` is the whole environment the process gets. */
export function startEntry(entry: string, env: NodeJS.ProcessEnv): EntryProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => child.kill(signal),
    running,
    async waitFor(text, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (!running()) throw new Error(`${entry} exited before it printed "${text}":\n${stderr}`);
        if (Date.now() > deadline)
          throw new Error(`${entry} did not print "${text}" within ${timeoutMs} ms:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
