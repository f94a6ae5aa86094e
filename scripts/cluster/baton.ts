/**
 * Baton's own processes on the cluster: workers (worker/main.ts) and API instances
 * (api/server.ts), each a process of its own as in a deployment, all pointed at the same
 * Temporal and sharing one data folder (the outbox and the incident records). One that dies
 * is started again after a delay, as a process supervisor would.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../temporal-cli';
import { ProcessFailed, sleep, startProcess, waitUntilReady, type RunningProcess } from './processes';

export interface BatonProcessSpec {
  name: string;
  kind: 'worker' | 'api';
  /** The API's port; undefined for a worker. */
  port?: number;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** How long a stop waits for it to exit before it is killed: its grace time and a margin. */
  stopWithinMs: number;
}

/** A worker or an API and whatever instance of it runs now. */
export class SupervisedProcess {
  current: RunningProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private watching: Promise<void> | undefined;

  constructor(
    readonly spec: BatonProcessSpec,
    private readonly restartDelayMs: number,
    private readonly log: (line: string) => void,
    /** Called whenever the running instance changes (a new pid, or none). */
    private readonly onChange: () => void,
  ) {}

  get url(): string | undefined {
    return this.spec.port === undefined ? undefined : `http://127.0.0.1:${this.spec.port}`;
  }

  /** Starts it and resolves once it is ready; rejects with its log's tail if it is not. */
  async start(): Promise<RunningProcess> {
    const { spec } = this;
    const script = spec.kind === 'worker' ? 'worker/main.ts' : 'api/server.ts';
    let polling = false;
    const proc = startProcess({
      name: spec.name,
      command: process.execPath,
      args: ['--import', 'tsx', path.join(PROJECT_ROOT, script)],
      cwd: PROJECT_ROOT,
      env: { ...spec.env, ...(spec.port !== undefined ? { PORT: String(spec.port) } : {}) },
      logFile: spec.logFile,
      ...(spec.kind === 'worker'
        ? {
            onOutput: (text: string) => {
              if (text.includes('Baton worker polling')) polling = true;
            },
          }
        : {}),
    });
    this.current = proc;
    this.onChange();
    const ready =
      spec.kind === 'worker'
        ? async () => polling
        : async () =>
            (await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
    try {
      await waitUntilReady(proc, spec.name, ready, 120_000);
    } catch (err) {
      await proc.stop(5_000);
      this.current = undefined;
      this.onChange();
      throw err;
    }
    this.watching = this.watch(proc);
    return proc;
  }

  /** When it exits on its own, says so and (unless told not to) starts it again. */
  private async watch(proc: RunningProcess): Promise<void> {
    const { code, signal } = await proc.exited;
    if (this.stopping) return;
    this.current = undefined;
    this.onChange();
    const how = signal ?? `code ${code}`;
    if (this.restartDelayMs === 0) {
      this.log(
        `${this.spec.name} (pid ${proc.pid}) exited (${how}); not restarted (--restart-delay 0). Log: ${proc.logFile}`,
      );
      return;
    }
    this.log(
      `${this.spec.name} (pid ${proc.pid}) exited (${how}); starting it again in ${this.restartDelayMs / 1000}s. ` +
        `Log: ${proc.logFile}`,
    );
    while (!this.stopping) {
      await sleep(this.restartDelayMs);
      if (this.stopping) return;
      try {
        const next = await this.start();
        this.restarts += 1;
        this.log(`${this.spec.name} is back (pid ${next.pid}, restart ${this.restarts}).`);
        return;
      } catch (err) {
        if (this.stopping) return;
        // A process that cannot start at all (its configuration, a port) would only loop.
        const why = err instanceof ProcessFailed ? err.message : String(err);
        this.log(`${this.spec.name} could not be started again; giving up on it.\n${why}`);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Workers finish the tasks they run and APIs the requests under way (each within its
    // configured grace time) before they exit; only past that are they killed.
    await this.current?.stop(this.spec.stopWithinMs);
    await this.watching;
  }
}
