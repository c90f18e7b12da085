import { spawn } from 'node:child_process';

export interface ProcessOptions {
  command: string;
  /** argv[0] is what the module sees as its name; the program started is `command`. */
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** Stop after this long: SIGTERM to the whole process group, SIGKILL after the grace. */
  timeoutMs?: number;
  /** Aborting stops the process the same way (used for SIGINT/SIGTERM to the runner). */
  signal?: AbortSignal;
  /** How long SIGTERM has before SIGKILL. */
  graceMs: number;
  /** stdout and stderr, in the order they arrive. */
  onOutput(chunk: Buffer, from: 'out' | 'err'): void;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the program could not be started at all. */
  error: string | null;
}

/**
 * Runs one module as a child process with an argv (never a shell), standard input closed,
 * in a process group of its own so that a timeout or a cancel reaches its grandchildren.
 */
export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    let closed = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const child = spawn(options.command, options.argv.slice(1), {
      argv0: options.argv[0],
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: kill(-pid) reaches everything it started
    });

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), options.graceMs));
    };
    const finish = (result: ProcessResult) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const done = () => {
      if (exit && closed) finish({ exitCode: exit.code, signal: exit.signal, timedOut, cancelled, error: null });
    };
    const onAbort = () => {
      if (exit) return;
      cancelled = true;
      stop();
    };

    child.stdout.on('data', (chunk: Buffer) => options.onOutput(chunk, 'out'));
    child.stderr.on('data', (chunk: Buffer) => options.onOutput(chunk, 'err'));
    child.on('error', (error: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT, EACCES): there is no process to wait for.
      if (child.pid === undefined) finish({ exitCode: null, signal: null, timedOut: false, cancelled: false, error: `cannot start ${options.argv[0]}: ${error.code ?? error.message}` });
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Something it started may still hold stdout open; give it the grace, then end it.
      if (!closed) timers.push(setTimeout(() => killGroup('SIGKILL'), options.graceMs));
      done();
    });
    child.on('close', () => {
      closed = true;
      done();
    });

    if (options.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          if (exit) return;
          timedOut = true;
          stop();
        }, options.timeoutMs),
      );
    }
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort);
  });
}
