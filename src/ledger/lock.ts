import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { EtlError } from '../errors.js';
import { lockFile } from './layout.js';

export interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  run_id: string;
  /** The run's folder, relative to the repository. */
  folder: string;
  /**
   * The running module's process group and its leader's start time (Linux: field 22 of
   * /proc/PID/stat), so that whoever takes over a stale lock can end a group its dead runner
   * left behind, and cannot hit another process that reused the pid.
   */
  module?: { pgid: number; start_time: string };
}

/** What a takeover did about a dead runner's module. */
export interface ReplacedLock extends LockInfo {
  /** The module's group was still running and was killed (SIGKILL), and is gone. */
  killed_module?: boolean;
}

export interface HeldLock {
  info: LockInfo;
  /** The lock this one replaced because its process was gone: that run was abandoned. */
  replaced?: ReplacedLock;
  /** Records the module now running (its process group), replacing the lock file atomically. */
  recordModule(pid: number): void;
  release(): void;
}

/** A takeover that has not finished in this long was interrupted itself. */
const TAKEOVER_STALE_MS = 10_000;

/** Who holds a lock file: enough to tell whether it still runs. */
export interface LockOwner {
  pid: number;
  host: string;
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

/**
 * One run of a sequence at a time per repository. A dead runner's module may outlive it:
 * its process group is ended before the lock is taken over, or two runs would overlap.
 */
export function acquireLock(repo: string, sequence: string, info: Omit<LockInfo, 'host' | 'pid'>): HeldLock {
  const path = join(repo, lockFile(sequence));
  const mine: LockInfo = { pid: process.pid, host: hostname(), ...info };
  const attempt = tryLock<ReplacedLock>(path, mine, (stale) =>
    stale.module && killOrphanedGroup(stale.module) ? { killed_module: true } : {},
  );
  if (!attempt.held) {
    const holder = attempt.holder;
    throw new EtlError(
      'locked',
      `sequence "${sequence}" is already running (run ${holder.run_id}, pid ${holder.pid} on ${holder.host}, since ${holder.started_at}); the lock is ${lockFile(sequence)}`,
    );
  }
  return {
    info: mine,
    replaced: attempt.replaced,
    recordModule: (pid) => {
      const start = processStartTime(pid);
      if (start === undefined) return;
      mine.module = { pgid: pid, start_time: start };
      rewrite(path, mine);
    },
    release: () => releaseIfMine(path, mine),
  };
}

export function readLock<T extends LockOwner = LockInfo>(path: string): T | undefined {
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
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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

/** The start time of a process, in clock ticks since boot; undefined where /proc cannot tell. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (name) state ppid ...": the name may hold spaces and parentheses, so count after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie has finished
    return fields[22 - 3];
  } catch {
    return undefined;
  }
}

/**
 * Kills (SIGKILL) the process group of a dead runner's module if its leader is the very
 * process recorded (same start time), and waits for the leader to go. Returns whether it did.
 */
function killOrphanedGroup(module: { pgid: number; start_time: string }): boolean {
  if (processStartTime(module.pgid) !== module.start_time) return false;
  try {
    process.kill(-module.pgid, 'SIGKILL');
  } catch {
    return false;
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 10_000 && processStartTime(module.pgid) === module.start_time; waited += 20)
    Atomics.wait(pause, 0, 0, 20);
  return true;
}

/** Replaces the lock's content atomically (rename), for the holder only. */
function rewrite(path: string, info: LockInfo): void {
  renameSync(writeBeside(path, info), path);
}

/** The lock's content in a new temporary file beside it, to be linked or renamed into place. */
function writeBeside(path: string, info: LockOwner): string {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, 'wx');
  writeSync(fd, `${JSON.stringify(info)}\n`);
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

function clearStaleTakeover(path: string): void {
  try {
    if (Date.now() - statSync(path).mtimeMs > TAKEOVER_STALE_MS) unlinkSync(path);
  } catch {
    // gone already
  }
}
