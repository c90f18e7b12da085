import { readFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { releaseIfMine, tryLock, writeBeside } from '../lock-file.js';
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
