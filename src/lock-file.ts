// Lock files any part may use: created whole with link() (exactly one process wins, a reader
// never sees one half-written), taken over when the process holding them is gone.
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** A takeover that has not finished in this long was interrupted itself. */
const TAKEOVER_STALE_MS = 10_000;

/** Who holds a lock file: enough to tell whether it still runs. */
export interface LockOwner {
  pid: number;
  host: string;
  /**
   * When the process started, in the kernel's ticks since boot (Linux): written with the lock,
   * so that another process given the same pid later is not taken for the holder.
   */
  pid_start?: string;
}

export type LockAttempt<T extends LockOwner> = { held: true; replaced?: T } | { held: false; holder: T };

/**
 * Tries once to take a lock file. It is created with its whole content by link(), so of two
 * processes exactly one gets it and a reader never sees it half-written. A lock left by a
 * process that no longer exists on this host is stale: it is taken over under a second,
 * short-lived lock, so that two processes cannot both take over the same stale lock;
 * `beforeTakeover` may clean up after the dead holder (and say what it did) first.
 */
export function tryLock<T extends LockOwner>(
  path: string,
  mine: T,
  beforeTakeover?: (stale: T) => Partial<T>,
): LockAttempt<T> {
  mkdirSync(dirname(path), { recursive: true });
  removeDeadTemporaries(path);
  let replaced: T | undefined;
  for (let tries = 0; tries < 5; tries++) {
    if (tryCreate(path, mine)) return { held: true, replaced };
    const holder = readLock<T>(path);
    if (holder === undefined) continue; // released meanwhile: try again
    if (isAlive(holder)) return { held: false, holder };
    const takeover = `${path}.takeover`;
    if (!tryCreate(takeover, mine)) {
      clearStaleTakeover(takeover);
      continue;
    }
    try {
      // Still the same stale holder? Then nobody else replaced it while we looked.
      const again = readLock<T>(path);
      if (again && JSON.stringify(again) === JSON.stringify(holder)) {
        const done = beforeTakeover?.(again) ?? {};
        unlinkSync(path);
        replaced = { ...again, ...done };
      }
    } finally {
      unlinkSync(takeover);
    }
  }
  return { held: false, holder: readLock<T>(path) ?? mine };
}

/** The process that holds the lock file, when it still runs (a stale lock has none). */
export function liveHolder<T extends LockOwner>(path: string): T | undefined {
  const holder = readLock<T>(path);
  return holder && isAlive(holder) ? holder : undefined;
}

export function readLock<T extends LockOwner>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Whether the process holding a lock still runs. On another host we cannot tell: assume so. */
export function isAlive(lock: LockOwner): boolean {
  if (lock.host !== hostname()) return true;
  try {
    process.kill(lock.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // The pid is taken: by the holder, or by a process started since the holder died.
  return lock.pid_start === undefined || processStart(lock.pid) === lock.pid_start;
}

/** A process's start time in ticks since boot (/proc/PID/stat, field 22), or undefined where there is no /proc. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "PID (COMMAND) STATE PPID ...": the command may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Creates the file with its whole content at once: link() fails if it exists, and a reader never sees it empty. */
function tryCreate(path: string, info: LockOwner): boolean {
  const tmp = writeBeside(path, info);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * The temporary files of processes killed while they made one (writeBeside): a live process
 * holds its own for an instant, so one whose process is gone from this host is litter.
 */
function removeDeadTemporaries(path: string): void {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path)).filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name)?.[1]);
    if (!pid || isAlive({ pid, host: hostname() })) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // another process cleaned it first
    }
  }
}

/** This process's start (processStart), read once. */
let ownStart: string | undefined;
function ownProcessStart(): string | undefined {
  ownStart ??= processStart(process.pid);
  return ownStart;
}

/** The lock's content in a new temporary file beside it, to be linked or renamed into place. */
function writeBeside(path: string, info: LockOwner): string {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, 'wx');
  const pidStart = info.pid === process.pid ? ownProcessStart() : undefined;
  writeSync(fd, `${JSON.stringify(pidStart === undefined ? info : { ...info, pid_start: pidStart })}\n`);
  closeSync(fd);
  return tmp;
}

export function releaseIfMine(path: string, mine: LockOwner & { run_id?: string; started_at?: string }): void {
  const holder = readLock<typeof mine>(path);
  if (
    holder &&
    holder.pid === mine.pid &&
    holder.host === mine.host &&
    holder.run_id === mine.run_id &&
    holder.started_at === mine.started_at
  )
    unlinkSync(path);
}

/**
 * Removes a takeover lock whose process died in the middle of it (kill -9 at that instant), or
 * that is older than a takeover ever takes (its holder on another host). Only that very file
 * goes: it is moved aside first and checked to be the one judged (a takeover lasts
 * milliseconds, so a new one may have taken its place meanwhile: that one is put back).
 */
function clearStaleTakeover(path: string): void {
  try {
    const seen = statSync(path);
    const owner = readLock<LockOwner>(path);
    const dead = (owner !== undefined && !isAlive(owner)) || Date.now() - seen.mtimeMs > TAKEOVER_STALE_MS;
    if (!dead) return;
    const aside = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    renameSync(path, aside);
    if (statSync(aside).ino !== seen.ino) {
      try {
        linkSync(aside, path);
      } catch {
        // another takeover started meanwhile: it holds the place
      }
    }
    unlinkSync(aside);
  } catch {
    // gone already
  }
}
