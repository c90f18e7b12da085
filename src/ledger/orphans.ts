// A dead runner's modules: ended by its spawner as it died (which left a note in the run's
// folder), or found still running by whoever marks the run abandoned and killed then. Either
// way the abandoned run's error says which processes were ended.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MODULES_ENDED_NOTE } from '../runner/spawner.js';
import type { RunRecord } from '../runner/records.js';
import { killProcessesOfRun, processesOfRun } from './lock.js';

/**
 * Kills what is left of a dead runner's run on this host and returns what its abandoned
 * record says of the processes ended (by its spawner, by `killedBefore`, or now), or ''.
 */
export function endOrphans(repo: string, folder: string, run: RunRecord, killedBefore: number[] = []): string {
  const killedNow = run.host === hostname() ? killProcessesOfRun(run.id) : [];
  return endedNote([...endedBySpawner(join(repo, folder)), ...killedBefore, ...killedNow]);
}

/**
 * What a reader says of a dead runner's processes, killing nothing: those its spawner ended
 * (as the reap will record them), and those still running on this host until a reap ends them.
 */
export function describeOrphans(repo: string, folder: string, run: RunRecord): string {
  const ended = endedBySpawner(join(repo, folder));
  const running = run.host === hostname() ? processesOfRun(run.id).filter((pid) => !ended.includes(pid)) : [];
  const note = endedNote(ended);
  return running.length === 0
    ? note
    : `${note}; processes it had started are still running (pid ${pidList(running)}) until the run is reaped`;
}

function endedNote(pids: number[]): string {
  return pids.length === 0
    ? ''
    : `; processes it had started were still running and were killed (pid ${pidList(pids)})`;
}

const pidList = (pids: number[]) => [...new Set(pids)].sort((a, b) => a - b).join(', ');

/** The pids the run's spawner ended as its runner died (its note, one a line). */
function endedBySpawner(folder: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(folder, MODULES_ENDED_NOTE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}
