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
    let timedOut = false;
    let cancelled = false;
    let outputAbandoned: string | null = null;
    let exit: { code: number | null; signal: string | null } | undefined;
    let closed = false;
    let settled = false;
    let stopping = false;
    const cancels: Array<() => void> = [];
    const startedAt = Date.now();

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

    // A signal asked for before the process exists (the helper tells its pid a moment later).
    let early: NodeJS.Signals | undefined;
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) {
        if (early !== 'SIGKILL') early = signal;
        return;
      }
      signalGroup(child.pid, signal);
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      killGroup('SIGTERM');
      cancels.push(after(options.graceMs, () => killGroup('SIGKILL')));
    };
    const finish = (result: Omit<ProcessResult, 'timedOut' | 'cancelled' | 'outputAbandoned'>) => {
      if (settled) return;
      settled = true;
      for (const cancel of cancels) cancel();
      options.signal?.removeEventListener('abort', onAbort);
      options.hurry?.removeEventListener('abort', onHurry);
      resolve({ ...result, timedOut, cancelled, outputAbandoned });
    };
    const done = () => {
      if (exit && closed) finish({ exitCode: exit.code, signal: exit.signal, error: null });
    };
    /** The module is gone but its pipes are held elsewhere: stop reading them and finish. */
    const abandonOutput = (why: string) => {
      if (closed || settled) return;
      killGroup('SIGKILL'); // whatever is left in its own group
      outputAbandoned = why;
      child.stdout?.destroy();
      child.stderr?.destroy();
      closed = true;
      done();
    };
    const onAbort = () => {
      if (exit) return abandonOutput(CANCELLED_WHILE_HELD);
      cancelled = true;
      stop();
    };
    const onHurry = () => {
      if (exit) return abandonOutput(CANCELLED_WHILE_HELD);
      killGroup('SIGKILL');
    };

    child.stdout!.on('data', (chunk: Buffer) => options.onOutput(chunk, 'out'));
    child.stderr!.on('data', (chunk: Buffer) => options.onOutput(chunk, 'err'));
    child.on('error', (error: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT, EACCES): there is no process to wait for.
      if (child.pid === undefined) finish({ exitCode: null, signal: null, error: cannotStart(options.module, error) });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (!closed) {
        // Something it started still holds stdout or stderr. Wait a grace for its last words,
        // then stop waiting: the group gets SIGKILL, an escaped process (setsid) is left alone.
        const graceLeft = options.graceMs;
        const deadlineLeft = options.timeoutMs === undefined ? Infinity : options.timeoutMs - (Date.now() - startedAt);
        const wait = Math.max(0, Math.min(graceLeft, deadlineLeft));
        cancels.push(
          after(wait, () =>
            abandonOutput(
              `the module exited, but a process it started kept its output open; stopped waiting ${wait === graceLeft ? `${graceLeft} ms after the module's exit` : 'at the step deadline'}`,
            ),
          ),
        );
      }
      done();
    });
    child.on('close', () => {
      closed = true;
      done();
    });
    const started = () => {
      options.onStarted?.(child.pid!);
      if (early) killGroup(early);
    };
    if (child.pid !== undefined) started();
    else child.once('spawn', started);

    if (options.timeoutMs !== undefined) {
      cancels.push(
        after(options.timeoutMs, () => {
          if (exit) return;
          timedOut = true;
          stop();
        }),
      );
    }
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort);
    if (options.hurry?.aborted) onHurry();
    else options.hurry?.addEventListener('abort', onHurry);
  });
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
