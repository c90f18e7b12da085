// Where Node starts the modules itself, nothing ends them when the runner dies: Linux's
// PR_SET_PDEATHSIG is out of Node's reach, and a module leads a session of its own. A
// watchdog shell, one per run, holds the read end of a pipe from the runner: when the pipe
// closes (the runner exited or was killed, by any signal) it ends the modules still
// running, as the Python helper does.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Watchdog {
  /** A module's process group is running: end it if the runner dies. */
  watch(pid: number): void;
  /** That module has exited: forget it. */
  forget(pid: number): void;
  /** The run is over: the watchdog exits (a module left running is then ended). */
  close(): void;
}

// $1: the note to write the pids to before ending them (may be empty); $2: the grace, in
// twentieths of a second. Signals the runner's terminal sends are the runner's to answer.
const SCRIPT = `trap '' INT TERM HUP QUIT PIPE
note=$1 ticks=$2 live=' '
while read -r op pid; do
  case $op$live in
    +*) live="$live$pid " ;;
    -*" $pid "*) live="\${live%% $pid *} \${live#* $pid }" ;;
  esac
done
running=
for pid in $live; do kill -0 -$pid 2>/dev/null && running="$running $pid"; done
set -- $running
[ $# -gt 0 ] || exit 0
[ -z "$note" ] || printf '%s\\n' "$@" > "$note" 2>/dev/null
for pid; do kill -TERM -$pid 2>/dev/null; done
while [ $ticks -gt 0 ]; do
  alive=
  for pid; do kill -0 -$pid 2>/dev/null && alive=1; done
  [ -n "$alive" ] || exit 0
  sleep 0.05; ticks=$((ticks - 1))
done
for pid; do kill -KILL -$pid 2>/dev/null; done
`;

/**
 * Starts the watchdog: it ends what is still running when the runner dies (SIGTERM to each
 * module's process group, SIGKILL after the grace), first writing their pids to `note`.
 */
export function startWatchdog(graceMs: number, note = ''): Watchdog {
  let child: ChildProcess | undefined;
  try {
    // A session of its own: a signal to the runner's whole process group does not reach it.
    child = spawn('/bin/sh', ['-c', SCRIPT, 'etl-watchdog', note, String(Math.ceil(graceMs / 50))], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
  } catch {
    child = undefined;
  }
  if (!child?.stdin) return { watch: () => {}, forget: () => {}, close: () => {} };
  const { stdin } = child;
  stdin.on('error', () => {}); // the watchdog is gone: there is nothing left to tell
  child.on('error', () => {}); // no /bin/sh: the next run or `etl history` ends what is left
  // The runner exits when its work is done, not when its watchdog does.
  child.unref();
  (stdin as unknown as { unref?: () => void }).unref?.();
  return {
    watch: (pid) => void stdin.write(`+ ${pid}\n`),
    forget: (pid) => void stdin.write(`- ${pid}\n`),
    close: () => stdin.end(),
  };
}
