import type { SimpleGit } from 'simple-git';
import { EtlError } from '../errors.js';
import { gitOperation, GitError, gitMessage, identityArgs, openGit, type Env } from './git.js';
import { sleep } from '../timers.js';

/** Rejections that mean "the remote moved": fetch, put our commits on top, try again. */
const MOVED = /\(fetch first\)|non-fast-forward|cannot lock ref|failed to update ref|incorrect old value|stale info/;

export interface PushOptions {
  remote?: string;
  /** The remote branch; default: the branch checked out. Needed from a detached HEAD. */
  branch?: string;
  env?: Env;
  /** Tries before giving up; with N writers racing, one may lose many times in a row. */
  attempts?: number;
  /** Told before each retry, for a progress line. */
  onRetry?: (attempt: number, reason: string) => void;
}

export interface PushResult {
  remote: string;
  branch: string;
  attempts: number;
  /** The commit the remote branch now points at. */
  head: string;
}

/**
 * Pushes HEAD to the remote branch, never forcing. When the push is rejected because the
 * remote moved on, fetches it, rebases the local commits on top and tries again, with
 * jittered back-off. Ledger commits only add files of their own run, so the rebase does not
 * conflict; if it ever does, it is undone and the error says so (the records stay on disk
 * and in the local commits).
 */
export async function pushLedger(repo: string, options: PushOptions = {}): Promise<PushResult> {
  return gitOperation('pushing the ledger', async () => {
    const env = options.env ?? process.env;
    const git = openGit(repo, env);
    const remote = options.remote ?? 'origin';
    const branch = options.branch ?? (await currentBranch(git));
    const attempts = options.attempts ?? 50;
    for (let attempt = 1; ; attempt++) {
      try {
        // HEAD:refs/heads/B works from a branch and from a detached HEAD alike.
        await git.raw(['push', '--quiet', remote, `HEAD:refs/heads/${branch}`]);
        return { remote, branch, attempts: attempt, head: (await git.raw(['rev-parse', 'HEAD'])).trim() };
      } catch (error) {
        if (!(error instanceof GitError) || !MOVED.test(error.message)) {
          throw new EtlError('push-failed', `git push to ${remote} ${branch} failed: ${gitMessage(error)}`, undefined, { cause: error });
        }
        if (attempt >= attempts) {
          throw new EtlError('push-failed', `git push to ${remote} ${branch} was still rejected after ${attempts} attempts (other runners keep pushing); the runs are committed locally: run "etl ledger sync" to push them`, undefined, { cause: error });
        }
        options.onRetry?.(attempt, MOVED.exec(error.message)?.[0] ?? 'rejected');
        // A short, random, slowly growing pause spreads racing runners out; a long exponential
        // one would make a runner that lost a few times lose to every newcomer.
        await sleep(50 + Math.random() * (150 + 100 * Math.min(attempt, 10)));
        await git.raw(['fetch', '--quiet', remote, `refs/heads/${branch}`]);
        await rebaseOnto(repo, git, env, (await git.raw(['rev-parse', 'FETCH_HEAD'])).trim(), `${remote}/${branch}`);
      }
    }
  });
}

async function currentBranch(git: SimpleGit): Promise<string> {
  const name = (await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim();
  if (!name) throw new EtlError('detached-head', 'HEAD is detached: say which remote branch to push to with --branch');
  return name;
}

/**
 * Puts the local commits that the remote lacks on top of `onto`. With a clean working tree
 * this is `git rebase`; with local changes it replays the commits without touching the
 * working tree or the index beyond what the new commits change (git rebase would refuse, and
 * --autostash would unstage what the user staged).
 */
async function rebaseOnto(repo: string, git: SimpleGit, env: Env, onto: string, name: string): Promise<void> {
  const dirty = (await git.raw(['status', '--porcelain', '--untracked-files=no'])).trim() !== '';
  const conflict = (error: unknown) =>
    new EtlError('rebase-conflict', `putting the ledger commits on top of ${name} conflicted (${gitMessage(error)}); nothing was changed: the records are on disk and committed locally. Resolve it, then run "etl ledger sync"`, undefined, { cause: error });
  if (!dirty) {
    try {
      await git.raw([...(await identityArgs(git, env)), 'rebase', '--quiet', onto]);
    } catch (error) {
      await git.raw(['rebase', '--abort']).catch(() => undefined);
      throw conflict(error);
    }
    return;
  }
  const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
  const commits = (await git.raw(['rev-list', '--reverse', `${onto}..HEAD`])).split('\n').filter(Boolean);
  let tip = onto;
  for (const commit of commits) {
    let tree: string;
    try {
      tree = (await git.raw(['merge-tree', '--write-tree', `--merge-base=${commit}^`, tip, commit])).split('\n')[0]!.trim();
    } catch (error) {
      throw conflict(error);
    }
    const [name, email, date, ...message] = (await git.raw(['log', '-1', '--format=%an%n%ae%n%ad%n%B', '--date=raw', commit])).split('\n');
    // The replayed commit keeps its author and date, as a rebase would.
    const asAuthor = openGit(repo, env, { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date });
    tip = (await asAuthor.raw([...(await identityArgs(git, env)), 'commit-tree', tree, '-p', tip, '-m', message.join('\n').trimEnd()])).trim();
  }
  try {
    // Move the index and working tree from HEAD to the new tip, keeping local changes
    // to other files; refuses (and changes nothing) if they touch the same files.
    await git.raw(['read-tree', '-m', '-u', head, tip]);
  } catch (error) {
    throw conflict(error);
  }
  await git.raw(['update-ref', '-m', `etl-ledger: ledger commits on top of ${name}`, 'HEAD', tip, head]);
}
