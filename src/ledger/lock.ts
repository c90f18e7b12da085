import { closeSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
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
}

export interface HeldLock {
  info: LockInfo;
  /** The lock this one replaced because its process was gone: that run was abandoned. */
  replaced?: LockInfo;
  release(): void;
}

/** A takeover that has not finished in this long was interrupted itself. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * One run of a sequence at a time per repository. The lock file is created with O_EXCL, so
 * of two runners exactly one gets it. A lock left by a process that no longer exists on
 * this host is stale: it is taken over (under a second, short-lived lock, so that two
 * runners cannot both take over the same stale lock).
 */
export function acquireLock(repo: string, sequence: string, info: Omit<LockInfo, 'host' | 'pid'>): HeldLock {
  const path = join(repo, lockFile(sequence));
  mkdirSync(dirname(path), { recursive: true });
  const mine: LockInfo = { pid: process.pid, host: hostname(), ...info };
  let replaced: LockInfo | undefined;
  for (let tries = 0; tries < 5; tries++) {
    if (tryCreate(path, mine)) return { info: mine, replaced, release: () => releaseIfMine(path, mine) };
    const holder = readLock(path);
    if (holder === undefined) continue; // released meanwhile: try again
    if (isAlive(holder)) {
      throw new EtlError('locked', `sequence "${sequence}" is already running (run ${holder.run_id}, pid ${holder.pid} on ${holder.host}, since ${holder.started_at}); the lock is ${lockFile(sequence)}`);
    }
    const takeover = `${path}.takeover`;
    if (!tryCreate(takeover, mine)) {
      clearStaleTakeover(takeover);
      continue;
    }
    try {
      // Still the same stale holder? Then nobody else replaced it while we looked.
      const again = readLock(path);
      if (again && again.pid === holder.pid && again.run_id === holder.run_id && again.host === holder.host) {
        unlinkSync(path);
        replaced = holder;
      }
    } finally {
      unlinkSync(takeover);
    }
  }
  throw new EtlError('locked', `could not take the lock ${lockFile(sequence)}: other runners keep changing it`);
}

export function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/** Whether the process holding a lock still runs. On another host we cannot tell: assume so. */
export function isAlive(lock: LockInfo): boolean {
  if (lock.host !== hostname()) return true;
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the file with its whole content at once: link() fails if it exists, and a reader never sees it empty. */
function tryCreate(path: string, info: LockInfo): boolean {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = openSync(tmp, 'wx');
  writeSync(fd, `${JSON.stringify(info)}\n`);
  closeSync(fd);
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

function releaseIfMine(path: string, mine: LockInfo): void {
  const holder = readLock(path);
  if (holder && holder.pid === mine.pid && holder.run_id === mine.run_id) unlinkSync(path);
}

function clearStaleTakeover(path: string): void {
  try {
    if (Date.now() - statSync(path).mtimeMs > TAKEOVER_STALE_MS) unlinkSync(path);
  } catch {
    // gone already
  }
}
