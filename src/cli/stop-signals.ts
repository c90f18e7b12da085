import { ExitCode } from '../errors.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface StopSignals {
  /** Aborted by the first SIGINT, SIGTERM or SIGHUP (a closed terminal). */
  signal: AbortSignal;
  /** Aborted by a second one: the kill grace ends at once. */
  hurry: AbortSignal;
  /** The exit code of a run they cancelled: 130, 143 or 129. */
  exitCode(): number;
  dispose(): void;
}

/**
 * Listens for the signals that stop a run: the first stops the running module (its whole
 * process group) and the run is recorded as cancelled; a second SIGKILLs the group now. etl
 * itself never exits on a signal before the run is recorded.
 */
export function listenForStop(): StopSignals {
  const controller = new AbortController();
  const hurry = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) return hurry.abort();
    stoppedBy = signal;
    controller.abort();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    hurry: hurry.signal,
    exitCode: () =>
      stoppedBy === 'SIGTERM' ? ExitCode.terminated : stoppedBy === 'SIGHUP' ? ExitCode.hangup : ExitCode.interrupted,
    dispose: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}
