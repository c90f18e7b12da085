import { existsSync } from 'node:fs';
import { after } from '../timers.js';
import { type ModuleChild, type ModuleSpec, nodeSpawner, type Spawner, signalGroup } from './spawner.js';

export interface ProcessOptions {
  /** The program, its argv (argv[0] is what the module sees as its name), cwd and environment. */
  module: ModuleSpec;
  /** Stop after this long: SIGTERM to the whole process group, SIGKILL after the grace. */
  timeoutMs?: number;
  /** Aborting stops the process the same way (used for SIGINT/SIGTERM to the runner). */
  signal?: AbortSignal;
  /** Aborting ends the grace at once: SIGKILL to the group now (a second Ctrl-C). */
  hurry?: AbortSignal;
  /** How long SIGTERM has before SIGKILL, and how long output may go on after the module exited. */
  graceMs: number;
  /** stdout and stderr, in the order they arrive. */
  onOutput(chunk: Buffer, from: 'out' | 'err'): void;
  /** Told the process group once it exists. */
  onStarted?(pid: number): void;
  /** Who starts the module (Node's own spawn by default). */
  spawner?: Spawner;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the program could not be started at all. */
  error: string | null;
  /**
   * The module exited but a process it started outside its group (setsid) kept its output
   * open: we stopped waiting for it. Says why, for the log.
   */
  outputAbandoned: string | null;
}

/**
 * Runs one module as a child process with an argv (never a shell), standard input closed,
 * in a process group of its own so that a timeout or a cancel reaches its grandchildren.
 * The step's wall time is bounded whatever the module's descendants do: once the module has
 * exited, its output is awaited until the deadline or the grace, whichever comes first.
 */
export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let child: ModuleChild;
    try {
      child = (options.spawner ?? nodeSpawner()).start(options.module);
    } catch (error) {
      // Some failures are thrown at once rather than emitted (E2BIG, a NUL byte in an argument).
      const why = cannotStart(options.module, error as NodeJS.ErrnoException);
      return resolve({
        exitCode: null,
        signal: null,
        timedOut: false,
        cancelled: false,
        outputAbandoned: null,
        error: why,
      });
    }
    new WatchedProcess(child, options, resolve).watch();
  });
}

/** One started module and what is known of its end: the state runProcess's events share. */
class WatchedProcess {
  private timedOut = false;
  private cancelled = false;
  private outputAbandoned: string | null = null;
  private exit: { code: number | null; signal: string | null } | undefined;
  private closed = false;
  private settled = false;
  private stopping = false;
  /** A signal asked for before the process exists (the helper tells its pid a moment later). */
  private early: NodeJS.Signals | undefined;
  private readonly cancels: Array<() => void> = [];
  private readonly startedAt = Date.now();

  constructor(
    private readonly child: ModuleChild,
    private readonly options: ProcessOptions,
    private readonly resolve: (result: ProcessResult) => void,
  ) {}

  watch(): void {
    const { child, options } = this;
    child.stdout!.on('data', (chunk: Buffer) => options.onOutput(chunk, 'out'));
    child.stderr!.on('data', (chunk: Buffer) => options.onOutput(chunk, 'err'));
    child.on('error', (error: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT, EACCES): there is no process to wait for.
      if (child.pid === undefined)
        this.finish({ exitCode: null, signal: null, error: cannotStart(options.module, error) });
    });
    child.on('exit', (code, signal) => this.exited(code, signal));
    child.on('close', () => {
      this.closed = true;
      this.done();
    });
    const started = () => {
      options.onStarted?.(child.pid!);
      if (this.early) this.killGroup(this.early);
    };
    if (child.pid !== undefined) started();
    else child.once('spawn', started);

    if (options.timeoutMs !== undefined) {
      this.cancels.push(
        after(options.timeoutMs, () => {
          if (this.exit) return;
          this.timedOut = true;
          this.stop();
        }),
      );
    }
    if (options.signal?.aborted) this.onAbort();
    else options.signal?.addEventListener('abort', this.onAbort);
    if (options.hurry?.aborted) this.onHurry();
    else options.hurry?.addEventListener('abort', this.onHurry);
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) {
      if (this.early !== 'SIGKILL') this.early = signal;
      return;
    }
    signalGroup(this.child.pid, signal);
  }

  /** SIGTERM to the group, SIGKILL after the grace. */
  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.killGroup('SIGTERM');
    this.cancels.push(after(this.options.graceMs, () => this.killGroup('SIGKILL')));
  }

  private finish(result: Omit<ProcessResult, 'timedOut' | 'cancelled' | 'outputAbandoned'>): void {
    if (this.settled) return;
    this.settled = true;
    for (const cancel of this.cancels) cancel();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.options.hurry?.removeEventListener('abort', this.onHurry);
    this.resolve({
      ...result,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      outputAbandoned: this.outputAbandoned,
    });
  }

  private done(): void {
    if (this.exit && this.closed) this.finish({ exitCode: this.exit.code, signal: this.exit.signal, error: null });
  }

  private exited(code: number | null, signal: string | null): void {
    this.exit = { code, signal };
    if (!this.closed) {
      // Something it started still holds stdout or stderr. Wait a grace for its last words,
      // then stop waiting: the group gets SIGKILL, an escaped process (setsid) is left alone.
      const graceLeft = this.options.graceMs;
      const { timeoutMs } = this.options;
      const deadlineLeft = timeoutMs === undefined ? Infinity : timeoutMs - (Date.now() - this.startedAt);
      const wait = Math.max(0, Math.min(graceLeft, deadlineLeft));
      const when = wait === graceLeft ? `${graceLeft} ms after the module's exit` : 'at the step deadline';
      this.cancels.push(
        after(wait, () =>
          this.abandonOutput(
            `the module exited, but a process it started kept its output open; stopped waiting ${when}`,
          ),
        ),
      );
    }
    this.done();
  }

  /** The module is gone but its pipes are held elsewhere: stop reading them and finish. */
  private abandonOutput(why: string): void {
    if (this.closed || this.settled) return;
    this.killGroup('SIGKILL'); // whatever is left in its own group
    this.outputAbandoned = why;
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.closed = true;
    this.done();
  }

  private readonly onAbort = (): void => {
    if (this.exit) this.abandonOutput(CANCELLED_WHILE_HELD);
    else {
      this.cancelled = true;
      this.stop();
    }
  };

  private readonly onHurry = (): void => {
    if (this.exit) this.abandonOutput(CANCELLED_WHILE_HELD);
    else this.killGroup('SIGKILL');
  };
}

const CANCELLED_WHILE_HELD = 'the run was cancelled while a process started by the module still held its output';

/** Why a program could not be started, whether spawn threw or emitted the error. */
function cannotStart(module: Pick<ModuleSpec, 'argv' | 'command'>, error: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    E2BIG: 'E2BIG (its arguments and environment together are too large)',
    ERR_INVALID_ARG_VALUE: 'an argument or environment value contains a NUL character',
  };
  // ENOENT for a program that exists: it is its "#!" interpreter that is missing.
  if (error.code === 'ENOENT' && existsSync(module.command)) {
    reasons.ENOENT =
      'ENOENT (the program exists: the interpreter its #! line names does not, or that line ends with a carriage return)';
  }
  return `cannot start ${module.argv[0]}: ${(error.code && reasons[error.code]) ?? error.code ?? error.message}`;
}
