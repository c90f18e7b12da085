// Recording runs whose runner is gone as abandoned. Only at explicit moments: etl ledger reap,
// etl ledger sync, a daemon's tick, a run's start (its sequence's lock taken over). A read
// shows such a run as abandoned (abandonedIfRunnerGone) and never writes.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isAlive, readLock } from '../lock-file.js';
import type { RunRecord } from '../runner/records.js';
import { ledgerSequences, readRun, reapIfAbandoned, reapUnstarted, runsNewestFirst } from './history.js';
import { isRunFolder, lockFile } from './layout.js';
import type { LockInfo } from './lock.js';
import { listUnrecorded } from './unrecorded.js';

/** The newest runs of each sequence looked at for one still marked running. */
const NEWEST_LOOKED_AT = 100;

export interface Reaped {
  /** The run's folder, relative to the ledger. */
  folder: string;
  /** Its record as now written: abandoned, with why (and what of its modules was ended). */
  run: RunRecord;
}

/**
 * Records as abandoned every run of this host whose runner is gone, of `sequences` (all when
 * not given): the run a dead runner's sequence lock names, the runs noted as not yet
 * committed, and those among each sequence's `newest` runs (100) still marked running. What
 * their modules left running is ended first. Runs of other hosts are left alone. A daemon's
 * tick looks at no newest runs (0): the lock and the notes find every run its runners left,
 * and reading runs for each sequence due at a tick would delay their start.
 */
export function reapAbandoned(ledger: string, sequences?: string[], newest = NEWEST_LOOKED_AT): Reaped[] {
  const names = sequences ?? ledgerSequences(ledger);
  const folders = new Set<string>();
  for (const sequence of names) {
    const lock = readLock<LockInfo>(join(ledger, lockFile(sequence)));
    if (lock && lock.host === hostname() && !isAlive(lock)) folders.add(lock.folder);
  }
  for (const { folder } of listUnrecorded(ledger)) if (names.includes(folder.split('/')[1] ?? '')) folders.add(folder);
  // One run of a sequence at a time: a run left running is among its sequence's newest.
  for (const sequence of newest > 0 ? names : [])
    for (const ref of take(runsNewestFirst(ledger, { sequence }), newest))
      if (readRun(ledger, ref)?.status === 'running') folders.add(ref.folder);
  const reaped: Reaped[] = [];
  for (const folder of [...folders].sort()) {
    if (!isRunFolder(folder) || !existsSync(join(ledger, folder))) continue;
    const before = readRun(ledger, { folder });
    if (before && before.status !== 'running') continue;
    // A folder without run.json: its runner is starting, or was killed while it started.
    const run = before ? reapIfAbandoned(ledger, before) : reapUnstarted(ledger, folder);
    if (run?.status === 'abandoned') reaped.push({ folder, run });
  }
  return reaped;
}

function* take<T>(items: Iterable<T>, count: number): Generator<T> {
  let taken = 0;
  for (const item of items) {
    if (taken++ >= count) return;
    yield item;
  }
}
