// Lock files any part may use: created whole with link() (exactly one process wins, a reader
// never sees one half-written), taken over when the process holding them is gone.
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

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
