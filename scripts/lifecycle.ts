/**
 * The life of a script that starts several parts and stops them in order (`npm start`,
 * `npm run start:cluster`): what must end it (Ctrl-C, a part that fails) is noted during
 * start-up and acted on once the current step is done, so that whatever that step creates is
 * stopped too; a failure half-way leaves nothing behind.
 */

/** Start-up was asked to stop (Ctrl-C, or a part failed) and has stopped what it had started. */
export class StartupAborted extends Error {
  constructor(
    readonly reason: string,
    readonly exitCode: number,
  ) {
    super(`start-up aborted: ${reason}`);
  }
}

/** Runs one step of stopping on its own: one failing does not skip the rest. Never rejects. */
export async function stopStep(what: string, action: () => unknown): Promise<void> {
  try {
    await action();
  } catch (err) {
    console.error(`${what} failed:`, err);
  }
}

export class Lifecycle {
  private stopping: Promise<void> | undefined;
  private abort: StartupAborted | undefined;
  private startedUp = false;
  private signals = 0;

  constructor(
    private readonly options: {
      /** What stops, for the line "SIGINT: stopping <what>…". */
      what: string;
      /** Stops whatever of the parts exists, each with stopStep, callers first and storage last. */
      stopAll: () => Promise<void>;
      /** Before leaving at once on the third signal. */
      onForcedExit?: () => void;
    },
  ) {}

  /** Whether stopping has begun. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Stops everything, once however often it is called. Never rejects. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      console.log(`\n${reason}: stopping ${this.options.what}…`);
      await this.options.stopAll();
      console.log('Stopped.');
    })();
    return this.stopping;
  }

  /** What must end the script: during start-up noted for the next checkpoint, afterwards acted on. */
  end(reason: string, exitCode: number): void {
    if (!this.startedUp) {
      this.abort ??= new StartupAborted(reason, exitCode);
      return;
    }
    void this.stop(reason).then(() => {
      if (exitCode !== 0) process.exitCode = exitCode;
    });
  }

  /** Between start-up steps: throws StartupAborted once something asked to end. */
  checkpoint(): void {
    if (this.abort) throw this.abort;
  }

  /**
   * SIGINT and SIGTERM end the script. Ctrl-C reaches it more than once (from the terminal,
   * relayed by npm and tsx), so a repeated signal must not fall back to Node's default of
   * dying mid-shutdown; a third one while stopping is someone insisting: it leaves at once.
   */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.signals += 1;
      if (this.signals >= 3 && (this.stopping || this.abort)) {
        console.error('Stopping at once.');
        this.options.onForcedExit?.();
        process.exit(130);
      }
      this.end(signal, this.startedUp ? 0 : signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  /** Runs start-up; when it fails or is aborted, stops what it started and rethrows. */
  async startUp<T>(steps: () => Promise<T>): Promise<T> {
    try {
      const result = await steps();
      this.startedUp = true;
      return result;
    } catch (err) {
      await this.stop(this.abort?.reason ?? 'start-up failed');
      throw err;
    }
  }
}
