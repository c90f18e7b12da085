import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { releaseIfMine, tryLock } from '../lock-file.js';
import { lockFile } from './layout.js';

export interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  run_id: string;
  /** The run's folder, relative to the repository. */
  folder: string;
}

/** What a takeover did about a dead runner's modules. */
export interface ReplacedLock extends LockInfo {
  /** Processes of that run still alive when the lock was taken over: killed (SIGKILL), and gone. */
  killed?: number[];
}

export interface HeldLock {
  info: LockInfo;
  /** The lock this one replaced because its process was gone: that run was abandoned. */
  replaced?: ReplacedLock;
  release(): void;
}

/**
 * One run of a sequence at a time per repository. A dead runner's module may outlive it:
 * its processes are ended before the lock is taken over, or two runs would overlap.
 */
export function acquireLock(repo: string, sequence: string, info: Omit<LockInfo, 'host' | 'pid'>): HeldLock {
  const path = join(repo, lockFile(sequence));
  const mine: LockInfo = { pid: process.pid, host: hostname(), ...info };
  const attempt = tryLock<ReplacedLock>(path, mine, (stale) => {
    const killed = stale.host === mine.host ? killProcessesOfRun(stale.run_id) : [];
    return killed.length ? { killed } : {};
  });
  if (!attempt.held) {
    const holder = attempt.holder;
    throw new EtlError(
      'locked',
      `sequence "${sequence}" is already running (run ${holder.run_id}, pid ${holder.pid} on ${holder.host}, since ${holder.started_at}); the lock is ${lockFile(sequence)}`,
    );
  }
  return { info: mine, replaced: attempt.replaced, release: () => releaseIfMine(path, mine) };
}

/**
 * The processes a run started that are still alive: every module is given ETL_RUN_ID (the
 * module wrapper), and what it starts inherits it, whatever process group or session it
 * moves to. Linux only (/proc); elsewhere none are found. Reading /proc costs a few
 * milliseconds, paid only when a dead runner's lock is taken over: a run records nothing
 * per step for this.
 */
export function processesOfRun(runId: string): number[] {
  const marker = Buffer.from(`\0ETL_RUN_ID=${runId}\0`);
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      // The environment a process started with, NUL-separated: prefixed with one NUL so
      // that the first variable is matched like the others.
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`), Buffer.from([0])]);
      if (environ.includes(marker)) found.push(Number(name));
    } catch {
      // gone meanwhile, or another user's
    }
  }
  return found;
}

/** Kills (SIGKILL) what is left of a run, and waits for it to go. Returns the pids killed. */
export function killProcessesOfRun(runId: string): number[] {
  const pids = processesOfRun(runId);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 10_000 && processesOfRun(runId).length > 0; waited += 20) Atomics.wait(pause, 0, 0, 20);
  return pids;
}
