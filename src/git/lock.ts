import { hostname } from 'node:os';
import { join } from 'node:path';
import { EtlError } from '../errors.js';
import { sleep } from '../timers.js';
import { gitCommonDir, type GitClient } from './git.js';
import { releaseIfMine, tryLock, type LockOwner } from '../lock-file.js';

interface GitWorkOwner extends LockOwner {
  started_at: string;
  /** What the holder is doing, for a person who waits. */
  doing: string;
}

export interface GitWorkOptions {
  /** How long to wait for another etl process's git work (default 10 minutes). */
  waitMs?: number;
  /** Told once when the work must wait, for a progress line. */
  onWait?: (message: string) => void;
}

/**
 * Runs `work` while holding the repository's etl-ledger git lock (in the git directory shared
 * by all worktrees). Concurrent runs in one clone commit, fetch, rebase and push one after
 * another, so they never fight over git's own state (HEAD, index.lock, a rebase directory,
 * remote-tracking refs). A lock left by a process that is gone is taken over.
 */
export async function withGitLock<T>(
  git: GitClient,
  repo: string,
  doing: string,
  work: () => Promise<T>,
  options: GitWorkOptions = {},
): Promise<T> {
  const path = join(await gitCommonDir(git, repo), 'etl-ledger.lock');
  const mine: GitWorkOwner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), doing };
  const deadline = Date.now() + (options.waitMs ?? 600_000);
  for (let told = false; ; ) {
    const attempt = tryLock(path, mine);
    if (attempt.held) break;
    if (!told)
      options.onWait?.(
        `waiting for another etl-ledger process (pid ${attempt.holder.pid}, ${attempt.holder.doing}) to finish its git work`,
      );
    told = true;
    if (Date.now() > deadline) {
      throw new EtlError(
        'git-busy',
        `another etl-ledger process (pid ${attempt.holder.pid} on ${attempt.holder.host}, ${attempt.holder.doing}) has held ${path} for more than ${Math.round((options.waitMs ?? 600_000) / 1000)} s`,
      );
    }
    // Jittered, so that waiting processes do not wake up in lockstep.
    await sleep(10 + Math.random() * 40);
  }
  try {
    return await work();
  } finally {
    releaseIfMine(path, mine);
  }
}
